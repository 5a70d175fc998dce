import NIOCore
import RillCore
import RillProtocol

// Group policy (Rill only; no Redis has it; README "Rill for work queues"): per consumer group, dead-lettering
// and idle-consumer removal.
//
//   XGROUP SETPOLICY key group [MAXDELIVERIES n] [DEADLETTER dlq-key] [CONSUMER-IDLE-TIMEOUT ms] [DEADLETTERED n]
//
// - MAXDELIVERIES n > 0 with DEADLETTER dlq-key: an entry already delivered n times is not delivered again; the
//   attempt (history re-read, XCLAIM, XAUTOCLAIM, XREADGROUP ... CLAIM; not JUSTID claims) moves it to dlq-key
//   instead, and the reply leaves it out as if it had been acknowledged. MAXDELIVERIES 0 turns this off (and
//   forgets the key). Either option alone changes one half of an already enabled pair.
// - CONSUMER-IDLE-TIMEOUT ms (0: off): consumers owning nothing and unseen for longer are removed, when a worker
//   command touches the group and by the server cron.
// - DEADLETTERED n sets the `dead-lettered` counter; the append-only file uses it to replay moves exactly.
//
// XINFO GROUPS adds `max-deliveries`, `dead-letter-key`, `dead-lettered` and `consumer-idle-timeout` to a group
// that has a policy or has dead-lettered entries (other groups show exactly Redis' fields).
extension ConsumerGroupCommands {
    static let groupPolicyCommand = Command(
        "xgroup|setpolicy", arity: -6, flags: [.write], keys: (2, 2, 1), categories: ["stream"],
        group: "stream", since: "rill",
        summary: "Sets a consumer group's dead-letter and idle-consumer policy (Rill only).", handler: xgroupSetPolicy)

    /// What SETPOLICY was asked, before it is merged with the group's current policy.
    private struct GroupPolicyChange {
        var maxDeliveries: UInt64?
        var deadLetterKey: [UInt8]?
        var consumerIdleTimeout: Int64?
        var deadLetteredCount: UInt64?
    }

    private static func parseGroupPolicyChange(_ context: CommandContext) throws -> GroupPolicyChange {
        var change = GroupPolicyChange()
        try context.forEachOptionPair(from: 4) { index in
            if context.argument(index, is: "maxdeliveries") {
                let value = try context.nonNegativeInteger(
                    index + 1, error: RedisError.maxDeliveriesNotInteger)
                change.maxDeliveries = UInt64(value)
            } else if context.argument(index, is: "deadletter") {
                change.deadLetterKey = context.bytes(index + 1)
            } else if context.argument(index, is: "consumer-idle-timeout") {
                change.consumerIdleTimeout = try context.nonNegativeInteger(
                    index + 1, error: RedisError.consumerIdleTimeoutNotInteger)
            } else if context.argument(index, is: "deadlettered") {
                let value = try context.nonNegativeInteger(
                    index + 1, error: RedisError.deadLetteredNotInteger)
                change.deadLetteredCount = UInt64(value)
            } else {
                return false
            }
            return true
        }
        return change
    }

    private static func xgroupSetPolicy(_ context: CommandContext) throws {
        let change = try parseGroupPolicyChange(context)
        let key = context.bytes(2)
        let group = context.bytes(3)
        let now = context.nowMilliseconds
        let current = try context.database.streamGroups(key, nowMilliseconds: now) { $0.group(named: group)?.policy }
        guard let current else { throw RedisError.xgroupRequiresKey }
        guard var policy = current else { throw RedisError.noSuchGroup(group, key: key) }

        if let maxDeliveries = change.maxDeliveries {
            policy.maxDeliveries = maxDeliveries
            if maxDeliveries == 0 {
                guard change.deadLetterKey == nil else {
                    throw RedisError.deadLetterNeedsMaxDeliveries
                }
                policy.deadLetterKey = nil
            }
        }
        if let deadLetterKey = change.deadLetterKey { policy.deadLetterKey = deadLetterKey }
        if policy.maxDeliveries > 0 && policy.deadLetterKey == nil {
            throw RedisError.maxDeliveriesNeedsDeadLetter
        }
        if policy.deadLetterKey != nil && policy.maxDeliveries == 0 {
            throw RedisError.deadLetterNeedsMaxDeliveries
        }
        if let consumerIdleTimeout = change.consumerIdleTimeout { policy.consumerIdleTimeout = consumerIdleTimeout }
        if let deadLetterKey = change.deadLetterKey {
            guard deadLetterKey != key else {
                throw RedisError.deadLetterKeyIsStream
            }
            // Checked now so a misconfiguration shows here rather than as entries stuck at move time.
            _ = try context.database.streamGroups(deadLetterKey, nowMilliseconds: now) { _ in () }
        }

        try context.database.streamGroups(key, nowMilliseconds: now) { stream in
            try stream.setGroupPolicy(group, to: policy, deadLetteredCount: change.deadLetteredCount)
        }
        noteGroupChange(context)
        context.reply.simpleString("OK")
    }

    // MARK: Applying the policy

    /// After a worker command touched `group` of the stream at `key`: moves the entries it found exhausted to the
    /// dead-letter stream and removes the group's idle consumers, recording both as effects. A dead-letter key of
    /// another type is logged and leaves the entries pending.
    static func applyGroupPolicy(_ context: CommandContext, key: [UInt8], group: [UInt8]) {
        // A replay re-applies the moves and removals the file recorded; doing them again with the replay's clock
        // would diverge from what was logged.
        if context.persistence.loadingAppendOnlyFile { return }
        let now = context.nowMilliseconds
        let policy = Propagation.withStream(context, key) { $0.group(named: group)?.policy } ?? nil
        guard let policy, !policy.isOff else { return }

        let (moves, failure) = context.database.moveDueDeadLetters(from: key, group: group, nowMilliseconds: now,
                                                                   limits: context.configuration.streamNodeLimits)
        if let deadLetterKey = policy.deadLetterKey, !moves.isEmpty {
            context.keyModified(deadLetterKey)
            noteGroupChange(context, moves.count)
            context.propagate(effects: moves.flatMap { deadLetterMoveEffects($0, key: key, group: group,
                                                                             deadLetterKey: deadLetterKey) })
        }
        if let failure {
            context.logger.error("""
                Cannot dead-letter \(failure.leftPending.count) entries of stream '\(RedisError.quoted(key))' group \
                '\(RedisError.quoted(group))' to '\(RedisError.quoted(failure.deadLetterKey))': \(failure.reason); they stay pending
                """)
        }

        guard policy.consumerIdleTimeout > 0 else { return }
        let removed = (try? context.database.streamGroups(key, nowMilliseconds: now) { stream in
            stream.removeIdleConsumers(group: group, nowMilliseconds: now)
        }) ?? nil
        guard let removed, !removed.isEmpty else { return }
        noteGroupChange(context, removed.count)
        context.propagate(effects: removed.map { deleteConsumerEffect(key: key, group: $0.group, consumer: $0.consumer) })
    }

    /// A move as the append-only file replays it: the entry added with the ID it got, acknowledged in the source
    /// group, and the group's counter set (no Redis command changes it, so Rill's own SETPOLICY option does).
    static func deadLetterMoveEffects(_ move: DeadLetterMove, key: [UInt8], group: [UInt8],
                                      deadLetterKey: [UInt8]) -> [[ByteBuffer]] {
        [
            effect([word("XADD"), deadLetterKey, idWord(move.deadLetterID)] + move.fieldsAndValues),
            effect([word("XACK"), key, group, idWord(move.sourceID)]),
            effect([word("XGROUP"), word("SETPOLICY"), key, group, word("DEADLETTERED"),
                    word(String(move.deadLetteredCount))]),
        ]
    }

    /// `XGROUP DELCONSUMER key group consumer`.
    static func deleteConsumerEffect(key: [UInt8], group: [UInt8], consumer: [UInt8]) -> [ByteBuffer] {
        effect([word("XGROUP"), word("DELCONSUMER"), key, group, consumer])
    }
}

// MARK: XINFO GROUPS

extension ConsumerGroupCommands {
    /// Whether XINFO GROUPS shows the policy fields for `group`: only when it has used the policy, so groups
    /// that never did look exactly as in Redis.
    static func showsGroupPolicy(_ group: ConsumerGroup) -> Bool {
        !group.policy.isOff || group.deadLetteredCount > 0
    }

    /// The four policy fields (name, value pairs) XINFO GROUPS appends.
    static func writeGroupPolicyFields(_ group: ConsumerGroup, to reply: inout RESPWriter) {
        reply.bulkString("max-deliveries"); reply.integer(Int64(clamping: group.policy.maxDeliveries))
        reply.bulkString("dead-letter-key")
        if let key = group.policy.deadLetterKey { reply.bulkString(key) } else { reply.nullBulkString() }
        reply.bulkString("dead-lettered"); reply.integer(Int64(clamping: group.deadLetteredCount))
        reply.bulkString("consumer-idle-timeout"); reply.integer(group.policy.consumerIdleTimeout)
    }
}
