import CHiredis
import Foundation

/// One RESP2 reply as hiredis decoded it, copied out of hiredis memory so it outlives `freeReplyObject`.
enum Reply: Equatable, CustomStringConvertible {
    /// A bulk string (binary safe).
    case string([UInt8])
    /// A simple status string such as `OK` or `PONG`.
    case status(String)
    /// An error reply, prefix included (`ERR ...`, `WRONGTYPE ...`).
    case error(String)
    case integer(Int64)
    /// A null bulk string or null array.
    case null
    case array([Reply])

    /// Shorthand for a bulk string made of UTF-8 text.
    static func text(_ string: String) -> Reply { .string(Array(string.utf8)) }

    /// The bulk string as UTF-8 text, or nil for any other reply.
    var text: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var description: String {
        switch self {
        case .string(let bytes):
            return bytes.count > 64 ? "\"<\(bytes.count) bytes>\"" : String(reflecting: String(decoding: bytes, as: UTF8.self))
        case .status(let status): return "+\(status)"
        case .error(let message): return "-\(message)"
        case .integer(let value): return ":\(value)"
        case .null: return "(nil)"
        case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// Errors of the client itself (connection or I/O), as opposed to error replies from the server.
struct HiredisError: Error, CustomStringConvertible {
    /// hiredis's `errstr` at the time of the failure.
    let message: String
    var description: String { "hiredis: \(message)" }
}

/// A blocking hiredis connection. Not thread-safe: use one per thread.
final class HiredisClient {
    /// The hiredis context; owned, freed in deinit. Never nil after init.
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects to 127.0.0.1:`port`; `timeoutSeconds` bounds every read and write (0 = wait forever).
    init(port: Int, timeoutSeconds: Int = 10) throws {
        guard let context = redisConnect("127.0.0.1", Int32(port)) else {
            throw HiredisError(message: "cannot allocate a context")
        }
        self.context = context
        try checkContext()
        if timeoutSeconds > 0 {
            _ = redisSetTimeout(context, timeval(tv_sec: timeoutSeconds, tv_usec: 0))
        }
    }

    deinit {
        redisFree(context)
    }

    /// Sends one command and waits for its reply.
    @discardableResult
    func command(_ arguments: [[UInt8]]) throws -> Reply {
        let raw = withArgv(arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw HiredisError(message: errorString()) }
        return take(raw)
    }

    @discardableResult
    func command(_ arguments: String...) throws -> Reply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Queues a command in the output buffer without sending it; `nextReply()` flushes and reads.
    func append(_ arguments: [[UInt8]]) throws {
        let status = withArgv(arguments) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        guard status == REDIS_OK else { throw HiredisError(message: errorString()) }
    }

    func append(_ arguments: String...) throws {
        try append(arguments.map { Array($0.utf8) })
    }

    /// Flushes queued commands if needed and reads the next reply.
    func nextReply() throws -> Reply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw HiredisError(message: errorString())
        }
        return take(raw)
    }

    private func checkContext() throws {
        if context.pointee.err != 0 { throw HiredisError(message: errorString()) }
    }

    private func errorString() -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Converts a reply tree and frees it.
    private func take(_ raw: UnsafeMutableRawPointer) -> Reply {
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> Reply {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = value.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: value.len))
        }
        switch value.type {
        case REDIS_REPLY_STRING: return .string(bytes())
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            return .array((0..<value.elements).map { index in
                // hiredis fills `elements` non-null children for an array reply.
                convert(value.element[index]!)
            })
        default:
            return .error("unexpected hiredis reply type \(value.type)")
        }
    }

    /// Calls `body` with C argv/argvlen views of `arguments`, valid only during the call.
    private func withArgv<Result>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        // One contiguous buffer keeps the argument bytes alive and gives each argument a stable address.
        var storage = [UInt8]()
        storage.reserveCapacity(arguments.reduce(0) { $0 + $1.count })
        var offsets = [Int]()
        for argument in arguments {
            offsets.append(storage.count)
            storage.append(contentsOf: argument)
        }
        let lengths = arguments.map(\.count)
        return storage.withUnsafeBufferPointer { buffer in
            // An all-empty argument list has no storage; any non-null address then serves, as hiredis reads
            // zero bytes from each argument. bitPattern 1 is non-zero, so the initializer cannot return nil.
            let base = buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!
            var argv: [UnsafePointer<CChar>?] = offsets.map { base.advanced(by: $0).assumingMemoryBound(to: CChar.self) }
            return argv.withUnsafeMutableBufferPointer { argvBuffer in
                lengths.withUnsafeBufferPointer { lengthBuffer in
                    // Both buffers hold `arguments.count` elements, so their base addresses are non-nil
                    // whenever there is at least one argument, which every Redis command has.
                    body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                }
            }
        }
    }
}
