/// Index of a consumer in its group's slot table; stable while the consumer exists, reused after
/// it is deleted. Pending entries name their owner by slot, four bytes instead of a name.
typealias ConsumerSlot = UInt32

extension ConsumerSlot {
    /// The owner of a pending entry released by XNACK (Redis 8.8): no consumer; it stays in the group PEL.
    static let released: ConsumerSlot = .max
}

/// One entry of a group's pending entries list (PEL): delivered to a consumer, not acknowledged.
struct PendingEntry: StreamIDKeyed, Sendable {
    /// The delivered entry's ID (the entry itself may have been deleted since).
    var id: StreamID
    /// Unix time in milliseconds of the last delivery (XCLAIM can set it to the past).
    var deliveryTime: Int64
    /// Number of deliveries; 1 after the first, 0 only when set so by XCLAIM RETRYCOUNT 0.
    var deliveryCount: UInt64
    /// The consumer owning the entry: a live slot of the group, or `.released` after XNACK.
    var consumer: ConsumerSlot
}

/// A consumer of a group: its name, activity times and the IDs it owns in the group's PEL.
struct GroupConsumer: Sendable {
    /// The consumer's name, as given by XREADGROUP / XCLAIM / XGROUP CREATECONSUMER.
    var name: [UInt8]
    /// Unix ms of the last attempted interaction (XREADGROUP, XCLAIM, XAUTOCLAIM), creation at first.
    var seenTime: Int64
    /// Unix ms of the last successful one (entries delivered or claimed); -1 until then.
    var activeTime: Int64
    /// IDs of the group PEL entries this consumer owns.
    var pending: SortedIDList<StreamID>
}

/// A consumer group of a stream (Redis's streamCG).
///
/// Invariants (checked by `validate()`):
/// - every PEL entry's `consumer` is a live slot, and that consumer's `pending` holds its ID, or is `.released`
///   (XNACK) and in no consumer's list;
/// - the consumers' `pending` lists partition the owned part of the group PEL (each ID in exactly one of them);
/// - `consumerOrder` lists exactly the live slots, in ascending name order, names distinct;
/// - `freeSlots` lists exactly the empty slots;
/// - `entriesRead`, when known, is >= 0.
public struct ConsumerGroup: Sendable {
    /// The group's name (unique in its stream).
    public let name: [UInt8]
    /// The ID of the last entry delivered to the group (`last-delivered-id`); entries after it are
    /// new to the group. 0-0 for a group created at `0`.
    public internal(set) var lastDeliveredID: StreamID
    /// Logical number of stream entries the group has read (`entries-read`); nil when unknown.
    public internal(set) var entriesRead: Int64?
    /// The group's pending entries list, by ID.
    var pending = SortedIDList<PendingEntry>()
    /// Consumers by slot; nil marks a free slot.
    var consumerSlots: [GroupConsumer?] = []
    /// Slots of deleted consumers, for reuse.
    var freeSlots: [ConsumerSlot] = []
    /// Live slots in ascending consumer-name order (Redis iterates consumers in that order).
    var consumerOrder: [ConsumerSlot] = []
    /// The group policy (XGROUP SETPOLICY): dead-lettering and idle-consumer removal, off by default.
    public internal(set) var policy = GroupPolicy()
    /// Entries moved to the dead-letter stream so far (`dead-lettered`).
    public internal(set) var deadLetteredCount: UInt64 = 0
    /// Pending IDs a delivery attempt found exhausted; the server moves them to the dead-letter stream in the same
    /// event-loop step. Transient: never persisted, empty between commands.
    var dueForDeadLetter: [StreamID] = []

    init(name: [UInt8], lastDeliveredID: StreamID, entriesRead: Int64?) {
        self.name = name
        self.lastDeliveredID = lastDeliveredID
        self.entriesRead = entriesRead
    }

    /// Number of consumers.
    public var consumerCount: Int { consumerOrder.count }

    /// Number of pending entries (`pending` / `pel-count`).
    public var pendingCount: Int { pending.count }

    // MARK: Consumers

    /// Where `name` is, or would be inserted, in `consumerOrder`, and whether it is there.
    /// - Complexity: O(log c · name length).
    func consumerOrderIndex(of name: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0
        var high = consumerOrder.count
        while low < high {
            let middle = (low &+ high) >> 1
            // consumerOrder only lists live slots (invariant).
            let middleName = consumerSlots[Int(consumerOrder[middle])]!.name
            if middleName.lexicographicallyPrecedes(name) {
                low = middle &+ 1
            } else {
                high = middle
            }
        }
        let found = low < consumerOrder.count && consumerSlots[Int(consumerOrder[low])]!.name == name
        return (low, found)
    }

    /// The slot of the consumer called `name`.
    /// - Complexity: O(log c · name length).
    func consumerSlot(named name: [UInt8]) -> ConsumerSlot? {
        let (index, found) = consumerOrderIndex(of: name)
        return found ? consumerOrder[index] : nil
    }

    /// The slot of the consumer called `name`, created (seen now, never active) if absent.
    /// - Complexity: O(log c) to find it; O(c) to create it (the name order is an array).
    mutating func slotCreatingConsumer(named name: [UInt8], nowMilliseconds: Int64) -> (slot: ConsumerSlot, created: Bool) {
        let (index, found) = consumerOrderIndex(of: name)
        if found { return (consumerOrder[index], false) }
        // Its own copy of the name: `name` may be a buffer the caller reuses for lookups, larger than the name.
        let consumer = GroupConsumer(name: name.withUnsafeBufferPointer { Array($0) }, seenTime: nowMilliseconds,
                                     activeTime: -1, pending: SortedIDList())
        let slot: ConsumerSlot
        if let reused = freeSlots.popLast() {
            slot = reused
            consumerSlots[Int(slot)] = consumer
        } else {
            slot = ConsumerSlot(consumerSlots.count)
            consumerSlots.append(consumer)
        }
        consumerOrder.insert(slot, at: index)
        return (slot, true)
    }

    /// The name of a pending entry's owner; empty for a released entry (as XPENDING shows it).
    func ownerName(_ slot: ConsumerSlot) -> [UInt8] {
        slot == .released ? [] : self[slot].name
    }

    /// The consumer in a live slot.
    subscript(slot: ConsumerSlot) -> GroupConsumer {
        // Callers only pass live slots (from consumerOrder or a pending entry).
        get { consumerSlots[Int(slot)]! }
        _modify { yield &consumerSlots[Int(slot)]! }
    }

    /// Deletes the consumer called `name` and the group PEL entries it owned.
    /// - Returns: how many pending entries it owned, or nil if there is no such consumer.
    /// - Complexity: O(p log n + c), p = its pending entries.
    mutating func deleteConsumer(named name: [UInt8]) -> Int? {
        let (index, found) = consumerOrderIndex(of: name)
        guard found else { return nil }
        let slot = consumerOrder.remove(at: index)
        // A found slot is live.
        let consumer = consumerSlots[Int(slot)]!
        consumer.pending.forEach { id in
            pending.remove(id)
            return true
        }
        consumerSlots[Int(slot)] = nil
        freeSlots.append(slot)
        return consumer.pending.count
    }

    // MARK: Pending entries

    /// Moves (or gives, for an entry without owner yet) the pending entry at `position` to
    /// `slot`'s list.
    mutating func assignPending(at position: SortedIDList<PendingEntry>.Position, to slot: ConsumerSlot) {
        let entry = pending[position]
        if entry.consumer == slot { return }
        if entry.consumer != .released { self[entry.consumer].pending.remove(entry.id) }
        if slot != .released { self[slot].pending.insert(entry.id) }
        pending[position].consumer = slot
    }

    /// Removes the pending entry with this ID from the group and its owner.
    /// - Returns: whether it was pending.
    /// - Complexity: O(log n).
    @discardableResult
    mutating func removePending(_ id: StreamID) -> Bool {
        guard let removed = pending.remove(id) else { return false }
        if removed.consumer != .released { self[removed.consumer].pending.remove(id) }
        return true
    }

    // MARK: Invariants

    /// Describes every broken invariant (empty when consistent).
    /// - Complexity: O(n log n + c).
    func validate() -> [String] {
        var problems = pending.validate().map { "group PEL: \($0)" }
        let prefix = "group \(String(decoding: name, as: UTF8.self))"
        var ownedTotal = 0
        var previousName: [UInt8]?
        var live = Set<ConsumerSlot>()
        for slot in consumerOrder {
            guard Int(slot) < consumerSlots.count, let consumer = consumerSlots[Int(slot)] else {
                problems.append("\(prefix): order lists empty slot \(slot)")
                continue
            }
            if !live.insert(slot).inserted { problems.append("\(prefix): slot \(slot) listed twice") }
            if let previousName, !previousName.lexicographicallyPrecedes(consumer.name) {
                problems.append("\(prefix): consumer names out of order")
            }
            previousName = consumer.name
            problems += consumer.pending.validate().map { "\(prefix) consumer PEL: \($0)" }
            consumer.pending.forEach { id in
                if pending[id]?.consumer != slot { problems.append("\(prefix): \(id) owned by slot \(slot) but not in its PEL entry") }
                return true
            }
            ownedTotal += consumer.pending.count
        }
        var releasedTotal = 0
        pending.forEach { entry in
            if entry.consumer == .released { releasedTotal += 1 }
            return true
        }
        if ownedTotal + releasedTotal != pending.count {
            problems.append("\(prefix): consumers own \(ownedTotal) of \(pending.count - releasedTotal) owned entries")
        }
        pending.forEach { entry in
            if entry.consumer != .released && !live.contains(entry.consumer) { problems.append("\(prefix): \(entry.id) owned by dead slot \(entry.consumer)") }
            return true
        }
        let emptySlots = Set(consumerSlots.indices.filter { consumerSlots[$0] == nil }.map { ConsumerSlot($0) })
        if Set(freeSlots) != emptySlots || freeSlots.count != emptySlots.count {
            problems.append("\(prefix): free slot list \(freeSlots) does not match empty slots \(emptySlots.sorted())")
        }
        if let entriesRead, entriesRead < 0 { problems.append("\(prefix): entries-read \(entriesRead)") }
        problems += policy.problems.map { "\(prefix): \($0)" }
        return problems
    }

    /// Approximate bytes held by the group's PELs and consumer table.
    /// - Complexity: O(chunks + c).
    var memoryFootprint: Int {
        var total = MemoryLayout<ConsumerGroup>.stride + name.count + pending.memoryFootprint
        total += consumerSlots.capacity * MemoryLayout<GroupConsumer?>.stride + consumerOrder.capacity * 4
        for case let consumer? in consumerSlots { total += consumer.name.count + consumer.pending.memoryFootprint }
        return total
    }
}
