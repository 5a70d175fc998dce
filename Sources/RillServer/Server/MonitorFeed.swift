import NIOCore

/// The clients in MONITOR mode, and the line each of them is sent for every command run by any client.
///
/// A line is a status reply: `+<unix seconds>.<microseconds> [<db> <ip:port>] "name" "arg" ...`, each argument quoted
/// with the escapes Redis' monitor uses (`quote`). Commands are shown after they ran (so a password is already
/// known to be one to hide) and only when they ran: a request refused before running (unknown, wrong arity) or
/// only queued by MULTI is not shown; EXEC shows each queued command, then itself. With no monitor connected the
/// executor only tests `isEmpty`.
final class MonitorFeed {
    private var monitors: [ClientSession] = []

    var isEmpty: Bool { monitors.isEmpty }

    func contains(_ client: ClientSession) -> Bool { monitors.contains { $0 === client } }

    func add(_ client: ClientSession) {
        if !contains(client) { monitors.append(client) }
        client.monitoring = true
    }

    func remove(_ client: ClientSession) {
        monitors.removeAll { $0 === client }
        client.monitoring = false
    }

    /// Sends every monitor the line for `request`, run by a client at `address` on database `database`.
    func show(_ request: [ByteBuffer], redacted: RedactedArguments, database: Int, address: String,
              unixMicroseconds: Int64) {
        let line = Self.line(request, redacted: redacted, database: database, address: address,
                             unixMicroseconds: unixMicroseconds)
        for monitor in monitors {
            guard let context = monitor.context, monitor.replyMode == .on else { continue }
            context.reply.simpleString(line)
            monitor.flushOutput()
        }
    }

    /// The status line's text (without '+' and CRLF).
    static func line(_ request: [ByteBuffer], redacted: RedactedArguments, database: Int, address: String,
                     unixMicroseconds: Int64) -> [UInt8] {
        let seconds = unixMicroseconds / 1_000_000
        let fraction = String(unixMicroseconds % 1_000_000)
        var text = Array("\(seconds).\(String(repeating: "0", count: 6 - fraction.count))\(fraction) [\(database) \(address)]".utf8)
        for (index, argument) in request.enumerated() {
            text.append(UInt8(ascii: " "))
            if redacted.contains(index) {
                quote(RedactedArguments.placeholder.utf8, into: &text)
            } else {
                quote(argument.readableBytesView, into: &text)
            }
        }
        return text
    }

    /// Appends `bytes` in double quotes: backslash and quote escaped, \n \r \t \a \b by name, other bytes outside
    /// printable ASCII as \xhh (lower-case hex), as Redis' monitor shows binary arguments.
    static func quote<Bytes: Collection>(_ bytes: Bytes, into text: inout [UInt8]) where Bytes.Element == UInt8 {
        let hexDigits = Array("0123456789abcdef".utf8)
        let backslash = UInt8(ascii: "\\")
        text.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case backslash, UInt8(ascii: "\""): text += [backslash, byte]
            case UInt8(ascii: "\n"): text += [backslash, UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): text += [backslash, UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): text += [backslash, UInt8(ascii: "t")]
            case 0x07: text += [backslash, UInt8(ascii: "a")]
            case 0x08: text += [backslash, UInt8(ascii: "b")]
            case 0x20...0x7e: text.append(byte)
            default: text += [backslash, UInt8(ascii: "x"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xf)]]
            }
        }
        text.append(UInt8(ascii: "\""))
    }
}
