// The group policy, Rill's work-queue settings for a consumer group (no Redis has them): an entry delivered `maxDeliveries` times
// without an acknowledgement is not delivered again but moved to a dead-letter stream, and consumers that own
// nothing and have not been seen for `consumerIdleTimeout` ms are removed.
//
// The stream model only decides *which* entries are exhausted: a delivery attempt (history re-read, XCLAIM,
// XAUTOCLAIM, XREADGROUP ... CLAIM) skips them and lists them in the group's `dueForDeadLetter`. Moving one
// touches a second key, so `Database.moveDueDeadLetters` does it, in the same event-loop step as the attempt.

/// A group's policy (XGROUP SETPOLICY). Invariant: dead-lettering is either off (`maxDeliveries` 0, no key) or fully set.
public struct GroupPolicy: Sendable, Hashable {
    /// Deliveries allowed per entry; 0 turns dead-lettering off.
    public var maxDeliveries: UInt64
    /// Stream key (same database) that receives exhausted entries; nil when dead-lettering is off.
    public var deadLetterKey: [UInt8]?
    /// Milliseconds after which a consumer without pending entries is removed; 0 turns it off.
    public var consumerIdleTimeout: Int64

    public init(maxDeliveries: UInt64 = 0, deadLetterKey: [UInt8]? = nil, consumerIdleTimeout: Int64 = 0) {
        self.maxDeliveries = maxDeliveries
        self.deadLetterKey = deadLetterKey
        self.consumerIdleTimeout = consumerIdleTimeout
    }

    /// Nothing enabled (what a new group has).
    public var isOff: Bool { maxDeliveries == 0 && deadLetterKey == nil && consumerIdleTimeout == 0 }

    /// Broken invariants, empty when consistent.
    public var problems: [String] {
        var found: [String] = []
        if (maxDeliveries > 0) != (deadLetterKey != nil) {
            found.append("max-deliveries \(maxDeliveries) with\(deadLetterKey == nil ? "out" : "") a dead-letter key")
        }
        if consumerIdleTimeout < 0 { found.append("negative consumer-idle-timeout \(consumerIdleTimeout)") }
        return found
    }
}

/// An exhausted pending entry as it is written to the dead-letter stream.
public struct DeadLetter: Sendable, Hashable {
    /// The entry's ID in the source stream.
    public var sourceID: StreamID
    /// The entry's fields and values, then `delivery-count`, `last-consumer`, `source-stream`, `source-group` and
    /// `source-id` (field names of the entry itself are kept as they are, even if they repeat those).
    public var fieldsAndValues: [[UInt8]]
}

/// One dead-letter move done by `Database.moveDueDeadLetters`.
public struct DeadLetterMove: Sendable, Hashable {
    /// The entry's ID in the source stream (no longer pending in the group).
    public var sourceID: StreamID
    /// The ID the dead-letter stream gave it.
    public var deadLetterID: StreamID
    /// What was appended to the dead-letter stream.
    public var fieldsAndValues: [[UInt8]]
    /// The group's `dead-lettered` counter after this move.
    public var deadLetteredCount: UInt64
}

/// Why due entries could not be moved; they stay pending (and are not delivered) until a later attempt succeeds.
public struct DeadLetterMoveFailure: Error, Sendable, Hashable {
    /// The dead-letter key.
    public var deadLetterKey: [UInt8]
    /// Entries left pending.
    public var leftPending: [StreamID]
    /// What went wrong (another type at the key, or a dead-letter stream whose IDs are exhausted).
    public var reason: String
}

extension ConsumerGroup {
    /// For a delivery attempt of pending entry `id`: whether it was already delivered `maxDeliveries` times and so
    /// must be dead-lettered instead of delivered; such an entry is recorded in `dueForDeadLetter`.
    /// - Complexity: O(log n + due).
    mutating func holdForDeadLetter(_ id: StreamID) -> Bool {
        guard policy.maxDeliveries > 0, let entry = pending[id], entry.deliveryCount >= policy.maxDeliveries else {
            return false
        }
        if !dueForDeadLetter.contains(id) { dueForDeadLetter.append(id) }
        return true
    }
}

extension Stream {
    /// XGROUP SETPOLICY: replaces the group's policy and, when `deadLetteredCount` is given, its counter.
    /// - Throws: `.noSuchGroup`. Callers validate `policy` (its `problems` must be empty).
    public mutating func setGroupPolicy(_ group: [UInt8], to policy: GroupPolicy, deadLetteredCount: UInt64? = nil)
        throws(ConsumerGroupError)
    {
        defer { _checkInvariants() }
        let index = try groupIndex(group)
        precondition(policy.problems.isEmpty, "inconsistent group policy: \(policy.problems)")
        groupTable.groups[index].policy = policy
        if let deadLetteredCount { groupTable.groups[index].deadLetteredCount = deadLetteredCount }
    }

    /// Empties and returns the group's due list (nil group: empty).
    mutating func takeDueDeadLetters(group: [UInt8]) -> [StreamID] {
        let (index, found) = groupTable.index(of: group)
        guard found, !groupTable.groups[index].dueForDeadLetter.isEmpty else { return [] }
        let due = groupTable.groups[index].dueForDeadLetter
        groupTable.groups[index].dueForDeadLetter = []
        _checkInvariants()
        return due
    }

    /// What pending entry `id` of `group` looks like as a dead letter, or nil when it is not due any more (no
    /// longer pending, under the limit, dead-lettering turned off) or its entry was deleted from the stream.
    /// - Complexity: O(log n + log b + m).
    public func deadLetter(of id: StreamID, group groupName: [UInt8], sourceKey: [UInt8]) -> DeadLetter? {
        guard let group = group(named: groupName), group.policy.maxDeliveries > 0,
              let entry = group.pending[id], entry.deliveryCount >= group.policy.maxDeliveries else { return nil }
        var fields: [[UInt8]] = []
        forEachEntry(from: id, to: id, limit: 1) { _, entryFields in
            entryFields.forEachPair { field, value in
                fields.append(field.bytes)
                fields.append(value.bytes)
            }
        }
        guard !fields.isEmpty else { return nil }
        var sourceID: [UInt8] = []
        id.appendASCII(to: &sourceID)
        fields += [Array("delivery-count".utf8), Array(String(entry.deliveryCount).utf8),
                   Array("last-consumer".utf8), group.ownerName(entry.consumer),
                   Array("source-stream".utf8), sourceKey,
                   Array("source-group".utf8), groupName,
                   Array("source-id".utf8), sourceID]
        return DeadLetter(sourceID: id, fieldsAndValues: fields)
    }

    /// Finishes a move: removes `id` from the group's PEL and counts it.
    /// - Returns: the counter after the move, or nil when `id` was not pending (nothing changes).
    /// - Complexity: O(log n).
    mutating func completeDeadLetter(group: [UInt8], id: StreamID) -> UInt64? {
        defer { _checkInvariants() }
        let (index, found) = groupTable.index(of: group)
        guard found, groupTable.groups[index].removePending(id) else { return nil }
        groupTable.groups[index].deadLetteredCount &+= 1
        return groupTable.groups[index].deadLetteredCount
    }

    /// Whether some group removes idle consumers (so the server cron must look at this stream).
    public var hasConsumerIdleTimeout: Bool {
        groupTable.groups.contains { $0.policy.consumerIdleTimeout > 0 }
    }

    /// Removes, in `group` (nil: every group), the consumers that own no pending entry and were last seen more than
    /// the group's `consumerIdleTimeout` ms before `nowMilliseconds`.
    /// - Returns: the removed consumers with their groups, in group then name order.
    /// - Complexity: O(g + c) for the groups looked at, plus O(c) per removal.
    public mutating func removeIdleConsumers(group: [UInt8]? = nil, nowMilliseconds: Int64)
        -> [(group: [UInt8], consumer: [UInt8])]
    {
        defer { _checkInvariants() }
        var removed: [(group: [UInt8], consumer: [UInt8])] = []
        for index in groupTable.groups.indices {
            let timeout = groupTable.groups[index].policy.consumerIdleTimeout
            guard timeout > 0 else { continue }
            if let group, groupTable.groups[index].name != group { continue }
            let idle = groupTable.groups[index].consumers.filter {
                $0.pendingCount == 0 && nowMilliseconds &- $0.seenTime > timeout
            }
            for consumer in idle {
                _ = groupTable.groups[index].deleteConsumer(named: consumer.name)
                removed.append((groupTable.groups[index].name, consumer.name))
            }
        }
        return removed
    }
}

extension Stream {
    /// Sets a restored group's policy and counter (snapshots, RESTORE), trusting nothing.
    /// - Throws: when the group does not exist or the policy is inconsistent.
    public mutating func restoreGroupPolicy(group: [UInt8], policy: GroupPolicy, deadLetteredCount: UInt64)
        throws(ConsumerGroupRestoreError)
    {
        let problems = policy.problems
        guard problems.isEmpty else { throw ConsumerGroupRestoreError(problems.joined(separator: "; ")) }
        do {
            try setGroupPolicy(group, to: policy, deadLetteredCount: deadLetteredCount)
        } catch {
            throw ConsumerGroupRestoreError("policy for unknown group")
        }
    }
}
