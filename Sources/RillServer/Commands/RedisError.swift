import RillCore

/// An error reply: `message` is the whole line after the '-' (prefix included, e.g. "ERR syntax error").
///
/// RillCore's typed errors are worded in CoreErrorReplies.swift and only there.
public struct RedisError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }

    /// The first word, which INFO errorstats counts by ("ERR", "WRONGTYPE", "NOGROUP"...).
    var prefix: Substring { message.prefix { $0 != " " } }

    public static let syntax = RedisError("ERR syntax error")
    public static let notAnInteger = RedisError("ERR value is not an integer or out of range")
    public static let notAFloat = RedisError("ERR value is not a valid float")
    public static let wrongType = RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
    public static let noSuchKey = RedisError("ERR no such key")
    public static let noAuth = RedisError("NOAUTH Authentication required.")
    public static let wrongPass = RedisError("WRONGPASS invalid username-password pair or user is disabled.")
    public static let timeoutNotInteger = RedisError("ERR timeout is not an integer or out of range")
    public static let timeoutNegative = RedisError("ERR timeout is negative")
    public static let dbIndexOutOfRange = RedisError("ERR DB index is out of range")
    public static let outOfMemory = RedisError("OOM command not allowed when used memory > 'maxmemory'.")

    static func wrongArity(_ name: String) -> RedisError {
        RedisError("ERR wrong number of arguments for '\(name)' command")
    }

    static func unknownSubcommand(_ sub: String, of command: String) -> RedisError {
        RedisError("ERR unknown subcommand '\(sub.prefix(128))'. Try \(command.uppercased()) HELP.")
    }
}

/// Errors the server can word as Redis does (RillCore's, in CoreErrorReplies.swift).
public protocol RedisErrorConvertible: Error {
    var redisError: RedisError { get }
}

extension RedisError {
    /// The reply for any error a handler throws; an unexpected error is reported, never swallowed.
    static func from(_ error: any Error) -> RedisError {
        if let error = error as? RedisError { return error }
        if let error = error as? any RedisErrorConvertible { return error.redisError }
        return RedisError("ERR \(error)")
    }
}
