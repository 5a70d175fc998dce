import Collections
import NIOCore

/// The commands that ran longer than `slowlog-log-slower-than` microseconds (SLOWLOG GET, LEN, RESET), newest
/// first, at most `slowlog-max-len` of them.
///
/// An entry keeps a bounded copy of the request (`Entry.arguments(of:)`), so one huge command cannot hold much
/// memory in the log. Ids increase from 0 for the process's life; RESET does not restart them, as in Redis.
final class SlowLog {
    struct Entry {
        /// Unique, increasing from 0.
        let id: Int64
        /// Unix seconds when the command finished.
        let unixSeconds: Int64
        /// Execution time in microseconds (a blocked command: its attempts, not its wait).
        let microseconds: Int64
        /// The request, shortened by `arguments(of:redacting:)`.
        let arguments: [[UInt8]]
        /// "ip:port" of the client and its name then ("" when none).
        let clientAddress: String
        let clientName: String

        /// Most arguments kept; the last kept one then says how many more there were.
        static let maxArguments = 32
        /// Most bytes kept of an argument; the rest is replaced by a note of its length.
        static let maxArgumentBytes = 128

        /// The request as an entry keeps it: at most `maxArguments` (the last one "... (N more arguments)"), each at
        /// most `maxArgumentBytes` followed by "... (N more bytes)", and the arguments at `redacted` as
        /// "(redacted)" (passwords).
        static func arguments(of request: [ByteBuffer], redacted: RedactedArguments) -> [[UInt8]] {
            let kept = min(request.count, maxArguments)
            var result: [[UInt8]] = []
            result.reserveCapacity(kept)
            for index in 0..<kept {
                if index == maxArguments - 1 && request.count > maxArguments {
                    result.append(Array("... (\(request.count - maxArguments + 1) more arguments)".utf8))
                } else if redacted.contains(index) {
                    result.append(Array(RedactedArguments.placeholder.utf8))
                } else {
                    let argument = request[index].readableBytesView
                    if argument.count > maxArgumentBytes {
                        result.append(Array(argument.prefix(maxArgumentBytes))
                                      + Array("... (\(argument.count - maxArgumentBytes) more bytes)".utf8))
                    } else {
                        result.append(Array(argument))
                    }
                }
            }
            return result
        }
    }

    /// Newest first.
    private(set) var entries: Deque<Entry> = []
    private var nextID: Int64 = 0

    var count: Int { entries.count }

    /// Adds an entry, dropping the oldest beyond `maxLength`.
    func add(arguments: [[UInt8]], microseconds: Int64, unixSeconds: Int64, clientAddress: String,
             clientName: String, maxLength: Int) {
        entries.prepend(Entry(id: nextID, unixSeconds: unixSeconds, microseconds: microseconds, arguments: arguments,
                              clientAddress: clientAddress, clientName: clientName))
        nextID += 1
        trim(to: maxLength)
    }

    /// Drops the oldest entries beyond `maxLength` (also when CONFIG SET lowers it, at the next command logged).
    func trim(to maxLength: Int) {
        while entries.count > maxLength { entries.removeLast() }
    }

    func reset() { entries.removeAll() }
}

/// Which arguments of a request are shown as "(redacted)" in the slow log and MONITOR: AUTH's user and password,
/// HELLO's AUTH pair, as Redis hides them.
struct RedactedArguments {
    static let placeholder = "(redacted)"
    /// Bit i set: argument i is hidden. Requests longer than 64 arguments hide nothing past the 64th.
    private var bits: UInt64 = 0

    static let none = RedactedArguments()

    func contains(_ index: Int) -> Bool { index < 64 && bits & (1 << UInt64(index)) != 0 }

    /// The arguments `command` (lower-case name, "parent|sub" for a subcommand) hides of `request`.
    static func of(_ command: String, _ request: [ByteBuffer]) -> RedactedArguments {
        var redacted = RedactedArguments()
        switch command {
        case "auth":
            for index in 1..<min(request.count, 64) { redacted.bits |= 1 << UInt64(index) }
        case "hello":
            var index = 2
            while index < request.count {
                let word = String(buffer: request[index]).lowercased()
                if word == "auth", index + 2 < min(request.count, 64) {
                    redacted.bits |= (1 << UInt64(index + 1)) | (1 << UInt64(index + 2))
                    index += 3
                } else {
                    index += word == "setname" ? 2 : 1
                }
            }
        default:
            break
        }
        return redacted
    }
}
