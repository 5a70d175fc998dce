import RillTestSupport
import Testing
import RillCore

/// The group policy on the model: which delivery attempts dead-letter an entry, the move between two
/// keys (an entry ends in exactly one of the PEL or the dead-letter stream, the counter equals the moves), the
/// failure that leaves entries pending, and idle-consumer removal.
struct GroupPolicyTests {
    typealias Support = ConsumerGroupTests
    static let g = Support.g
    static let alice = Support.alice
    static let bob = Support.bob
    static let source = bytes("jobs")
    static let deadLetters = bytes("jobs:dead")
    static func id(_ ms: UInt64) -> StreamID { Support.id(ms) }

    /// Entries 1...total in a group with MAXDELIVERIES `maxDeliveries`; bob received 1...delivered at time 1000.
    static func database(total: Int, delivered: Int, maxDeliveries: UInt64 = 2,
                         idleTimeout: Int64 = 0) throws -> Database {
        var stream = try Support.stream(entries: total)
        try stream.createGroup(named: g, lastDeliveredID: .zero, entriesRead: 0)
        try stream.setGroupPolicy(g, to: GroupPolicy(maxDeliveries: maxDeliveries, deadLetterKey: deadLetters,
                                                     consumerIdleTimeout: idleTimeout))
        _ = try stream.readNewEntries(group: g, consumer: bob, count: delivered, noAcknowledgement: false,
                                      nowMilliseconds: 1000)
        var database = Database()
        database.store(.stream(stream), forKey: source, nowMilliseconds: 0)
        return database
    }

    static func stream(_ database: inout Database, _ key: [UInt8] = source) throws -> Stream {
        try #require(try database.streamGet(key, nowMilliseconds: 0))
    }

    /// Re-reads bob's history (a delivery attempt of each of his entries) and moves what it found exhausted.
    static func reread(_ database: inout Database, now: Int64) throws -> (delivered: [StreamID], moves: [DeadLetterMove]) {
        let delivered = try database.streamGroups(source, nowMilliseconds: now) { stream in
            try stream.readPendingHistory(group: g, consumer: bob, after: .zero, count: 0, nowMilliseconds: now)
        } ?? []
        let (moves, failure) = database.moveDueDeadLetters(from: source, group: g, nowMilliseconds: now)
        #expect(failure == nil)
        return (delivered, moves)
    }

    /// The invariants of the issue: every entry ever delivered is either still pending or in the dead-letter
    /// stream exactly once, and the group's counter is the number of dead letters.
    static func expectPartition(_ database: inout Database, delivered: [StreamID],
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let stream = try stream(&database)
        #expect(stream.validate() == [], sourceLocation: sourceLocation)
        let pending = Set(try Support.pending(stream).map(\.id))
        var lettered: [StreamID] = []
        if let dead = try database.streamGet(deadLetters, nowMilliseconds: 0) {
            dead.forEachEntry { _, fields in
                let sourceID = fields.first { $0.field.bytes == bytes("source-id") }!.value.bytes
                lettered.append(StreamID.parseStrictForTests(sourceID))
            }
        }
        #expect(Set(lettered).count == lettered.count, "an entry dead-lettered twice", sourceLocation: sourceLocation)
        #expect(pending.isDisjoint(with: lettered), sourceLocation: sourceLocation)
        #expect(pending.union(lettered) == Set(delivered), sourceLocation: sourceLocation)
        #expect(stream.group(named: g)?.deadLetteredCount == UInt64(lettered.count), sourceLocation: sourceLocation)
    }

    @Test func anEntryIsDeliveredAtMostMaxDeliveriesTimesThenMovedOnce() throws {
        var database = try Self.database(total: 3, delivered: 2)
        // Second delivery: allowed.
        #expect(try Self.reread(&database, now: 2000) == ([Self.id(1), Self.id(2)], []))
        // Third attempt: both are moved instead and the reply has nothing.
        let (delivered, moves) = try Self.reread(&database, now: 3000)
        #expect(delivered == [])
        #expect(moves.map(\.sourceID) == [Self.id(1), Self.id(2)])
        #expect(moves.map(\.deadLetteredCount) == [1, 2])
        #expect(moves.map(\.deadLetterID) == [StreamID(ms: 3000, seq: 0), StreamID(ms: 3000, seq: 1)])
        #expect(moves[0].fieldsAndValues == [
            "f", "1", "delivery-count", "2", "last-consumer", "bob", "source-stream", "jobs", "source-group", "g",
            "source-id", "1-0",
        ].map(bytes))
        try Self.expectPartition(&database, delivered: [Self.id(1), Self.id(2)])
        // Nothing is left to move: a further attempt changes nothing.
        #expect(try Self.reread(&database, now: 4000) == ([], []))
        #expect(try Self.stream(&database, Self.deadLetters).length == 2)
        #expect(try Self.stream(&database).length == 3, "the source stream keeps its entries")
    }

    @Test func everyKindOfRedeliveryDeadLettersButFirstDeliveriesAndJustIDDoNot() throws {
        var database = try Self.database(total: 6, delivered: 5, maxDeliveries: 1)
        try database.streamGroups(Self.source, nowMilliseconds: 5000) { stream in
            // JUSTID hands out nothing: not an attempt.
            let justID = try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(1)], minimumIdle: 0,
                                          options: ClaimOptions(justID: true), nowMilliseconds: 5000)
            #expect(justID == [Self.id(1)])
            // FORCE on an entry never delivered is a first delivery.
            let forced = try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(6)], minimumIdle: 0,
                                          options: ClaimOptions(force: true), nowMilliseconds: 5000)
            #expect(forced == [Self.id(6)])
            #expect(try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(2)], minimumIdle: 0,
                                     options: ClaimOptions(), nowMilliseconds: 5000) == [])
            let auto = try stream.autoClaim(group: Self.g, consumer: Self.alice, minimumIdle: 0, start: Self.id(3),
                                            count: 1, justID: false, nowMilliseconds: 5000)
            #expect(auto.claimed == [])
            // XAUTOCLAIM skips exhausted entries without counting them as claimed, so with COUNT 1 it went on to
            // 4, 5 and 6 (delivered once by FORCE) within its 10 × COUNT scan, and found them all exhausted.
            let onRead = try stream.claimIdlePending(group: Self.g, consumer: Self.alice, minimumIdle: 0, limit: 1,
                                                     nowMilliseconds: 5000)
            #expect(onRead == [])
        }
        let (moves, failure) = database.moveDueDeadLetters(from: Self.source, group: Self.g, nowMilliseconds: 5000)
        #expect(failure == nil)
        // XCLAIM found 2, XAUTOCLAIM 3 to 6, the CLAIM read 1 (listed once although 6 was seen again).
        #expect(moves.map(\.sourceID) == [2, 3, 4, 5, 6, 1].map { Self.id($0) })
        #expect(moves.first { $0.sourceID == Self.id(1) }?.fieldsAndValues.contains(bytes("alice")) == true)
        try Self.expectPartition(&database, delivered: (1...6).map { Self.id(UInt64($0)) })
    }

    @Test func aDeadLetterKeyOfAnotherTypeLeavesTheEntriesPendingUndelivered() throws {
        var database = try Self.database(total: 2, delivered: 2, maxDeliveries: 1)
        _ = try database.stringSet(bytes("x"), forKey: Self.deadLetters, nowMilliseconds: 0)
        let delivered = try database.streamGroups(Self.source, nowMilliseconds: 2000) { stream in
            try stream.readPendingHistory(group: Self.g, consumer: Self.bob, after: .zero, count: 0, nowMilliseconds: 2000)
        }
        #expect(delivered == [])
        let (moves, failure) = database.moveDueDeadLetters(from: Self.source, group: Self.g, nowMilliseconds: 2000)
        #expect(moves == [])
        #expect(failure?.leftPending == [Self.id(1), Self.id(2)])
        let stream = try Self.stream(&database)
        #expect(try Support.pending(stream).map(\.deliveryCount) == [1, 1], "not delivered, not lost")
        #expect(stream.group(named: Self.g)?.deadLetteredCount == 0)
        // Once the key is usable, the next attempt moves them.
        _ = database.delete(Self.deadLetters, nowMilliseconds: 0)
        #expect(try Self.reread(&database, now: 3000).moves.count == 2)
        try Self.expectPartition(&database, delivered: [Self.id(1), Self.id(2)])
    }

    @Test func entriesAcknowledgedOrDeletedBeforeTheMoveAreNotMoved() throws {
        var database = try Self.database(total: 2, delivered: 2, maxDeliveries: 1)
        try database.streamGroups(Self.source, nowMilliseconds: 2000) { stream in
            _ = try stream.readPendingHistory(group: Self.g, consumer: Self.bob, after: .zero, count: 0, nowMilliseconds: 2000)
            #expect(stream.acknowledge(group: Self.g, ids: [Self.id(1)]) == 1)
            _ = stream.delete([Self.id(2)])
        }
        let (moves, failure) = database.moveDueDeadLetters(from: Self.source, group: Self.g, nowMilliseconds: 2000)
        #expect(moves == [] && failure == nil)
        #expect(try database.streamGet(Self.deadLetters, nowMilliseconds: 0) == nil, "no empty dead-letter key")
    }

    @Test func idleConsumersWithoutPendingEntriesAreRemoved() throws {
        var database = try Self.database(total: 2, delivered: 1, idleTimeout: 500)
        try database.streamGroups(Self.source, nowMilliseconds: 1200) { stream in
            _ = try stream.createConsumer(group: Self.g, consumer: Self.alice, nowMilliseconds: 1200)
            _ = try stream.createConsumer(group: Self.g, consumer: bytes("carol"), nowMilliseconds: 1000)
        }
        // At 1600: carol (seen 1000, nothing pending) goes; bob owns an entry; alice was seen 400 ms ago.
        let removed = database.removeIdleConsumers(nowMilliseconds: 1600)
        #expect(removed.map { String(decoding: $0.consumer, as: UTF8.self) } == ["carol"])
        #expect(try Self.stream(&database).group(named: Self.g)?.consumers.map(\.name) == [Self.alice, Self.bob])
        #expect(database.removeIdleConsumers(nowMilliseconds: 1700).isEmpty)
        // Timeout 0 turns it off.
        try database.streamGroups(Self.source, nowMilliseconds: 0) { stream in
            try stream.setGroupPolicy(Self.g, to: GroupPolicy())
        }
        #expect(database.removeIdleConsumers(nowMilliseconds: 100_000).isEmpty)
        #expect(try Self.stream(&database).validate() == [])
    }

    @Test func policiesMustBeConsistent() {
        #expect(GroupPolicy().problems.isEmpty && GroupPolicy().isOff)
        #expect(!GroupPolicy(maxDeliveries: 3).problems.isEmpty)
        #expect(!GroupPolicy(deadLetterKey: Self.deadLetters).problems.isEmpty)
        #expect(!GroupPolicy(consumerIdleTimeout: -1).problems.isEmpty)
        #expect(!GroupPolicy(consumerIdleTimeout: 5).isOff)
    }
}

extension StreamID {
    static func parseStrictForTests(_ bytes: [UInt8]) -> StreamID {
        bytes.withUnsafeBytes { try! StreamID.parseStrict($0, missingSequence: 0) }
    }
}
