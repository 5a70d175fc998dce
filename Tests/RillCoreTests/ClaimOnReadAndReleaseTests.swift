import RillTestSupport
import Testing
@testable import RillCore

/// Redis 8 consumer-group operations on the model: the claim step of XREADGROUP ... CLAIM and XNACK.
/// Expected values follow Redis' command pages (there is no Redis 8 server here to compare with).
struct ClaimOnReadAndReleaseTests {
    typealias Support = ConsumerGroupTests
    static let g = Support.g
    static let alice = Support.alice
    static let bob = Support.bob
    static func id(_ ms: UInt64) -> StreamID { Support.id(ms) }

    /// Entries 1...total; bob received 1...delivered at time 1000.
    static func streamWithPending(total: Int, delivered: Int) throws -> Stream {
        var stream = try Support.stream(entries: total)
        try stream.createGroup(named: g, lastDeliveredID: .zero, entriesRead: 0)
        _ = try stream.readNewEntries(group: g, consumer: bob, count: delivered, noAcknowledgement: false,
                                      nowMilliseconds: 1000)
        return stream
    }

    // MARK: XREADGROUP ... CLAIM

    @Test func claimTakesIdleEntriesLongestIdleFirstAndCountsADelivery() throws {
        var stream = try Self.streamWithPending(total: 4, delivered: 3)
        // Entry 2 re-delivered later, so it is the least idle; 1 and 3 tie and go by ID.
        _ = try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(2)], minimumIdle: 0,
                             options: ClaimOptions(deliveryTime: 1500), nowMilliseconds: 1500)
        let claimed = try stream.claimIdlePending(group: Self.g, consumer: Self.alice, minimumIdle: 600, limit: nil,
                                                  nowMilliseconds: 2000)
        #expect(claimed == [
            ClaimedDelivery(id: Self.id(1), idleMilliseconds: 1000, previousDeliveryCount: 1, deliveryCount: 2),
            ClaimedDelivery(id: Self.id(3), idleMilliseconds: 1000, previousDeliveryCount: 1, deliveryCount: 2),
        ])
        let pending = try Support.pending(stream)
        #expect(pending.map { String(decoding: $0.consumer, as: UTF8.self) } == ["alice", "bob", "alice"])
        #expect(pending.map(\.deliveryTime) == [2000, 1500, 2000])
        // The group position does not move: claiming is not reading new entries.
        #expect(stream.group(named: Self.g)?.lastDeliveredID == Self.id(3))
        Support.expectValid(stream)
    }

    @Test func claimHonoursTheLimitAndDropsDeletedEntries() throws {
        var stream = try Self.streamWithPending(total: 3, delivered: 3)
        _ = stream.delete([Self.id(1)])
        let claimed = try stream.claimIdlePending(group: Self.g, consumer: Self.alice, minimumIdle: 0, limit: 1,
                                                  nowMilliseconds: 2000)
        #expect(claimed.map(\.id) == [Self.id(2)])
        #expect(try Support.pending(stream).map(\.id) == [Self.id(2), Self.id(3)])
        #expect(try stream.claimIdlePending(group: Self.g, consumer: Self.alice, minimumIdle: 0, limit: 0,
                                            nowMilliseconds: 2000) == [])
        #expect(throws: ConsumerGroupError.noSuchGroup) {
            try stream.claimIdlePending(group: bytes("x"), consumer: Self.alice, minimumIdle: 0, limit: nil,
                                        nowMilliseconds: 0)
        }
        Support.expectValid(stream)
    }

    // MARK: XNACK

    @Test func releaseLeavesEntriesPendingWithoutOwnerAndAdjustsCounts() throws {
        var stream = try Self.streamWithPending(total: 4, delivered: 3)
        _ = try stream.claim(group: Self.g, consumer: Self.bob, ids: [Self.id(1)], minimumIdle: 0,
                             options: ClaimOptions(), nowMilliseconds: 1100)  // 2 deliveries
        #expect(try stream.release(group: Self.g, ids: [Self.id(1)], mode: .silent, retryCount: nil, force: false) == 1)
        #expect(try stream.release(group: Self.g, ids: [Self.id(2)], mode: .fatal, retryCount: nil, force: false) == 1)
        #expect(try stream.release(group: Self.g, ids: [Self.id(3)], mode: .fail, retryCount: 9, force: false) == 1)
        // Not pending: ignored, unless forced and the entry exists.
        #expect(try stream.release(group: Self.g, ids: [Self.id(4), Self.id(7)], mode: .fail, retryCount: nil, force: false) == 0)
        #expect(try stream.release(group: Self.g, ids: [Self.id(4), Self.id(7)], mode: .fail, retryCount: nil, force: true) == 1)
        let pending = try Support.pending(stream)
        #expect(pending.map(\.isReleased) == [true, true, true, true])
        #expect(pending.map(\.consumer) == [[], [], [], []])
        #expect(pending.map(\.deliveryCount) == [1, UInt64(Int64.max), 9, 0])
        #expect(pending.map { $0.idle(nowMilliseconds: 5000) } == [-1, -1, -1, -1])
        #expect(stream.group(named: Self.g)?.ownedPendingCount == 0)
        #expect(try stream.consumers(ofGroup: Self.g).map(\.pendingCount) == [0])
        #expect(stream.releasedPendingEntries(ofGroup: Self.g).map(\.id) == [Self.id(1), Self.id(2), Self.id(3), Self.id(4)])
        Support.expectValid(stream)
    }

    @Test func releasedEntriesCanBeClaimedAcknowledgedAndRestored() throws {
        var stream = try Self.streamWithPending(total: 3, delivered: 3)
        _ = try stream.release(group: Self.g, ids: [Self.id(2), Self.id(3)], mode: .fail, retryCount: nil, force: false)
        // Released entries come first whatever min-idle-time asks for.
        let claimed = try stream.claimIdlePending(group: Self.g, consumer: Self.alice, minimumIdle: 1_000_000, limit: nil,
                                                  nowMilliseconds: 2000)
        #expect(claimed.map(\.id) == [Self.id(2), Self.id(3)])
        #expect(claimed.map(\.idleMilliseconds) == [-1, -1])
        _ = try stream.release(group: Self.g, ids: [Self.id(1)], mode: .fail, retryCount: nil, force: false)
        let images = stream.releasedPendingEntries(ofGroup: Self.g)
        #expect(stream.acknowledge(group: Self.g, ids: [Self.id(1)]) == 1)
        Support.expectValid(stream)
        try stream.restoreReleasedPending(group: Self.g, entries: images)
        #expect(try Support.pending(stream).map(\.isReleased) == [true, false, false])
        #expect(throws: ConsumerGroupRestoreError.self) {
            var copy = stream
            try copy.restoreReleasedPending(group: Self.g, entries: images)
        }
        Support.expectValid(stream)
    }

}
