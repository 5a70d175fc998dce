import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

@Suite struct CRC64Tests {
    @Test func checkValueOfTheStandardInput() {
        #expect(CRC64.checksum(of: bytes("123456789")) == 0xE9C6_D914_C4B8_D9CA)
        #expect(CRC64.checksum(of: []) == 0)
    }

    @Test(arguments: [1, 3, 7, 8, 9, 64, 1000])
    func streamingInChunksEqualsOneUpdate(chunk: Int) {
        var rng = SeededGenerator(seed: UInt64(chunk))
        let data = (0..<4097).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var crc = CRC64()
        var start = 0
        while start < data.count {
            let end = min(start + chunk, data.count)
            crc.update(data, start..<end)
            start = end
        }
        // Bit-by-bit reference: the reflected polynomial applied once per bit.
        var reference: UInt64 = 0
        for byte in data {
            reference ^= UInt64(byte)
            for _ in 0..<8 { reference = reference & 1 != 0 ? (reference >> 1) ^ CRC64.reflectedPolynomial : reference >> 1 }
        }
        #expect(crc.value == reference)
    }
}

@Suite struct LZFTests {
    static func samples() -> [[UInt8]] {
        var rng = SeededGenerator(seed: 42)
        let random = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog ", count: 200).utf8)
        let runs = [UInt8](repeating: 7, count: 10_000)
        let mixed = (0..<20_000).map { index in UInt8(truncatingIfNeeded: (index / 37) % 5 == 0 ? index : index % 11) }
        return [text, runs, mixed, Array(random.prefix(40)) + Array(random.prefix(40)), bytes("aaaaaaaaaaaaaaaaaaaaaaaaa")]
    }

    @Test func roundTripsCompressibleInputs() throws {
        for input in LZFTests.samples() {
            let packed = try #require(LZF.compress(input, limit: input.count - 4))
            #expect(packed.count < input.count)
            #expect(try LZF.decompress(packed, expectedLength: input.count) == input)
        }
    }

    @Test func refusesToExceedItsLimit() {
        var rng = SeededGenerator(seed: 7)
        let random = (0..<2000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect(LZF.compress(random, limit: random.count - 4) == nil)
        #expect(LZF.compress([], limit: 10) == nil)
    }

    @Test func decompressesAHandWrittenStream() throws {
        // Literal "ab", then a reference one byte back (distance 0 + 1 = "b"), length 1 + 2 = 3: "abbbb".
        #expect(try LZF.decompress([0x01, 0x61, 0x62, 0x20, 0x00], expectedLength: 5) == bytes("abbbb"))
    }

    @Test func boundsEveryRunAndReference() {
        // A reference before the start of the output.
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x00, 0x61, 0x20, 0x05], expectedLength: 4) }
        // A literal run past the end of the input.
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x05, 0x61], expectedLength: 6) }
        // More output than announced.
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x01, 0x61, 0x62], expectedLength: 1) }
        // Less output than announced.
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x01, 0x61, 0x62], expectedLength: 3) }
        // A reference cut off after its control byte, and a long reference cut before its length byte.
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x00, 0x61, 0x20], expectedLength: 4) }
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x00, 0x61, 0xE0], expectedLength: 12) }
        // An impossible expansion is refused before allocating.
        #expect(throws: LZF.Failure.self) { try LZF.decompress([0x00, 0x61], expectedLength: 1 << 40) }
    }

    @Test func survivesRandomGarbage() {
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<2000 {
            let garbage = (0..<Int.random(in: 1...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? LZF.decompress(garbage, expectedLength: Int.random(in: 0...200, using: &rng))
        }
    }
}

@Suite struct RDBLengthAndStringTests {
    static let lengthForms: [(UInt64, [UInt8])] = [
        (0, [0x00]), (63, [0x3F]), (64, [0x40, 0x40]), (16383, [0x7F, 0xFF]),
        (16384, [0x80, 0x00, 0x00, 0x40, 0x00]), (UInt64(UInt32.max), [0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
        (UInt64(UInt32.max) + 1, [0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
    ]

    @Test(arguments: lengthForms)
    func lengthFormsAreTheShortest(value: UInt64, encoded: [UInt8]) throws {
        var output = RDBOutput()
        output.length(value)
        #expect(output.bytes == encoded)
        var input = RDBInput(output.bytes)
        #expect(try input.length() == value)
        #expect(input.isAtEnd)
    }

    static let integerForms: [(String, [UInt8])] = [
        ("0", [0xC0, 0x00]), ("-128", [0xC0, 0x80]), ("127", [0xC0, 0x7F]), ("128", [0xC1, 0x80, 0x00]),
        ("-32769", [0xC2, 0xFF, 0x7F, 0xFF, 0xFF]), ("2147483647", [0xC2, 0xFF, 0xFF, 0xFF, 0x7F]),
    ]

    @Test(arguments: integerForms)
    func shortDecimalsUseIntegerEncodings(text: String, encoded: [UInt8]) throws {
        var output = RDBOutput()
        output.string(bytes(text), compress: true)
        #expect(output.bytes == encoded)
        var input = RDBInput(output.bytes)
        #expect(try input.string() == bytes(text))
    }

    @Test(arguments: ["2147483648", "007", "-0", "+1", " 1", "12345678901"])
    func otherDigitsStayStrings(text: String) throws {
        var output = RDBOutput()
        output.string(bytes(text), compress: true)
        #expect(output.bytes == [UInt8(text.utf8.count)] + bytes(text))
    }

    @Test func longRepetitiveStringsAreCompressedOnlyWhenAsked() throws {
        let long = bytes(String(repeating: "abcdefgh", count: 20))
        var compressed = RDBOutput()
        compressed.string(long, compress: true)
        #expect(compressed.bytes.first == 0xC3)
        #expect(compressed.bytes.count < long.count)
        var input = RDBInput(compressed.bytes)
        #expect(try input.string() == long)
        #expect(input.isAtEnd)

        var plain = RDBOutput()
        plain.string(long, compress: false)
        #expect(plain.bytes == [0x40, 0xA0] + long)
        // 20 bytes are never compressed, however repetitive (Redis' threshold).
        var short = RDBOutput()
        short.string(bytes(String(repeating: "a", count: 20)), compress: true)
        #expect(short.bytes.first == 20)
    }

    @Test func readersRefuseLengthsBeyondTheInput() {
        // A string announcing 10 bytes with 2 left; a 32-bit length cut short; an LZF string longer than the input;
        // an unknown length form; an unknown string encoding; a count larger than the bytes left.
        let cases: [[UInt8]] = [[0x0A, 1, 2], [0x80, 0, 0], [0xC3, 0x10, 0x20, 0x00], [0x82], [0xC5], [0xC1, 0x01]]
        for bytes in cases {
            var input = RDBInput(bytes)
            #expect(throws: RDBError.self) { try input.string() }
        }
        var counted = RDBInput([0x3F, 0, 0])
        #expect(throws: RDBError.self) { try counted.count() }
        var fixed = RDBInput([1, 2, 3])
        #expect(throws: RDBError.self) { try fixed.millisecondTime() }
        var ended = RDBInput([0x05, 1, 2, 3, 4, 5, 0xAA, 0xBB], end: 4)
        #expect(throws: RDBError.self) { try ended.string() }
    }

    @Test func failuresNameTheOffset() throws {
        var input = RDBInput([0x01, 0x41, 0x0A, 0x00], base: 100)
        _ = try input.string()
        do {
            _ = try input.string()
            Issue.record("a 10-byte string with 1 byte left was accepted")
        } catch {
            #expect(error.offset == 102)
        }
    }

    @Test func doublesAndTimesAreLittleEndian() throws {
        var output = RDBOutput()
        output.double(1.5)
        output.millisecondTime(0x0102_0304_0506_0708)
        #expect(Array(output.bytes[8...]) == [8, 7, 6, 5, 4, 3, 2, 1])
        var input = RDBInput(output.bytes)
        #expect(try input.double() == 1.5)
        #expect(try input.millisecondTime() == 0x0102_0304_0506_0708)
    }
}

@Suite struct ListpackTests {
    @Test func roundTripsEveryEncoding() throws {
        let values: [[UInt8]] = [
            bytes("0"), bytes("127"), bytes("128"), bytes("-1"), bytes("-4096"), bytes("4095"), bytes("4096"),
            bytes("-32768"), bytes("32767"), bytes("8388607"), bytes("-8388608"), bytes("2147483647"),
            bytes("9223372036854775807"), bytes("-9223372036854775808"), bytes("007"), bytes(""),
            [UInt8](repeating: 0x41, count: 63), [UInt8](repeating: 0x42, count: 64), [UInt8](repeating: 0x43, count: 4095),
            [UInt8](repeating: 0x44, count: 4096), [UInt8](repeating: 0x45, count: 20_000),
        ]
        var writer = ListpackWriter()
        for value in values { writer.append(value) }
        let listpack = writer.finish()
        let read = try ListpackReader.elements(of: listpack)
        #expect(read.map(\.bytes) == values)
        #expect(read[0] == .integer(0))
        #expect(read[14] == .string(ArraySlice(bytes("007"))))
    }

    @Test func matchesRedisBytesForASmallList() throws {
        // Redis' listpack for ["a", 1, -1000]: header 15 bytes / 3 elements, "a" as 0x81 'a' + back-length 2, 1 as
        // 0x01 + 1, -1000 as 13-bit 0xDC18 + 2, end marker.
        var writer = ListpackWriter()
        writer.append(bytes("a"))
        writer.append(bytes("1"))
        writer.append(bytes("-1000"))
        let listpack = writer.finish()
        #expect(listpack == [15, 0, 0, 0, 3, 0, 0x81, 0x61, 2, 0x01, 1, 0xDC, 0x18, 2, 0xFF])
    }

    @Test func longElementsHaveMultiByteBackLengths() throws {
        var writer = ListpackWriter()
        writer.append(string: [UInt8](repeating: 0x61, count: 200))
        let listpack = writer.finish()
        // 202 bytes of encoding and data: back-length 0x01, 0xCA (1 * 128 + 74, high bit on the last byte).
        #expect(Array(listpack[(listpack.count - 3)..<(listpack.count - 1)]) == [0x01, 0xCA])
        #expect(try ListpackReader.elements(of: listpack).count == 1)
    }

    /// Elements under 128 bytes take the one-byte back-length path: the byte must equal the size, high bit clear.
    @Test func shortElementBackLengthsAreCheckedExactly() throws {
        var writer = ListpackWriter()
        for value in ["x", "12", "hello world"] { writer.append(bytes(value)) }
        let good = writer.finish()
        #expect(good[6...8] == [0x81, 0x78, 2])  // "x": string of 1 byte, then its back-length
        var highBit = good
        highBit[8] = 0x82  // the right size, but marked as a continuation byte
        var tooLarge = good
        tooLarge[8] = 3
        // The last element's back-length replaced by the end marker, the listpack one byte shorter.
        var cut = Array(good.dropLast(2)) + [0xFF]
        cut[0] = UInt8(cut.count)
        for (damaged, reason) in [(highBit, "malformed listpack back-length"),
                                  (tooLarge, "listpack back-length 3, element has 2"),
                                  (cut, "listpack back-length runs past the end")] {
            do {
                _ = try ListpackReader.elements(of: damaged)
                Issue.record("accepted \(damaged)")
            } catch {
                #expect(error.reason == reason)
            }
        }
        #expect(try ListpackReader.elements(of: good).count == 3)
    }

    @Test func refusesDamagedListpacks() {
        var writer = ListpackWriter()
        for value in ["x", "12", "hello world"] { writer.append(bytes(value)) }
        let good = writer.finish()
        var wrongTotal = good
        wrongTotal[0] &+= 1
        var wrongCount = good
        wrongCount[4] = 2
        var noEnd = good
        noEnd[noEnd.count - 1] = 0x00
        var badBackLength = good
        badBackLength[8] = 5
        var badEncoding = good
        badEncoding[6] = 0xF5
        var longString = good
        longString[9] = 0xBF
        for damaged in [wrongTotal, wrongCount, noEnd, badBackLength, badEncoding, longString, Array(good.prefix(5))] {
            #expect(throws: RDBError.self) { try ListpackReader.elements(of: damaged) }
        }
    }

    @Test func survivesRandomMutations() {
        var rng = SeededGenerator(seed: 5)
        var writer = ListpackWriter()
        for index in 0..<50 { writer.append(bytes(index % 3 == 0 ? "\(index * 1000)" : "value-\(index)")) }
        let good = writer.finish()
        for _ in 0..<2000 {
            var damaged = good
            damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = try? ListpackReader.elements(of: damaged)
        }
    }
}

@Suite struct ListpackBackLengthTests {
    /// Redis' widths: one byte up to 127, two below 16383, three from 16383 (with a leading zero group).
    @Test(arguments: [(125, [UInt8(0x7F)]), (126, [0x01, 0x80]), (16377, [0x7F, 0xFE]), (16378, [0x00, 0xFF, 0xFF]),
                      (16379, [0x01, 0x80, 0x80])])
    func backLengthsHaveRedisWidths(stringLength: Int, backLength: [UInt8]) throws {
        var writer = ListpackWriter()
        writer.append(string: [UInt8](repeating: 0x61, count: stringLength))
        let listpack = writer.finish()
        #expect(Array(listpack[(listpack.count - 1 - backLength.count)..<(listpack.count - 1)]) == backLength)
        #expect(try ListpackReader.elements(of: listpack).first?.bytes.count == stringLength)
    }
}
