// XNACK (Redis 8.8): a consumer hands pending entries back to its group without acknowledging them. A released
// entry stays in the group PEL with no owner and delivery time 0, so every claim (XCLAIM, XAUTOCLAIM, XREADGROUP
// ... CLAIM) finds it idle at once, and XREADGROUP ... CLAIM, which takes the longest-idle entries first, takes
// released ones before any other.

/// How XNACK adjusts the delivery counter of the entries it releases.
public enum ReleaseMode: Sendable, Hashable {
    /// The delivery did not count: the counter goes down by one (not below 0).
    case silent
    /// The counter stays as it is.
    case fail
    /// The entry is marked failed for good: the counter becomes the largest signed 64-bit value.
    case fatal

    /// The counter for an entry pending with `count` deliveries, or created by FORCE (`count` nil).
    func adjustedCount(_ count: UInt64?, retryCount: UInt64?) -> UInt64 {
        if let retryCount { return retryCount }
        switch self {
        case .fatal: return UInt64(Int64.max)
        case .silent: return count.map { $0 == 0 ? 0 : $0 - 1 } ?? 0
        case .fail: return count ?? 0
        }
    }
}

/// One released entry as persisted: no owner, its delivery time (0 unless a later change set one) and count.
public struct ReleasedPendingImage: Sendable, Hashable {
    public var id: StreamID
    public var deliveryTime: Int64
    public var deliveryCount: UInt64

    public init(id: StreamID, deliveryTime: Int64, deliveryCount: UInt64) {
        self.id = id
        self.deliveryTime = deliveryTime
        self.deliveryCount = deliveryCount
    }
}

extension Stream {
    /// XNACK: releases those of `ids` that are pending in the group (whoever owns them): no owner, delivery time 0,
    /// counter per `mode` or set to `retryCount`. With `force`, an ID not pending whose entry exists becomes a
    /// released pending entry (counter 0, or `retryCount`, or the maximum for `.fatal`). Other IDs are ignored.
    /// - Returns: how many entries were released (a repeated ID counts each time it is processed).
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(k (log n + log b)).
    public mutating func release(group: [UInt8], ids: [StreamID], mode: ReleaseMode, retryCount: UInt64?,
                                 force: Bool) throws(ConsumerGroupError) -> Int {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        var released = 0
        for id in ids {
            if let position = groupTable.groups[index].pending.position(of: id) {
                let count = groupTable.groups[index].pending[position].deliveryCount
                groupTable.groups[index].assignPending(at: position, to: .released)
                groupTable.groups[index].pending[position].deliveryTime = 0
                groupTable.groups[index].pending[position].deliveryCount = mode.adjustedCount(count, retryCount: retryCount)
                released += 1
            } else if force && containsEntry(withID: id) {
                _ = groupTable.groups[index].pending.insert(
                    PendingEntry(id: id, deliveryTime: 0, deliveryCount: mode.adjustedCount(nil, retryCount: retryCount),
                                 consumer: .released))
                released += 1
            }
        }
        return released
    }

    /// The group's released entries in ID order (for persistence).
    /// - Complexity: O(n).
    public func releasedPendingEntries(ofGroup group: [UInt8]) -> [ReleasedPendingImage] {
        guard let group = self.group(named: group) else { return [] }
        var result: [ReleasedPendingImage] = []
        group.pending.forEach { entry in
            if entry.consumer == .released {
                result.append(ReleasedPendingImage(id: entry.id, deliveryTime: entry.deliveryTime,
                                                   deliveryCount: entry.deliveryCount))
            }
            return true
        }
        return result
    }

    /// Puts persisted released entries back into an existing group: IDs must not be pending already and must be
    /// at most the stream's last ID.
    public mutating func restoreReleasedPending(group: [UInt8], entries: [ReleasedPendingImage]) throws(ConsumerGroupRestoreError) {
        defer { _checkInvariants() }
        guard let index = try? groupIndex(group) else { throw ConsumerGroupRestoreError("released entries for an unknown group") }
        for entry in entries {
            guard entry.id <= lastID else {
                throw ConsumerGroupRestoreError("released entry \(entry.id) after the stream's last ID \(lastID)")
            }
            let inserted = groupTable.groups[index].pending.insert(
                PendingEntry(id: entry.id, deliveryTime: entry.deliveryTime, deliveryCount: entry.deliveryCount,
                             consumer: .released))
            guard inserted else { throw ConsumerGroupRestoreError("released entry \(entry.id) already pending") }
        }
    }
}
