#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillServer

extension FuzzTargets {
    static let configurationFiles = FuzzTarget(
        name: "configuration-files",
        summary: "The configuration file reader at start-up: any text is accepted or refused with a message, never a crash."
    ) { input in
        let path = "/tmp/rill-fuzz-config-\(getpid()).conf"
        guard let file = fopen(path, "wb") else { preconditionFailure("cannot write \(path)") }
        _ = input.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        defer { unlink(path) }
        if let error = EmbeddedServer.configurationError(fileAt: path) {
            precondition(!error.isEmpty, "a refused configuration without a message")
        }
    }

    /// The table rows a sequence draws from, with their words (`["xinfo", "stream"]`).
    static let sequenceGrammar: [(words: [String], arity: Int, tokens: [String])] = EmbeddedServer.commandGrammar
        // The embedded server refuses these (`EmbeddedServer.refusal`); raw bytes still send them now and then.
        .filter { !EmbeddedServer.commandsNeedingTheProcess.contains($0.name) }
        .map { (words: $0.name.split(separator: "|").map(String.init), arity: $0.arity, tokens: $0.tokens) }

    static let keys = ["s", "t", "l", "k"]
    static let streamIDs = ["0", "0-0", "0-1", "1-1", "1", "$", ">", "+", "-", "*", "1-*", "2", "(1-1",
                            "18446744073709551615-18446744073709551615"]
    static let numbers = ["0", "1", "2", "-1", "5", "100", "1000", "9223372036854775807", "1.5"]

    static let commandSequences = FuzzTarget(
        name: "command-sequences",
        summary: """
            An in-process server (EmbeddedServer) with three connections, driven by the input: requests built from \
            the command table (names, arities, documented option words, a few keys, ids and numbers, raw bytes), \
            raw protocol bytes, and time moving on for timeouts and periodic jobs. Every command runs with the \
            core's invariant checks (debug builds) and every reply must be well-formed RESP.
            """
    ) { input in
        var cursor = InputCursor(input)
        let server: EmbeddedServer
        var connections: [Int] = []
        do {
            server = try EmbeddedServer(directives: [("save", [""]), ("appendonly", ["no"])])
            for _ in 0..<3 { connections.append(try server.connect()) }
        } catch {
            preconditionFailure("cannot start the embedded server: \(error)")
        }
        var steps = 0
        while !cursor.isAtEnd && steps < 200 {
            steps += 1
            let slot = cursor.choice(connections.count)
            let bytes: [UInt8]
            switch cursor.byte() % 16 {
            case 0:
                server.advance(milliseconds: Int64(cursor.choice(3000)))
                continue
            case 1:
                bytes = cursor.bytes(upTo: Int(cursor.byte() % 64))
            default:
                bytes = request(from: &cursor)
            }
            do {
                let output = try server.send(bytes, on: connections[slot])
                precondition(isWellFormedReplyStream(output), "malformed reply bytes: \(String(reflecting: output))")
                // QUIT, CLIENT KILL and protocol errors close connections; keep three to talk through.
                for (index, connection) in connections.enumerated() where !server.isOpen(connection) {
                    connections[index] = try server.connect()
                }
            } catch {
                preconditionFailure("the embedded channel failed: \(error)")
            }
        }
    }

    /// One multibulk request: a row of the table and arguments for it.
    private static func request(from cursor: inout InputCursor) -> [UInt8] {
        let row = sequenceGrammar[cursor.choice(sequenceGrammar.count)]
        let total = row.arity >= 0 ? row.arity : -row.arity + cursor.choice(6)
        var words = row.words.map { Array($0.utf8) }
        while words.count < total {
            switch cursor.byte() % 8 {
            case 0, 1: words.append(Array((row.tokens.isEmpty ? keys : row.tokens)[cursor.choice(max(row.tokens.count, 1))].utf8))
            case 2, 3: words.append(Array(keys[cursor.choice(keys.count)].utf8))
            case 4, 5: words.append(Array(streamIDs[cursor.choice(streamIDs.count)].utf8))
            case 6: words.append(Array(numbers[cursor.choice(numbers.count)].utf8))
            default: words.append(cursor.bytes(upTo: Int(cursor.byte() % 12)))
            }
        }
        var bytes = Array("*\(words.count)\r\n".utf8)
        for word in words { bytes += Array("$\(word.count)\r\n".utf8) + word + [13, 10] }
        return bytes
    }

    /// Whether `bytes` is a sequence of complete RESP2/RESP3 replies and nothing else.
    public static func isWellFormedReplyStream(_ bytes: [UInt8]) -> Bool {
        var position = 0
        while position < bytes.count {
            guard skipReply(bytes, &position) else { return false }
        }
        return true
    }

    /// Moves `position` past one reply; false when the bytes there are not one.
    private static func skipReply(_ bytes: [UInt8], _ position: inout Int) -> Bool {
        guard position < bytes.count else { return false }
        let marker = bytes[position]
        position += 1
        guard let line = readLine(bytes, &position) else { return false }
        switch marker {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "("),
             UInt8(ascii: "#"), UInt8(ascii: "_"):
            return !line.contains(13) && !line.contains(10)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let length = Int(String(decoding: line, as: UTF8.self)) else { return false }
            if length == -1 && marker == UInt8(ascii: "$") { return true }
            guard length >= 0, position + length + 2 <= bytes.count,
                  bytes[position + length] == 13, bytes[position + length + 1] == 10 else { return false }
            position += length + 2
            return true
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = Int(String(decoding: line, as: UTF8.self)) else { return false }
            if count == -1 && marker == UInt8(ascii: "*") { return true }
            guard count >= 0 else { return false }
            let elements = marker == UInt8(ascii: "%") || marker == UInt8(ascii: "|") ? count * 2 : count
            for _ in 0..<elements {
                guard skipReply(bytes, &position) else { return false }
            }
            // An attribute (`|`) annotates the reply that follows it.
            return marker == UInt8(ascii: "|") ? skipReply(bytes, &position) : true
        default:
            return false
        }
    }

    /// The line at `position` up to its CRLF, moving past both.
    private static func readLine(_ bytes: [UInt8], _ position: inout Int) -> ArraySlice<UInt8>? {
        var end = position
        while end + 1 < bytes.count {
            if bytes[end] == 13 && bytes[end + 1] == 10 {
                defer { position = end + 2 }
                return bytes[position..<end]
            }
            end += 1
        }
        return nil
    }
}
