import RillTestSupport
import Testing
@testable import RillCore

/// What `maxmemory-stream-policy trim-acked` may remove: entries every group was given and acknowledged.
struct AcknowledgedTrimmingTests {
    static func id(_ ms: UInt64) -> StreamID { StreamID(ms: ms, seq: 0) }
    static let data = [Array("f".utf8), Array("v".utf8)]

    static func stream(entries: ClosedRange<UInt64>, groups: [String] = []) throws -> Stream {
        var stream = Stream()
        for ms in entries { try stream.append(id: id(ms), fieldsAndValues: data) }
        for group in groups { try stream.createGroup(named: Array(group.utf8), lastDeliveredID: .zero, entriesRead: 0) }
        return stream
    }

    @discardableResult
    static func read(_ stream: inout Stream, _ group: String, count: Int) throws -> [StreamID] {
        try stream.readNewEntries(group: Array(group.utf8), consumer: Array("c".utf8), count: count,
                                  noAcknowledgement: false, nowMilliseconds: 0) ?? []
    }

    static func ack(_ stream: inout Stream, _ group: String, _ ids: [StreamID]) {
        _ = stream.acknowledge(group: Array(group.utf8), ids: ids)
    }

    /// IDs of the live entries.
    static func liveIDs(_ stream: Stream) -> [StreamID] {
        stream.entries().map(\.id)
    }

    @Test func streamWithoutGroupsHasNothingAcknowledged() throws {
        let stream = try Self.stream(entries: 1...5)
        #expect(stream.acknowledgedTrimBoundary == nil)
    }

    @Test func groupThatReadNothingProtectsEverything() throws {
        var stream = try Self.stream(entries: 1...5, groups: ["g"])
        #expect(stream.acknowledgedTrimBoundary == StreamID(ms: 0, seq: 1))
        #expect(stream.trimAcknowledgedEntries(below: stream.acknowledgedTrimBoundary!) == 0)
        #expect(stream.length == 5)
    }

    @Test func deliveredButPendingEntriesAreKeptAndDoNotHoldBackLaterOnes() throws {
        var stream = try Self.stream(entries: 1...6, groups: ["g"])
        try Self.read(&stream, "g", count: 4)  // 1...4 pending
        Self.ack(&stream, "g", [Self.id(1), Self.id(3), Self.id(4)])  // 2 still pending
        let boundary = try #require(stream.acknowledgedTrimBoundary)
        #expect(boundary == StreamID(ms: 4, seq: 1))
        #expect(stream.trimAcknowledgedEntries(below: boundary) == 3)
        #expect(Self.liveIDs(stream) == [Self.id(2), Self.id(5), Self.id(6)])
        #expect(stream.group(named: Array("g".utf8))!.pendingEntries(limit: 0).map(\.id) == [Self.id(2)])
        #expect(stream.validate() == [])
    }

    @Test func noAckDeliveriesCountAsAcknowledged() throws {
        var stream = try Self.stream(entries: 1...5, groups: ["g"])
        _ = try stream.readNewEntries(group: Array("g".utf8), consumer: Array("c".utf8), count: 4,
                                      noAcknowledgement: true, nowMilliseconds: 0)
        #expect(stream.trimAcknowledgedEntries(below: try #require(stream.acknowledgedTrimBoundary)) == 4)
        #expect(Self.liveIDs(stream) == [Self.id(5)])
    }

    @Test func theLeastAdvancedGroupDecides() throws {
        var stream = try Self.stream(entries: 1...10, groups: ["fast", "slow"])
        Self.ack(&stream, "fast", try Self.read(&stream, "fast", count: 8))
        Self.ack(&stream, "slow", try Self.read(&stream, "slow", count: 2))
        #expect(stream.acknowledgedTrimBoundary == StreamID(ms: 2, seq: 1))
        // An entry pending in the fast group is kept although the slow group is done with it.
        Self.ack(&stream, "slow", try Self.read(&stream, "slow", count: 8))
        try Self.read(&stream, "fast", count: 1)  // 9 pending in "fast"
        let boundary = try #require(stream.acknowledgedTrimBoundary)
        #expect(boundary == StreamID(ms: 9, seq: 1))
        #expect(stream.trimAcknowledgedEntries(below: boundary) == 8)
        #expect(Self.liveIDs(stream) == [Self.id(9), Self.id(10)])
    }

    @Test func wholeBlocksOfAcknowledgedEntriesAreFreed() throws {
        var stream = try Self.stream(entries: 1...1000, groups: ["g"])
        #expect(stream.nodeCount == 10)  // 100 entries per node
        let delivered = try Self.read(&stream, "g", count: 600)
        Self.ack(&stream, "g", delivered.filter { $0 != Self.id(150) })  // one entry never acknowledged
        let memoryBefore = stream.memoryFootprint
        #expect(stream.trimAcknowledgedEntries(below: try #require(stream.acknowledgedTrimBoundary)) == 599)
        #expect(stream.length == 401)
        // The node holding the pending entry stays; the other five fully acknowledged nodes are gone.
        #expect(stream.nodeCount == 5)
        #expect(stream.memoryFootprint < memoryBefore * 6 / 10)
        #expect(stream.firstEntryID == Self.id(150))
        #expect(stream.validate() == [])
    }

    @Test func candidatesAreOrderedByOldestEntryAcrossDatabases() throws {
        var keyspace = Keyspace(databaseCount: 2)
        var old = try Self.stream(entries: 10...20, groups: ["g"])
        Self.ack(&old, "g", try Self.read(&old, "g", count: 5))
        var older = try Self.stream(entries: 1...20, groups: ["g"])
        Self.ack(&older, "g", try Self.read(&older, "g", count: 1))
        let unread = try Self.stream(entries: 1...20, groups: ["g"])  // nothing delivered yet
        let noGroups = try Self.stream(entries: 1...20)
        keyspace[0].store(.stream(old), forKey: bytes("old"), nowMilliseconds: 0)
        keyspace[1].store(.stream(older), forKey: bytes("older"), nowMilliseconds: 0)
        keyspace[0].store(.stream(unread), forKey: bytes("unread"), nowMilliseconds: 0)
        keyspace[0].store(.stream(noGroups), forKey: bytes("plain"), nowMilliseconds: 0)
        keyspace[0].store(.string(bytes("x")), forKey: bytes("string"), nowMilliseconds: 0)

        let candidates = keyspace.acknowledgedTrimCandidates(nowMilliseconds: 0)
        #expect(candidates == [
            AcknowledgedTrimCandidate(database: 1, key: bytes("older"), oldestEntryID: Self.id(1),
                                      minimumID: StreamID(ms: 1, seq: 1)),
            AcknowledgedTrimCandidate(database: 0, key: bytes("old"), oldestEntryID: Self.id(10),
                                      minimumID: StreamID(ms: 14, seq: 1)),
        ])
    }

    @Test func expiredStreamsAreNotCandidates() throws {
        var keyspace = Keyspace(databaseCount: 1)
        var stream = try Self.stream(entries: 1...5, groups: ["g"])
        Self.ack(&stream, "g", try Self.read(&stream, "g", count: 5))
        keyspace[0].store(.stream(stream), forKey: bytes("s"), nowMilliseconds: 0)
        _ = keyspace[0].setExpiry(bytes("s"), deadline: 100, nowMilliseconds: 0)
        #expect(keyspace.acknowledgedTrimCandidates(nowMilliseconds: 50).count == 1)
        #expect(keyspace.acknowledgedTrimCandidates(nowMilliseconds: 101).isEmpty)
    }

    @Test func fullyTrimmedStreamIsNoLongerACandidate() throws {
        var keyspace = Keyspace(databaseCount: 1)
        var stream = try Self.stream(entries: 1...5, groups: ["g"])
        Self.ack(&stream, "g", try Self.read(&stream, "g", count: 5))
        stream.trimAcknowledgedEntries(below: try #require(stream.acknowledgedTrimBoundary))
        #expect(stream.length == 0)
        keyspace[0].store(.stream(stream), forKey: bytes("s"), nowMilliseconds: 0)
        #expect(keyspace.acknowledgedTrimCandidates(nowMilliseconds: 0).isEmpty)
    }
}
