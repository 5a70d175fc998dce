/// Parses an append-only file: a sequence of RESP arrays of bulk strings (`*N\r\n` then N times `$len\r\n<bytes>\r\n`),
/// the form `redis-cli --pipe` replays. Nothing else is accepted: no inline commands, no other RESP types.
///
/// The reader tells a *truncated* file (every byte present is a valid prefix of a command, but the last command is
/// incomplete: a crash in the middle of a write) from a *corrupt* one (a byte that cannot appear where it is). Only
/// the first may be repaired, by dropping the incomplete tail.
public enum AppendOnlyFileReader {
    /// Largest argument count accepted in one command; a larger count is treated as corruption.
    public static let maxArgumentCount = 1 << 24
    /// Largest bulk length accepted (Redis' proto-max-bulk-len upper bound); a larger length is corruption.
    public static let maxBulkLength = 1 << 31

    /// Parses every command of `bytes`.
    /// - Parameter allowTruncatedTail: when true an incomplete last command is dropped and reported in the result
    ///   (`aof-load-truncated yes`); when false it is an error.
    /// - Throws: `AppendOnlyFileError` with the offset of the first byte that is wrong (corruption) or of the start
    ///   of the incomplete command (truncation not allowed).
    /// - Complexity: O(bytes.count).
    public static func parse(
        _ bytes: [UInt8], allowTruncatedTail: Bool
    ) throws(AppendOnlyFileError) -> AppendOnlyFileParseResult {
        var commands: [AppendOnlyFileCommand] = []
        var position = 0
        while position < bytes.count {
            let start = position
            switch parseCommand(bytes, at: &position) {
            case .complete(let arguments):
                commands.append(AppendOnlyFileCommand(arguments: arguments, offset: start))
            case .incomplete:
                guard allowTruncatedTail else {
                    throw AppendOnlyFileError(
                        offset: start, reason: "truncated command (the file ends inside it)", kind: .truncated)
                }
                return AppendOnlyFileParseResult(commands: commands, validLength: start, truncatedBytes: bytes.count - start)
            case .invalid(let offset, let reason):
                throw AppendOnlyFileError(offset: offset, reason: reason, kind: .corrupt)
            }
        }
        return AppendOnlyFileParseResult(commands: commands, validLength: bytes.count, truncatedBytes: 0)
    }

    private enum Outcome {
        case complete([[UInt8]])
        case incomplete
        case invalid(offset: Int, reason: String)
    }

    /// Parses one command at `position`, advancing it past the command when complete.
    private static func parseCommand(_ bytes: [UInt8], at position: inout Int) -> Outcome {
        let start = position
        guard bytes[position] == UInt8(ascii: "*") else {
            return .invalid(offset: position, reason: "expected '*' starting a command")
        }
        position += 1
        let count: Int
        switch parseLength(bytes, at: &position, limit: maxArgumentCount) {
        case .value(let value): count = value
        case .incomplete: return .incomplete
        case .invalid(let offset, let reason): return .invalid(offset: offset, reason: "argument count: \(reason)")
        }
        guard count >= 1 else { return .invalid(offset: start, reason: "a command needs at least one argument") }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(count)
        for _ in 0..<count {
            guard position < bytes.count else { return .incomplete }
            guard bytes[position] == UInt8(ascii: "$") else {
                return .invalid(offset: position, reason: "expected '$' starting an argument")
            }
            position += 1
            let length: Int
            switch parseLength(bytes, at: &position, limit: maxBulkLength) {
            case .value(let value): length = value
            case .incomplete: return .incomplete
            case .invalid(let offset, let reason): return .invalid(offset: offset, reason: "bulk length: \(reason)")
            }
            guard bytes.count - position >= length + 2 else {
                // The terminator bytes that are present must still be right, or this is not a mere truncation.
                let available = bytes.count - position
                if available > length, bytes[position + length] != 13 {
                    return .invalid(offset: position + length, reason: "bulk string not followed by CRLF")
                }
                return .incomplete
            }
            guard bytes[position + length] == 13, bytes[position + length + 1] == 10 else {
                return .invalid(offset: position + length, reason: "bulk string not followed by CRLF")
            }
            arguments.append(Array(bytes[position..<(position + length)]))
            position += length + 2
        }
        return .complete(arguments)
    }

    private enum LengthOutcome {
        case value(Int)
        case incomplete
        case invalid(offset: Int, reason: String)
    }

    /// Parses a non-negative decimal followed by CRLF at `position` (after the type byte).
    private static func parseLength(_ bytes: [UInt8], at position: inout Int, limit: Int) -> LengthOutcome {
        var value = 0
        var digits = 0
        while position < bytes.count {
            let byte = bytes[position]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard value <= limit else { return .invalid(offset: position, reason: "larger than \(limit)") }
                position += 1
                continue
            }
            guard digits > 0 else { return .invalid(offset: position, reason: "expected a digit") }
            guard byte == 13 else { return .invalid(offset: position, reason: "expected CR after the number") }
            guard position + 1 < bytes.count else { return .incomplete }
            guard bytes[position + 1] == 10 else { return .invalid(offset: position + 1, reason: "expected LF after CR") }
            position += 2
            return .value(value)
        }
        return .incomplete
    }
}

/// One command read from an append-only file.
public struct AppendOnlyFileCommand: Sendable, Hashable {
    /// The command's arguments, its name first; never empty.
    public var arguments: [[UInt8]]
    /// Byte offset of the command's '*' in the file.
    public var offset: Int
}

/// The commands of an append-only file.
public struct AppendOnlyFileParseResult: Sendable {
    /// Every complete command, in file order.
    public var commands: [AppendOnlyFileCommand]
    /// Bytes from the start of the file up to the end of the last complete command: the length to truncate the
    /// file to when `truncatedBytes` is not 0.
    public var validLength: Int
    /// Bytes of the incomplete last command that were dropped; 0 when the file ends cleanly.
    public var truncatedBytes: Int
}

/// Why an append-only file cannot be loaded.
public struct AppendOnlyFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The file ends inside a command (repairable by truncating it to the previous command).
        case truncated
        /// A byte that cannot appear where it is (not repairable automatically).
        case corrupt
    }

    /// Byte offset of the problem from the start of the file.
    public var offset: Int
    /// What is wrong.
    public var reason: String
    public var kind: Kind

    public var description: String { "offset \(offset): \(reason)" }
}
