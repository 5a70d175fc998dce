import NIOCore
import RillCore
import RillProtocol

/// XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XINFO STREAM and XREAD: argument parsing and replies over
/// RillCore's `Stream`.
enum StreamCommands {
    static let all: [Command] = [
        Command("xadd", arity: -5, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["stream"], group: "stream", since: "5.0.0",
                summary: "Appends a new message to a stream. Creates the key if it doesn't exist.", handler: xadd),
        Command("xlen", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0", summary: "Return the number of messages in a stream.") { context in
            let stream = try context.database.streamGet(context.lookupBytes(1),
                                                        nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(Int64(stream?.length ?? 0))
        },
        Command("xrange", arity: -4, flags: [.readonly], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Returns the messages from a stream within a range of IDs.") { context in
            try range(context, reverse: false)
        },
        Command("xrevrange", arity: -4, flags: [.readonly], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Returns the messages from a stream within a range of IDs in reverse order.") { context in
            try range(context, reverse: true)
        },
        Command("xdel", arity: -3, flags: [.write, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Returns the number of messages after removing them from a stream.", handler: xdel),
        Command("xtrim", arity: -4, flags: [.write], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "5.0.0",
                summary: "Deletes messages from the beginning of a stream.", handler: xtrim),
        Command("xsetid", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["stream"], group: "stream", since: "5.0.0",
                summary: "An internal command for replicating stream values.", handler: xsetid),
        Command("xinfo", arity: -2, flags: [], group: "stream", since: "5.0.0",
                summary: "A container for stream introspection commands.", subcommands: [
                    Command("xinfo|stream", arity: -3, flags: [.readonly], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Returns information about a stream.", handler: xinfoStream),
                    Command("xinfo|groups", arity: 3, flags: [.readonly], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Returns a list of the consumer groups of a stream.", handler: xinfoGroups),
                    Command("xinfo|consumers", arity: 4, flags: [.readonly], keys: (2, 2, 1),
                            categories: ["stream"], group: "stream", since: "5.0.0",
                            summary: "Returns a list of the consumers in a consumer group.", handler: xinfoConsumers),
                    Command("xinfo|help", arity: 2, flags: [.loading, .stale], categories: ["stream"],
                            group: "stream", since: "5.0.0",
                            summary: "Returns helpful text about the different subcommands.") { context in
                        let lines = [
                            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                            "CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.",
                            "GROUPS <key>", "    Show the stream consumer groups.",
                            "STREAM <key> [FULL [COUNT <count>]", "    Show information about the stream.",
                            "HELP", "    Print this help.",
                        ]
                        context.replyHelp(lines)
                    },
                ]) { _ in },
        Command("xread", arity: -4, flags: [.readonly, .blocking, .movableKeys], keys: (0, 0, 0),
                categories: ["stream"], group: "stream", since: "5.0.0",
                summary: "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.",
                handler: xread),
    ]

    // MARK: Shared parsing

    /// Node limits from the live configuration (CONFIG SET applies to the next append).
    private static func nodeLimits(_ context: CommandContext) -> StreamNodeLimits {
        context.configuration.streamNodeLimits
    }

    static func parseID(_ context: CommandContext, _ index: Int, missingSequence: UInt64 = 0,
                                strict: Bool) throws -> StreamID {
        try context.arguments[index].withUnsafeReadableBytes { bytes throws(StreamError) in
            strict ? try StreamID.parseStrict(bytes, missingSequence: missingSequence)
                : try StreamID.parse(bytes, missingSequence: missingSequence)
        }
    }

    /// The trimming part shared by XADD and XTRIM: `MAXLEN|MINID [=|~] threshold [LIMIT count]`.
    struct TrimOptions {
        var strategy: StreamTrimStrategy?
        var approximate = false
        /// LIMIT as given; nil when absent.
        var limit: Int64?
        /// KEEPREF / DELREF / ACKED (Redis 8.2): what happens to PEL references of trimmed entries.
        var policy = StreamDeletionPolicy.keepReferences

        /// The work limit Redis applies: LIMIT if given, the node-size default for `~`, none for `=`.
        func effectiveLimit(_ limits: StreamNodeLimits) -> Int {
            if let limit { return Int(limit) }
            return approximate ? limits.defaultApproximateTrimLimit : 0
        }
    }

    /// Parses trimming options at `index`; returns false when the word there is not a trimming option.
    private static func parseTrimOption(_ context: CommandContext, _ index: inout Int,
                                        into options: inout TrimOptions) throws -> Bool {
        if context.argument(index, is: "keepref") || context.argument(index, is: "delref")
            || context.argument(index, is: "acked") {
            options.policy = context.argument(index, is: "keepref") ? .keepReferences
                : context.argument(index, is: "delref") ? .deleteReferences : .acknowledged
            index += 1
            return true
        }
        let remaining = context.argumentCount - index - 1
        let isMaxLength = context.argument(index, is: "maxlen")
        if (isMaxLength || context.argument(index, is: "minid")) && remaining >= 1 {
            var valueIndex = index + 1
            if remaining >= 2 {
                if context.argument(valueIndex, is: "~") {
                    options.approximate = true
                    valueIndex += 1
                } else if context.argument(valueIndex, is: "=") {
                    valueIndex += 1
                }
            }
            if options.strategy != nil {
                let sameKind: Bool
                switch options.strategy {
                case .maxLength: sameKind = isMaxLength
                default: sameKind = !isMaxLength
                }
                if !sameKind {
                    throw RedisError.maxLengthWithMinID
                }
            }
            if isMaxLength {
                let maximum = try context.integer(valueIndex)
                guard maximum >= 0 else { throw RedisError.negativeMaxLength }
                options.strategy = .maxLength(UInt64(maximum))
            } else {
                options.strategy = .minimumID(try parseID(context, valueIndex, strict: true))
            }
            index = valueIndex + 1
            return true
        }
        if context.argument(index, is: "limit") && remaining >= 1 {
            let limit = try context.integer(index + 1)
            guard limit >= 0 else { throw RedisError.negativeLimit }
            options.limit = limit
            index += 2
            return true
        }
        return false
    }

    private static func validate(_ options: TrimOptions) throws {
        if options.limit != nil && options.strategy == nil {
            throw RedisError.limitWithoutStrategy
        }
        if options.limit != nil && !options.approximate {
            throw RedisError.limitWithoutApproximation
        }
    }

    // MARK: Commands

    private static func xadd(_ context: CommandContext) throws {
        var options = TrimOptions()
        var noMakeStream = false
        var idempotentAdd: IdempotentAdd?
        var index = 2
        while index < context.argumentCount {
            if context.argument(index, is: "nomkstream") {
                noMakeStream = true
                index += 1
            } else if try parseIdempotencyOption(context, &index, into: &idempotentAdd) {
                continue
            } else if try parseTrimOption(context, &index, into: &options) {
                continue
            } else {
                break
            }
        }
        // Redis' order: the ID (the first argument that is no option) is parsed with the options, before the checks
        // of their combination; a missing ID or fields is an arity error after both.
        let idSpec = index < context.argumentCount
            ? try context.arguments[index].withUnsafeReadableBytes { bytes throws(StreamError) in
                try StreamIDSpec.parse(bytes)
            }
            : nil
        try validate(options)
        guard let idSpec else { throw RedisError.wrongArity("xadd") }
        let fieldCount = context.argumentCount - index - 1
        guard fieldCount >= 2, fieldCount % 2 == 0 else { throw RedisError.wrongArity("xadd") }
        if idSpec.isExplicitZero { throw StreamError.idZero }
        let idempotency = try idempotentAdd.map { add throws in
            try resolveIdempotentAdd(context, add, idSpec: idSpec, firstField: index + 1)
        }

        let key = context.lookupBytes(1)
        // Gather the fields and values into the connection's reusable scratch buffer: one copy, no array per field.
        let firstField = index + 1
        var scratch = context.takeScratch()
        defer { context.returnScratch(scratch) }
        for argument in firstField..<context.argumentCount {
            context.arguments[argument].withUnsafeReadableBytes { scratch.append(contentsOf: $0) }
        }
        let arguments = context.arguments
        let limits = nodeLimits(context)
        let now = UInt64(max(0, context.nowMilliseconds))
        var duplicate = false
        let added = try context.database.streamModify(
            key, nowMilliseconds: context.nowMilliseconds, creatingWith: noMakeStream ? nil : { Stream() }
        ) { stream -> StreamID in
            if let idempotency,
               let original = stream.idempotentEntryID(producer: idempotency.producer, iid: idempotency.iid,
                                                       nowMilliseconds: context.nowMilliseconds) {
                stream.countIdempotentDuplicate()
                duplicate = true
                return original
            }
            let id = try scratch.withUnsafeBytes { all in
                try withUnsafeTemporaryAllocation(of: UnsafeRawBufferPointer.self, capacity: fieldCount) { views in
                    var offset = 0
                    for position in 0..<fieldCount {
                        let length = arguments[firstField + position].readableBytes
                        views.initializeElement(at: position,
                                                to: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)]))
                        offset += length
                    }
                    return try stream.append(idSpec, borrowedFieldsAndValues: UnsafeBufferPointer(views),
                                             nowMilliseconds: now, limits: limits)
                }
            }
            if let strategy = options.strategy {
                stream.trim(strategy, approximate: options.approximate, limit: options.effectiveLimit(limits),
                            policy: options.policy)
            }
            if let idempotency {
                stream.recordIdempotentEntry(producer: idempotency.producer, iid: idempotency.iid, entryID: id,
                                             nowMilliseconds: context.nowMilliseconds)
            }
            return id
        }
        guard let added else {
            context.reply.nullBulkString()
            context.propagate(effects: [])  // NOMKSTREAM without the key: nothing happened
            return
        }
        writeID(added, to: &context.reply)
        if duplicate {
            // Only IDMP's duplicate counter moved; replaying a `*` XADD could add an entry once the pair is gone.
            context.propagate(effects: [])
            return
        }
        context.keyModified(key)
        // A server-chosen ID or an approximate trim would replay differently: record what happened instead.
        var explicitID = false
        if case .explicit = idSpec { explicitID = true }
        if !explicitID && options.strategy == nil && idempotency == nil && !noMakeStream {
            // `XADD key * field value...`: the request with the ID it got is the effect.
            context.propagateRequest(replacingArgumentAt: index, with: added)
        } else if !explicitID || options.approximate {
            context.propagate(xaddEffect(context, key: key, noMakeStream: noMakeStream, options: options,
                                         id: added, firstField: firstField))
        }
        if let idempotency { context.propagate(idempotencyRecordEffect(context, idempotency, id: added)) }
    }

    /// `XADD key [NOMKSTREAM] [MAXLEN|MINID = threshold [policy]] id field value ...` as it ran.
    private static func xaddEffect(_ context: CommandContext, key: [UInt8], noMakeStream: Bool,
                                   options: TrimOptions, id: StreamID, firstField: Int) -> [ByteBuffer] {
        var effect: [ByteBuffer] = []
        effect.reserveCapacity(context.argumentCount + 6)
        // The name and the key as sent: slices of the request, not copies (this runs for every replicated XADD).
        effect += context.arguments[0...1]
        if noMakeStream { effect.append(ByteBuffer(string: "NOMKSTREAM")) }
        effect += exactTrimArguments(context, key: key, options)
        effect.append(Propagation.id(id))
        effect += context.arguments[firstField...]
        return effect
    }

    /// The trimming arguments of an effect: the options as given when exact, else the exact trimming that leaves
    /// what the approximate one left in the stream at `key`.
    private static func exactTrimArguments(_ context: CommandContext, key: [UInt8],
                                           _ options: TrimOptions) -> [ByteBuffer] {
        guard let strategy = options.strategy else { return [] }
        var arguments: [ByteBuffer]
        if options.approximate,
           let exact = Propagation.withStream(context, key, { Propagation.exactTrim(strategy, leaving: $0) }) {
            arguments = exact
        } else {
            switch strategy {
            case .maxLength(let maximum): arguments = Propagation.command(["MAXLEN", "=", String(maximum)])
            case .minimumID(let minimum): arguments = Propagation.command(["MINID", "="]) + [Propagation.id(minimum)]
            }
        }
        return arguments + Propagation.command(Propagation.policyWords(options.policy))
    }

    private static func xtrim(_ context: CommandContext) throws {
        var options = TrimOptions()
        var index = 2
        while index < context.argumentCount {
            guard try parseTrimOption(context, &index, into: &options) else { throw RedisError.syntax }
        }
        try validate(options)
        guard let strategy = options.strategy else {
            throw RedisError.xtrimWithoutStrategy
        }
        let key = context.bytes(1)
        let limits = nodeLimits(context)
        let removed = try context.database.streamModify(key, nowMilliseconds: context.nowMilliseconds) { stream in
            stream.trim(strategy, approximate: options.approximate, limit: options.effectiveLimit(limits),
                        policy: options.policy)
        } ?? 0
        context.reply.integer(Int64(removed))
        if removed > 0 { context.keyModified(key) }
        if options.approximate {
            context.propagate(effects: removed == 0 ? [] : [
                Propagation.command(["XTRIM"], [ByteBuffer(bytes: key)])
                    + exactTrimArguments(context, key: key, options),
            ])
        }
    }

    private static func xdel(_ context: CommandContext) throws {
        // As Redis: the key first (a missing key answers 0 and a key of another type WRONGTYPE, whatever the IDs),
        // then every ID before any is deleted, so a bad one changes nothing.
        let key = context.bytes(1)
        guard try context.database.streamGet(key, nowMilliseconds: context.nowMilliseconds) != nil else {
            context.reply.integer(0)
            return
        }
        var ids: [StreamID] = []
        ids.reserveCapacity(context.argumentCount - 2)
        for index in 2..<context.argumentCount { ids.append(try parseID(context, index, strict: true)) }
        let removed = try context.database.streamModify(key, nowMilliseconds: context.nowMilliseconds) { stream in
            stream.delete(ids)
        } ?? 0
        context.reply.integer(Int64(removed))
        if removed > 0 { context.keyModified(key) }
    }

    private static func xsetid(_ context: CommandContext) throws {
        let id = try parseID(context, 2, strict: true)
        var entriesAdded: UInt64?
        var maxDeletedID: StreamID?
        try context.forEachOptionPair(from: 3) { index in
            if context.argument(index, is: "entriesadded") {
                let value = try context.integer(index + 1)
                guard value >= 0 else { throw RedisError.negativeEntriesAdded }
                entriesAdded = UInt64(value)
            } else if context.argument(index, is: "maxdeletedid") {
                maxDeletedID = try parseID(context, index + 1, strict: true)
            } else {
                return false
            }
            return true
        }
        try Stream.validateSetLastIDArguments(id, maxDeletedEntryID: maxDeletedID)
        let key = context.bytes(1)
        let done: Void? = try context.database.streamModify(key, nowMilliseconds: context.nowMilliseconds) { stream in
            try stream.setLastID(id, entriesAdded: entriesAdded, maxDeletedEntryID: maxDeletedID)
        }
        guard done != nil else { throw RedisError.noSuchKey }
        context.reply.simpleString("OK")
        context.keyModified(key)
    }

    private static func range(_ context: CommandContext, reverse: Bool) throws {
        let (startIndex, endIndex) = reverse ? (3, 2) : (2, 3)
        let start = try context.arguments[startIndex].withUnsafeReadableBytes { bytes throws(StreamError) in
            try StreamID.parseRangeStart(bytes)
        }
        let end = try context.arguments[endIndex].withUnsafeReadableBytes { bytes throws(StreamError) in
            try StreamID.parseRangeEnd(bytes)
        }
        var count: Int64 = -1
        var index = 4
        while index < context.argumentCount {
            guard context.argument(index, is: "count"), index + 1 < context.argumentCount else {
                throw RedisError.syntax
            }
            count = max(0, try context.integer(index + 1))
            index += 2
        }
        guard let stream = try context.database.streamGet(context.lookupBytes(1), nowMilliseconds: context.nowMilliseconds)
        else {
            context.reply.arrayHeader(0)
            return
        }
        if count == 0 {
            // Redis answers COUNT 0 with a null array rather than an empty one.
            context.reply.nullArray()
            return
        }
        writeEntries(stream, from: start, to: end, reverse: reverse, limit: count < 0 ? .max : Int(count),
                     to: &context.reply)
    }

    // MARK: XINFO STREAM

    private static func xinfoStream(_ context: CommandContext) throws {
        var full = false
        var fullCount = 10
        if context.argumentCount > 3 {
            let wellFormed = context.argument(3, is: "full")
                && (context.argumentCount == 4 || (context.argumentCount == 6 && context.argument(4, is: "count")))
            guard wellFormed else {
                throw RedisError.unknownSubcommandOrArity(context.string(1), of: "XINFO")
            }
            full = true
            if context.argumentCount == 6 {
                // COUNT 0 lists every entry; a negative COUNT falls back to the default of 10.
                let count = try context.integer(5)
                fullCount = count == 0 ? .max : (count < 0 ? 10 : Int(count))
            }
        }
        guard let stream = try context.database.streamGet(context.bytes(2), nowMilliseconds: context.nowMilliseconds)
        else { throw RedisError.noSuchKey }
        let idempotencyInfo = stream.idempotencyInfo(nowMilliseconds: context.nowMilliseconds)
        context.reply.mapHeader((full ? 9 : 10) + idempotencyInfoFieldCount)
        context.reply.bulkString("length"); context.reply.integer(Int64(stream.length))
        context.reply.bulkString("radix-tree-keys"); context.reply.integer(Int64(stream.nodeCount))
        context.reply.bulkString("radix-tree-nodes"); context.reply.integer(Int64(radixTreeNodeEstimate(stream)))
        context.reply.bulkString("last-generated-id"); writeID(stream.lastID, to: &context.reply)
        context.reply.bulkString("max-deleted-entry-id"); writeID(stream.maxDeletedEntryID, to: &context.reply)
        context.reply.bulkString("entries-added"); context.reply.integer(Int64(stream.entriesAdded))
        context.reply.bulkString("recorded-first-entry-id"); writeID(stream.recordedFirstEntryID, to: &context.reply)
        writeIdempotencyInfo(idempotencyInfo, to: &context.reply)
        if full {
            context.reply.bulkString("entries")
            writeEntries(stream, from: .zero, to: .max, reverse: false, limit: fullCount, to: &context.reply)
            context.reply.bulkString("groups")
            writeFullGroups(stream, limit: fullCount, to: &context.reply)
        } else {
            context.reply.bulkString("groups"); context.reply.integer(Int64(stream.groupCount))
            context.reply.bulkString("first-entry")
            writeSingleEntry(stream, reverse: false, to: &context.reply)
            context.reply.bulkString("last-entry")
            writeSingleEntry(stream, reverse: true, to: &context.reply)
        }
    }

    /// XINFO STREAM FULL's `groups`: each group with its PEL and consumers (Redis 7.2 fields), PEL
    /// lists cut at `limit` entries (`.max` for COUNT 0).
    private static func writeFullGroups(_ stream: Stream, limit: Int, to reply: inout RESPWriter) {
        let pelLimit = limit == .max ? 0 : limit
        reply.arrayHeader(stream.groupCount)
        for group in stream.consumerGroups {
            reply.mapHeader(7)
            reply.bulkString("name"); reply.bulkString(group.name)
            reply.bulkString("last-delivered-id"); writeID(group.lastDeliveredID, to: &reply)
            reply.bulkString("entries-read"); writeOptional(group.entriesRead, to: &reply)
            reply.bulkString("lag"); writeOptional(stream.lag(of: group), to: &reply)
            reply.bulkString("pel-count"); reply.integer(Int64(group.pendingCount))
            reply.bulkString("pending")
            let pending = group.pendingEntries(limit: pelLimit)
            reply.arrayHeader(pending.count)
            for entry in pending {
                reply.arrayHeader(4)
                writeID(entry.id, to: &reply)
                reply.bulkString(entry.consumer)
                reply.integer(entry.deliveryTime)
                reply.integer(Int64(bitPattern: entry.deliveryCount))
            }
            let consumers = group.consumers
            reply.bulkString("consumers")
            reply.arrayHeader(consumers.count)
            for consumer in consumers {
                reply.mapHeader(5)
                reply.bulkString("name"); reply.bulkString(consumer.name)
                reply.bulkString("seen-time"); reply.integer(consumer.seenTime)
                reply.bulkString("active-time"); reply.integer(consumer.activeTime)
                reply.bulkString("pel-count"); reply.integer(Int64(consumer.pendingCount))
                reply.bulkString("pending")
                let owned = group.pendingEntries(ofConsumer: consumer.name, limit: pelLimit)
                reply.arrayHeader(owned.count)
                for entry in owned {
                    reply.arrayHeader(3)
                    writeID(entry.id, to: &reply)
                    reply.integer(entry.deliveryTime)
                    reply.integer(Int64(bitPattern: entry.deliveryCount))
                }
            }
        }
    }

    /// An integer, or a null when it is unknown (entries-read, lag).
    private static func writeOptional(_ value: Int64?, to reply: inout RESPWriter) {
        if let value { reply.integer(value) } else { reply.nullBulkString() }
    }

    // MARK: XINFO GROUPS, XINFO CONSUMERS

    private static func xinfoGroups(_ context: CommandContext) throws {
        guard let stream = try context.database.streamGet(context.bytes(2), nowMilliseconds: context.nowMilliseconds)
        else { throw RedisError.noSuchKey }
        context.reply.arrayHeader(stream.groupCount)
        for group in stream.consumerGroups {
            let showsPolicy = ConsumerGroupCommands.showsGroupPolicy(group)
            context.reply.mapHeader(showsPolicy ? 10 : 6)
            context.reply.bulkString("name"); context.reply.bulkString(group.name)
            context.reply.bulkString("consumers"); context.reply.integer(Int64(group.consumerCount))
            context.reply.bulkString("pending"); context.reply.integer(Int64(group.pendingCount))
            context.reply.bulkString("last-delivered-id"); writeID(group.lastDeliveredID, to: &context.reply)
            context.reply.bulkString("entries-read"); writeOptional(group.entriesRead, to: &context.reply)
            context.reply.bulkString("lag"); writeOptional(stream.lag(of: group), to: &context.reply)
            if showsPolicy { ConsumerGroupCommands.writeGroupPolicyFields(group, to: &context.reply) }
        }
    }

    /// Redis 7.2's form: `idle` is the time since the last attempted interaction, `inactive` since
    /// the last successful one (-1 if none).
    private static func xinfoConsumers(_ context: CommandContext) throws {
        let key = context.bytes(2)
        let groupName = context.bytes(3)
        guard let stream = try context.database.streamGet(key, nowMilliseconds: context.nowMilliseconds)
        else { throw RedisError.noSuchKey }
        guard let group = stream.group(named: groupName) else {
            throw RedisError.noSuchGroup(groupName, key: key)
        }
        let now = context.nowMilliseconds
        let consumers = group.consumers
        context.reply.arrayHeader(consumers.count)
        for consumer in consumers {
            context.reply.mapHeader(4)
            context.reply.bulkString("name"); context.reply.bulkString(consumer.name)
            context.reply.bulkString("pending"); context.reply.integer(Int64(consumer.pendingCount))
            context.reply.bulkString("idle"); context.reply.integer(max(0, now - consumer.seenTime))
            context.reply.bulkString("inactive")
            context.reply.integer(consumer.activeTime == -1 ? -1 : now - consumer.activeTime)
        }
    }

    /// Redis reports the node count of its radix tree, which depends on rax internals Rill does not have; one
    /// inner node per stored block plus the root is the shape a rax of distinct 16-byte keys tends towards.
    private static func radixTreeNodeEstimate(_ stream: Stream) -> Int {
        stream.nodeCount == 0 ? 1 : stream.nodeCount + 1
    }

    private static func writeSingleEntry(_ stream: Stream, reverse: Bool, to reply: inout RESPWriter) {
        var written = false
        stream.forEachEntry(reverse: reverse, limit: 1) { id, fields in
            writeEntry(id, fields, to: &reply)
            written = true
        }
        if !written { reply.nullBulkString() }
    }

    // MARK: XREAD

    /// The options XREAD and XREADGROUP share, parsed by one function as Redis does:
    /// `[COUNT n] [MAXCOUNT n] [MAXSIZE n] [BLOCK ms] [GROUP g c] [NOACK] STREAMS key ... id ...`.
    struct ReadOptions {
        /// COUNT; 0 means no limit.
        var count = 0
        /// MAXCOUNT and MAXSIZE (Redis 8.10).
        var caps = ReadReplyCaps()
        /// BLOCK in milliseconds (0 = forever); nil when not blocking.
        var timeout: Int64?
        var groupAndConsumer: (group: [UInt8], consumer: [UInt8])?
        var noAcknowledgement = false
        /// XREADGROUP CLAIM min-idle-time (Redis 8.4); nil without CLAIM.
        var claimMinimumIdle: Int64?
        /// Index of the first key after STREAMS.
        var streamsIndex = 0
    }

    static func parseReadOptions(_ context: CommandContext, forGroup: Bool) throws -> ReadOptions {
        var options = ReadOptions()
        var streamsIndex: Int?
        var index = 1
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            if context.argument(index, is: "block"), remaining >= 1 {
                let value = try context.integer(index + 1, error: .timeoutNotInteger)
                guard value >= 0 else { throw RedisError.timeoutNegative }
                options.timeout = value
                index += 2
            } else if context.argument(index, is: "count"), remaining >= 1 {
                options.count = Int(max(0, try context.integer(index + 1)))
                index += 2
            } else if context.argument(index, is: "maxcount"), remaining >= 1 {
                options.caps.maximumEntries = try ReadReplyCaps.parseLimit(context, index + 1, option: "MAXCOUNT")
                index += 2
            } else if context.argument(index, is: "maxsize"), remaining >= 1 {
                options.caps.maximumBytes = try ReadReplyCaps.parseLimit(context, index + 1, option: "MAXSIZE")
                index += 2
            } else if context.argument(index, is: "streams"), remaining >= 1 {
                streamsIndex = index + 1
                break
            } else if context.argument(index, is: "group"), remaining >= 2 {
                guard forGroup else {
                    throw RedisError.groupOptionInXread
                }
                // Buffers 1 and 2: the keys of the streams use buffer 0.
                options.groupAndConsumer = (context.lookupBytes(index + 1, buffer: 1),
                                            context.lookupBytes(index + 2, buffer: 2))
                index += 3
            } else if context.argument(index, is: "noack") {
                guard forGroup else {
                    throw RedisError.noAckOptionInXread
                }
                options.noAcknowledgement = true
                index += 1
            } else if forGroup, context.argument(index, is: "claim"), remaining >= 1 {
                options.claimMinimumIdle = try ConsumerGroupCommands.parseClaimMinimumIdle(context, index + 1)
                index += 2
            } else {
                throw RedisError.syntax
            }
        }
        guard let streamsIndex else { throw RedisError.syntax }
        // A total smaller than the per-stream COUNT would make COUNT meaningless: Redis refuses it.
        if let maximumEntries = options.caps.maximumEntries, options.count > maximumEntries {
            throw RedisError.maxCountBelowCount
        }
        guard (context.argumentCount - streamsIndex) % 2 == 0 else {
            throw forGroup
                ? RedisError.unbalancedXreadgroupStreams
                : RedisError.unbalancedXreadStreams
        }
        if forGroup && options.groupAndConsumer == nil { throw RedisError.missingGroupOption }
        options.streamsIndex = streamsIndex
        return options
    }

    private static func xread(_ context: CommandContext) throws {
        let options = try parseReadOptions(context, forGroup: false)
        let streamCount = (context.argumentCount - options.streamsIndex) / 2
        // One stream, the usual case, needs no array of reads.
        if streamCount == 1 {
            try read(context, CollectionOfOne(try resolveRead(context, options, streamCount: 1, offset: 0)), options)
            return
        }
        var reads: [StreamRead] = []
        reads.reserveCapacity(streamCount)
        for offset in 0..<streamCount {
            reads.append(try resolveRead(context, options, streamCount: streamCount, offset: offset))
        }
        try read(context, reads, options)
    }

    /// The key and starting point of stream `offset` of an XREAD (`$` and `+` resolved against the stream now).
    private static func resolveRead(_ context: CommandContext, _ options: ReadOptions, streamCount: Int,
                                    offset: Int) throws -> StreamRead {
        let key = context.lookupBytes(options.streamsIndex + offset)
        let idIndex = options.streamsIndex + streamCount + offset
        let stream = try context.database.streamGet(key, nowMilliseconds: context.nowMilliseconds)
        let after: StreamID
        var onlyLast = false
        if context.argument(idIndex, is: "$") {
            after = stream?.lastID ?? .zero
        } else if context.argument(idIndex, is: "+") {
            // Redis 7.4: "+" reads the stream's last entry, or waits like "$" when there is none.
            if let last = stream?.lastEntryID {
                after = last.previous ?? .zero
                onlyLast = true
            } else {
                after = stream?.lastID ?? .zero
            }
        } else if context.argument(idIndex, is: ">") {
            throw RedisError.newEntriesIDWithoutGroup
        } else {
            after = try parseID(context, idIndex, strict: true)
        }
        return StreamRead(key: key, after: after, onlyLast: onlyLast)
    }

    /// Answers an XREAD whose reads are resolved, or blocks it (BLOCK) when nothing is ready.
    private static func read<Reads: Collection<StreamRead>>(_ context: CommandContext, _ reads: Reads,
                                                            _ options: ReadOptions) throws {
        let (count, timeout, caps) = (options.count, options.timeout, options.caps)
        let limit = count == 0 ? Int.max : count
        if try serveRead(context, reads, limit: limit, caps: caps, waiting: false) { return }
        guard let timeout else {
            context.reply.nullArray()
            return
        }
        // Entries that arrive later start after the ids resolved now ("$" means "after what exists now").
        let waiting = reads.map { StreamRead(key: $0.key, after: $0.after, onlyLast: false) }
        context.block(keys: waiting.map(\.key), timeoutMilliseconds: timeout, retry: { context in
            do {
                return try serveRead(context, waiting, limit: limit, caps: caps, waiting: true)
            } catch {
                context.replyError(RedisError.from(error))
                return true
            }
        }, onTimeout: { context in
            context.reply.nullArray()
        })
    }

    struct StreamRead {
        let key: [UInt8]
        /// Entries strictly after this id are returned.
        let after: StreamID
        /// XREAD "+": only the single last entry.
        let onlyLast: Bool
    }

    /// Writes the XREAD reply if any stream has live entries after its id; returns false (writing nothing) otherwise.
    /// A blocked reader (`waiting`) whose key now holds another type keeps waiting, as in Redis 8: it is served once
    /// the key is a stream again with entries after its id.
    private static func serveRead<Reads: Collection<StreamRead>>(
        _ context: CommandContext, _ reads: Reads, limit: Int, caps: ReadReplyCaps, waiting: Bool
    ) throws -> Bool {
        // The first ready stream is held apart: a read of one stream then builds no array.
        var firstReady: (read: StreamRead, stream: Stream, limit: Int)?
        var laterReady: [(read: StreamRead, stream: Stream, limit: Int)] = []
        var budget = ReadReplyBudget(caps)
        for read in reads {
            let found: Stream?
            do {
                found = try context.database.streamGet(read.key, nowMilliseconds: context.nowMilliseconds)
            } catch {
                if waiting, case .wrongType = error { continue }
                throw error
            }
            // The newest live entry, not `lastID`, decides: entries deleted after the id (or an XSETID past the
            // last entry) leave nothing to read. `lastID` first, as the cheap test that rules most streams out.
            guard let stream = found, stream.lastID > read.after,
                  let newest = stream.lastEntryID, newest > read.after else { continue }
            var streamLimit = read.onlyLast ? 1 : limit
            if budget.isActive {
                streamLimit = budget.admitEntries(after: read.after, limit: budget.entryLimit(count: streamLimit),
                                                  of: stream)
                // The caps are reached: this stream and every later one are left out.
                if streamLimit == 0 { break }
            }
            if firstReady == nil {
                firstReady = (read, stream, streamLimit)
            } else {
                laterReady.append((read, stream, streamLimit))
            }
        }
        guard let firstReady else { return false }
        // RESP3: a map of key to entries; RESP2: an array of [key, entries] pairs.
        let isMap = context.reply.version == .v3
        let readyCount = 1 + laterReady.count
        if isMap { context.reply.mapHeader(readyCount) } else { context.reply.arrayHeader(readyCount) }
        func write(_ read: StreamRead, _ stream: Stream, _ streamLimit: Int) {
            if !isMap { context.reply.arrayHeader(2) }
            context.reply.bulkString(read.key)
            let start = read.after.next ?? .max
            writeEntries(stream, from: start, to: .max, reverse: false, limit: streamLimit, to: &context.reply)
        }
        write(firstReady.read, firstReady.stream, firstReady.limit)
        for (read, stream, streamLimit) in laterReady { write(read, stream, streamLimit) }
        return true
    }

    // MARK: Reply encoding

    /// An array of `[id, [field, value, ...]]` entries.
    static func writeEntries(_ stream: Stream, from start: StreamID, to end: StreamID, reverse: Bool, limit: Int,
                             to reply: inout RESPWriter) {
        // The stream's length bounds the count, and is the count whenever the range covers it or the limit is hit.
        reply.arrayHeader(expectedCount: Swift.max(0, Swift.min(limit, Int(clamping: stream.length)))) { reply in
            stream.forEachEntry(from: start, to: end, reverse: reverse, limit: limit) { id, fields in
                writeEntry(id, fields, to: &reply)
            }
        }
    }

    static func writeEntry(_ id: StreamID, _ fields: StreamEntryFields, to reply: inout RESPWriter) {
        reply.arrayHeader(2)
        writeID(id, to: &reply)
        reply.arrayHeader(fields.count * 2)
        for (field, value) in fields {
            writeFieldValue(field, to: &reply)
            writeFieldValue(value, to: &reply)
        }
    }

    @inline(__always)
    static func writeFieldValue(_ value: StreamFieldValue, to reply: inout RESPWriter) {
        switch value {
        case .bytes(let bytes): reply.bulkString(bytes)
        case .integer(let integer): reply.bulkString(decimal: integer)
        }
    }

    @inline(__always)
    static func writeID(_ id: StreamID, to reply: inout RESPWriter) {
        id.withASCIIBytes { reply.bulkString($0) }
    }
}
