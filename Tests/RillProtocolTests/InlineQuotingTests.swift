import RillProtocol
import Testing

@Suite("Inline request splitting")
struct InlineQuotingTests {
    /// Inline lines and the arguments Redis 7.0.15 split them into (checked with ECHO/RPUSH over a raw socket).
    static let cases: [(line: [UInt8], arguments: [[UInt8]])] = [
        (Array("PING\r\n"), [Array("PING")]),
        (Array("PING\n"), [Array("PING")]),
        (Array("PING\r\r\n"), [Array("PING")]),
        (Array("ECHO \"\\x41\\x4g\\n\"\r\n"), [Array("ECHO"), Array("Ax4g\n")]),
        (Array("ECHO \"\\x4A\\x4a\"\r\n"), [Array("ECHO"), Array("JJ")]),
        (Array("ECHO 'a\\'b'\r\n"), [Array("ECHO"), Array("a'b")]),
        (Array("ECHO 'a\\nb'\r\n"), [Array("ECHO"), Array("a\\nb")]),
        (Array("ECHO 'a\\\\b'\r\n"), [Array("ECHO"), Array("a\\\\b")]),
        (Array("ECHO \"\"\r\n"), [Array("ECHO"), []]),
        (Array("ECHO ''\r\n"), [Array("ECHO"), []]),
        (Array("ECHO a\"b\"\r\n"), [Array("ECHO"), Array("ab")]),
        (Array("ECHO a\"b c\"\r\n"), [Array("ECHO"), Array("ab c")]),
        (Array("ECHO a\tb\r\n"), [Array("ECHO"), Array("a"), Array("b")]),
        (Array("ECHO\tab\r\n"), [Array("ECHO"), Array("ab")]),
        (Array("ECHO \"a\\qb\"\r\n"), [Array("ECHO"), Array("aqb")]),
        (Array("ECHO a\rb\r\n"), [Array("ECHO"), Array("a"), Array("b")]),
        (Array("ECHO a\u{0B}b\r\n"), [Array("ECHO"), Array("a\u{0B}b")]),
        (Array("ECHO a\u{0C}b\r\n"), [Array("ECHO"), Array("a\u{0C}b")]),
        (Array("ECHO \"a\"\u{0B}b\r\n"), [Array("ECHO"), Array("a"), Array("b")]),
        (Array("ECHO a\u{0B}\r\n"), [Array("ECHO"), Array("a\u{0B}")]),
        (Array("ECHO \"a\\\"b\"\r\n"), [Array("ECHO"), Array("a\"b")]),
        (Array("ECHO \"\\n\\r\\t\\b\\a\\\\\"\r\n"), [Array("ECHO"), [0x0A, 0x0D, 0x09, 0x08, 0x07, 0x5C]]),
        (Array("ECHO 'a\"b'\r\n"), [Array("ECHO"), Array("a\"b")]),
        (Array("ECHO \"a'b\"\r\n"), [Array("ECHO"), Array("a'b")]),
        (Array("ECHO \"a\" \r\n"), [Array("ECHO"), Array("a")]),
        (Array("ECHO \"a\"\t\r\n"), [Array("ECHO"), Array("a")]),
        (Array("ECHO a\r\r\n"), [Array("ECHO"), Array("a")]),
        (Array("ECHO \"a\r\"\r\n"), [Array("ECHO"), Array("a\r")]),
        (Array("ECHO \\x41\r\n"), [Array("ECHO"), Array("\\x41")]),
        (Array("ECHO \"\\xff\\x00\"\r\n"), [Array("ECHO"), [0xFF, 0x00]]),
        (Array("  lead  and   trail  \r\n"), [Array("lead"), Array("and"), Array("trail")]),
    ]

    @Test("inline lines split like Redis's sdssplitargs", arguments: cases.indices)
    func split(caseIndex: Int) {
        let (line, arguments) = Self.cases[caseIndex]
        for pattern in everyFeedingPattern {
            let outcome = decode(line, chunkSizes: pattern.sizes, compact: pattern.compact)
            #expect(outcome == DecodeOutcome(commands: [arguments]), "\(pattern.name)")
        }
    }

    @Test("quoted arguments are unescaped in place; following commands are intact")
    func unescapingDoesNotDisturbTheRest() {
        let input = Array("SET \"k\\x20y\" 'v''\r\n") + multibulk("GET", "k y")
        #expect(decode(input).error == .unbalancedQuotes)
        let valid = Array("SET \"k\\x20y\" 'v'\r\n") + multibulk("GET", "k y") + Array("\"\\x41\"\n")
        #expect(decode(valid).commands == [[Array("SET"), Array("k y"), Array("v")], [Array("GET"), Array("k y")], [Array("A")]])
    }
}
