import NIOCore
import RillTestSupport
import Testing

import RillProtocol

@Suite("RESPRequestDecoder")
struct RESPRequestDecoderTests {
    // MARK: Errors (each input and message checked against redis-server 7.0.15 over a raw socket)

    static let errorCases: [(input: String, error: RESPProtocolError)] = [
        ("*x\r\n", .invalidMultibulkLength),
        ("*\r\n", .invalidMultibulkLength),
        ("*+1\r\n$4\r\nPING\r\n", .invalidMultibulkLength),
        ("*01\r\n$4\r\nPING\r\n", .invalidMultibulkLength),
        ("*1 \r\n$4\r\nPING\r\n", .invalidMultibulkLength),
        ("* 1\r\n$4\r\nPING\r\n", .invalidMultibulkLength),
        ("*-0\r\nPING\r\n", .invalidMultibulkLength),
        ("*1\nPING\r\n", .invalidMultibulkLength),
        ("*2147483648\r\n", .invalidMultibulkLength),
        ("*9223372036854775807\r\n", .invalidMultibulkLength),
        ("*-9223372036854775809\r\nPING\r\n", .invalidMultibulkLength),
        ("*1\r\n$x\r\n", .invalidBulkLength),
        ("*1\r\n$\r\n", .invalidBulkLength),
        ("*1\r\n$-1\r\n", .invalidBulkLength),
        ("*1\r\n$-0\r\nPING\r\n", .invalidBulkLength),
        ("*1\r\n$+4\r\nPING\r\n", .invalidBulkLength),
        ("*1\r\n$4\nPING\r\n", .invalidBulkLength),
        ("*1\r\n$536870913\r\n", .invalidBulkLength),
        ("*2\r\n$4\r\nECHO\r\n$-5\r\n", .invalidBulkLength),
        ("*2\r\n$4\r\nECHO\r\n$9223372036854775808\r\n", .invalidBulkLength),
        ("*1\r\nx4\r\nPING\r\n", .expectedDollar(got: UInt8(ascii: "x"))),
        ("ECHO \"a\r\n", .unbalancedQuotes),
        ("ECHO \"a\"b\r\n", .unbalancedQuotes),
        ("ECHO 'a'b\r\n", .unbalancedQuotes),
        ("ECHO \"\\\"\r\n", .unbalancedQuotes),
        ("ECHO \"a\\\"\r\n", .unbalancedQuotes),
        ("ECHO \"a\r\r\n", .unbalancedQuotes),
    ]

    @Test("each malformed request fails with Redis's message", arguments: errorCases.indices)
    func malformedRequest(caseIndex: Int) {
        let (input, expected) = Self.errorCases[caseIndex]
        for pattern in everyFeedingPattern {
            let outcome = decode(Array(input), chunkSizes: pattern.sizes, compact: pattern.compact)
            #expect(outcome.error == expected, "\(input.debugDescription) fed \(pattern.name): \(outcome)")
            #expect(outcome.commands.isEmpty)
        }
    }

    @Test func errorMessagesAreRedisTexts() {
        #expect(RESPProtocolError.invalidMultibulkLength.message == "Protocol error: invalid multibulk length")
        #expect(RESPProtocolError.invalidBulkLength.message == "Protocol error: invalid bulk length")
        #expect(RESPProtocolError.unbalancedQuotes.message == "Protocol error: unbalanced quotes in request")
        #expect(RESPProtocolError.tooBigInlineRequest.message == "Protocol error: too big inline request")
        #expect(RESPProtocolError.tooBigMultibulkCount.message == "Protocol error: too big mbulk count string")
        #expect(RESPProtocolError.tooBigBulkCount.message == "Protocol error: too big bulk count string")
        #expect(RESPProtocolError.expectedDollar(got: UInt8(ascii: "x")).message == "Protocol error: expected '$', got 'x'")
        #expect(RESPProtocolError.invalidBulkLength.description == "ERR Protocol error: invalid bulk length")
    }

    @Test("a missing $ is reported with CR/LF shown as a space and other bytes as themselves")
    func expectedDollarRendering() {
        #expect(decode(Array("*1\r\n\r\n")).error?.message == "Protocol error: expected '$', got ' '")
        #expect(decode(Array("*1\r\n\n$4\r\n")).error?.message == "Protocol error: expected '$', got ' '")
        let highByte = decode(Array("*1\r\n") + [0xFF] + Array("\r\n")).error
        #expect(highByte == .expectedDollar(got: 0xFF))
        #expect(highByte?.message.unicodeScalars.contains(Unicode.Scalar(0xFF)) == true)
    }

    @Test("the missing-$ error waits for the end of the line, as Redis does")
    func expectedDollarWaitsForLineEnd() {
        let partial = decode(Array("*1\r\nx4"))
        #expect(partial.error == nil && partial.commands.isEmpty && partial.leftoverBytes == 6)
        #expect(decode(Array("*1\r\nx4\r")).error == nil)
        #expect(decode(Array("*1\r\nx4\r\n")).error == .expectedDollar(got: UInt8(ascii: "x")))
    }

    @Test("commands before a malformed one are still returned")
    func commandsBeforeError() {
        let outcome = decode(Array("PING\r\n*x\r\n"))
        #expect(outcome.commands == [[Array("PING")]])
        #expect(outcome.error == .invalidMultibulkLength)
    }

    @Test func decoderIsReusableAfterResetFollowingAnError() throws {
        var decoder = RESPRequestDecoder()
        var bad = ByteBuffer(bytes: Array("*x\r\n"))
        #expect(throws: RESPProtocolError.invalidMultibulkLength) { try decoder.decode(&bad) }
        decoder.validate()
        var good = ByteBuffer(bytes: multibulk("PING"))
        let arguments = try decoder.decode(&good)
        #expect(arguments.map { $0.map { Array($0.readableBytesView) } } == [Array("PING")])
    }

    // MARK: Empty requests and Redis quirks

    @Test("empty requests are skipped: *0, *-N and blank inline lines")
    func emptyRequestsAreSkipped() {
        let input =
            "*0\r\nPING\r\n*-1\r\nPING\r\n*-2\r\n*-9223372036854775808\r\n\r\n\n   \r\n\r\r\n\t\u{0B}\u{0C}\nPING\n"
        for pattern in everyFeedingPattern {
            let outcome = decode(Array(input), chunkSizes: pattern.sizes, compact: pattern.compact)
            #expect(outcome == DecodeOutcome(commands: Array(repeating: [Array("PING")], count: 3)), "\(pattern.name)")
        }
    }

    @Test("the two bytes after a bulk payload and after a header's CR are skipped unchecked")
    func terminatorsAreNotChecked() {
        #expect(decode(Array("*1\r\n$4\r\nPINGxxPING\r\n")).commands == [[Array("PING")], [Array("PING")]])
        #expect(decode(Array("*1\rx$4\rxPINGxx")).commands == [[Array("PING")]])
    }

    @Test("an empty bulk argument is an empty slice")
    func emptyBulk() {
        #expect(decode(Array("*2\r\n$0\r\n\r\n$1\r\na\r\n")).commands == [[[], Array("a")]])
    }

    @Test("a NUL hides a line end, so the line can only end by growing too big")
    func nulHidesLineEnd() {
        let bulkHeader = Array("*1\r\n") + [0] + Array("\r\n")
        let stalled = decode(bulkHeader + Array("*1\r\n$4\r\nPING\r\n"))
        #expect(stalled.commands.isEmpty && stalled.error == nil)
        let grown = decode(bulkHeader + Array(repeating: UInt8(ascii: "a"), count: 70000), chunkSizes: [1000])
        #expect(grown.error == .tooBigBulkCount)

        let countLine = Array("*1") + [0] + Array("\r\n$4\r\nPING\r\n")
        #expect(decode(countLine) == DecodeOutcome(leftoverBytes: countLine.count))
        #expect(decode(countLine + Array(repeating: 0x61, count: 70000)).error == .tooBigMultibulkCount)

        let inline = Array("ECHO a") + [0] + Array("\nPING\r\n")
        #expect(decode(inline) == DecodeOutcome(leftoverBytes: inline.count))
        #expect(decode(inline + Array(repeating: 0x61, count: 70000), chunkSizes: [1]).error == .tooBigInlineRequest)
        // A NUL inside a bulk payload is ordinary data.
        #expect(decode(multibulk([[0, 1, 0]])).commands == [[[0, 1, 0]]])
    }

    // MARK: Pipelining and splitting

    /// Several multibulk and inline commands back to back, with the commands they must decode to.
    static let pipeline: (bytes: [UInt8], commands: [[[UInt8]]]) = {
        var bytes: [UInt8] = []
        var commands: [[[UInt8]]] = []
        func add(_ encoded: [UInt8], _ command: [[UInt8]]?) {
            bytes += encoded
            if let command { commands.append(command) }
        }
        add(multibulk("PING"), [Array("PING")])
        add(Array("SET key value\r\n"), [Array("SET"), Array("key"), Array("value")])
        add(multibulk([Array("XADD"), Array("s"), Array("*"), Array("f\r\n"), []]), [Array("XADD"), Array("s"), Array("*"), Array("f\r\n"), []])
        add(Array("*0\r\n"), nil)
        add(Array("\r\n"), nil)
        add(Array("ECHO \"a b\\x41\\n\" 'c\\'d'\n"), [Array("ECHO"), Array("a bA\n"), Array("c'd")])
        let big = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        add(multibulk([Array("SET"), Array("big"), big]), [Array("SET"), Array("big"), big])
        add(Array("*-1\r\n"), nil)
        add(Array("  GET\tkey  \r\n"), [Array("GET"), Array("key")])
        add(multibulk([Array("X"), Array("*3\r\n$1\r\n")]), [Array("X"), Array("*3\r\n$1\r\n")])
        return (bytes, commands)
    }()

    @Test("a pipelined buffer split in two at every byte decodes the same")
    func everySplitPoint() {
        let (bytes, commands) = Self.pipeline
        let whole = decode(bytes)
        #expect(whole == DecodeOutcome(commands: commands))
        for split in 1..<bytes.count {
            let outcome = decode(bytes, chunkSizes: [split, bytes.count], compact: split % 2 == 0)
            if outcome != whole {
                Issue.record("split at \(split): \(outcome)")
                return
            }
        }
    }

    @Test("a pipelined buffer fed byte by byte decodes the same")
    func byteByByte() {
        let (bytes, commands) = Self.pipeline
        #expect(decode(bytes, chunkSizes: [1]) == DecodeOutcome(commands: commands))
        #expect(decode(bytes, chunkSizes: [1], compact: true) == DecodeOutcome(commands: commands))
    }

    @Test("an incomplete request leaves the reader index at its start")
    func incompleteRequestKeepsReaderIndex() throws {
        var decoder = RESPRequestDecoder()
        var buffer = ByteBuffer(bytes: multibulk("PING") + Array("*2\r\n$3\r\nGET\r\n$3\r\nke"))
        let first = try decoder.decode(&buffer)
        #expect(first?.count == 1)
        let requestStart = buffer.readerIndex
        #expect(try decoder.decode(&buffer) == nil)
        #expect(buffer.readerIndex == requestStart)
        decoder.validate()
        buffer.writeBytes(Array("y\r\n"))
        let second = try decoder.decode(&buffer)
        #expect(second?.map { Array($0.readableBytesView) } == [Array("GET"), Array("key")])
        #expect(buffer.readableBytes == 0)
        #expect(try decoder.decode(&buffer) == nil)
    }

    @Test("arguments are slices of the input buffer, not copies")
    func argumentsAreSlices() throws {
        var decoder = RESPRequestDecoder()
        var buffer = ByteBuffer(bytes: multibulk("GET", "key") + Array("SET k v\r\n"))
        let base = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let get = try #require(try decoder.decode(&buffer))
        let key = get[1].withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(key == base + 17)  // "*2\r\n$3\r\nGET\r\n$3\r\n" is 17 bytes
        let set = try #require(try decoder.decode(&buffer))
        let value = set[2].withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(value == base + 22 + 6)  // the GET request is 22 bytes; "SET k " is 6
    }

    // MARK: Random round trips

    @Test("random commands round-trip through multibulk and quoted inline encodings", arguments: [1, 2, 3, 4] as [UInt64])
    func randomRoundTrip(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var bytes: [UInt8] = []
        var commands: [[[UInt8]]] = []
        for _ in 0..<60 {
            let argumentCount = Int.random(in: 1...6, using: &random)
            let command: [[UInt8]] = (0..<argumentCount).map { _ in
                let length = Int.random(in: 0...100, using: &random) < 3
                    ? Int.random(in: 1000...20000, using: &random) : Int.random(in: 0...24, using: &random)
                // Bias towards bytes that matter to the grammar.
                let special: [UInt8] = [0x0D, 0x0A, 0x00, 0x22, 0x27, 0x5C, 0x20, 0x09, 0x2A, 0x24]
                return (0..<length).map { _ in
                    Bool.random(using: &random)
                        ? special.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
                }
            }
            switch Int.random(in: 0..<10, using: &random) {
            case 0: bytes += Array("*0\r\n")
            case 1: bytes += Array(["\r\n", "\n", " \r\n", "*-1\r\n"].randomElement(using: &random)!)
            default: break
            }
            // Inline lines are capped at 64 KiB, so only small commands may go inline.
            if command.reduce(0, { $0 + $1.count }) < 4000 && Bool.random(using: &random) {
                bytes += quotedInlineLine(command, terminator: Bool.random(using: &random) ? "\r\n" : "\n")
            } else {
                bytes += multibulk(command)
            }
            commands.append(command)
        }
        let expected = DecodeOutcome(commands: commands)
        for pattern in everyFeedingPattern {
            #expect(decode(bytes, chunkSizes: pattern.sizes, compact: pattern.compact) == expected, "\(pattern.name)")
        }
        let randomSizes = (0..<50).map { _ in Int.random(in: 1...300, using: &random) }
        #expect(decode(bytes, chunkSizes: randomSizes, compact: true) == expected)
    }

    @Test("resuming a partial request does not rescan what was already parsed")
    func partialRequestsAreNotRescanned() {
        // 40000 one-byte arguments fed byte by byte: a decoder that re-parsed the request from its start on every
        // call would do ~40000 * 280000 / 2 argument parses and take minutes, a linear one takes well under a second.
        let arguments = Array(repeating: [UInt8(ascii: "a")], count: 40000)
        let start = ContinuousClock.now
        let outcome = decode(multibulk(arguments), chunkSizes: [1], validating: false)
        let elapsed = ContinuousClock.now - start
        #expect(outcome == DecodeOutcome(commands: [arguments]))
        #expect(elapsed < .seconds(20), "took \(elapsed)")
    }
}
