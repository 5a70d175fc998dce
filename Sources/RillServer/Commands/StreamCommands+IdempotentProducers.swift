import NIOCore
import RillCore
import RillProtocol

/// Idempotent producers (Redis 8.6): XADD's IDMP / IDMPAUTO options, XCFGSET, and XIDMPRECORD (the internal command
/// Redis 8.8 replays from its append-only file to restore a remembered pair; Rill logs it the same way).
extension StreamCommands {
    static let idempotentProducerCommands: [Command] = [
        Command("xcfgset", arity: -2, flags: [.write, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "8.6.0", summary: "Sets the IDMP configuration parameters for a stream.",
                handler: xcfgset),
        Command("xidmprecord", arity: 5, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["stream"], group: "stream", since: "8.8.0",
                summary: "An internal command for setting IDMP metadata on an existing stream message.",
                handler: xidmprecord),
    ]

    /// IDMP / IDMPAUTO as written in the request.
    struct IdempotentAdd {
        let producer: [UInt8]
        /// nil for IDMPAUTO (derived from the fields once they are known).
        let iid: [UInt8]?
    }

    /// The option with its iid known, ready to check and record.
    struct ResolvedIdempotentAdd {
        let producer: [UInt8]
        let iid: [UInt8]
    }

    /// Parses `IDMP pid iid` or `IDMPAUTO pid` at `index`; false when the word there is neither.
    static func parseIdempotencyOption(_ context: CommandContext, _ index: inout Int,
                                       into option: inout IdempotentAdd?) throws -> Bool {
        let remaining = context.argumentCount - index - 1
        if context.argument(index, is: "idmp") && remaining >= 2 {
            guard option == nil else { throw RedisError.idempotencyRepeated }
            let producer = context.bytes(index + 1)
            let iid = context.bytes(index + 2)
            if producer.isEmpty { throw RedisError.idmpEmptyProducerID }
            if iid.isEmpty { throw RedisError.idmpEmptyIdempotentID }
            option = IdempotentAdd(producer: producer, iid: iid)
            index += 3
            return true
        }
        if context.argument(index, is: "idmpauto") && remaining >= 1 {
            guard option == nil else { throw RedisError.idempotencyRepeated }
            let producer = context.bytes(index + 1)
            if producer.isEmpty { throw RedisError.idmpAutoEmptyProducerID }
            option = IdempotentAdd(producer: producer, iid: nil)
            index += 2
            return true
        }
        return false
    }

    /// Checks the option against the ID (only `*` is allowed) and derives IDMPAUTO's iid from the fields.
    static func resolveIdempotentAdd(_ context: CommandContext, _ add: IdempotentAdd, idSpec: StreamIDSpec,
                                     firstField: Int) throws -> ResolvedIdempotentAdd {
        guard case .automatic = idSpec else {
            throw RedisError.idempotencyNeedsAutoID
        }
        let iid = add.iid ?? Stream.automaticIdempotentID(
            fieldsAndValues: (firstField..<context.argumentCount).map { context.bytes($0) })
        return ResolvedIdempotentAdd(producer: add.producer, iid: iid)
    }

    /// A new idempotent entry goes to the append-only file as its plain XADD effect followed by the pair it
    /// recorded (so IDMPAUTO's digest is not recomputed on replay), as Redis 8.8 logs it.
    static func idempotencyRecordEffect(_ context: CommandContext, _ add: ResolvedIdempotentAdd,
                                        id: StreamID) -> [ByteBuffer] {
        ConsumerGroupCommands.effect([
            ConsumerGroupCommands.word("XIDMPRECORD"), context.bytes(1), add.producer, add.iid,
            ConsumerGroupCommands.idWord(id),
        ])
    }

    // MARK: XCFGSET

    private static func xcfgset(_ context: CommandContext) throws {
        var duration: Int64?
        var maxSize: Int64?
        if context.argumentCount == 2 {
            throw RedisError.idempotencyConfigMissing
        }
        try context.forEachOptionPair(from: 2) { index in
            if context.argument(index, is: "idmp-duration") {
                let value = try context.integer(index + 1)
                guard StreamIdempotency.durationRange.contains(value) else {
                    throw RedisError.idempotencyDurationOutOfRange
                }
                duration = value
            } else if context.argument(index, is: "idmp-maxsize") {
                let value = try context.integer(index + 1)
                guard StreamIdempotency.maxSizeRange.contains(value) else {
                    throw RedisError.idempotencyMaxSizeOutOfRange
                }
                maxSize = value
            } else {
                return false
            }
            return true
        }
        let key = context.bytes(1)
        let found = try context.database.streamModify(key, nowMilliseconds: context.nowMilliseconds) { stream in
            stream.configureIdempotency(durationSeconds: duration, maxSize: maxSize)
        }
        guard found != nil else { throw RedisError.noSuchKey }
        context.reply.simpleString("OK".utf8)
        context.keyModified(key)
    }

    // MARK: XIDMPRECORD

    private static func xidmprecord(_ context: CommandContext) throws {
        let key = context.bytes(1)
        let producer = context.bytes(2)
        let iid = context.bytes(3)
        if producer.isEmpty || iid.isEmpty { throw RedisError.idempotencyRecordEmptyIDs }
        let entryID = try parseID(context, 4, strict: true)
        let recorded = try context.database.streamModify(key, nowMilliseconds: context.nowMilliseconds) { stream -> Bool in
            guard stream.containsEntry(withID: entryID) else {
                throw RedisError.idempotencyRecordNoSuchEntry
            }
            return stream.recordIdempotentEntry(producer: producer, iid: iid, entryID: entryID,
                                                nowMilliseconds: context.nowMilliseconds)
        }
        guard let recorded else { throw RedisError.noSuchKey }
        guard recorded else { throw RedisError.idempotencyRecordConflict }
        context.reply.simpleString("OK".utf8)
        context.keyModified(key)
    }

    // MARK: XINFO STREAM

    /// The six idempotency fields XINFO STREAM writes after `recorded-first-entry-id`, for every stream (Redis 8.6+
    /// clients read them unconditionally; a stream that never used IDMP shows the defaults).
    static let idempotencyInfoFieldCount = 6

    static func writeIdempotencyInfo(_ info: IdempotencyInfo, to reply: inout RESPWriter) {
        reply.bulkString("idmp-duration"); reply.integer(info.durationSeconds)
        reply.bulkString("idmp-maxsize"); reply.integer(info.maxSize)
        reply.bulkString("pids-tracked"); reply.integer(Int64(info.producersTracked))
        reply.bulkString("iids-tracked"); reply.integer(Int64(info.iidsTracked))
        reply.bulkString("iids-added"); reply.integer(Int64(clamping: info.iidsAdded))
        reply.bulkString("iids-duplicates"); reply.integer(Int64(clamping: info.iidsDuplicates))
    }
}
