import Testing
#if canImport(Glibc)
import Glibc
#endif
import RillCore

struct StreamMemoryTests {
    /// 1,000,000 entries `event order_placed order_id <n> amount <n>` added with `*` while the
    /// clock advances 1 ms every 500 entries (about what redis-cli --pipe achieves).
    ///
    /// For comparison, redis-server 7.0.15 (jemalloc) grew `used_memory` by 39,018,968 bytes
    /// (39.0 bytes/entry) for the same entries fed with `redis-cli --pipe`, and
    /// `MEMORY USAGE key SAMPLES 0` reported 38,914,179 bytes; it used 10,000 nodes, as we do.
    @Test func bytesPerEntryForAnOrderStream() throws {
        let count = 1_000_000
        var stream = Stream()
        let names: [[UInt8]] = ["event", "order_placed", "order_id", "amount"].map { Array($0.utf8) }
        var fields: [[UInt8]] = [names[0], names[1], names[2], [], names[3], []]
        let start: UInt64 = 1_700_000_000_000
        for index in 0..<count {
            let number = Array(String(index).utf8)
            fields[3] = number
            fields[5] = number
            try stream.append(.automatic, fieldsAndValues: fields, nowMilliseconds: start + UInt64(index / 500))
        }
        #expect(stream.length == UInt64(count))
        #expect(stream.nodeCount == 10_000)
        let footprint = stream.memoryFootprint
        let perEntry = Double(footprint) / Double(count)
        let usedPerEntry = Double(stream.usedBlockBytes) / Double(count)
        print("Stream memory: \(footprint) bytes for \(count) entries = \(perEntry) bytes/entry "
              + "(\(usedPerEntry) bytes/entry of packed data, \(stream.nodeCount) blocks)")
        #expect(perEntry < 39.0, "must stay below redis-server's 39.0 bytes/entry")
        let last = stream.lastEntry
        #expect(last?.fieldsAndValues == ["event", "order_placed", "order_id", "999999", "amount", "999999"].map { Array($0.utf8) })
        #expect(stream.validate() == [])
    }
}

struct StreamLargeValueTests {
    @Test func largeValuesAreStoredWithoutMuchSlack() throws {
        var stream = Stream()
        let big = [UInt8](repeating: 0x61, count: 100_000)
        try stream.append(id: StreamID(ms: 1, seq: 0), fieldsAndValues: [Array("blob".utf8), big])
        // No capacity beyond the record is requested; what remains is the allocator's size-class
        // rounding (jemalloc: 112 KiB for this block), at most 25%.
        let oneBlockLimit = 125_000 + 2048
        #expect(stream.memoryFootprint < oneBlockLimit)
        for ms in 2...40 {
            try stream.append(id: StreamID(ms: UInt64(ms), seq: 0), fieldsAndValues: [Array("blob".utf8), big])
        }
        // 100,000-byte entries exceed stream-node-max-bytes, so each gets its own node.
        #expect(stream.nodeCount == 40)
        #expect(stream.memoryFootprint < 40 * oneBlockLimit)
        #expect(stream.lastEntry?.fieldsAndValues[1] == big)
        #expect(stream.validate() == [])
    }
}

/// Throughput measurements; run with `RILL_STREAM_PERF=1 swift test -c release --filter StreamPerformanceTests`.
@Suite(.enabled(if: Environment.isPerformanceRun))
struct StreamPerformanceTests {
    @Test func appendAndReadThroughput() throws {
        let count = 3_000_000
        let names: [[UInt8]] = ["event", "order_placed", "order_id", "amount"].map { Array($0.utf8) }
        let numbers = (0..<1000).map { Array(String($0 * 997).utf8) }
        var fields: [[UInt8]] = [names[0], names[1], names[2], [], names[3], []]
        var stream = Stream()
        let clock = ContinuousClock()
        let appendTime = try clock.measure {
            for index in 0..<count {
                fields[3] = numbers[index % 1000]
                fields[5] = numbers[(index / 7) % 1000]
                try stream.append(.automatic, fieldsAndValues: fields, nowMilliseconds: 1_700_000_000_000 + UInt64(index / 500))
            }
        }
        var checksum = 0
        let readTime = clock.measure {
            stream.forEachEntry { _, entryFields in
                for (field, value) in entryFields { checksum &+= field.byteCount &+ value.byteCount }
            }
        }
        var small = 0
        let reverseTime = clock.measure {
            for _ in 0..<100_000 { small &+= stream.forEachEntry(reverse: true, limit: 10) { _, _ in } }
        }
        let trimTime = clock.measure {
            for _ in 0..<1000 { stream.trim(.maxLength(stream.length - 1000), approximate: true, limit: 10_000) }
        }
        func rate(_ operations: Int, _ duration: Duration) -> String {
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return String(Int(Double(operations) / seconds))
        }
        print("append: \(rate(count, appendTime))/s, full forward read: \(rate(count, readTime)) entries/s, "
              + "XREVRANGE + - COUNT 10: \(rate(100_000, reverseTime))/s, trim calls: \(rate(1000, trimTime))/s "
              + "(checksum \(checksum), \(small))")
        #expect(stream.validate() == [])
    }
}

enum Environment {
    static var isPerformanceRun: Bool {
        #if canImport(Glibc)
        return getenv("RILL_STREAM_PERF") != nil
        #else
        return false
        #endif
    }
}
