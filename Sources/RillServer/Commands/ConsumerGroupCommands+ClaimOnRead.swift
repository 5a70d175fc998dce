import NIOCore
import RillCore
import RillProtocol

/// Claim on read: `XREADGROUP ... CLAIM min-idle-time` (Redis 8.4) delivers pending entries idle that long, longest
/// idle first, before new entries.
extension ConsumerGroupCommands {
    // MARK: XREADGROUP ... CLAIM

    /// CLAIM's argument: milliseconds, a non-negative integer.
    static func parseClaimMinimumIdle(_ context: CommandContext, _ index: Int) throws -> Int64 {
        try context.nonNegativeInteger(index, error: RedisError.claimMinimumIdleNotPositive)
    }

    /// What one stream of a CLAIM read delivered.
    struct ClaimingRead {
        let read: GroupRead
        var claimed: [ClaimedDelivery] = []
        /// New entries (`>`), or the consumer's own history for an explicit ID.
        var ids: [StreamID] = []
        /// The group's read counter after the read (for the SETID effect).
        var entriesRead: Int64?
    }

    /// XREADGROUP with CLAIM: for each `>` stream, idle pending entries first (longest idle first), then new
    /// entries, all within one COUNT budget shared by every stream; each entry of such a stream is replied as
    /// `[id, fields, idle-ms, previous-delivery-count]` (0 and 0 for new entries). A stream read by explicit ID
    /// ignores CLAIM and is answered in the usual shape.
    static func readGroupClaiming(_ context: CommandContext, _ request: ReadGroupRequest, minimumIdle: Int64,
                                  timeout: Int64?) throws {
        if try serveClaiming(context, request, minimumIdle: minimumIdle) { return }
        guard let timeout else {
            context.reply.nullArray()
            return
        }
        // Woken by writes to the keys only: entries that age past min-idle-time while blocked do not wake it.
        context.block(keys: request.reads.map(\.key), timeoutMilliseconds: timeout, retry: { context in
            do {
                for read in request.reads { try requireGroup(context, key: read.key, group: request.group) }
                return try serveClaiming(context, request, minimumIdle: minimumIdle)
            } catch {
                context.replyError(RedisError.from(error))
                return true
            }
        }, onTimeout: { context in
            context.reply.nullArray()
        })
    }

    /// Performs the reads and writes the reply when any stream is served; returns false, writing nothing, otherwise.
    private static func serveClaiming(_ context: CommandContext, _ request: ReadGroupRequest,
                                      minimumIdle: Int64) throws -> Bool {
        let now = context.nowMilliseconds
        var budget: Int? = request.count > 0 ? request.count : nil
        var caps = ReadReplyBudget(request.caps)
        var results: [ClaimingRead] = []
        for read in request.reads {
            var result = ClaimingRead(read: read)
            var skipped = false
            try context.database.streamGroups(read.key, nowMilliseconds: now) { stream in
                if caps.isExhausted {
                    skipped = true
                    return
                }
                switch read.position {
                case .history(let after):
                    var count = request.count
                    if caps.isActive, let start = after.next {
                        let pending = try stream.pendingEntries(
                            group: request.group, from: start, to: .max, count: caps.entryLimit(count: request.count),
                            consumer: request.consumer, nowMilliseconds: now)
                        let admitted = caps.admitHistory(pending.map(\.id), of: stream)
                        if admitted == 0 && caps.isExhausted {
                            skipped = true
                            return
                        }
                        if admitted > 0 { count = admitted }
                    }
                    result.ids = try stream.readPendingHistory(group: request.group, consumer: request.consumer,
                                                               after: after, count: count, nowMilliseconds: now)
                case .newEntries:
                    var claimLimit = budget
                    var newLimit = budget
                    if caps.isActive {
                        guard let limits = try claimingAllowance(&caps, stream, request, minimumIdle: minimumIdle,
                                                                 budget: budget, nowMilliseconds: now) else {
                            skipped = true
                            return
                        }
                        (claimLimit, newLimit) = limits
                    }
                    result.claimed = try stream.claimIdlePending(group: request.group, consumer: request.consumer,
                                                                 minimumIdle: minimumIdle, limit: claimLimit,
                                                                 nowMilliseconds: now)
                    if let left = newLimit { newLimit = left - result.claimed.count }
                    if newLimit != 0 {
                        result.ids = try stream.readNewEntries(group: request.group, consumer: request.consumer,
                                                               count: newLimit ?? 0,
                                                               noAcknowledgement: request.noAcknowledgement,
                                                               nowMilliseconds: now) ?? []
                    }
                    if let left = budget { budget = left - result.claimed.count - result.ids.count }
                    result.entriesRead = stream.group(named: request.group)?.entriesRead
                }
            }
            if skipped { break }
            if case .newEntries = read.position { propagateClaimingRead(context, request, result) }
            applyGroupPolicy(context, key: read.key, group: request.group)
            results.append(result)
        }
        let served = results.filter { result in
            if case .history = result.read.position { return true }
            return !result.claimed.isEmpty || !result.ids.isEmpty
        }
        let changed = results.filter { !$0.claimed.isEmpty || !$0.ids.isEmpty }.count
        if changed > 0 { noteGroupChange(context, changed) }
        if served.isEmpty { return false }
        let isMap = context.reply.version == .v3
        if isMap { context.reply.mapHeader(served.count) } else { context.reply.arrayHeader(served.count) }
        for result in served {
            if !isMap { context.reply.arrayHeader(2) }
            context.reply.bulkString(result.read.key)
            _ = try context.database.streamGroups(result.read.key, nowMilliseconds: now) { stream in
                if case .history = result.read.position {
                    writeEntriesOrNil(stream, result.ids, to: &context.reply)
                } else {
                    writeClaimingEntries(stream, result, to: &context.reply)
                }
            }
        }
        return true
    }

    /// MAXCOUNT/MAXSIZE for one `>` stream of a CLAIM read: how many idle entries it may claim and how many new
    /// ones it may read (nil: no limit), so that it delivers only what the reply carries; nil when the caps leave
    /// the stream out. Which entries a claim takes depends on idle times, so it is found by claiming on a copy.
    private static func claimingAllowance(_ caps: inout ReadReplyBudget, _ stream: Stream, _ request: ReadGroupRequest,
                                          minimumIdle: Int64, budget: Int?,
                                          nowMilliseconds now: Int64) throws -> (claim: Int?, new: Int?)? {
        // COUNT already spent by earlier streams: nothing to claim or read here, as without the caps.
        if budget == 0 { return (0, 0) }
        let limit = caps.entryLimit(count: budget ?? 0)
        var trial = stream
        let claimable = try trial.claimIdlePending(group: request.group, consumer: request.consumer,
                                                   minimumIdle: minimumIdle, limit: limit, nowMilliseconds: now)
        var claimed = 0
        for delivery in claimable {
            guard caps.admit({ writeClaimingEntry(stream, delivery.id, idle: delivery.idleMilliseconds,
                                                  previousCount: delivery.previousDeliveryCount, to: &$0) })
            else { break }
            claimed += 1
        }
        var new = 0
        if !caps.isExhausted, let group = stream.group(named: request.group) {
            // Claims neither move the group nor change entries, so new entries are measured on the stream itself.
            new = caps.admitEntries(after: group.lastDeliveredID, limit: limit - claimed, of: stream)
        }
        if claimed + new == 0 { return caps.isExhausted ? nil : (budget, budget) }
        return (claimed, claimed + new)
    }

    /// Claimed then new entries, each `[id, fields, idle-ms, previous-delivery-count]`.
    private static func writeClaimingEntries(_ stream: Stream, _ result: ClaimingRead, to reply: inout RESPWriter) {
        reply.arrayHeader(result.claimed.count + result.ids.count)
        for claimed in result.claimed {
            writeClaimingEntry(stream, claimed.id, idle: claimed.idleMilliseconds,
                               previousCount: claimed.previousDeliveryCount, to: &reply)
        }
        for id in result.ids { writeClaimingEntry(stream, id, idle: 0, previousCount: 0, to: &reply) }
    }

    private static func writeClaimingEntry(_ stream: Stream, _ id: StreamID, idle: Int64, previousCount: UInt64,
                                           to reply: inout RESPWriter) {
        reply.arrayHeader(4)
        let written = stream.forEachEntry(from: id, to: id, limit: 1) { id, fields in
            // writeEntry writes its own 2-element header; ours has 4, so write the parts here.
            StreamCommands.writeID(id, to: &reply)
            reply.arrayHeader(fields.count * 2)
            for (field, value) in fields {
                StreamCommands.writeFieldValue(field, to: &reply)
                StreamCommands.writeFieldValue(value, to: &reply)
            }
        }
        if written == 0 {
            StreamCommands.writeID(id, to: &reply)
            reply.nullArray()
        }
        reply.integer(idle)
        reply.integer(Int64(clamping: previousCount))
    }

    /// The append-only file gets the read's effect rather than the request, since which entries were idle depends
    /// on when it ran: each claimed entry re-delivered with its new count, the new entries delivered (unless
    /// NOACK), the group moved past them, and the consumer created when nothing else would create it.
    private static func propagateClaimingRead(_ context: CommandContext, _ request: ReadGroupRequest,
                                              _ result: ClaimingRead) {
        let key = result.read.key
        let now = context.nowMilliseconds
        if result.claimed.isEmpty && (result.ids.isEmpty || request.noAcknowledgement) {
            context.propagate(effect([word("XGROUP"), word("CREATECONSUMER"), key, request.group, request.consumer]))
        }
        for claimed in result.claimed {
            context.propagate(pinnedDeliveryEffect(key: key, group: request.group, consumer: request.consumer,
                                                   ids: [claimed.id], deliveryTime: now,
                                                   deliveryCount: claimed.deliveryCount))
        }
        guard let last = result.ids.last else { return }
        if !request.noAcknowledgement {
            context.propagate(pinnedDeliveryEffect(key: key, group: request.group, consumer: request.consumer,
                                                   ids: result.ids, deliveryTime: now, deliveryCount: 1))
        }
        var setID: [[UInt8]] = [word("XGROUP"), word("SETID"), key, request.group, idWord(last)]
        if let entriesRead = result.entriesRead { setID += [word("ENTRIESREAD"), word(String(entriesRead))] }
        context.propagate(effect(setID))
    }
}
