import RillTestSupport
import Testing
import RillCore

/// The consumer-group state machine: delivery, acknowledgement, claiming, consumers, groups and
/// the deletion policies. Expected values follow redis-server (7.0.15 where it agrees with Redis 8,
/// Redis 8's test suite where it changed).
struct ConsumerGroupTests {
    static func id(_ ms: UInt64, _ seq: UInt64 = 0) -> StreamID { StreamID(ms: ms, seq: seq) }

    /// A stream with entries 1-0 ... count-0.
    static func stream(entries count: Int) throws -> Stream {
        var stream = Stream()
        for ms in 1...max(count, 1) where count > 0 {
            try stream.append(id: id(UInt64(ms)), fieldsAndValues: [bytes("f"), bytes("\(ms)")])
        }
        return stream
    }

    static let g = bytes("g")
    static let alice = bytes("alice")
    static let bob = bytes("bob")

    static func pending(_ stream: Stream, _ group: [UInt8] = g, consumer: [UInt8]? = nil) throws -> [PendingEntryInfo] {
        try stream.pendingEntries(group: group, from: .zero, to: .max, count: .max, consumer: consumer, nowMilliseconds: 0)
    }

    static func expectValid(_ stream: Stream, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(stream.validate() == [], sourceLocation: sourceLocation)
    }

    // MARK: Groups and consumers

    @Test func groupsAreKeptInByteOrderAndNamesAreUnique() throws {
        var stream = try Self.stream(entries: 2)
        for name in ["b", "a", "ab", "B", "\u{00e9}"] {
            try stream.createGroup(named: bytes(name), lastDeliveredID: nil, entriesRead: nil)
        }
        #expect(stream.consumerGroups.map { String(decoding: $0.name, as: UTF8.self) } == ["B", "a", "ab", "b", "\u{00e9}"])
        #expect(throws: ConsumerGroupError.groupExists) {
            try stream.createGroup(named: bytes("ab"), lastDeliveredID: .zero, entriesRead: nil)
        }
        #expect(stream.group(named: bytes("a"))?.lastDeliveredID == Self.id(2))  // "$"
        #expect(stream.destroyGroup(named: bytes("a")) == true)
        #expect(stream.destroyGroup(named: bytes("a")) == false)
        #expect(stream.groupCount == 4)
        Self.expectValid(stream)
    }

    @Test func entriesReadIsCappedAtEntriesAdded() throws {
        var stream = try Self.stream(entries: 1)
        try stream.createGroup(named: Self.g, lastDeliveredID: nil, entriesRead: 9999)
        #expect(stream.group(named: Self.g)?.entriesRead == 1)
        #expect(stream.lag(of: stream.group(named: Self.g)!) == 0)
        try stream.setGroupLastDeliveredID(Self.g, to: .zero, entriesRead: 5)
        #expect(stream.group(named: Self.g)?.entriesRead == 1)
        try stream.setGroupLastDeliveredID(Self.g, to: .zero, entriesRead: nil)
        #expect(stream.group(named: Self.g)?.entriesRead == nil)
        #expect(throws: ConsumerGroupError.noSuchGroup) { try stream.setGroupLastDeliveredID(Self.bob, to: nil, entriesRead: nil) }
    }

    @Test func consumersAreCreatedOnceAndDeletedWithTheirPendingEntries() throws {
        var stream = try Self.stream(entries: 5)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        #expect(try stream.createConsumer(group: Self.g, consumer: Self.bob, nowMilliseconds: 10))
        #expect(try !stream.createConsumer(group: Self.g, consumer: Self.bob, nowMilliseconds: 20))
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 3, noAcknowledgement: false, nowMilliseconds: 30)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.bob, count: 1, noAcknowledgement: false, nowMilliseconds: 40)
        let consumers = try stream.consumers(ofGroup: Self.g)
        #expect(consumers.map(\.name) == [Self.alice, Self.bob])
        #expect(consumers.map(\.pendingCount) == [3, 1])
        #expect(consumers[1].seenTime == 40 && consumers[1].activeTime == 40)
        #expect(try stream.deleteConsumer(group: Self.g, consumer: Self.alice) == 3)
        #expect(try stream.deleteConsumer(group: Self.g, consumer: Self.alice) == nil)
        #expect(try Self.pending(stream).map(\.id) == [Self.id(4)])
        // The freed slot is reused by the next consumer.
        #expect(try stream.createConsumer(group: Self.g, consumer: bytes("carol"), nowMilliseconds: 50))
        #expect(try stream.consumers(ofGroup: Self.g).map(\.name) == [Self.bob, bytes("carol")])
        Self.expectValid(stream)
    }

    // MARK: Delivery and acknowledgement

    @Test func newEntriesAreDeliveredOnceAndBecomePending() throws {
        var stream = try Self.stream(entries: 5)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        let first = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 2, noAcknowledgement: false, nowMilliseconds: 100)
        #expect(first == [Self.id(1), Self.id(2)])
        let second = try stream.readNewEntries(group: Self.g, consumer: Self.bob, count: 0, noAcknowledgement: false, nowMilliseconds: 200)
        #expect(second == [Self.id(3), Self.id(4), Self.id(5)])
        #expect(try stream.readNewEntries(group: Self.g, consumer: Self.bob, count: 0, noAcknowledgement: false, nowMilliseconds: 300) == nil)
        let pending = try Self.pending(stream)
        #expect(pending.map(\.id) == (1...5).map { Self.id($0) })
        #expect(pending.map(\.consumer) == [Self.alice, Self.alice, Self.bob, Self.bob, Self.bob])
        #expect(pending.map(\.deliveryTime) == [100, 100, 200, 200, 200])
        #expect(pending.allSatisfy { $0.deliveryCount == 1 })
        let group = try #require(stream.group(named: Self.g))
        #expect(group.lastDeliveredID == Self.id(5) && group.entriesRead == 5)
        // bob's failed read still counts as seen, not as active.
        let bob = try stream.consumers(ofGroup: Self.g)[1]
        #expect(bob.seenTime == 300 && bob.activeTime == 200)
        Self.expectValid(stream)
    }

    @Test func noAckAdvancesTheGroupWithoutPendingEntries() throws {
        var stream = try Self.stream(entries: 3)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        #expect(try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: true, nowMilliseconds: 1)?.count == 3)
        #expect(try Self.pending(stream).isEmpty)
        #expect(stream.group(named: Self.g)?.lastDeliveredID == Self.id(3))
        #expect(try stream.consumers(ofGroup: Self.g).first?.activeTime == -1)
    }

    @Test func historyReplaysOwnPendingEntriesAndCountsRedeliveries() throws {
        var stream = try Self.stream(entries: 4)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 3, noAcknowledgement: false, nowMilliseconds: 10)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.bob, count: 1, noAcknowledgement: false, nowMilliseconds: 10)
        #expect(stream.delete(Self.id(2)) == true)
        let history = try stream.readPendingHistory(group: Self.g, consumer: Self.alice, after: .zero, count: 0, nowMilliseconds: 50)
        #expect(history == [Self.id(1), Self.id(2), Self.id(3)])  // 2 is deleted but still pending
        let afterFirst = try stream.readPendingHistory(group: Self.g, consumer: Self.alice, after: Self.id(1), count: 1, nowMilliseconds: 60)
        #expect(afterFirst == [Self.id(2)])
        let pending = try Self.pending(stream, consumer: Self.alice)
        // Deleted entries are not "delivered" again: their count and time stay.
        #expect(pending.map(\.deliveryCount) == [2, 1, 2])
        #expect(pending.map(\.deliveryTime) == [50, 10, 50])
        #expect(try stream.readPendingHistory(group: Self.g, consumer: Self.alice, after: .max, count: 0, nowMilliseconds: 70).isEmpty)
        Self.expectValid(stream)
    }

    @Test func rewindingTheGroupHandsPendingEntriesToTheNextReader() throws {
        var stream = try Self.stream(entries: 3)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 10)
        _ = try stream.readPendingHistory(group: Self.g, consumer: Self.alice, after: .zero, count: 0, nowMilliseconds: 20)
        try stream.setGroupLastDeliveredID(Self.g, to: .zero, entriesRead: nil)
        #expect(try stream.readNewEntries(group: Self.g, consumer: Self.bob, count: 2, noAcknowledgement: false, nowMilliseconds: 30) == [Self.id(1), Self.id(2)])
        let pending = try Self.pending(stream)
        #expect(pending.map(\.consumer) == [Self.bob, Self.bob, Self.alice])
        #expect(pending.map(\.deliveryCount) == [1, 1, 2])
        Self.expectValid(stream)
    }

    @Test func acknowledgementRemovesFromGroupAndConsumer() throws {
        var stream = try Self.stream(entries: 4)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 1)
        #expect(stream.acknowledge(group: Self.g, ids: [Self.id(1), Self.id(1), Self.id(9), Self.id(3)]) == 2)
        #expect(stream.acknowledge(group: Self.bob, ids: [Self.id(2)]) == 0)
        #expect(try Self.pending(stream, consumer: Self.alice).map(\.id) == [Self.id(2), Self.id(4)])
        let summary = try stream.pendingSummary(group: Self.g)
        #expect(summary.count == 2 && summary.smallestID == Self.id(2) && summary.greatestID == Self.id(4))
        #expect(summary.consumers.map(\.name) == [Self.alice] && summary.consumers.map(\.pending) == [2])
        Self.expectValid(stream)
    }

    @Test func pendingRangesFilterByBoundsIdleCountAndConsumer() throws {
        var stream = try Self.stream(entries: 6)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 3, noAcknowledgement: false, nowMilliseconds: 1000)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.bob, count: 3, noAcknowledgement: false, nowMilliseconds: 2000)
        func ids(_ from: StreamID, _ to: StreamID, count: Int = 10, idle: Int64 = 0, consumer: [UInt8]? = nil) throws -> [UInt64] {
            try stream.pendingEntries(group: Self.g, from: from, to: to, count: count, minimumIdle: idle,
                                      consumer: consumer, nowMilliseconds: 2500).map(\.id.ms)
        }
        #expect(try ids(Self.id(2), Self.id(5)) == [2, 3, 4, 5])
        #expect(try ids(.zero, .max, count: 2) == [1, 2])
        #expect(try ids(.zero, .max, idle: 1000) == [1, 2, 3])
        #expect(try ids(.zero, .max, consumer: Self.bob) == [4, 5, 6])
        #expect(try ids(Self.id(5), .max, consumer: Self.bob) == [5, 6])
        #expect(try ids(.zero, .max, consumer: bytes("nobody")).isEmpty)
        #expect(try ids(Self.id(5), Self.id(2)).isEmpty)
        #expect(try ids(.zero, .max, count: 0).isEmpty)
        let entry = try stream.pendingEntries(group: Self.g, from: .zero, to: .max, count: 1, nowMilliseconds: 2500)[0]
        #expect(entry.idle(nowMilliseconds: 2500) == 1500 && entry.idle(nowMilliseconds: 0) == 0)
    }

    // MARK: Claiming

    @Test func claimRespectsIdleTimeAndMovesOwnership() throws {
        var stream = try Self.stream(entries: 3)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 1000)
        // Idle 500 < 600: nothing is claimed, but bob now exists (Redis 7.2 creates the claimer).
        #expect(try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(1)], minimumIdle: 600,
                                 options: ClaimOptions(), nowMilliseconds: 1500).isEmpty)
        #expect(try stream.consumers(ofGroup: Self.g).map(\.name) == [Self.alice, Self.bob])
        let claimed = try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(1), Self.id(2), Self.id(1)],
                                       minimumIdle: 500, options: ClaimOptions(), nowMilliseconds: 1500)
        #expect(claimed == [Self.id(1), Self.id(2)])  // the repeated 1-0 is no longer idle enough
        let pending = try Self.pending(stream)
        #expect(pending.map(\.consumer) == [Self.bob, Self.bob, Self.alice])
        #expect(pending.map(\.deliveryCount) == [2, 2, 1])
        #expect(pending.map(\.deliveryTime) == [1500, 1500, 1000])
        #expect(try stream.consumers(ofGroup: Self.g)[1].activeTime == 1500)
        Self.expectValid(stream)
    }

    @Test func claimOptionsSetTimeCountAndLastID() throws {
        var stream = try Self.stream(entries: 3)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 2, noAcknowledgement: false, nowMilliseconds: 1000)
        var options = ClaimOptions(deliveryTime: 400, retryCount: 7, justID: true, lastID: Self.id(3))
        #expect(try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(1)], minimumIdle: 0,
                                 options: options, nowMilliseconds: 2000) == [Self.id(1)])
        var entry = try Self.pending(stream)[0]
        #expect(entry.deliveryTime == 400 && entry.deliveryCount == 7 && entry.consumer == Self.bob)
        #expect(stream.group(named: Self.g)?.lastDeliveredID == Self.id(3))
        // JUSTID without RETRYCOUNT leaves the count; a future or negative time means now.
        options = ClaimOptions(deliveryTime: 99_999, justID: true, lastID: Self.id(1))
        _ = try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(1)], minimumIdle: 0, options: options, nowMilliseconds: 2000)
        entry = try Self.pending(stream)[0]
        #expect(entry.deliveryTime == 2000 && entry.deliveryCount == 7)
        #expect(stream.group(named: Self.g)?.lastDeliveredID == Self.id(3))  // LASTID only moves forward
        options = ClaimOptions(deliveryTime: -5)
        _ = try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(1)], minimumIdle: 0, options: options, nowMilliseconds: 3000)
        entry = try Self.pending(stream)[0]
        #expect(entry.deliveryTime == 3000 && entry.deliveryCount == 8)
        Self.expectValid(stream)
    }

    @Test func forceCreatesPendingEntriesOnlyForExistingEntries() throws {
        var stream = try Self.stream(entries: 3)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        let claimed = try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(2), Self.id(9)], minimumIdle: 1_000_000,
                                       options: ClaimOptions(force: true), nowMilliseconds: 10)
        #expect(claimed == [Self.id(2)])
        let entry = try Self.pending(stream)[0]
        #expect(entry.consumer == Self.bob && entry.deliveryCount == 2)  // created at 1, then counted
        let justID = try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(3)], minimumIdle: 0,
                                      options: ClaimOptions(force: true, justID: true), nowMilliseconds: 10)
        #expect(justID == [Self.id(3)])
        #expect(try Self.pending(stream)[1].deliveryCount == 1)
        #expect(stream.group(named: Self.g)?.lastDeliveredID == .zero)
        Self.expectValid(stream)
    }

    @Test func claimingADeletedEntryDropsItFromThePEL() throws {
        var stream = try Self.stream(entries: 3)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 10)
        #expect(stream.delete(Self.id(2)) == true)
        #expect(stream.trim(.maxLength(1), approximate: false) == 1)  // 1-0 goes too
        let claimed = try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(1), Self.id(2), Self.id(3)],
                                       minimumIdle: 1_000_000, options: ClaimOptions(), nowMilliseconds: 20)
        #expect(claimed.isEmpty)  // 3-0 is not idle enough
        #expect(try Self.pending(stream).map(\.id) == [Self.id(3)])
        Self.expectValid(stream)
    }

    @Test func autoClaimIteratesWithACursorAndReportsDeletedEntries() throws {
        var stream = try Self.stream(entries: 5)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 0)
        var result = try stream.autoClaim(group: Self.g, consumer: Self.bob, minimumIdle: 10, start: .zero, count: 2,
                                          justID: false, nowMilliseconds: 100)
        #expect(result == AutoClaimResult(nextStart: Self.id(3), claimed: [Self.id(1), Self.id(2)], deleted: []))
        #expect(stream.delete([Self.id(3), Self.id(4)]) == 2)
        result = try stream.autoClaim(group: Self.g, consumer: Self.bob, minimumIdle: 10, start: result.nextStart, count: 2,
                                      justID: false, nowMilliseconds: 100)
        // Deleted entries count towards COUNT (Redis 7.0+).
        #expect(result == AutoClaimResult(nextStart: Self.id(5), claimed: [], deleted: [Self.id(3), Self.id(4)]))
        result = try stream.autoClaim(group: Self.g, consumer: Self.bob, minimumIdle: 10, start: result.nextStart, count: 2,
                                      justID: true, nowMilliseconds: 100)
        #expect(result == AutoClaimResult(nextStart: .zero, claimed: [Self.id(5)], deleted: []))
        let pending = try Self.pending(stream)
        #expect(pending.map(\.id) == [Self.id(1), Self.id(2), Self.id(5)])
        #expect(pending.map(\.deliveryCount) == [2, 2, 1])
        #expect(pending.allSatisfy { $0.consumer == Self.bob })
        Self.expectValid(stream)
    }

    @Test func autoClaimExaminesAtMostTenTimesCount() throws {
        var stream = try Self.stream(entries: 30)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 25, noAcknowledgement: false, nowMilliseconds: 1000)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 0)
        // 25 entries are too recent; COUNT 2 allows 20 attempts, which end on the 20 recent ones.
        var result = try stream.autoClaim(group: Self.g, consumer: Self.bob, minimumIdle: 500, start: .zero, count: 2,
                                          justID: true, nowMilliseconds: 1000)
        #expect(result == AutoClaimResult(nextStart: Self.id(21), claimed: [], deleted: []))
        result = try stream.autoClaim(group: Self.g, consumer: Self.bob, minimumIdle: 500, start: result.nextStart, count: 2,
                                      justID: true, nowMilliseconds: 1000)
        #expect(result == AutoClaimResult(nextStart: Self.id(28), claimed: [Self.id(26), Self.id(27)], deleted: []))
    }

    // MARK: Deletion policies (Redis 8.2)

    @Test func deleteWithPolicies() throws {
        var stream = try Self.stream(entries: 4)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        try stream.createGroup(named: bytes("h"), lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 2, noAcknowledgement: false, nowMilliseconds: 1)
        _ = try stream.readNewEntries(group: bytes("h"), consumer: Self.alice, count: 1, noAcknowledgement: false, nowMilliseconds: 1)
        // 1-0 pending in both groups, 2-0 in g only, 3-0 and 4-0 not yet delivered.
        #expect(stream.delete([Self.id(1), Self.id(2), Self.id(3)], policy: .acknowledged) == [.stillReferenced, .stillReferenced, .stillReferenced])
        #expect(stream.acknowledge(group: Self.g, ids: [Self.id(1)]) == 1)
        #expect(stream.acknowledge(group: bytes("h"), ids: [Self.id(1)]) == 1)
        #expect(stream.delete([Self.id(1)], policy: .acknowledged) == [.deleted])
        #expect(stream.delete([Self.id(2), Self.id(9)], policy: .keepReferences) == [.deleted, .notFound])
        #expect(try Self.pending(stream).map(\.id) == [Self.id(2)])
        // DELREF removes dangling references even when the entry is gone.
        #expect(stream.delete([Self.id(2)], policy: .deleteReferences) == [.notFound])
        #expect(try Self.pending(stream).isEmpty)
        #expect(stream.maxDeletedEntryID == Self.id(2))
        Self.expectValid(stream)
    }

    @Test func acknowledgeAndDeleteWithPolicies() throws {
        var stream = try Self.stream(entries: 2)
        try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
        try stream.createGroup(named: bytes("h"), lastDeliveredID: .zero, entriesRead: nil)
        _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 0, noAcknowledgement: false, nowMilliseconds: 1)
        _ = try stream.readNewEntries(group: bytes("h"), consumer: Self.bob, count: 0, noAcknowledgement: false, nowMilliseconds: 1)
        #expect(stream.acknowledgeAndDelete(group: bytes("x"), ids: [Self.id(1)], policy: .keepReferences) == nil)
        #expect(stream.acknowledgeAndDelete(group: Self.g, ids: [Self.id(1), Self.id(2)], policy: .acknowledged) == [.stillReferenced, .stillReferenced])
        #expect(stream.length == 2)
        #expect(try Self.pending(stream).isEmpty)
        #expect(stream.acknowledgeAndDelete(group: bytes("h"), ids: [Self.id(1)], policy: .acknowledged) == [.deleted])
        #expect(stream.acknowledgeAndDelete(group: Self.g, ids: [Self.id(2)], policy: .keepReferences) == [.notFound])
        // KEEPREF deletes for everyone but leaves h's reference; acknowledging it later still answers 1.
        _ = try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(2)], minimumIdle: 0,
                             options: ClaimOptions(force: true), nowMilliseconds: 2)
        #expect(stream.acknowledgeAndDelete(group: Self.g, ids: [Self.id(2)], policy: .keepReferences) == [.deleted])
        #expect(stream.length == 0)
        #expect(try Self.pending(stream, bytes("h")).map(\.id) == [Self.id(2)])
        #expect(stream.acknowledgeAndDelete(group: bytes("h"), ids: [Self.id(2)], policy: .deleteReferences) == [.deleted])
        Self.expectValid(stream)
    }

    @Test func trimmingWithReferencePolicies() throws {
        func prepared() throws -> Stream {
            var stream = try Self.stream(entries: 6)
            try stream.createGroup(named: Self.g, lastDeliveredID: .zero, entriesRead: nil)
            _ = try stream.readNewEntries(group: Self.g, consumer: Self.alice, count: 4, noAcknowledgement: false, nowMilliseconds: 1)
            #expect(stream.acknowledge(group: Self.g, ids: [Self.id(1), Self.id(3)]) == 2)
            return stream  // pending 2-0 and 4-0; 5-0 and 6-0 not delivered
        }
        var keep = try prepared()
        #expect(keep.trim(.maxLength(2), approximate: false, policy: .keepReferences) == 4)
        #expect(try Self.pending(keep).map(\.id) == [Self.id(2), Self.id(4)])

        var deleteReferences = try prepared()
        #expect(deleteReferences.trim(.minimumID(Self.id(3)), approximate: false, policy: .deleteReferences) == 2)
        #expect(try Self.pending(deleteReferences).map(\.id) == [Self.id(4)])

        var acked = try prepared()
        #expect(acked.trim(.maxLength(2), approximate: false, policy: .acknowledged) == 2)
        #expect(acked.entries().map(\.id) == [Self.id(2), Self.id(4), Self.id(5), Self.id(6)])
        #expect(acked.maxDeletedEntryID == .zero)  // trimming, not XDEL
        #expect(acked.recordedFirstEntryID == Self.id(2))

        var approximate = try prepared()
        #expect(approximate.trim(.maxLength(0), approximate: true, limit: 0, policy: .acknowledged) == 0)  // one node, referenced
        Self.expectValid(keep)
        Self.expectValid(deleteReferences)
        Self.expectValid(acked)
    }

    @Test func ackedApproximateTrimDropsWholeUnreferencedNodes() throws {
        var stream = Stream()
        let limits = StreamNodeLimits(maxBytes: 4096, maxEntries: 10)
        for ms in 1...50 { try stream.append(id: Self.id(UInt64(ms)), fieldsAndValues: [bytes("f"), bytes("v")], limits: limits) }
        try stream.createGroup(named: Self.g, lastDeliveredID: Self.id(25), entriesRead: nil)
        #expect(stream.nodeCount == 5)
        // Entries up to 25-0 are delivered and acknowledged: nodes 1-10 and 11-20 can go, 21-30 cannot.
        #expect(stream.trim(.maxLength(0), approximate: true, limit: 0, policy: .acknowledged) == 20)
        #expect(stream.firstEntryID == Self.id(21))
        _ = try stream.claim(group: Self.g, consumer: Self.alice, ids: [Self.id(22)], minimumIdle: 0,
                             options: ClaimOptions(force: true), nowMilliseconds: 1)
        try stream.setGroupLastDeliveredID(Self.g, to: Self.id(50), entriesRead: nil)
        #expect(stream.trim(.maxLength(0), approximate: true, limit: 0, policy: .acknowledged) == 0)
        #expect(stream.trim(.maxLength(0), approximate: false, policy: .acknowledged) == 29)
        #expect(stream.entries().map(\.id) == [Self.id(22)])
        Self.expectValid(stream)
    }
}
