// What a persistence layer needs to save and rebuild consumer groups: a walk over a group's PEL that names owners
// by their position in the name-ordered consumer list (so a snapshot does not repeat consumer names per entry),
// and a builder that trusts nothing it is given (snapshots and RESTORE payloads come from disk or from clients).

/// One pending entry as persisted: the owner is an index into the group's consumers in name order.
public struct PendingEntryImage: Sendable, Hashable {
    /// The delivered entry's ID.
    public var id: StreamID
    /// Index of the owning consumer in `ConsumerGroup.consumers` (name order).
    public var consumerIndex: Int
    /// Unix time in milliseconds of the last delivery.
    public var deliveryTime: Int64
    /// Number of deliveries (0 only after XCLAIM RETRYCOUNT 0).
    public var deliveryCount: UInt64

    public init(id: StreamID, consumerIndex: Int, deliveryTime: Int64, deliveryCount: UInt64) {
        self.id = id
        self.consumerIndex = consumerIndex
        self.deliveryTime = deliveryTime
        self.deliveryCount = deliveryCount
    }
}

/// Why the pieces given to `ConsumerGroupBuilder` or `Stream.restoreGroup` do not describe a valid group.
public struct ConsumerGroupRestoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

extension ConsumerGroup {
    /// Calls `body` with every pending entry in ID order, its owner named by index in `consumers`.
    /// - Complexity: O(n + c), one O(c) table, no per-entry allocation.
    /// Pending entries with an owner (all but those released by XNACK): what `forEachPendingEntryImage` visits.
    public var ownedPendingCount: Int {
        consumerOrder.reduce(0) { $0 + self[$1].pending.count }
    }

    public func forEachPendingEntryImage(_ body: (PendingEntryImage) -> Void) {
        var orderIndexBySlot = [Int](repeating: -1, count: consumerSlots.count)
        for (index, slot) in consumerOrder.enumerated() { orderIndexBySlot[Int(slot)] = index }
        pending.forEach { entry in
            // Released entries (XNACK) have no owner index; they are persisted by `forEachReleasedPendingEntry`.
            if entry.consumer == .released { return true }
            body(PendingEntryImage(id: entry.id, consumerIndex: orderIndexBySlot[Int(entry.consumer)],
                                   deliveryTime: entry.deliveryTime, deliveryCount: entry.deliveryCount))
            return true
        }
    }
}

/// Rebuilds one consumer group piece by piece: first its consumers in strictly ascending name order, then its
/// pending entries in strictly ascending ID order; `Stream.restoreGroup(_:)` then checks it against the stream.
///
/// Invariant: the group under construction satisfies every `ConsumerGroup` invariant after each call (consumer
/// slots are 0..<c in name order, no free slots), so a finished builder always yields a consistent group.
public struct ConsumerGroupBuilder: Sendable {
    /// The group being built.
    var group: ConsumerGroup
    /// Pending entries each consumer declared it owns, by slot (checked in `Stream.restoreGroup`).
    var declaredPendingCounts: [Int] = []

    /// Starts a group. `entriesRead` nil means unknown; a known value must be >= 0.
    public init(name: [UInt8], lastDeliveredID: StreamID, entriesRead: Int64?) throws(ConsumerGroupRestoreError) {
        if let entriesRead, entriesRead < 0 { throw ConsumerGroupRestoreError("negative entries-read \(entriesRead)") }
        group = ConsumerGroup(name: name, lastDeliveredID: lastDeliveredID, entriesRead: entriesRead)
    }

    /// Number of consumers added so far.
    public var consumerCount: Int { group.consumerOrder.count }

    /// Adds a consumer whose name sorts strictly after the previous one's; `pendingCount` is how many pending
    /// entries it claims to own, verified when the group is restored.
    /// - Complexity: O(name length).
    public mutating func addConsumer(name: [UInt8], seenTime: Int64, activeTime: Int64, pendingCount: Int)
        throws(ConsumerGroupRestoreError)
    {
        if let last = group.consumerOrder.last, !group[last].name.lexicographicallyPrecedes(name) {
            throw ConsumerGroupRestoreError("consumer names not in strictly ascending order")
        }
        guard pendingCount >= 0 else { throw ConsumerGroupRestoreError("negative consumer pending count") }
        let slot = ConsumerSlot(group.consumerSlots.count)
        group.consumerSlots.append(GroupConsumer(name: name, seenTime: seenTime, activeTime: activeTime,
                                                 pending: SortedIDList()))
        group.consumerOrder.append(slot)
        declaredPendingCounts.append(pendingCount)
    }

    /// Adds a pending entry whose ID is strictly greater than the previous one's, owned by an existing consumer.
    /// - Complexity: O(log n) amortised (appends at the end of both lists).
    public mutating func addPendingEntry(_ image: PendingEntryImage) throws(ConsumerGroupRestoreError) {
        guard image.consumerIndex >= 0 && image.consumerIndex < group.consumerOrder.count else {
            throw ConsumerGroupRestoreError("pending entry \(image.id) names consumer \(image.consumerIndex) of \(group.consumerOrder.count)")
        }
        if let last = group.pending.last, last.id >= image.id {
            throw ConsumerGroupRestoreError("pending entry \(image.id) not after \(last.id)")
        }
        let slot = ConsumerSlot(image.consumerIndex)
        group.pending.insert(PendingEntry(id: image.id, deliveryTime: image.deliveryTime,
                                          deliveryCount: image.deliveryCount, consumer: slot))
        group[slot].pending.insert(image.id)
    }
}

extension Stream {
    /// Adds a group rebuilt by `builder`, checking it against this stream: the name is new, every pending ID is at
    /// most `lastID`, and each consumer owns exactly the number of pending entries it declared.
    /// - Complexity: O(g + c).
    public mutating func restoreGroup(_ builder: ConsumerGroupBuilder) throws(ConsumerGroupRestoreError) {
        defer { _checkInvariants() }
        let group = builder.group
        if let greatest = group.pending.last?.id, greatest > lastID {
            throw ConsumerGroupRestoreError("pending entry \(greatest) is after the stream's last ID \(lastID)")
        }
        for (slot, declared) in builder.declaredPendingCounts.enumerated() where group.consumerSlots[slot]?.pending.count != declared {
            throw ConsumerGroupRestoreError("consumer \(slot) declares \(declared) pending entries but owns \(group.consumerSlots[slot]?.pending.count ?? 0)")
        }
        let (index, found) = groupTable.index(of: group.name)
        if found { throw ConsumerGroupRestoreError("duplicate group name") }
        groupTable.groups.insert(group, at: index)
    }
}
