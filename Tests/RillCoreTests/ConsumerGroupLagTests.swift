import Testing
import RillCore

/// `entries-read` and `lag` (XINFO GROUPS / XINFO STREAM FULL). The scenarios are those of Redis 8's
/// own test suite (tests/unit/type/stream-cgroups.tcl), whose expected values Rill follows; where
/// redis-server 7.0.15 answers differently the test says so.
struct ConsumerGroupLagTests {
    static func id(_ ms: UInt64) -> StreamID { StreamID(ms: ms, seq: 0) }
    static let data = [Array("data".utf8), Array("x".utf8)]

    /// (entries-read, lag) of `group`.
    static func counters(_ stream: Stream, _ group: String) -> (Int64?, Int64?) {
        let group = stream.group(named: Array(group.utf8))!
        return (group.entriesRead, stream.lag(of: group))
    }

    static func read(_ stream: inout Stream, _ group: String, count: Int = 1) throws {
        _ = try stream.readNewEntries(group: Array(group.utf8), consumer: Array("c".utf8), count: count,
                                      noAcknowledgement: false, nowMilliseconds: 0)
    }

    static func add(_ stream: inout Stream, _ ms: UInt64) throws {
        try stream.append(id: id(ms), fieldsAndValues: data)
    }

    @Test func emptyStreams() throws {
        var stream = Stream()
        try stream.createGroup(named: Array("g1".utf8), lastDeliveredID: .zero, entriesRead: nil)
        #expect(Self.counters(stream, "g1") == (nil, 0))
        try Self.add(&stream, 1)
        #expect(stream.delete(Self.id(1)) == true)
        #expect(Self.counters(stream, "g1") == (nil, 0))
    }

    @Test func sanity() throws {
        var stream = Stream()
        for ms in 1...5 { try Self.add(&stream, UInt64(ms)) }
        try stream.createGroup(named: Array("g1".utf8), lastDeliveredID: .zero, entriesRead: nil)
        #expect(Self.counters(stream, "g1") == (nil, 5))
        try Self.read(&stream, "g1")
        #expect(Self.counters(stream, "g1") == (1, 4))
        try Self.read(&stream, "g1", count: 10)
        #expect(Self.counters(stream, "g1") == (5, 0))
        try Self.add(&stream, 6)
        #expect(Self.counters(stream, "g1") == (5, 1))
    }

    @Test func deletions() throws {
        var stream = Stream()
        for ms in 1...5 { try Self.add(&stream, UInt64(ms)) }
        #expect(stream.delete(Self.id(3)) == true)
        try stream.createGroup(named: Array("g1".utf8), lastDeliveredID: .zero, entriesRead: nil)
        try stream.createGroup(named: Array("g2".utf8), lastDeliveredID: .zero, entriesRead: nil)
        #expect(Self.counters(stream, "g1") == (nil, nil))
        for _ in 1...3 {
            try Self.read(&stream, "g1")
            #expect(Self.counters(stream, "g1") == (nil, nil))
        }
        try Self.read(&stream, "g1")
        #expect(Self.counters(stream, "g1") == (5, 0))
        try Self.add(&stream, 6)
        #expect(Self.counters(stream, "g1") == (5, 1))
        // redis-server 7.0.15 reports nil for g2 after both trims: it lacks the "group and every
        // deletion behind the first entry" rule.
        #expect(stream.trim(.minimumID(Self.id(3)), approximate: false) == 2)
        #expect(Self.counters(stream, "g1") == (5, 1))
        #expect(Self.counters(stream, "g2") == (nil, 3))
        #expect(stream.trim(.minimumID(Self.id(5)), approximate: false) == 1)
        #expect(Self.counters(stream, "g1") == (5, 1))
        #expect(Self.counters(stream, "g2") == (nil, 2))
    }

    @Test func tombstoneAfterTheGroupPosition() throws {
        var stream = Stream()
        try stream.createGroup(named: Array("g1".utf8), lastDeliveredID: nil, entriesRead: nil)
        try Self.add(&stream, 1)
        try Self.read(&stream, "g1")
        try Self.add(&stream, 2)
        try Self.add(&stream, 3)
        #expect(stream.delete(Self.id(2)) == true)
        #expect(Self.counters(stream, "g1") == (1, nil))
        #expect(stream.delete(Self.id(1)) == true)
        #expect(Self.counters(stream, "g1") == (1, 1))
        try Self.read(&stream, "g1")
        #expect(Self.counters(stream, "g1") == (3, 0))
    }

    @Test func trimming() throws {
        var stream = Stream()
        try stream.createGroup(named: Array("g".utf8), lastDeliveredID: nil, entriesRead: nil)
        for ms in 1...5 { try Self.add(&stream, UInt64(ms)) }
        try Self.read(&stream, "g")
        #expect(Self.counters(stream, "g") == (1, 4))
        // 7.0.15: lag 4 (it keeps counting from the stale counter).
        #expect(stream.trim(.maxLength(1), approximate: false) == 4)
        #expect(stream.maxDeletedEntryID == .zero)
        #expect(Self.counters(stream, "g") == (1, 1))
        try Self.read(&stream, "g", count: 0)
        #expect(Self.counters(stream, "g") == (5, 0))
        try Self.add(&stream, 6)
        #expect(Self.counters(stream, "g") == (5, 1))
        // 7.0.15: lag 1.
        #expect(stream.trim(.maxLength(0), approximate: false) == 2)
        #expect(Self.counters(stream, "g") == (5, 0))
    }

    @Test func arbitraryPositionsAreUnknownUntilTheGroupCatchesUp() throws {
        var stream = Stream()
        for ms in 1...5 { try Self.add(&stream, UInt64(ms)) }
        try stream.createGroup(named: Array("first".utf8), lastDeliveredID: Self.id(1), entriesRead: nil)
        try stream.createGroup(named: Array("middle".utf8), lastDeliveredID: Self.id(3), entriesRead: nil)
        try stream.createGroup(named: Array("last".utf8), lastDeliveredID: nil, entriesRead: nil)
        try stream.createGroup(named: Array("future".utf8), lastDeliveredID: Self.id(9), entriesRead: nil)
        try stream.createGroup(named: Array("told".utf8), lastDeliveredID: Self.id(3), entriesRead: 3)
        #expect(Self.counters(stream, "first") == (nil, 4))
        #expect(Self.counters(stream, "middle") == (nil, nil))
        #expect(Self.counters(stream, "last") == (nil, 0))
        #expect(Self.counters(stream, "future") == (nil, nil))
        #expect(Self.counters(stream, "told") == (3, 2))
        try Self.read(&stream, "middle")
        #expect(Self.counters(stream, "middle") == (nil, nil))
        try Self.read(&stream, "middle")
        #expect(Self.counters(stream, "middle") == (5, 0))
    }
}
