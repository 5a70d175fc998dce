import Testing
import RillCore

/// Expected results in this file were observed on redis-server 7.0.15 with redis-cli
/// (`XADD s <arg> f v` on a fresh key for XADD forms, `XRANGE s <arg> +` / `XRANGE s - <arg>` for
/// range forms, `XSETID` for strict forms).
struct StreamIDTests {
    static let maxValue = UInt64.max

    @Test("XADD ID argument forms", arguments: [
        ("5", StreamIDSpec.explicit(StreamID(ms: 5, seq: 0))),
        ("+5", .explicit(StreamID(ms: 5, seq: 0))),
        (" 5", .explicit(StreamID(ms: 5, seq: 0))),
        ("\t5", .explicit(StreamID(ms: 5, seq: 0))),
        ("\u{0B}\u{0C}\r\n5", .explicit(StreamID(ms: 5, seq: 0))),
        ("5--0", .explicit(StreamID(ms: 5, seq: 0))),
        ("5--01", .explicit(StreamID(ms: 5, seq: maxValue))),
        ("5- 1", .explicit(StreamID(ms: 5, seq: 1))),
        ("5-+1", .explicit(StreamID(ms: 5, seq: 1))),
        ("5- -1", .explicit(StreamID(ms: 5, seq: maxValue))),
        ("007-007", .explicit(StreamID(ms: 7, seq: 7))),
        ("18446744073709551615-18446744073709551615", .explicit(.max)),
        ("5-9223372036854775808", .explicit(StreamID(ms: 5, seq: 9_223_372_036_854_775_808))),
        ("5--9223372036854775809", .explicit(StreamID(ms: 5, seq: 9_223_372_036_854_775_807))),
        ("5--18446744073709551615", .explicit(StreamID(ms: 5, seq: 1))),
        ("00000000000000000000000000000001", .explicit(StreamID(ms: 1, seq: 0))),
        ("5-*", .automaticSequence(milliseconds: 5)),
        ("0-*", .automaticSequence(milliseconds: 0)),
        (" 5-*", .automaticSequence(milliseconds: 5)),
        ("*", .automatic),
        ("0", .explicit(.zero)),
        ("0-0", .explicit(.zero)),
        ("5\u{0}abc", .explicit(StreamID(ms: 5, seq: 0))),
        ("*\u{0}abc", .automatic),
        (String(repeating: "0", count: 126) + "5", .explicit(StreamID(ms: 5, seq: 0))),
        ("5-" + String(repeating: "0", count: 124) + "3", .explicit(StreamID(ms: 5, seq: 3))),
    ])
    func xaddForms(argument: String, expected: StreamIDSpec) throws {
        #expect(try StreamIDSpec.parse(Array(argument.utf8)) == expected)
    }

    @Test("invalid XADD ID arguments", arguments: [
        "-1", "5--1", "18446744073709551616", "99999999999999999999", "5-", "-5", "", "5-**", "-", "+",
        "5-1-1", "1e3", "0x10", "5 ", "5-18446744073709551616", "5--18446744073709551616", "7-\u{0}1",
        String(repeating: "0", count: 127) + "5", "5-" + String(repeating: "0", count: 125) + "3", "**", "5-*1",
    ])
    func invalidXADDForms(argument: String) {
        #expect(throws: StreamError.invalidID) { try StreamIDSpec.parse(Array(argument.utf8)) }
    }

    @Test func explicitZeroIsFlagged() throws {
        #expect(try StreamIDSpec.parse(Array("0".utf8)).isExplicitZero)
        #expect(try StreamIDSpec.parse(Array("0-0".utf8)).isExplicitZero)
        #expect(try !StreamIDSpec.parse(Array("0-*".utf8)).isExplicitZero)
        #expect(try !StreamIDSpec.parse(Array("0-1".utf8)).isExplicitZero)
    }

    @Test("non-strict parsing (XRANGE bounds, XREAD IDs)") func nonStrict() throws {
        #expect(try StreamID.parse(Array("-".utf8), missingSequence: 7) == .zero)
        #expect(try StreamID.parse(Array("+".utf8), missingSequence: 7) == .max)
        #expect(try StreamID.parse(Array("5".utf8), missingSequence: 0) == StreamID(ms: 5, seq: 0))
        #expect(try StreamID.parse(Array("5".utf8), missingSequence: .max) == StreamID(ms: 5, seq: .max))
        #expect(try StreamID.parse(Array("5-3".utf8), missingSequence: .max) == StreamID(ms: 5, seq: 3))
        #expect(throws: StreamError.invalidID) { try StreamID.parse(Array("5-*".utf8), missingSequence: 0) }
        #expect(throws: StreamError.invalidID) { try StreamID.parse(Array("*".utf8), missingSequence: 0) }
        #expect(throws: StreamError.invalidID) { try StreamID.parse(Array("--".utf8), missingSequence: 0) }
    }

    @Test("strict parsing (XDEL, XSETID)") func strict() throws {
        #expect(throws: StreamError.invalidID) { try StreamID.parseStrict(Array("-".utf8)) }
        #expect(throws: StreamError.invalidID) { try StreamID.parseStrict(Array("+".utf8)) }
        #expect(throws: StreamError.invalidID) { try StreamID.parseStrict(Array("3-*".utf8)) }
        #expect(try StreamID.parseStrict(Array("4".utf8)) == StreamID(ms: 4, seq: 0))
        // Redis sees a C string, so "-" followed by NUL is "-".
        #expect(throws: StreamError.invalidID) { try StreamID.parseStrict(Array("-\u{0}x".utf8)) }
        #expect(try StreamID.parse(Array("+\u{0}x".utf8), missingSequence: 0) == .max)
    }

    @Test("range bounds") func rangeBounds() throws {
        func start(_ text: String) throws(StreamError) -> StreamID { try StreamID.parseRangeStart(Array(text.utf8)) }
        func end(_ text: String) throws(StreamError) -> StreamID { try StreamID.parseRangeEnd(Array(text.utf8)) }
        #expect(try start("-") == .zero)
        #expect(try start("+") == .max)
        #expect(try end("-") == .zero)
        #expect(try end("+") == .max)
        #expect(try start("5") == StreamID(ms: 5, seq: 0))
        #expect(try end("5") == StreamID(ms: 5, seq: .max))
        #expect(try start("(5") == StreamID(ms: 5, seq: 1))
        #expect(try end("(5") == StreamID(ms: 5, seq: .max - 1))
        #expect(try start("(5-3") == StreamID(ms: 5, seq: 4))
        #expect(try start("(5-18446744073709551615") == StreamID(ms: 6, seq: 0))
        #expect(try end("(6-0") == StreamID(ms: 5, seq: .max))
        #expect(try end("(0") == StreamID(ms: 0, seq: .max - 1))
        #expect(try start("(0-0") == StreamID(ms: 0, seq: 1))
        #expect(throws: StreamError.invalidStartOfInterval) { try start("(18446744073709551615-18446744073709551615") }
        #expect(throws: StreamError.invalidEndOfInterval) { try end("(0-0") }
        for text in ["(-", "(+", "(", "((5", "(5-*", "(\u{0}"] {
            #expect(throws: StreamError.invalidID) { try start(text) }
            #expect(throws: StreamError.invalidID) { try end(text) }
        }
        // The 127-byte limit applies to what follows "(".
        #expect(try start("(" + String(repeating: "0", count: 126) + "5") == StreamID(ms: 5, seq: 1))
    }

    @Test func nextAndPrevious() {
        #expect(StreamID(ms: 1, seq: 2).next == StreamID(ms: 1, seq: 3))
        #expect(StreamID(ms: 1, seq: .max).next == StreamID(ms: 2, seq: 0))
        #expect(StreamID.max.next == nil)
        #expect(StreamID(ms: 1, seq: 0).previous == StreamID(ms: 0, seq: .max))
        #expect(StreamID(ms: 1, seq: 5).previous == StreamID(ms: 1, seq: 4))
        #expect(StreamID.zero.previous == nil)
        #expect(StreamID(ms: 1, seq: 9) < StreamID(ms: 2, seq: 0))
        #expect(StreamID(ms: 2, seq: 0) < StreamID(ms: 2, seq: 1))
    }

    @Test func formatting() {
        let samples: [StreamID] = [.zero, .max, StreamID(ms: 1_526_919_030_474, seq: 55), StreamID(ms: 9, seq: 10),
                                   StreamID(ms: 10_000, seq: 9999), StreamID(ms: 99_999, seq: 100_000)]
        for id in samples {
            let expected = "\(id.ms)-\(id.seq)"
            #expect(id.description == expected)
            #expect(id.asciiByteCount == expected.utf8.count)
            var bytes: [UInt8] = [0x41]
            id.appendASCII(to: &bytes)
            #expect(bytes == [0x41] + Array(expected.utf8))
            let formatted = id.withASCIIBytes { Array($0) }
            #expect(formatted == Array(expected.utf8))
        }
        #expect(StreamID.max.asciiByteCount == StreamID.maxASCIIByteCount)
    }

    @Test func digitCounts() {
        var power: UInt64 = 1
        for digits in 1...19 {
            #expect(StreamID(ms: power, seq: 0).asciiByteCount == digits + 2)
            #expect(StreamID(ms: 0, seq: power - 1).asciiByteCount == Swift.max(1, digits - 1) + 2)
            power *= 10
        }
        #expect(StreamID(ms: .max, seq: 0).asciiByteCount == 22)
        #expect(StreamFieldValue.integer(.min).byteCount == 20)
        #expect(StreamFieldValue.integer(-1).byteCount == 2)
        #expect(StreamFieldValue.integer(.min).bytes == Array("-9223372036854775808".utf8))
        #expect(StreamFieldValue.integer(.max).bytes == Array("9223372036854775807".utf8))
    }

    /// Values that are canonical int64 decimals (listpack/string2ll rules) are stored as integers
    /// and come back as `.integer`; everything else comes back as the same bytes.
    @Test("canonical integers are stored as integers") func canonicalIntegers() throws {
        let integers: [(String, Int64)] = [("0", 0), ("-1", -1), ("63", 63), ("64", 64), ("-64", -64), ("-65", -65),
                                           ("255", 255), ("256", 256), ("9223372036854775807", .max),
                                           ("-9223372036854775808", .min), ("1000000", 1_000_000)]
        let texts = ["", "-", "-0", "00", "01", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809",
                     "1a", "99999999999999999999", "x", String(repeating: "y", count: 200)]
        var stream = Stream()
        var ms: UInt64 = 1
        for (text, value) in integers {
            try stream.append(id: StreamID(ms: ms, seq: 0), fieldsAndValues: [Array("f".utf8), Array(text.utf8)])
            stream.forEachEntry(from: StreamID(ms: ms, seq: 0), to: StreamID(ms: ms, seq: 0)) { _, fields in
                for (_, stored) in fields {
                    guard case .integer(let read) = stored else {
                        Issue.record("\(text) not stored as an integer")
                        return
                    }
                    #expect(read == value)
                    #expect(stored.bytes == Array(text.utf8))
                    #expect(stored.byteCount == text.utf8.count)
                }
            }
            ms += 1
        }
        for text in texts {
            try stream.append(id: StreamID(ms: ms, seq: 0), fieldsAndValues: [Array("f".utf8), Array(text.utf8)])
            stream.forEachEntry(from: StreamID(ms: ms, seq: 0), to: StreamID(ms: ms, seq: 0)) { _, fields in
                for (_, stored) in fields {
                    guard case .bytes(let raw) = stored else {
                        Issue.record("\(text) stored as an integer")
                        return
                    }
                    #expect(Array(raw) == Array(text.utf8))
                }
            }
            ms += 1
        }
        #expect(stream.validate() == [])
    }
}
