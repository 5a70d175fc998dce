// XREADGROUP ... CLAIM min-idle-time (Redis 8.4): one read first takes over the group's pending entries that
// have been idle long enough, longest-idle first, then delivers new entries within what is left of COUNT.

/// One pending entry taken over by `XREADGROUP ... CLAIM`, with what the reply reports about it.
public struct ClaimedDelivery: Sendable, Hashable {
    /// The entry's ID (the entry exists: deleted ones are dropped from the PEL instead of being claimed).
    public var id: StreamID
    /// Milliseconds between its previous delivery and this one; -1 for an entry released by XNACK.
    public var idleMilliseconds: Int64
    /// Deliveries before this one.
    public var previousDeliveryCount: UInt64
    /// Its delivery count now (previous + 1, saturating).
    public var deliveryCount: UInt64
}

extension Stream {
    /// The claim step of `XREADGROUP ... CLAIM`: gives `consumer` (created if needed, seen now) the group's pending
    /// entries, whoever owns them, that were last delivered at least `minimumIdle` ms ago or released by XNACK
    /// (always eligible), released ones first then longest-idle first (ties by ID), at most `limit` (nil: no limit). Each claimed entry is delivered now and its count incremented; a
    /// pending entry whose stream entry was deleted is removed from the PEL and not counted against `limit`.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(n log n) for a PEL of n entries (the PEL is kept in ID order, so idle order is a sort).
    public mutating func claimIdlePending(
        group: [UInt8], consumer: [UInt8], minimumIdle: Int64, limit: Int?, nowMilliseconds: Int64
    ) throws(ConsumerGroupError) -> [ClaimedDelivery] {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        let slot = touchConsumer(consumer, inGroupAt: index, nowMilliseconds: nowMilliseconds)
        if limit == 0 { return [] }
        var candidates: [(deliveryTime: Int64, id: StreamID, released: Bool)] = []
        var deleted: [StreamID] = []
        groupTable.groups[index].pending.forEach { entry in
            if !containsEntry(withID: entry.id) {
                deleted.append(entry.id)
            } else if entry.consumer == .released || nowMilliseconds &- entry.deliveryTime >= minimumIdle {
                candidates.append((entry.deliveryTime, entry.id, entry.consumer == .released))
            }
            return true
        }
        for id in deleted { groupTable.groups[index].removePending(id) }
        candidates.removeAll { groupTable.groups[index].holdForDeadLetter($0.id) }
        candidates.sort { $0.deliveryTime != $1.deliveryTime ? $0.deliveryTime < $1.deliveryTime : $0.id < $1.id }
        if let limit, candidates.count > limit { candidates.removeLast(candidates.count - limit) }
        var claimed: [ClaimedDelivery] = []
        claimed.reserveCapacity(candidates.count)
        for candidate in candidates {
            // Collected from the PEL above and not removed since (only deleted entries were).
            let position = groupTable.groups[index].pending.position(of: candidate.id)!
            let previous = groupTable.groups[index].pending[position].deliveryCount
            let next = previous == .max ? previous : previous + 1
            groupTable.groups[index].assignPending(at: position, to: slot)
            groupTable.groups[index].pending[position].deliveryTime = nowMilliseconds
            groupTable.groups[index].pending[position].deliveryCount = next
            // A released entry (XNACK) has no last delivery; reported -1 as XPENDING reports its idle time.
            let idle = candidate.released ? -1 : Swift.max(0, nowMilliseconds &- candidate.deliveryTime)
            claimed.append(ClaimedDelivery(id: candidate.id, idleMilliseconds: idle,
                                           previousDeliveryCount: previous, deliveryCount: next))
        }
        if !claimed.isEmpty { groupTable.groups[index][slot].activeTime = nowMilliseconds }
        return claimed
    }
}
