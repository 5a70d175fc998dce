import RillProtocol
import Testing

/// Compares the decoder with answers recorded from redis-server 7.0.15 (RedisGoldenData.swift).
///
/// The data was produced by a throwaway script: for inline lines it sent `DEL k` then `RPUSH k <fragment>\r\n` and
/// read the list back with LRANGE (or recorded the protocol error); for integers it sent `*<text>\r\nPING\r\n` and
/// `*1\r\n$<text>\r\nPING\r\n` and classified the reply. Fragments mix quotes, escapes and every whitespace byte.
@Suite("Golden answers from redis-server")
struct RedisGoldenTests {
    @Test("inline lines split exactly as Redis splits them")
    func inlineLines() {
        #expect(redisInlineGoldenCases.count > 500)
        for (fragment, expected) in redisInlineGoldenCases {
            let line = Array("RPUSH k ") + fragment + Array("\r\n")
            let outcome = decode(line)
            let rendered = String(decoding: fragment, as: UTF8.self).debugDescription
            if let expected {
                #expect(outcome == DecodeOutcome(commands: [[Array("RPUSH"), Array("k")] + expected]), "\(rendered)")
            } else {
                #expect(outcome.error == .unbalancedQuotes, "\(rendered): \(outcome)")
            }
        }
    }

    @Test("multibulk counts parse exactly as Redis parses them")
    func multibulkCounts() {
        for (text, redisOutcome) in redisMultibulkCountGoldenCases {
            let outcome = decode(Array("*") + text + Array("\r\nPING\r\n"))
            let ours: String
            if outcome.error == .invalidMultibulkLength {
                ours = "invalid"
            } else if outcome.commands == [[Array("PING")]] && outcome.error == nil {
                ours = "skipped"
            } else if outcome.error == .expectedDollar(got: UInt8(ascii: "P")) {
                ours = "positive"
            } else {
                ours = "\(outcome)"
            }
            #expect(ours == redisOutcome, "\(String(decoding: text, as: UTF8.self).debugDescription)")
        }
    }

    @Test("bulk lengths parse exactly as Redis parses them")
    func bulkLengths() {
        for (text, redisOutcome) in redisBulkLengthGoldenCases {
            let outcome = decode(Array("*1\r\n$") + text + Array("\r\nPING\r\n"))
            let ours: String
            if outcome.error == .invalidBulkLength {
                ours = "invalid"
            } else if outcome.commands == [[Array("PING")]] && outcome.error == nil {
                ours = "four"
            } else if outcome.commands.isEmpty && outcome.error == nil {
                ours = "waiting"
            } else if let first = outcome.commands.first, first.count == 1 {
                ours = "other"
            } else {
                ours = "\(outcome)"
            }
            #expect(ours == redisOutcome, "\(String(decoding: text, as: UTF8.self).debugDescription)")
        }
    }
}
