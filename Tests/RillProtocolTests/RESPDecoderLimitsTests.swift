import NIOCore
import RillProtocol
import Testing

@Suite("RESPDecoderLimits")
struct RESPDecoderLimitsTests {
    @Test func defaultsAreRedisProtocolLimits() {
        let limits = RESPDecoderLimits()
        #expect(limits.maxBulkLength == 536_870_912)
        #expect(limits.maxMultibulkLength == 2_147_483_647)
        #expect(limits.maxInlineLength == 65536)
        #expect(RESPDecoderLimits.redisDefaults == limits)
    }

    @Test("a bulk of exactly proto-max-bulk-len is accepted, one more byte is not")
    func bulkLengthBoundary() {
        let atLimit = decode(Array("*1\r\n$536870912\r\n"))
        #expect(atLimit.error == nil && atLimit.commands.isEmpty)
        #expect(decode(Array("*1\r\n$536870913\r\n")).error == .invalidBulkLength)

        let small = RESPDecoderLimits(maxBulkLength: 5)
        #expect(decode(multibulk("12345"), limits: small).commands == [[Array("12345")]])
        #expect(decode(multibulk("123456"), limits: small).error == .invalidBulkLength)
    }

    @Test("a count of INT_MAX is accepted without allocating for it, INT_MAX + 1 is not")
    func multibulkCountBoundary() {
        let atLimit = decode(Array("*2147483647\r\n$1\r\na\r\n$1\r\nb\r\n"))
        #expect(atLimit.error == nil && atLimit.commands.isEmpty)
        #expect(decode(Array("*2147483648\r\n")).error == .invalidMultibulkLength)

        let small = RESPDecoderLimits(maxMultibulkLength: 2)
        #expect(decode(multibulk("a", "b"), limits: small).commands == [[Array("a"), Array("b")]])
        #expect(decode(multibulk("a", "b", "c"), limits: small).error == .invalidMultibulkLength)
    }

    @Test("an inline line may have 64 KiB before its newline, no more")
    func inlineBoundary() {
        let letters = { (count: Int) in [UInt8](repeating: UInt8(ascii: "a"), count: count) }
        for pattern in everyFeedingPattern where pattern.sizes != [1] {
            let sizes = pattern.sizes
            // The \r counts: it precedes the \n, and Redis counts it while waiting for the \n.
            #expect(decode(letters(65535) + Array("\r\n"), chunkSizes: sizes).commands == [[letters(65535)]])
            #expect(decode(letters(65536) + Array("\n"), chunkSizes: sizes).commands == [[letters(65536)]])
            #expect(decode(letters(65536) + Array("\r\n"), chunkSizes: sizes).error == .tooBigInlineRequest)
            #expect(decode(letters(65537) + Array("\n"), chunkSizes: sizes).error == .tooBigInlineRequest)
            // Without any newline, the error comes as soon as more than 64 KiB are waiting.
            #expect(decode(letters(65536), chunkSizes: sizes) == DecodeOutcome(leftoverBytes: 65536))
            #expect(decode(letters(65537), chunkSizes: sizes).error == .tooBigInlineRequest)
        }
    }

    @Test("* and $ lines may have 64 KiB before their CR, no more")
    func headerLineBoundary() {
        let filler = { (count: Int) in [UInt8](repeating: UInt8(ascii: "1"), count: count) }
        // 65535 digits after the marker put the CR at offset 65536 from the line start: too long to be a number,
        // but not too big a line.
        #expect(decode(Array("*") + filler(65535) + Array("\r\n")).error == .invalidMultibulkLength)
        #expect(decode(Array("*") + filler(65536) + Array("\r\n")).error == .tooBigMultibulkCount)
        // Without a CR, the error comes as soon as more than 64 KiB of the line are waiting.
        #expect(decode(Array("*") + filler(65535)) == DecodeOutcome(leftoverBytes: 65536))
        #expect(decode(Array("*") + filler(65536), chunkSizes: [4096]).error == .tooBigMultibulkCount)

        let header = Array("*1\r\n$")
        #expect(decode(header + filler(65535) + Array("\r\n")).error == .invalidBulkLength)
        #expect(decode(header + filler(65536) + Array("\r\n")).error == .tooBigBulkCount)
        #expect(decode(header + filler(65535), chunkSizes: [1000]) == DecodeOutcome(leftoverBytes: 65540))
        #expect(decode(header + filler(65536), chunkSizes: [1000]).error == .tooBigBulkCount)

        let small = RESPDecoderLimits(maxInlineLength: 4)
        #expect(decode(Array("*1\r\n$4\r\nPING\r\n"), limits: small).commands == [[Array("PING")]])
        #expect(decode(Array("*1\r\n$0004\r\n"), limits: small).error == .tooBigBulkCount)
        #expect(decode(Array("PING\n"), limits: small).commands == [[Array("PING")]])
        #expect(decode(Array("PING\r\n"), limits: small).error == .tooBigInlineRequest)
    }

    @Test("limits changed between calls apply to the bytes examined next")
    func limitsChangeAtRuntime() throws {
        var decoder = RESPRequestDecoder()
        var buffer = ByteBuffer(bytes: multibulk("SET", "k", "0123456789"))
        #expect(try decoder.decode(&buffer)?.count == 3)
        decoder.limits.maxBulkLength = 9
        buffer.writeBytes(multibulk("SET", "k", "0123456789"))
        #expect(throws: RESPProtocolError.invalidBulkLength) { try decoder.decode(&buffer) }
    }

    @Test("before AUTH, a count over 10 and a length over 16 KiB are refused, after the absolute limits")
    func unauthenticatedLimits() {
        let stranger = RESPDecoderLimits(unauthenticated: true)
        let tenArguments = multibulk(Array(repeating: [UInt8](Array("a")), count: 10))
        for pattern in everyFeedingPattern {
            let sizes = pattern.sizes
            #expect(decode(tenArguments, chunkSizes: sizes, limits: stranger).commands.count == 1)
            #expect(decode(Array("*11\r\n"), chunkSizes: sizes, limits: stranger).error == .unauthenticatedMultibulkLength)
            let atLimit = [UInt8](repeating: UInt8(ascii: "x"), count: 16384)
            #expect(decode(multibulk([Array("ECHO"), atLimit]), chunkSizes: sizes, limits: stranger).commands.count == 1)
            // Refused from the length line alone: the payload never has to arrive.
            #expect(decode(Array("*2\r\n$4\r\nECHO\r\n$16385\r\n"), chunkSizes: sizes, limits: stranger).error
                == .unauthenticatedBulkLength)
        }
        // Redis checks the absolute limits first.
        #expect(decode(Array("*3000000000\r\n"), limits: stranger).error == .invalidMultibulkLength)
        #expect(decode(Array("*1\r\n$600000000\r\n"), limits: stranger).error == .invalidBulkLength)
        #expect(decode(Array("*-5\r\n*1\r\n$4\r\nPING\r\n"), limits: stranger).commands == [[Array("PING")]])
        // Inline requests have only the line limit, before AUTH too.
        let longInline = Array("ECHO ") + [UInt8](repeating: UInt8(ascii: "y"), count: 20000) + Array("\r\n")
        #expect(decode(longInline, limits: stranger).commands.count == 1)
    }

    @Test("a client that authenticates mid-pipeline gets the full limits from its next request")
    func authenticationLiftsTheLimits() throws {
        var decoder = RESPRequestDecoder(limits: RESPDecoderLimits(unauthenticated: true))
        var buffer = ByteBuffer(bytes: multibulk("AUTH", "pw") + Array("*11\r\n")
            + Array(repeating: multibulk("a").dropFirst(4), count: 11).flatMap { $0 })
        #expect(try decoder.decode(&buffer)?.count == 2)
        decoder.limits.unauthenticated = false
        #expect(try decoder.decode(&buffer)?.count == 11)
    }
}
