import NIOCore
import RillCore
import RillProtocol

/// XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XDELEX and XACKDEL: argument parsing,
/// Redis's checks in Redis's order, and replies over RillCore's consumer-group operations.
///
/// Group-state changes do not count as key modifications for WATCH (Redis does not signal them),
/// so they go through `Database.streamGroups`; they do count in the dirty counter. Only XGROUP
/// DESTROY (and stream deletion or creation) wakes blocked readers.
enum ConsumerGroupCommands {
    static let all: [Command] = [
        Command("xgroup", arity: -2, flags: [], group: "stream", since: "5.0.0",
                summary: "A container for consumer groups commands.", subcommands: [
                    Command("xgroup|create", arity: -5, flags: [.write, .denyOOM], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Creates a consumer group.") { try xgroup($0, .create) },
                    Command("xgroup|setid", arity: -5, flags: [.write], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Sets the last-delivered ID of a consumer group.") { try xgroup($0, .setID) },
                    Command("xgroup|destroy", arity: 4, flags: [.write], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Destroys a consumer group.") { try xgroup($0, .destroy) },
                    Command("xgroup|createconsumer", arity: 5, flags: [.write, .denyOOM], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "6.2.0",
                            summary: "Creates a consumer in a consumer group.") { try xgroup($0, .createConsumer) },
                    Command("xgroup|delconsumer", arity: 5, flags: [.write], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Deletes a consumer from a consumer group.") { try xgroup($0, .deleteConsumer) },
                    groupPolicyCommand,
                    Command("xgroup|help", arity: 2, flags: [.loading, .stale], categories: ["stream"],
                            group: "stream", since: "5.0.0",
                            summary: "Returns helpful text about the different subcommands.", handler: xgroupHelp),
                ]) { _ in },
        Command("xreadgroup", arity: -7, flags: [.write, .blocking, .movableKeys], keys: (0, 0, 0),
                categories: ["stream"], group: "stream", since: "5.0.0",
                summary: "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.",
                handler: xreadgroup),
        Command("xack", arity: -4, flags: [.write, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.",
                handler: xack),
        Command("xpending", arity: -3, flags: [.readonly], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Returns the information and entries from a stream consumer group's pending entries list.",
                handler: xpending),
        Command("xclaim", arity: -6, flags: [.write, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.",
                handler: xclaim),
        Command("xautoclaim", arity: -6, flags: [.write, .fast], keys: (1, 1, 1),
                categories: ["stream"], group: "stream", since: "6.2.0",
                summary: "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.",
                handler: xautoclaim),
        Command("xdelex", arity: -5, flags: [.write, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "8.2.0", summary: "Deletes one or multiple entries from the stream.",
                handler: xdelex),
        Command("xackdel", arity: -6, flags: [.write, .fast], keys: (1, 1, 1),
                categories: ["stream"], group: "stream", since: "8.2.0",
                summary: "Acknowledges and conditionally deletes one or multiple entries for a stream consumer group.",
                handler: xackdel),
    ]

    // MARK: Argument helpers

    private static func parseID(_ context: CommandContext, _ index: Int, strict: Bool = true) throws -> StreamID {
        try context.arguments[index].withUnsafeReadableBytes { bytes throws(StreamError) in
            strict ? try StreamID.parseStrict(bytes, missingSequence: 0) : try StreamID.parse(bytes, missingSequence: 0)
        }
    }

    /// `parseID` without an error reply: nil when the argument is not a strict ID (XCLAIM's list of
    /// IDs ends at the first argument that is not one).
    private static func strictIDIfValid(_ context: CommandContext, _ index: Int) -> StreamID? {
        context.arguments[index].withUnsafeReadableBytes { bytes in try? StreamID.parseStrict(bytes, missingSequence: 0) }
    }

    private static func parseRangeStart(_ context: CommandContext, _ index: Int) throws -> StreamID {
        try context.arguments[index].withUnsafeReadableBytes { bytes throws(StreamError) in
            try StreamID.parseRangeStart(bytes)
        }
    }

    private static func parseRangeEnd(_ context: CommandContext, _ index: Int) throws -> StreamID {
        try context.arguments[index].withUnsafeReadableBytes { bytes throws(StreamError) in
            try StreamID.parseRangeEnd(bytes)
        }
    }

    /// Group-state changes are writes for the dirty counter (INFO rdb_changes_since_last_save).
    static func noteGroupChange(_ context: CommandContext, _ changes: Int = 1) {
        context.changes.recordChange(Int64(changes))
    }

    // MARK: XGROUP

    enum XGroupSubcommand {
        case create, setID, destroy, createConsumer, deleteConsumer
    }

    private static func subcommandSyntaxError(_ context: CommandContext) -> RedisError {
        RedisError.unknownSubcommandOrArity(RedisError.quoted(context.bytes(1)), of: "XGROUP")
    }

    private static func xgroup(_ context: CommandContext, _ subcommand: XGroupSubcommand) throws {
        // Options after the ID, parsed before anything else as Redis does.
        var makeStream = false
        var entriesRead: Int64?
        var index = 5
        while index < context.argumentCount {
            if subcommand == .create && context.argument(index, is: "mkstream") {
                makeStream = true
                index += 1
            } else if (subcommand == .create || subcommand == .setID) && context.argument(index, is: "entriesread")
                        && index + 1 < context.argumentCount {
                let value = try context.integer(index + 1)
                guard value >= 0 || value == -1 else {
                    throw RedisError.invalidEntriesRead
                }
                entriesRead = value == -1 ? nil : value
                index += 2
            } else {
                throw subcommandSyntaxError(context)
            }
        }

        let key = context.bytes(2)
        let group = context.bytes(3)
        let now = context.nowMilliseconds
        let groupExists = try context.database.streamGroups(key, nowMilliseconds: now) { $0.group(named: group) != nil }
        if !makeStream {
            guard let groupExists else { throw RedisError.xgroupRequiresKey }
            if !groupExists && subcommand != .create && subcommand != .destroy {
                throw RedisError.noSuchGroup(group, key: key)
            }
        }

        switch subcommand {
        case .create:
            guard context.argumentCount <= 8 else { throw subcommandSyntaxError(context) }
            // "$" is the stream's last ID (0-0 for a stream MKSTREAM creates).
            let id: StreamID? = context.argument(4, is: "$") ? nil : try parseID(context, 4)
            if groupExists == nil {
                try context.database.streamModify(key, nowMilliseconds: now, creatingWith: { Stream() }) { stream in
                    try stream.createGroup(named: group, lastDeliveredID: id, entriesRead: entriesRead)
                }
                context.keyModified(key)
            } else {
                try context.database.streamGroups(key, nowMilliseconds: now) { stream in
                    try stream.createGroup(named: group, lastDeliveredID: id, entriesRead: entriesRead)
                }
                noteGroupChange(context)
            }
            context.reply.simpleString("OK")
            if id == nil {
                context.propagate(effects: groupCreationEffect(context, key: key, group: group, makeStream: makeStream))
            }
        case .setID:
            guard context.argumentCount == 5 || context.argumentCount == 7 else { throw subcommandSyntaxError(context) }
            // SETID parses like XRANGE bounds: "-" and "+" are accepted.
            let id: StreamID? = context.argument(4, is: "$") ? nil : try parseID(context, 4, strict: false)
            try context.database.streamGroups(key, nowMilliseconds: now) { stream in
                try stream.setGroupLastDeliveredID(group, to: id, entriesRead: entriesRead)
            }
            noteGroupChange(context)
            context.reply.simpleString("OK")
            if id == nil {
                context.propagate(effects: groupPositionEffect(context, key: key, group: group).map { [$0] } ?? [])
            }
        case .destroy:
            let destroyed = try context.database.streamGroups(key, nowMilliseconds: now) { $0.destroyGroup(named: group) } ?? false
            context.reply.integer(destroyed ? 1 : 0)
            // Blocked XREADGROUP clients of the group are woken to answer -NOGROUP.
            if destroyed { context.keyModified(key) }
        case .createConsumer:
            let created = try context.database.streamGroups(key, nowMilliseconds: now) { stream in
                try stream.createConsumer(group: group, consumer: context.bytes(4), nowMilliseconds: now)
            } ?? false
            if created { noteGroupChange(context) }
            context.reply.integer(created ? 1 : 0)
        case .deleteConsumer:
            let consumer = context.bytes(4)
            let pending = try context.database.streamGroups(key, nowMilliseconds: now) { stream in
                try stream.deleteConsumer(group: group, consumer: consumer)
            } ?? nil
            if pending != nil { noteGroupChange(context) }
            context.reply.integer(Int64(pending ?? 0))
        }
    }

    /// `XGROUP SETID key group id ENTRIESREAD n` with the group's current position.
    private static func groupPositionEffect(_ context: CommandContext, key: [UInt8], group: [UInt8]) -> [ByteBuffer]? {
        Propagation.withStream(context, key) { stream in
            stream.group(named: group).map { Propagation.setGroupPosition(key: key, group: $0) }
        } ?? nil
    }

    /// XGROUP CREATE with `$` replaced by the ID it stood for, and the read counter it gave the group.
    private static func groupCreationEffect(_ context: CommandContext, key: [UInt8], group: [UInt8],
                                            makeStream: Bool) -> [[ByteBuffer]] {
        // SETID's arguments after the subcommand are CREATE's: key group id ENTRIESREAD n.
        guard let position = groupPositionEffect(context, key: key, group: group) else { return [] }
        var effect = Propagation.command(["XGROUP", "CREATE"]) + position[2...]
        if makeStream { effect.append(ByteBuffer(string: "MKSTREAM")) }
        return [effect]
    }

    private static func xgroupHelp(_ context: CommandContext) {
        let lines = [
            "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
            "HELP",
            "    Print this help.",
        ]
        context.replyHelp(lines)
    }

    // MARK: XREADGROUP

    /// What XREADGROUP reads from one stream.
    enum ReadPosition {
        /// `>`: entries never delivered to the group.
        case newEntries
        /// An explicit ID: the consumer's own pending entries after it.
        case history(after: StreamID)
    }

    struct GroupRead {
        let key: [UInt8]
        let position: ReadPosition
    }

    /// The parsed command, kept by a blocked client to run it again when woken.
    struct ReadGroupRequest {
        let group: [UInt8]
        let consumer: [UInt8]
        /// COUNT; 0 means no limit.
        let count: Int
        /// MAXCOUNT and MAXSIZE (Redis 8.10).
        let caps: ReadReplyCaps
        let noAcknowledgement: Bool
        let reads: [GroupRead]
    }

    private static func xreadgroup(_ context: CommandContext) throws {
        let options = try StreamCommands.parseReadOptions(context, forGroup: true)
        let (count, timeout, noAcknowledgement, streamsIndex) =
            (options.count, options.timeout, options.noAcknowledgement, options.streamsIndex)
        // parseReadOptions requires GROUP for XREADGROUP.
        let (group, consumer) = options.groupAndConsumer!

        let streamCount = (context.argumentCount - streamsIndex) / 2
        var reads: [GroupRead] = []
        reads.reserveCapacity(streamCount)
        for offset in 0..<streamCount {
            let key = context.lookupBytes(streamsIndex + offset)
            try requireGroup(context, key: key, group: group)
            let idIndex = streamsIndex + streamCount + offset
            let position: ReadPosition
            if context.argument(idIndex, is: ">") {
                position = .newEntries
            } else if context.argument(idIndex, is: "$") {
                throw RedisError.lastIDInXreadgroup
            } else if context.argument(idIndex, is: "+") {
                throw RedisError.maxIDInXreadgroup
            } else {
                let id = try parseID(context, idIndex)
                // Redis represents ">" by the greatest ID, so that ID written out means ">" too.
                position = id == .max ? .newEntries : .history(after: id)
            }
            reads.append(GroupRead(key: key, position: position))
        }

        let request = ReadGroupRequest(group: group, consumer: consumer, count: count, caps: options.caps,
                                       noAcknowledgement: noAcknowledgement, reads: reads)
        if let minimumIdle = options.claimMinimumIdle {
            return try readGroupClaiming(context, request, minimumIdle: minimumIdle, timeout: timeout)
        }
        if try serve(context, request) { return }
        guard let timeout else {
            context.reply.nullArray()
            return
        }
        context.block(keys: reads.map(\.key), timeoutMilliseconds: timeout, retry: { context in
            // Woken by a write to one of the keys: run the command again (Redis 7.2 re-processes
            // it), so a deleted stream or destroyed group answers NOGROUP and a key of another type
            // WRONGTYPE.
            do {
                for read in request.reads { try requireGroup(context, key: read.key, group: request.group) }
                return try serve(context, request)
            } catch {
                context.replyError(RedisError.from(error))
                return true
            }
        }, onTimeout: { context in
            context.reply.nullArray()
        })
    }

    /// Throws WRONGTYPE when `key` holds another type, NOGROUP when it is absent or has no such group.
    static func requireGroup(_ context: CommandContext, key: [UInt8], group: [UInt8]) throws {
        let exists = try context.database.streamGroups(key, nowMilliseconds: context.nowMilliseconds) {
            $0.group(named: group) != nil
        }
        guard exists == true else { throw RedisError.noSuchKeyOrGroupForRead(key, group: group) }
    }

    /// Reads every stream of `request` (groups known to exist) and writes the reply if any stream
    /// is served: a history read always is, a `>` read when it delivers something. Returns false,
    /// writing nothing, when none is.
    private static func serve(_ context: CommandContext, _ request: ReadGroupRequest) throws -> Bool {
        let now = context.nowMilliseconds
        let isMap = context.reply.version == .v3
        let recordsEffects = context.recordsEffects
        var budget = ReadReplyBudget(request.caps)
        /// How many entries this stream may give (0: no limit); nil when the caps leave it out of the reply.
        /// Found before reading, so that only entries the reply carries are delivered.
        func allowance(_ read: GroupRead, in stream: Stream) throws -> Int? {
            guard budget.isActive else { return request.count }
            if budget.isExhausted { return nil }
            let limit = budget.entryLimit(count: request.count)
            let admitted: Int
            switch read.position {
            case .newEntries:
                guard let group = stream.group(named: request.group) else { throw ConsumerGroupError.noSuchGroup }
                admitted = budget.admitEntries(after: group.lastDeliveredID, limit: limit, of: stream)
            case .history(let after):
                guard let start = after.next else { return request.count }
                let pending = try stream.pendingEntries(group: request.group, from: start, to: .max, count: limit,
                                                        consumer: request.consumer, nowMilliseconds: now)
                admitted = budget.admitHistory(pending.map(\.id), of: stream)
            }
            // Nothing admitted: either nothing to read (read as usual, for its side effects) or no room left.
            if admitted == 0 { return budget.isExhausted ? nil : request.count }
            return admitted
        }
        /// Reads one stream of the request (nil: a `>` read with nothing new).
        func perform(_ read: GroupRead, on stream: inout Stream, count: Int) throws -> [StreamID]? {
            let consumersBefore = stream.group(named: request.group)?.consumerCount ?? 0
            let ids: [StreamID]?
            switch read.position {
            case .newEntries:
                ids = try stream.readNewEntries(group: request.group, consumer: request.consumer, count: count,
                                                noAcknowledgement: request.noAcknowledgement, nowMilliseconds: now)
            case .history(let after):
                ids = try stream.readPendingHistory(group: request.group, consumer: request.consumer, after: after,
                                                    count: count, nowMilliseconds: now)
            }
            let created = (stream.group(named: request.group)?.consumerCount ?? 0) > consumersBefore
            // Creating the consumer is a change even when nothing is delivered, as in Redis; re-reading one's own
            // pending entries is not.
            if created { noteGroupChange(context) }
            if recordsEffects {
                context.propagate(effects: deliveryEffects(request, read, ids ?? [], in: stream,
                                                           createdConsumer: created, nowMilliseconds: now))
            }
            return ids
        }
        /// Writes one stream's part of the reply.
        func write(_ read: GroupRead, _ ids: [StreamID], from stream: Stream) {
            // RESP3: a map of key to entries; RESP2: an array of [key, entries] pairs.
            if !isMap { context.reply.arrayHeader(2) }
            context.reply.bulkString(read.key)
            switch read.position {
            case .newEntries:
                // Delivered IDs are consecutive live entries, so the range holds exactly them.
                context.reply.arrayHeader(ids.count)
                stream.forEachEntry(from: ids[0], to: ids[ids.count - 1], limit: ids.count) { id, fields in
                    StreamCommands.writeEntry(id, fields, to: &context.reply)
                }
            case .history:
                writeEntriesOrNil(stream, ids, to: &context.reply)
            }
        }
        func writeHeader(_ count: Int) {
            if isMap { context.reply.mapHeader(count) } else { context.reply.arrayHeader(count) }
        }

        // The common case, one stream: read and answer in one lookup.
        if request.reads.count == 1 {
            let read = request.reads[0]
            let served = try context.database.streamGroups(read.key, nowMilliseconds: now) { stream -> Bool in
                // The first stream always has room: MAXCOUNT is at least 1 and MAXSIZE gives the first entry.
                guard let count = try allowance(read, in: stream), let ids = try perform(read, on: &stream, count: count)
                else { return false }
                writeHeader(1)
                write(read, ids, from: stream)
                return true
            } ?? false
            applyGroupPolicy(context, key: read.key, group: request.group)
            if served, case .newEntries = read.position { noteGroupChange(context) }
            return served
        }

        // Several streams: the reply starts with the number of streams served, known once all are read.
        var served: [(read: GroupRead, ids: [StreamID])] = []
        var delivered = 0
        for read in request.reads {
            var skipped = false
            let ids = try context.database.streamGroups(read.key, nowMilliseconds: now) { stream -> [StreamID]? in
                guard let count = try allowance(read, in: stream) else {
                    skipped = true
                    return nil
                }
                return try perform(read, on: &stream, count: count)
            } ?? nil
            if skipped { break }
            applyGroupPolicy(context, key: read.key, group: request.group)
            guard let ids else { continue }
            if case .newEntries = read.position { delivered += 1 }
            served.append((read, ids))
        }
        if delivered > 0 { noteGroupChange(context, delivered) }
        if served.isEmpty { return false }
        writeHeader(served.count)
        for (read, ids) in served {
            _ = try context.database.streamGroups(read.key, nowMilliseconds: now) { stream in write(read, ids, from: stream) }
        }
        return true
    }

    /// What one stream's read changed, as Redis propagates it: the consumer's creation, an XCLAIM per delivery
    /// (none with NOACK; for a history read only entries that still exist, whose count and time changed) and,
    /// after new entries, the group's position and read counter.
    private static func deliveryEffects(_ request: ReadGroupRequest, _ read: GroupRead, _ ids: [StreamID],
                                        in stream: Stream, createdConsumer: Bool,
                                        nowMilliseconds: Int64) -> [[ByteBuffer]] {
        var effects: [[ByteBuffer]] = []
        if createdConsumer {
            effects.append(Propagation.createConsumer(key: read.key, group: request.group, consumer: request.consumer))
        }
        if ids.isEmpty { return effects }
        func claim(_ id: StreamID) -> [ByteBuffer] {
            Propagation.claim(key: read.key, stream: stream, group: request.group, consumer: request.consumer,
                              entryID: id, nowMilliseconds: nowMilliseconds)
        }
        switch read.position {
        case .newEntries:
            if !request.noAcknowledgement { effects += ids.map(claim) }
            if let group = stream.group(named: request.group) {
                effects.append(Propagation.setGroupPosition(key: read.key, group: group))
            }
        case .history:
            effects += ids.filter { stream.containsEntry(withID: $0) }.map(claim)
        }
        return effects
    }

    /// An array with, for each ID, its entry, or `[id, nil]` when the entry was deleted.
    static func writeEntriesOrNil(_ stream: Stream, _ ids: [StreamID], to reply: inout RESPWriter,
                                  header: Bool = true) {
        if header { reply.arrayHeader(ids.count) }
        for id in ids {
            let written = stream.forEachEntry(from: id, to: id, limit: 1) { id, fields in
                StreamCommands.writeEntry(id, fields, to: &reply)
            }
            if written == 0 {
                reply.arrayHeader(2)
                StreamCommands.writeID(id, to: &reply)
                reply.nullArray()
            }
        }
    }

    // MARK: XACK

    private static func xack(_ context: CommandContext) throws {
        let group = context.lookupBytes(2, buffer: 1)
        let acknowledged = try context.database.streamGroups(context.lookupBytes(1), nowMilliseconds: context.nowMilliseconds) { stream -> Int in
            // Without the group there is nothing to acknowledge, and IDs are not even parsed.
            guard stream.group(named: group) != nil else { return 0 }
            // Parsed into stack space (heap only for very many IDs), not an array per XACK.
            let idCount = context.argumentCount - 3
            return try withUnsafeTemporaryAllocation(of: StreamID.self, capacity: idCount) { ids in
                for position in 0..<idCount { ids.initializeElement(at: position, to: try parseID(context, 3 + position)) }
                return stream.acknowledge(group: group, ids: UnsafeBufferPointer(ids))
            }
        } ?? 0
        if acknowledged > 0 { noteGroupChange(context, acknowledged) }
        context.reply.integer(Int64(acknowledged))
    }

    // MARK: XPENDING

    private static func xpending(_ context: CommandContext) throws {
        let argumentCount = context.argumentCount
        guard argumentCount == 3 || (6...9).contains(argumentCount) else { throw RedisError.syntax }
        var range: (start: StreamID, end: StreamID, count: Int, minimumIdle: Int64, consumer: [UInt8]?)?
        if argumentCount >= 6 {
            var startIndex = 3
            var minimumIdle: Int64 = 0
            if context.argument(3, is: "idle") {
                minimumIdle = try context.integer(4)
                guard argumentCount >= 8 else { throw RedisError.syntax }
                startIndex = 5
            }
            let count = Int(max(0, try context.integer(startIndex + 2)))
            let start = try parseRangeStart(context, startIndex)
            let end = try parseRangeEnd(context, startIndex + 1)
            let consumer = startIndex + 3 < argumentCount ? context.bytes(startIndex + 3) : nil
            range = (start, end, count, minimumIdle, consumer)
        }
        let key = context.bytes(1)
        let group = context.bytes(2)
        guard let stream = try context.database.streamGet(key, nowMilliseconds: context.nowMilliseconds),
              stream.group(named: group) != nil else {
            throw RedisError.noSuchKeyOrGroup(key, group: group)
        }
        guard let range else {
            let summary = try stream.pendingSummary(group: group)
            context.reply.arrayHeader(4)
            context.reply.integer(Int64(summary.count))
            guard let smallest = summary.smallestID, let greatest = summary.greatestID else {
                context.reply.nullBulkString()
                context.reply.nullBulkString()
                context.reply.nullArray()
                return
            }
            StreamCommands.writeID(smallest, to: &context.reply)
            StreamCommands.writeID(greatest, to: &context.reply)
            context.reply.arrayHeader(summary.consumers.count)
            for (name, pending) in summary.consumers {
                context.reply.arrayHeader(2)
                context.reply.bulkString(name)
                context.reply.bulkString(decimal: Int64(pending))
            }
            return
        }
        let now = context.nowMilliseconds
        let entries = try stream.pendingEntries(group: group, from: range.start, to: range.end, count: range.count,
                                                minimumIdle: range.minimumIdle, consumer: range.consumer,
                                                nowMilliseconds: now)
        context.reply.arrayHeader(entries.count)
        for entry in entries {
            context.reply.arrayHeader(4)
            StreamCommands.writeID(entry.id, to: &context.reply)
            context.reply.bulkString(entry.consumer)
            context.reply.integer(entry.idle(nowMilliseconds: now))
            context.reply.integer(Int64(bitPattern: entry.deliveryCount))
        }
    }

    // MARK: XCLAIM

    private static func xclaim(_ context: CommandContext) throws {
        let key = context.bytes(1)
        let group = context.bytes(2)
        let now = context.nowMilliseconds
        // Redis looks the group up before parsing anything else.
        let hasGroup = try context.database.streamGroups(key, nowMilliseconds: now) { $0.group(named: group) != nil }
        guard hasGroup == true else { throw RedisError.noSuchKeyOrGroup(key, group: group) }
        let minimumIdle = max(0, try context.integer(4, error: RedisError.xclaimInvalidMinimumIdle))

        // IDs run until the first argument that is not one; options follow.
        var ids: [StreamID] = []
        var index = 5
        while index < context.argumentCount, let id = strictIDIfValid(context, index) {
            ids.append(id)
            index += 1
        }
        var options = ClaimOptions()
        while index < context.argumentCount {
            let moreArguments = context.argumentCount - index - 1 > 0
            if context.argument(index, is: "force") {
                options.force = true
            } else if context.argument(index, is: "justid") {
                options.justID = true
            } else if context.argument(index, is: "idle"), moreArguments {
                index += 1
                let idle = try context.integer(index, error: RedisError.xclaimInvalidIdle)
                options.deliveryTime = now &- idle
            } else if context.argument(index, is: "time"), moreArguments {
                index += 1
                options.deliveryTime = try context.integer(index, error: RedisError.xclaimInvalidTime)
            } else if context.argument(index, is: "retrycount"), moreArguments {
                index += 1
                options.retryCount = try context.integer(index, error: RedisError.xclaimInvalidRetryCount)
            } else if context.argument(index, is: "lastid"), moreArguments {
                index += 1
                options.lastID = try parseID(context, index)
            } else {
                throw RedisError.xclaimUnrecognizedOption(context.bytes(index))
            }
            index += 1
        }

        let consumer = context.bytes(3)
        let recordsEffects = context.recordsEffects
        _ = try context.database.streamGroups(key, nowMilliseconds: now) { stream in
            let before = recordsEffects ? ClaimSnapshot(stream, group: group, ids: ids, nowMilliseconds: now) : nil
            let claimed = try stream.claim(group: group, consumer: consumer, ids: ids, minimumIdle: minimumIdle,
                                           options: options, nowMilliseconds: now)
            if let before {
                context.propagate(effects: claimEffects(key: key, stream: stream, group: group, consumer: consumer,
                                                        claimed: claimed, dropped: before.pendingWithoutEntry,
                                                        before: before, nowMilliseconds: now))
            }
            context.reply.arrayHeader(claimed.count)
            if options.justID {
                for id in claimed { StreamCommands.writeID(id, to: &context.reply) }
            } else {
                for id in claimed {
                    stream.forEachEntry(from: id, to: id, limit: 1) { id, fields in
                        StreamCommands.writeEntry(id, fields, to: &context.reply)
                    }
                }
            }
        }
        noteGroupChange(context)
        applyGroupPolicy(context, key: key, group: group)
    }

    /// What XCLAIM and XAUTOCLAIM effects are computed against: the group before the claim.
    struct ClaimSnapshot {
        let consumerCount: Int
        let lastDeliveredID: StreamID
        /// Requested IDs (XCLAIM) that were pending although their entry is gone: the claim drops them.
        let pendingWithoutEntry: [StreamID]

        init(_ stream: Stream, group: [UInt8], ids: [StreamID], nowMilliseconds: Int64) {
            let found = stream.group(named: group)
            consumerCount = found?.consumerCount ?? 0
            lastDeliveredID = found?.lastDeliveredID ?? .zero
            var seen = Set<StreamID>()
            pendingWithoutEntry = ids.filter { id in
                guard !stream.containsEntry(withID: id), seen.insert(id).inserted else { return false }
                let pending = try? stream.pendingEntries(group: group, from: id, to: id, count: 1,
                                                         nowMilliseconds: nowMilliseconds)
                return pending?.isEmpty == false
            }
        }
    }

    /// XCLAIM / XAUTOCLAIM as Redis propagates them: the consumer's creation, one XCLAIM per claimed entry (its
    /// new owner, time and count) and per entry dropped from the PEL because it was deleted, and the group's
    /// position when LASTID moved it without any of those.
    private static func claimEffects(key: [UInt8], stream: Stream, group: [UInt8], consumer: [UInt8],
                                     claimed: [StreamID], dropped: [StreamID], before: ClaimSnapshot,
                                     nowMilliseconds: Int64) -> [[ByteBuffer]] {
        guard let after = stream.group(named: group) else { return [] }
        var effects: [[ByteBuffer]] = []
        if after.consumerCount > before.consumerCount {
            effects.append(Propagation.createConsumer(key: key, group: group, consumer: consumer))
        }
        var seen = Set<StreamID>()
        for id in claimed + dropped where seen.insert(id).inserted {
            effects.append(Propagation.claim(key: key, stream: stream, group: group, consumer: consumer, entryID: id,
                                             nowMilliseconds: nowMilliseconds))
        }
        if seen.isEmpty && after.lastDeliveredID != before.lastDeliveredID {
            effects.append(Propagation.setGroupPosition(key: key, group: after))
        }
        return effects
    }

    // MARK: XAUTOCLAIM

    /// Redis caps COUNT so that its buffers of COUNT IDs cannot overflow: LONG_MAX / 16.
    private static let autoClaimMaximumCount = Int64.max / 16

    private static func xautoclaim(_ context: CommandContext) throws {
        let minimumIdle = max(0, try context.integer(4, error: RedisError.xautoclaimInvalidMinimumIdle))
        let start = try parseRangeStart(context, 5)
        var count = 100
        var justID = false
        var index = 6
        while index < context.argumentCount {
            let moreArguments = context.argumentCount - index - 1 > 0
            if context.argument(index, is: "count"), moreArguments {
                let countError = RedisError.countNotPositive
                let value = try context.integer(index + 1, error: countError)
                guard value >= 1 && value <= autoClaimMaximumCount else { throw countError }
                count = Int(value)
                index += 1
            } else if context.argument(index, is: "justid") {
                justID = true
            } else {
                throw RedisError.syntax
            }
            index += 1
        }

        let key = context.bytes(1)
        let group = context.bytes(2)
        let now = context.nowMilliseconds
        let consumer = context.bytes(3)
        let recordsEffects = context.recordsEffects
        let answered = try context.database.streamGroups(key, nowMilliseconds: now) { stream -> Bool in
            guard stream.group(named: group) != nil else { return false }
            let before = recordsEffects ? ClaimSnapshot(stream, group: group, ids: [], nowMilliseconds: now) : nil
            let result = try stream.autoClaim(group: group, consumer: consumer, minimumIdle: minimumIdle, start: start,
                                              count: count, justID: justID, nowMilliseconds: now)
            if let before {
                context.propagate(effects: claimEffects(key: key, stream: stream, group: group, consumer: consumer,
                                                        claimed: result.claimed, dropped: result.deleted,
                                                        before: before, nowMilliseconds: now))
            }
            context.reply.arrayHeader(3)
            StreamCommands.writeID(result.nextStart, to: &context.reply)
            context.reply.arrayHeader(result.claimed.count)
            for id in result.claimed {
                if justID {
                    StreamCommands.writeID(id, to: &context.reply)
                } else {
                    stream.forEachEntry(from: id, to: id, limit: 1) { id, fields in
                        StreamCommands.writeEntry(id, fields, to: &context.reply)
                    }
                }
            }
            context.reply.arrayHeader(result.deleted.count)
            for id in result.deleted { StreamCommands.writeID(id, to: &context.reply) }
            return true
        }
        guard answered == true else { throw RedisError.noSuchKeyOrGroup(key, group: group) }
        noteGroupChange(context)
        applyGroupPolicy(context, key: key, group: group)
    }

    // MARK: XDELEX and XACKDEL

    /// Parses `[KEEPREF | DELREF | ACKED] IDS numids id...` starting at `index`: one policy at
    /// most, the IDS block exactly once, nothing else. The IDs themselves are parsed later
    /// (`parseIDs`): Redis looks the key up first, answering -1 per ID for a missing key whatever they are.
    private static func parseDeletion(_ context: CommandContext, from index: Int) throws -> (StreamDeletionPolicy, Range<Int>) {
        var policy: StreamDeletionPolicy?
        var ids: Range<Int>?
        var index = index
        while index < context.argumentCount {
            let given: StreamDeletionPolicy?
            if context.argument(index, is: "keepref") {
                given = .keepReferences
            } else if context.argument(index, is: "delref") {
                given = .deleteReferences
            } else if context.argument(index, is: "acked") {
                given = .acknowledged
            } else {
                given = nil
            }
            if let given {
                guard policy == nil else { throw RedisError.syntax }
                policy = given
                index += 1
            } else if ids == nil, context.argument(index, is: "ids"), index + 1 < context.argumentCount {
                ids = try idsBlock(context, at: &index)
            } else {
                throw RedisError.syntax
            }
        }
        guard let ids else { throw RedisError.syntax }
        return (policy ?? .keepReferences, ids)
    }

    /// Parses `IDS numids id...` at `index` (which holds IDS, with at least one argument after it) and moves
    /// `index` past it.
    static func parseIDsBlock(_ context: CommandContext, at index: inout Int) throws -> [StreamID] {
        try parseIDs(context, in: idsBlock(context, at: &index))
    }

    /// Checks the count of `IDS numids id...` at `index` and moves `index` past the block; the IDs' argument range.
    private static func idsBlock(_ context: CommandContext, at index: inout Int) throws -> Range<Int> {
        let countError = RedisError.idCountNotPositive
        let count = try context.integer(index + 1, error: countError)
        guard count > 0 else { throw countError }
        guard count <= context.argumentCount - index - 2 else {
            throw RedisError.idCountMismatch
        }
        let range = (index + 2)..<(index + 2 + Int(count))
        index = range.upperBound
        return range
    }

    private static func parseIDs(_ context: CommandContext, in arguments: Range<Int>) throws -> [StreamID] {
        try arguments.map { try parseID(context, $0) }
    }

    private static func writeResults(_ results: [StreamDeletionResult], to reply: inout RESPWriter) {
        reply.arrayHeader(results.count)
        for result in results { reply.integer(result.rawValue) }
    }

    private static func xdelex(_ context: CommandContext) throws {
        let (policy, idArguments) = try parseDeletion(context, from: 2)
        let key = context.bytes(1)
        let now = context.nowMilliseconds
        guard try context.database.streamGroups(key, nowMilliseconds: now, { _ in () }) != nil else {
            writeResults(Array(repeating: .notFound, count: idArguments.count), to: &context.reply)
            return
        }
        let ids = try parseIDs(context, in: idArguments)
        let results = try context.database.streamModify(key, nowMilliseconds: now) { stream in
            stream.delete(ids, policy: policy)
        } ?? []
        writeResults(results, to: &context.reply)
        let deleted = results.reduce(0) { $0 + ($1 == .deleted ? 1 : 0) }
        if deleted > 0 { context.keyModified(key) }
    }

    private static func xackdel(_ context: CommandContext) throws {
        let (policy, idArguments) = try parseDeletion(context, from: 3)
        let key = context.bytes(1)
        let group = context.bytes(2)
        let now = context.nowMilliseconds
        let hasGroup = try context.database.streamGroups(key, nowMilliseconds: now) { $0.group(named: group) != nil }
        guard hasGroup == true else {
            writeResults(Array(repeating: .notFound, count: idArguments.count), to: &context.reply)
            return
        }
        let ids = try parseIDs(context, in: idArguments)
        let results = try context.database.streamModify(key, nowMilliseconds: now) { stream in
            stream.acknowledgeAndDelete(group: group, ids: ids, policy: policy) ?? []
        } ?? []
        writeResults(results, to: &context.reply)
        let acknowledged = results.reduce(0) { $0 + ($1 == .notFound ? 0 : 1) }
        if acknowledged > 0 { context.keyModified(key) }
    }
}
