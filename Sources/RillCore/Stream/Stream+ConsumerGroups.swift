/// Failures of consumer-group operations. The server words them (RillServer's
/// `CoreErrorReplies.swift`); the NOGROUP wording depends on the command and names the key, so
/// handlers word `.noSuchGroup` themselves.
public enum ConsumerGroupError: Error, Sendable, Hashable {
    /// XGROUP CREATE: the stream already has a group with this name.
    case groupExists
    /// The named group does not exist in the stream.
    case noSuchGroup
}

/// What deleting or trimming does to consumer-group references (Redis 8.2's KEEPREF / DELREF /
/// ACKED).
public enum StreamDeletionPolicy: Sendable, Hashable {
    /// KEEPREF (the default): delete the entries, leave PEL references to them (XDEL's behaviour).
    case keepReferences
    /// DELREF: delete the entries and remove every PEL reference to them.
    case deleteReferences
    /// ACKED: delete only entries every group has read and acknowledged.
    case acknowledged
}

/// Per-ID outcome of XDELEX and XACKDEL, with Redis's reply codes.
public enum StreamDeletionResult: Int64, Sendable, Hashable {
    /// -1: no such entry (XDELEX), or the ID was not pending in the group (XACKDEL).
    case notFound = -1
    /// 1: deleted (for XACKDEL: acknowledged, and deleted if it still existed).
    case deleted = 1
    /// 2: kept because a group still references it (ACKED).
    case stillReferenced = 2
}

/// XPENDING's summary form.
public struct PendingSummary: Sendable, Hashable {
    /// Number of pending entries in the group.
    public var count: Int
    /// Smallest and greatest pending ID; nil when nothing is pending.
    public var smallestID: StreamID?
    public var greatestID: StreamID?
    /// Consumers owning at least one pending entry, in name order, with how many they own.
    public var consumers: [(name: [UInt8], pending: Int)]

    public static func == (lhs: PendingSummary, rhs: PendingSummary) -> Bool {
        lhs.count == rhs.count && lhs.smallestID == rhs.smallestID && lhs.greatestID == rhs.greatestID
            && lhs.consumers.elementsEqual(rhs.consumers) { $0.name == $1.name && $0.pending == $1.pending }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        hasher.combine(smallestID)
    }
}

/// One pending entry as XPENDING, XINFO STREAM FULL and the tests see it.
public struct PendingEntryInfo: Sendable, Hashable {
    /// The pending entry's ID.
    public var id: StreamID
    /// Name of the consumer owning it.
    public var consumer: [UInt8]
    /// Unix ms of its last delivery.
    public var deliveryTime: Int64
    /// How many times it was delivered.
    public var deliveryCount: UInt64
    /// Released by XNACK: no owner (`consumer` is empty) and no delivery time.
    public var isReleased = false

    /// Milliseconds since the last delivery at `nowMilliseconds`, never negative (XPENDING's idle); -1 for a
    /// released entry, as Redis' XNACK page shows XPENDING reporting it.
    public func idle(nowMilliseconds: Int64) -> Int64 {
        isReleased ? -1 : Swift.max(0, nowMilliseconds &- deliveryTime)
    }
}

/// One consumer as XINFO CONSUMERS and XINFO STREAM FULL see it.
public struct ConsumerInfo: Sendable, Hashable {
    /// The consumer's name.
    public var name: [UInt8]
    /// Pending entries it owns.
    public var pendingCount: Int
    /// Unix ms of its last attempted interaction.
    public var seenTime: Int64
    /// Unix ms of its last successful interaction; -1 if none yet.
    public var activeTime: Int64
}

/// XCLAIM's options.
public struct ClaimOptions: Sendable, Hashable {
    /// IDLE/TIME resolved to the Unix ms to record as the last delivery; nil means now. Values
    /// below 0 or after now are replaced by now, as in Redis.
    public var deliveryTime: Int64?
    /// RETRYCOUNT: the delivery count to set; nil (or negative) increments it unless `justID`.
    public var retryCount: Int64?
    /// FORCE: create a pending entry for an ID that exists in the stream but is not pending.
    public var force: Bool
    /// JUSTID: the caller replies with IDs only, and delivery counts are not incremented.
    public var justID: Bool
    /// LASTID: raise the group's last delivered ID to this one if it is greater.
    public var lastID: StreamID?

    public init(deliveryTime: Int64? = nil, retryCount: Int64? = nil, force: Bool = false, justID: Bool = false,
                lastID: StreamID? = nil) {
        self.deliveryTime = deliveryTime
        self.retryCount = retryCount
        self.force = force
        self.justID = justID
        self.lastID = lastID
    }
}

/// XAUTOCLAIM's result.
public struct AutoClaimResult: Sendable, Hashable {
    /// Where the next call should start: the first pending ID not examined, 0-0 when the scan
    /// reached the end of the PEL.
    public var nextStart: StreamID
    /// IDs claimed, in ID order (all exist in the stream).
    public var claimed: [StreamID]
    /// Pending IDs whose entries no longer exist; they were removed from the PEL.
    public var deleted: [StreamID]

    public init(nextStart: StreamID, claimed: [StreamID], deleted: [StreamID]) {
        self.nextStart = nextStart
        self.claimed = claimed
        self.deleted = deleted
    }
}

/// The consumer groups of one stream, ordered by name (Redis keeps them in a radix tree, so it
/// lists them in byte order).
///
/// Invariant: names are strictly ascending (so distinct) and each group is valid.
struct ConsumerGroupTable: Sendable {
    /// The groups in ascending byte order of their names.
    var groups: [ConsumerGroup] = []

    /// Where a group called `name` is, or would be inserted, and whether it is there.
    /// - Complexity: O(log g · name length).
    func index(of name: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0
        var high = groups.count
        while low < high {
            let middle = (low &+ high) >> 1
            if groups[middle].name.lexicographicallyPrecedes(name) {
                low = middle &+ 1
            } else {
                high = middle
            }
        }
        return (low, low < groups.count && groups[low].name == name)
    }

    /// Describes every broken invariant (empty when consistent).
    func validate() -> [String] {
        var problems: [String] = []
        for (index, group) in groups.enumerated() {
            if index > 0 && !groups[index - 1].name.lexicographicallyPrecedes(group.name) {
                problems.append("groups out of name order at \(index)")
            }
            problems += group.validate()
        }
        return problems
    }
}

extension Stream {
    // MARK: - Reading the groups

    /// The consumer groups, in name order.
    /// - Complexity: O(1) (the array is shared, not copied).
    public var consumerGroups: [ConsumerGroup] { groupTable.groups }

    /// Number of consumer groups (XINFO STREAM `groups`).
    public var groupCount: Int { groupTable.groups.count }

    /// The group called `name`.
    /// - Complexity: O(log g).
    public func group(named name: [UInt8]) -> ConsumerGroup? {
        let (index, found) = groupTable.index(of: name)
        return found ? groupTable.groups[index] : nil
    }

    /// Index of the group called `name`, or `.noSuchGroup`.
    func groupIndex(_ name: [UInt8]) throws(ConsumerGroupError) -> Int {
        let (index, found) = groupTable.index(of: name)
        guard found else { throw .noSuchGroup }
        return index
    }

    /// Approximate bytes held by all consumer groups (PELs, consumers, names).
    /// - Complexity: O(chunks + consumers).
    public var consumerGroupMemoryFootprint: Int {
        groupTable.groups.reduce(0) { $0 + $1.memoryFootprint }
    }

    // MARK: - XGROUP

    /// ENTRIESREAD as Redis 8 stores it: capped at `entriesAdded`, nil (unknown) stays nil.
    private func cappedEntriesRead(_ entriesRead: Int64?) -> Int64? {
        guard let entriesRead else { return nil }
        return Swift.min(entriesRead, Int64(truncatingIfNeeded: entriesAdded))
    }

    /// XGROUP CREATE: adds a group whose last delivered ID is `lastDeliveredID` (nil means `$`,
    /// the stream's `lastID`) and whose read counter is `entriesRead` (nil: unknown; capped at
    /// `entriesAdded`, as Redis 8 does).
    /// - Throws: `.groupExists`.
    /// - Complexity: O(g) (groups are few).
    public mutating func createGroup(named name: [UInt8], lastDeliveredID: StreamID?, entriesRead: Int64?) throws(ConsumerGroupError) {
        defer { _checkInvariants() }
        let (index, found) = groupTable.index(of: name)
        if found { throw .groupExists }
        let group = ConsumerGroup(name: name, lastDeliveredID: lastDeliveredID ?? lastID,
                                  entriesRead: cappedEntriesRead(entriesRead))
        groupTable.groups.insert(group, at: index)
    }

    /// XGROUP SETID: sets the group's last delivered ID (nil means `$`) and read counter (nil:
    /// unknown, which is what SETID without ENTRIESREAD means). Pending entries are untouched.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log g).
    public mutating func setGroupLastDeliveredID(_ group: [UInt8], to id: StreamID?, entriesRead: Int64?) throws(ConsumerGroupError) {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        let capped = cappedEntriesRead(entriesRead)
        groupTable.groups[index].lastDeliveredID = id ?? lastID
        groupTable.groups[index].entriesRead = capped
    }

    /// XGROUP DESTROY: removes the group with its consumers and PEL.
    /// - Returns: whether the group existed.
    /// - Complexity: O(g) plus freeing the group.
    @discardableResult
    public mutating func destroyGroup(named name: [UInt8]) -> Bool {
        defer { _checkInvariants() }
        let (index, found) = groupTable.index(of: name)
        guard found else { return false }
        groupTable.groups.remove(at: index)
        return true
    }

    /// XGROUP CREATECONSUMER: adds a consumer (seen now, never active) unless it exists.
    /// - Returns: whether it was created.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log g + c).
    @discardableResult
    public mutating func createConsumer(group: [UInt8], consumer: [UInt8], nowMilliseconds: Int64) throws(ConsumerGroupError) -> Bool {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        return groupTable.groups[index].slotCreatingConsumer(named: consumer, nowMilliseconds: nowMilliseconds).created
    }

    /// XGROUP DELCONSUMER: removes a consumer and the pending entries it owned.
    /// - Returns: how many pending entries it owned, or nil when there is no such consumer
    ///   (Redis replies 0 then).
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(p log n + c), p = its pending entries.
    @discardableResult
    public mutating func deleteConsumer(group: [UInt8], consumer: [UInt8]) throws(ConsumerGroupError) -> Int? {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        return groupTable.groups[index].deleteConsumer(named: consumer)
    }

    // MARK: - XREADGROUP

    /// The consumer's slot in group `index`, created if needed, with its seen time set to now
    /// (every XREADGROUP, XCLAIM and XAUTOCLAIM counts as an attempted interaction, Redis 7.2).
    mutating func touchConsumer(_ name: [UInt8], inGroupAt index: Int, nowMilliseconds: Int64) -> ConsumerSlot {
        let slot = groupTable.groups[index].slotCreatingConsumer(named: name, nowMilliseconds: nowMilliseconds).slot
        groupTable.groups[index][slot].seenTime = nowMilliseconds
        return slot
    }

    /// XREADGROUP with `>`: delivers up to `count` entries (0: no limit) newer than the group's
    /// last delivered ID to `consumer` (created if needed): the group's last delivered ID and read
    /// counter advance, and unless `noAcknowledgement` (NOACK) each entry becomes pending for the
    /// consumer with delivery count 1 (an entry already pending, after SETID moved the group back,
    /// changes owner and restarts at 1).
    /// - Returns: the delivered IDs in ascending order (consecutive live entries), or nil when
    ///   there is nothing new (XREADGROUP then omits the stream or blocks).
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log b + m + k log n) for k entries (O(k) when appending to the PEL).
    public mutating func readNewEntries(
        group: [UInt8], consumer: [UInt8], count: Int, noAcknowledgement: Bool, nowMilliseconds: Int64
    ) throws(ConsumerGroupError) -> [StreamID]? {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        let slot = touchConsumer(consumer, inGroupAt: index, nowMilliseconds: nowMilliseconds)
        var ids: [StreamID] = []
        // One allocation, not one per doubling (COUNT 10: five).
        ids.reserveCapacity(Swift.min(count <= 0 ? Int.max : count, Int(clamping: length)))
        forEachEntry(after: groupTable.groups[index].lastDeliveredID, limit: count <= 0 ? .max : count) { id, _ in
            ids.append(id)
        }
        if ids.isEmpty { return nil }
        for id in ids {
            advanceGroup(at: index, deliveringEntry: id)
            if !noAcknowledgement {
                addPendingDelivery(id, toGroupAt: index, consumer: slot, nowMilliseconds: nowMilliseconds)
            }
        }
        return ids
    }

    /// Moves group `index` past `id` and updates its read counter the way Redis 8 does: counting
    /// one more read while the counter is known and no deletion lies after the group's position;
    /// otherwise re-deriving it from the stream's counters (which may find it unknowable).
    private mutating func advanceGroup(at index: Int, deliveringEntry id: StreamID) {
        let group = groupTable.groups[index]
        guard id > group.lastDeliveredID else { return }
        var entriesRead = group.entriesRead
        if let known = entriesRead, group.lastDeliveredID >= recordedFirstEntryID,
           !rangeHasTombstones(from: group.lastDeliveredID) {
            entriesRead = known &+ 1
        } else if entriesAdded != 0 {
            entriesRead = estimatedEntriesRead(upTo: id)
        }
        groupTable.groups[index].entriesRead = entriesRead
        groupTable.groups[index].lastDeliveredID = id
    }

    /// Records a first delivery of `id` to `slot`: a new pending entry (count 1, now), or an
    /// existing one taken over and reset.
    private mutating func addPendingDelivery(_ id: StreamID, toGroupAt index: Int, consumer slot: ConsumerSlot,
                                             nowMilliseconds: Int64) {
        let entry = PendingEntry(id: id, deliveryTime: nowMilliseconds, deliveryCount: 1, consumer: slot)
        if groupTable.groups[index].pending.insert(entry) {
            groupTable.groups[index][slot].pending.insert(id)
        } else {
            // insert failed, so the ID is pending.
            let position = groupTable.groups[index].pending.position(of: id)!
            groupTable.groups[index].assignPending(at: position, to: slot)
            groupTable.groups[index].pending[position].deliveryTime = nowMilliseconds
            groupTable.groups[index].pending[position].deliveryCount = 1
        }
        groupTable.groups[index][slot].activeTime = nowMilliseconds
    }

    /// XREADGROUP with an explicit ID: the consumer's (created if needed) pending IDs greater than
    /// `after`, at most `count` (0: no limit). Each one whose entry still exists counts as
    /// delivered again (time now, count + 1); deleted ones are returned too, for nil bodies.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log n + k (log n + log b + m)).
    public mutating func readPendingHistory(
        group: [UInt8], consumer: [UInt8], after: StreamID, count: Int, nowMilliseconds: Int64
    ) throws(ConsumerGroupError) -> [StreamID] {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        let slot = touchConsumer(consumer, inGroupAt: index, nowMilliseconds: nowMilliseconds)
        guard let start = after.next else { return [] }
        var ids: [StreamID] = []
        groupTable.groups[index][slot].pending.forEach(from: start) { id in
            ids.append(id)
            return count <= 0 || ids.count < count
        }
        // Exhausted entries (dead-letter policy) are not delivered again; the server moves them instead.
        ids.removeAll { containsEntry(withID: $0) && groupTable.groups[index].holdForDeadLetter($0) }
        for id in ids where containsEntry(withID: id) {
            // The consumer's list only holds IDs of its group's PEL (invariant).
            let position = groupTable.groups[index].pending.position(of: id)!
            groupTable.groups[index].pending[position].deliveryTime = nowMilliseconds
            groupTable.groups[index].pending[position].deliveryCount &+= 1
        }
        return ids
    }

    // MARK: - XACK

    /// XACK: removes these IDs from the group's PEL and their owners'.
    /// - Returns: how many were pending (0 when the group does not exist).
    /// - Complexity: O(k log n).
    public mutating func acknowledge<IDs: Sequence<StreamID>>(group: [UInt8], ids: IDs) -> Int {
        defer { _checkInvariants() }
        let (index, found) = groupTable.index(of: group)
        guard found else { return 0 }
        var acknowledged = 0
        for id in ids where groupTable.groups[index].removePending(id) { acknowledged += 1 }
        return acknowledged
    }

    // MARK: - XPENDING

    /// XPENDING's summary: count, smallest and greatest pending ID, and pending count per consumer.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log n + c).
    public func pendingSummary(group: [UInt8]) throws(ConsumerGroupError) -> PendingSummary {
        let group = groupTable.groups[try groupIndex(group)]
        var consumers: [(name: [UInt8], pending: Int)] = []
        for slot in group.consumerOrder where group[slot].pending.count > 0 {
            consumers.append((group[slot].name, group[slot].pending.count))
        }
        return PendingSummary(count: group.pending.count, smallestID: group.pending.first?.id,
                              greatestID: group.pending.last?.id, consumers: consumers)
    }

    /// XPENDING's extended form: pending entries with `start <= id <= end`, idle for at least
    /// `minimumIdle` ms (0: no filter), at most `count`, of one consumer or of the whole group.
    /// An unknown consumer has none.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log n + k) for the group, O(k log n) for one consumer (each of its IDs is
    ///   looked up in the group PEL for the delivery data), k = entries examined.
    public func pendingEntries(
        group: [UInt8], from start: StreamID, to end: StreamID, count: Int, minimumIdle: Int64 = 0,
        consumer: [UInt8]? = nil, nowMilliseconds: Int64
    ) throws(ConsumerGroupError) -> [PendingEntryInfo] {
        let group = groupTable.groups[try groupIndex(group)]
        var result: [PendingEntryInfo] = []
        guard count > 0, start <= end else { return result }
        func consider(_ entry: PendingEntry) -> Bool {
            if entry.id > end { return false }
            if minimumIdle != 0 && nowMilliseconds &- entry.deliveryTime < minimumIdle { return true }
            result.append(PendingEntryInfo(id: entry.id, consumer: group.ownerName(entry.consumer),
                                           deliveryTime: entry.deliveryTime, deliveryCount: entry.deliveryCount,
                                           isReleased: entry.consumer == .released))
            return result.count < count
        }
        if let consumer {
            guard let slot = group.consumerSlot(named: consumer) else { return result }
            group[slot].pending.forEach(from: start) { id in
                // Consumer lists only hold IDs of the group PEL (invariant).
                consider(group.pending[id]!)
            }
        } else {
            group.pending.forEach(from: start, consider)
        }
        return result
    }

    // MARK: - XCLAIM

    /// XCLAIM: gives `consumer` (created if needed, seen now) the pending entries among `ids` idle
    /// for at least `minimumIdle` ms. An ID whose entry no longer exists is removed from the PEL
    /// instead (whatever its idle time) and not claimed. With FORCE, an existing entry that is not
    /// pending becomes pending (no idle check). Each claimed entry gets the delivery time of
    /// `options` (now by default) and its count set (RETRYCOUNT) or incremented (unless JUSTID).
    /// LASTID raises the group's last delivered ID.
    /// - Returns: the claimed IDs, in argument order (repeats included, as Redis replies).
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(k (log n + log b + m)).
    public mutating func claim(
        group: [UInt8], consumer: [UInt8], ids: [StreamID], minimumIdle: Int64, options: ClaimOptions,
        nowMilliseconds: Int64
    ) throws(ConsumerGroupError) -> [StreamID] {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        if let lastID = options.lastID, lastID > groupTable.groups[index].lastDeliveredID {
            groupTable.groups[index].lastDeliveredID = lastID
        }
        var deliveryTime = options.deliveryTime ?? nowMilliseconds
        if deliveryTime < 0 || deliveryTime > nowMilliseconds { deliveryTime = nowMilliseconds }
        let slot = touchConsumer(consumer, inGroupAt: index, nowMilliseconds: nowMilliseconds)
        var claimed: [StreamID] = []
        for id in ids {
            var position = groupTable.groups[index].pending.position(of: id)
            guard containsEntry(withID: id) else {
                if position != nil { groupTable.groups[index].removePending(id) }
                continue
            }
            var forced = false
            if position == nil {
                guard options.force else { continue }
                groupTable.groups[index].pending.insert(
                    PendingEntry(id: id, deliveryTime: nowMilliseconds, deliveryCount: 1, consumer: slot))
                groupTable.groups[index][slot].pending.insert(id)
                position = groupTable.groups[index].pending.position(of: id)
                forced = true
            }
            // Either found above or just inserted.
            let found = position!
            // An entry released by XNACK is claimable whatever the idle threshold.
            if !forced && minimumIdle > 0 && groupTable.groups[index].pending[found].consumer != .released
                && nowMilliseconds &- groupTable.groups[index].pending[found].deliveryTime < minimumIdle {
                continue
            }
            // Only a redelivery can exhaust an entry: JUSTID hands out nothing (and is how effects replay), FORCE
            // made a first delivery.
            if !forced && !options.justID && groupTable.groups[index].holdForDeadLetter(id) { continue }
            groupTable.groups[index].assignPending(at: found, to: slot)
            groupTable.groups[index].pending[found].deliveryTime = deliveryTime
            if let retryCount = options.retryCount, retryCount >= 0 {
                groupTable.groups[index].pending[found].deliveryCount = UInt64(retryCount)
            } else if !options.justID {
                groupTable.groups[index].pending[found].deliveryCount &+= 1
            }
            groupTable.groups[index][slot].activeTime = nowMilliseconds
            claimed.append(id)
        }
        return claimed
    }

    // MARK: - XAUTOCLAIM

    /// XAUTOCLAIM: scans the group PEL from `start` and gives `consumer` (created if needed, seen
    /// now) entries idle for at least `minimumIdle` ms, until `count` entries were claimed or
    /// found deleted (deleted ones are removed from the PEL and reported), or `count * 10` entries
    /// were examined. Claimed entries get time now and, unless `justID`, count + 1.
    /// - Parameter count: 1 or more (callers reject less).
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(log n + a (log b + m)), a = entries examined (at most 10 × count); the
    ///   scan starts at `start` and never revisits earlier entries.
    public mutating func autoClaim(
        group: [UInt8], consumer: [UInt8], minimumIdle: Int64, start: StreamID, count: Int, justID: Bool,
        nowMilliseconds: Int64
    ) throws(ConsumerGroupError) -> AutoClaimResult {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        let slot = touchConsumer(consumer, inGroupAt: index, nowMilliseconds: nowMilliseconds)
        var result = AutoClaimResult(nextStart: .zero, claimed: [], deleted: [])
        var attempts = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        var remaining = count
        var next = groupTable.groups[index].pending.position(ofFirstAtLeast: start)
        while attempts > 0 && remaining > 0, let position = next {
            attempts -= 1
            let entry = groupTable.groups[index].pending[position]
            if !containsEntry(withID: entry.id) {
                groupTable.groups[index].removePending(entry.id)
                result.deleted.append(entry.id)
                remaining -= 1
                next = groupTable.groups[index].pending.position(ofFirstAtLeast: entry.id)
                continue
            }
            next = groupTable.groups[index].pending.position(after: position)
            if minimumIdle > 0 && entry.consumer != .released && nowMilliseconds &- entry.deliveryTime < minimumIdle {
                continue
            }
            if !justID && groupTable.groups[index].holdForDeadLetter(entry.id) { continue }
            // Re-owning changes consumer lists only, so `position` in the group PEL stays valid.
            groupTable.groups[index].assignPending(at: position, to: slot)
            groupTable.groups[index].pending[position].deliveryTime = nowMilliseconds
            if !justID { groupTable.groups[index].pending[position].deliveryCount &+= 1 }
            groupTable.groups[index][slot].activeTime = nowMilliseconds
            result.claimed.append(entry.id)
            remaining -= 1
        }
        if let next { result.nextStart = groupTable.groups[index].pending[next].id }
        return result
    }

    // MARK: - XINFO

    /// The group's consumers in name order.
    /// - Throws: `.noSuchGroup`.
    /// - Complexity: O(c).
    public func consumers(ofGroup group: [UInt8]) throws(ConsumerGroupError) -> [ConsumerInfo] {
        groupTable.groups[try groupIndex(group)].consumers
    }

    /// Whether an entry with ID >= `start` may have been deleted: Redis only remembers the greatest
    /// deleted ID (`maxDeletedEntryID`), and trimming is not counted.
    func rangeHasTombstones(from start: StreamID) -> Bool {
        if length == 0 || maxDeletedEntryID == .zero { return false }
        if recordedFirstEntryID > maxDeletedEntryID { return false }
        return start <= maxDeletedEntryID
    }

    /// How many entries were added up to and including `id` (the read counter a group positioned
    /// at `id` would have), when the stream's counters determine it: 0 for a stream that never
    /// had entries, `entriesAdded` at `lastID` (or anywhere up to it when the stream is empty),
    /// and counted from the first entry when no deletion can lie between; nil otherwise.
    func estimatedEntriesRead(upTo id: StreamID) -> Int64? {
        let added = Int64(truncatingIfNeeded: entriesAdded)
        if entriesAdded == 0 { return 0 }
        if length == 0 && id <= lastID { return added }
        if id != .zero && id < maxDeletedEntryID { return nil }
        if id == lastID { return added }
        if id > lastID { return nil }
        if maxDeletedEntryID == .zero || maxDeletedEntryID < recordedFirstEntryID {
            let beforeFirst = added &- Int64(truncatingIfNeeded: length)
            if id < recordedFirstEntryID { return beforeFirst }
            if id == recordedFirstEntryID { return beforeFirst &+ 1 }
        }
        return nil
    }

    /// The group's lag (entries not yet delivered to it) as Redis 8 reports it, or nil when it
    /// cannot be known: 0 for a stream that is empty or never had entries; the stream's length when
    /// the group and every deletion are behind the first entry; otherwise `entriesAdded` minus the
    /// read counter, when that counter is known and no deletion lies after the group's position,
    /// or can be derived from the stream's counters.
    /// - Complexity: O(1).
    public func lag(of group: ConsumerGroup) -> Int64? {
        let added = Int64(truncatingIfNeeded: entriesAdded)
        if entriesAdded == 0 || length == 0 { return 0 }
        if group.lastDeliveredID < recordedFirstEntryID && maxDeletedEntryID < recordedFirstEntryID {
            return Int64(truncatingIfNeeded: length)
        }
        if let entriesRead = group.entriesRead, !rangeHasTombstones(from: group.lastDeliveredID) {
            return added &- entriesRead
        }
        guard let estimated = estimatedEntriesRead(upTo: group.lastDeliveredID) else { return nil }
        return added &- estimated
    }

    // MARK: - Deletion policies

    /// Whether a group still needs the entry `id`: some group has not delivered it yet, or has it
    /// pending.
    /// - Complexity: O(g log n).
    public func isReferencedByGroups(_ id: StreamID) -> Bool {
        for group in groupTable.groups where id > group.lastDeliveredID || group.pending.contains(id) {
            return true
        }
        return false
    }

    /// Removes every PEL reference to `id`, in every group.
    /// - Complexity: O(g log n).
    mutating func removeGroupReferences(to id: StreamID) {
        for index in groupTable.groups.indices { groupTable.groups[index].removePending(id) }
    }

    /// What `policy` asks before deleting `id`: DELREF drops every group's reference to it; ACKED
    /// refuses (returns false) while a group still references it; KEEPREF does nothing.
    private mutating func applyReferencePolicy(_ policy: StreamDeletionPolicy, to id: StreamID) -> Bool {
        switch policy {
        case .keepReferences:
            return true
        case .deleteReferences:
            removeGroupReferences(to: id)
            return true
        case .acknowledged:
            return !isReferencedByGroups(id)
        }
    }

    /// XDELEX: deletes each ID under `policy`. KEEPREF deletes like XDEL; DELREF also removes
    /// every PEL reference (even when the entry is already gone); ACKED keeps entries a group
    /// still references. Deletions count as XDEL does (`maxDeletedEntryID`).
    /// - Complexity: O(k (log b + m + g log n)).
    public mutating func delete(_ ids: [StreamID], policy: StreamDeletionPolicy) -> [StreamDeletionResult] {
        defer { _checkInvariants() }
        return ids.map { id -> StreamDeletionResult in
            guard applyReferencePolicy(policy, to: id) else { return .stillReferenced }
            return delete(id) ? .deleted : .notFound
        }
    }

    /// XACKDEL: acknowledges each ID in `group`, then deletes the entry under `policy`.
    /// - Returns: nil when the group does not exist (Redis then answers -1 for every ID);
    ///   otherwise per ID `.notFound` when it was not pending in the group, `.stillReferenced`
    ///   (ACKED) when another group still needs it, `.deleted` otherwise (even when the entry
    ///   itself was already gone).
    /// - Complexity: O(k (log b + m + g log n)).
    public mutating func acknowledgeAndDelete(group: [UInt8], ids: [StreamID], policy: StreamDeletionPolicy) -> [StreamDeletionResult]? {
        defer { _checkInvariants() }
        let (index, found) = groupTable.index(of: group)
        guard found else { return nil }
        return ids.map { id in
            guard groupTable.groups[index].removePending(id) else { return .notFound }
            guard applyReferencePolicy(policy, to: id) else { return .stillReferenced }
            delete(id)
            return .deleted
        }
    }

    /// Trimming (XTRIM, XADD's MAXLEN/MINID) under a reference policy. KEEPREF, and any policy on
    /// a stream without groups, is `trim(_:approximate:limit:)`. DELREF also removes the PEL
    /// references of the trimmed entries. ACKED only removes entries no group references: exact
    /// trimming skips referenced entries (they stay, later unreferenced ones go); approximate
    /// trimming removes whole nodes only up to the first referenced entry.
    /// - Returns: the number of entries removed.
    /// - Complexity: KEEPREF as `trim`; the other policies add O(r (log b + m + g log n)) for the
    ///   r entries considered.
    @discardableResult
    public mutating func trim(_ strategy: StreamTrimStrategy, approximate: Bool, limit: Int = 0,
                              policy: StreamDeletionPolicy) -> Int {
        defer { _checkInvariants() }
        if policy == .keepReferences || groupTable.groups.isEmpty {
            return trim(strategy, approximate: approximate, limit: limit)
        }
        // The oldest live entries that the strategy allows to remove, in order.
        var removable: Int
        switch strategy {
        case .maxLength(let maximum):
            removable = length > maximum ? Int(length - maximum) : 0
        case .minimumID:
            removable = Int.max
        }
        if approximate && limit > 0 { removable = Swift.min(removable, limit) }
        if removable == 0 { return 0 }

        if policy == .deleteReferences {
            var candidates: [StreamID] = []
            scanLiveRecordsForward(from: .zero) { location, _, _ in
                if case .minimumID(let minimum) = strategy, location.id >= minimum { return false }
                candidates.append(location.id)
                return candidates.count < removable
            }
            let removed = trim(strategy, approximate: approximate, limit: limit)
            for id in candidates.prefix(removed) { removeGroupReferences(to: id) }
            return removed
        }

        // ACKED: entries after the least advanced group's position are referenced, and so is
        // every pending ID.
        let leastDelivered = groupTable.groups.map(\.lastDeliveredID).min() ?? .zero
        var unreferenced: [StreamID] = []
        var firstKept: StreamID?
        var considered = 0
        scanLiveRecordsForward(from: .zero) { location, _, _ in
            let id = location.id
            var stop = id > leastDelivered || (approximate && considered >= removable)
                || (!approximate && unreferenced.count >= removable)
            if case .minimumID(let minimum) = strategy, id >= minimum { stop = true }
            if stop {
                firstKept = id
                return false
            }
            considered += 1
            if isReferencedByGroups(id) {
                if approximate {
                    firstKept = id
                    return false
                }
                return true
            }
            unreferenced.append(id)
            return true
        }
        if approximate {
            guard let firstKept else { return trim(strategy, approximate: true, limit: limit) }
            return trim(.minimumID(firstKept), approximate: true, limit: limit)
        }
        for id in unreferenced { trimEntry(id) }
        return unreferenced.count
    }
}

extension ConsumerGroup {
    /// The consumers in name order.
    /// - Complexity: O(c).
    public var consumers: [ConsumerInfo] {
        consumerOrder.map { slot in
            let consumer = self[slot]
            return ConsumerInfo(name: consumer.name, pendingCount: consumer.pending.count,
                                seenTime: consumer.seenTime, activeTime: consumer.activeTime)
        }
    }

    /// The first `limit` pending entries of the group (`limit` <= 0: all), in ID order.
    /// - Complexity: O(k).
    public func pendingEntries(limit: Int) -> [PendingEntryInfo] {
        var result: [PendingEntryInfo] = []
        pending.forEach { entry in
            result.append(PendingEntryInfo(id: entry.id, consumer: ownerName(entry.consumer),
                                           deliveryTime: entry.deliveryTime, deliveryCount: entry.deliveryCount,
                                           isReleased: entry.consumer == .released))
            return limit <= 0 || result.count < limit
        }
        return result
    }

    /// The first `limit` pending entries owned by `consumer` (`limit` <= 0: all), in ID order.
    /// - Complexity: O(k log n).
    public func pendingEntries(ofConsumer consumer: [UInt8], limit: Int) -> [PendingEntryInfo] {
        guard let slot = consumerSlot(named: consumer) else { return [] }
        var result: [PendingEntryInfo] = []
        self[slot].pending.forEach { id in
            // Consumer lists only hold IDs of the group PEL (invariant).
            let entry = pending[id]!
            result.append(PendingEntryInfo(id: id, consumer: self[slot].name,
                                           deliveryTime: entry.deliveryTime, deliveryCount: entry.deliveryCount))
            return limit <= 0 || result.count < limit
        }
        return result
    }
}
