import NIOCore
import RillCore
import RillProtocol

/// Generic key commands (DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, the EXPIRE/TTL family) and the small string and set
/// types that scripts mixing types expect (lists: ListCommands.swift).
enum KeyspaceCommands {
    static var all: [Command] { generic + expiry + strings + sets }

    // MARK: Generic

    private static let generic: [Command] = [
        Command("del", arity: -2, flags: [.write], keys: (1, -1, 1), categories: ["keyspace"],
                group: "generic", summary: "Deletes one or more keys.", handler: delete),
        Command("unlink", arity: -2, flags: [.write, .fast], keys: (1, -1, 1),
                categories: ["keyspace"], group: "generic", since: "4.0.0",
                summary: "Asynchronously deletes one or more keys.", handler: delete),
        Command("exists", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1),
                categories: ["keyspace"], group: "generic",
                summary: "Determines whether one or more keys exist.") { context in
            replyKeyCount(context) { context.database.exists($0, nowMilliseconds: context.nowMilliseconds) }
        },
        Command("type", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["keyspace"],
                group: "generic", summary: "Determines the type of value stored at a key.") { context in
            let type = context.database.type(ofKey: context.bytes(1), nowMilliseconds: context.nowMilliseconds)
            context.reply.simpleString((type?.name ?? "none").utf8)
        },
        Command("keys", arity: 2, flags: [.readonly], categories: ["keyspace", "dangerous"],
                group: "generic", summary: "Returns all key names that match a pattern.") { context in
            let keys = context.database.keys(matching: GlobPattern(context.bytes(1)),
                                             nowMilliseconds: context.nowMilliseconds)
            context.reply.bulkStrings(keys)
        },
        Command("scan", arity: -2, flags: [.readonly], categories: ["keyspace"], group: "generic",
                since: "2.8.0", summary: "Iterates over the key names in the database.", handler: scan),
        Command("rename", arity: 3, flags: [.write], keys: (1, 2, 1), categories: ["keyspace"],
                group: "generic", summary: "Renames a key and overwrites the destination.") { context in
            let (source, destination) = (context.bytes(1), context.bytes(2))
            try context.database.rename(source, to: destination, nowMilliseconds: context.nowMilliseconds)
            context.reply.simpleString("OK")
            // One change, as Redis counts a rename; both keys are written (WATCH, blocked clients).
            context.keyModified(source)
            context.keyModified(destination, changes: 0)
        },
        Command("renamenx", arity: 3, flags: [.write, .fast], keys: (1, 2, 1),
                categories: ["keyspace"], group: "generic",
                summary: "Renames a key only when the target key name doesn't exist.") { context in
            let (source, destination) = (context.bytes(1), context.bytes(2))
            let moved = try context.database.renameIfAbsent(source, to: destination,
                                                            nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(moved ? 1 : 0)
            if moved {
                context.keyModified(source)
                context.keyModified(destination, changes: 0)
            }
        },
    ]

    private static func delete(_ context: CommandContext) throws {
        var removed: Int64 = 0
        for index in 1..<context.argumentCount {
            let key = context.bytes(index)
            if context.database.delete(key, nowMilliseconds: context.nowMilliseconds) {
                removed += 1
                context.keyModified(key)
            }
        }
        context.reply.integer(removed)
    }

    private static func scan(_ context: CommandContext) throws {
        guard let cursor = context.arguments[1].withUnsafeReadableBytes({ parseCursor($0) }) else {
            throw RedisError.invalidCursor
        }
        var count = 10
        var pattern: GlobPattern?
        var typeName: [UInt8]?
        try context.forEachOptionPair(from: 2) { index in
            if context.argument(index, is: "count") {
                let value = try context.integer(index + 1)
                guard value >= 1 else { throw RedisError.syntax }
                count = Int(value)
            } else if context.argument(index, is: "match") {
                pattern = GlobPattern(context.bytes(index + 1))
            } else if context.argument(index, is: "type") {
                typeName = context.bytes(index + 1)
            } else {
                return false
            }
            return true
        }
        let (next, keys) = context.database.scan(cursor: cursor, count: count, pattern: pattern, typeName: typeName,
                                                 nowMilliseconds: context.nowMilliseconds)
        context.reply.arrayHeader(2)
        context.reply.bulkString(String(next))
        context.reply.bulkStrings(keys)
    }

    /// SCAN cursors are unsigned 64-bit decimals (Redis parses them with strtoull and rejects trailing bytes).
    private static func parseCursor(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    // MARK: Expiry

    private static let expiry: [Command] = [
        expireCommand("expire", since: "1.0.0", summary: "Sets the expiration time of a key in seconds.",
                      ExpireTime.relativeSeconds),
        expireCommand("pexpire", since: "2.6.0", summary: "Sets the expiration time of a key in milliseconds.",
                      ExpireTime.relativeMilliseconds),
        expireCommand("expireat", since: "1.2.0", summary: "Sets the expiration time of a key to a Unix timestamp.",
                      ExpireTime.unixSeconds),
        expireCommand("pexpireat", since: "2.6.0",
                      summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.",
                      ExpireTime.unixMilliseconds),
        ttlCommand("ttl", since: "1.0.0", summary: "Returns the expiration time in seconds of a key.",
                   milliseconds: false, absolute: false),
        ttlCommand("pttl", since: "2.6.0", summary: "Returns the expiration time in milliseconds of a key.",
                   milliseconds: true, absolute: false),
        ttlCommand("expiretime", since: "7.0.0", summary: "Returns the expiration time of a key as a Unix timestamp.",
                   milliseconds: false, absolute: true),
        ttlCommand("pexpiretime", since: "7.0.0",
                   summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.",
                   milliseconds: true, absolute: true),
        Command("persist", arity: 2, flags: [.write, .fast], keys: (1, 1, 1), categories: ["keyspace"],
                group: "generic", since: "2.2.0", summary: "Removes the expiration time of a key.") { context in
            let key = context.bytes(1)
            let removed = context.database.persist(key, nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(removed ? 1 : 0)
            if removed { context.keyModified(key) }
        },
    ]

    private static func expireCommand(_ name: String, since: String, summary: String,
                                      _ time: @escaping (Int64) -> ExpireTime) -> Command {
        Command(name, arity: -3, flags: [.write, .fast], keys: (1, 1, 1), categories: ["keyspace"],
                group: "generic", since: since, summary: summary) { context in
            // Options are checked before the time, as Redis does.
            let condition = try ExpireCondition(
                parsing: (3..<context.argumentCount).map { context.bytes($0) })
            let amount = try context.integer(2)
            let key = context.bytes(1)
            let now = context.nowMilliseconds
            let deadline = try time(amount).deadlineForExpire(nowMilliseconds: now)
            let applied = context.database.setExpiry(key, deadline: deadline, condition: condition,
                                                     nowMilliseconds: now)
            context.reply.integer(applied ? 1 : 0)
            if applied { context.keyModified(key) }
            // The deadline in absolute milliseconds; one already past deleted the key.
            context.propagate(effects: !applied ? []
                : deadline <= now ? [Propagation.delete(key)]
                : [Propagation.command(["PEXPIREAT"], [ByteBuffer(bytes: key), ByteBuffer(string: String(deadline))])])
        }
    }

    private static func ttlCommand(_ name: String, since: String, summary: String, milliseconds: Bool,
                                   absolute: Bool) -> Command {
        Command(name, arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["keyspace"],
                group: "generic", since: since, summary: summary) { context in
            let expiry = context.database.expiry(ofKey: context.bytes(1), nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(expiry.reply(inMilliseconds: milliseconds, absolute: absolute,
                                               nowMilliseconds: context.nowMilliseconds))
        }
    }

    // MARK: Strings

    private static let strings: [Command] = [
        Command("get", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["string"],
                group: "string", summary: "Returns the string value of a key.") { context in
            if let value = try context.database.stringGet(context.bytes(1), nowMilliseconds: context.nowMilliseconds) {
                context.reply.bulkString(value)
            } else {
                context.reply.nullBulkString()
            }
        },
        Command("strlen", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["string"],
                group: "string", since: "2.2.0", summary: "Counts the bytes of a string value.") { context in
            let value = try context.database.stringGet(context.bytes(1), nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(Int64(value?.count ?? 0))
        },
        Command("set", arity: -3, flags: [.write, .denyOOM], keys: (1, 1, 1), categories: ["string"],
                group: "string",
                summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
                handler: set),
        incrementCommand("incr", summary: "Increments the integer value of a key by one.") { _ in 1 },
        incrementCommand("decr", summary: "Decrements the integer value of a key by one.") { _ in -1 },
        incrementCommand("incrby", arity: 3, summary: "Increments the integer value of a key by a number.") {
            try $0.integer(2)
        },
        Command("decrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["string"], group: "string",
                summary: "Decrements a number from the integer value of a key.") { context in
            let key = context.bytes(1)
            let value = try context.database.stringDecrement(key, by: try context.integer(2),
                                                             nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(value)
            context.keyModified(key)
        },
    ]

    private static func incrementCommand(_ name: String, arity: Int = 2, summary: String,
                                         _ amount: @escaping (CommandContext) throws -> Int64) -> Command {
        Command(name, arity: arity, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["string"], group: "string", summary: summary) { context in
            let key = context.bytes(1)
            let value = try context.database.stringIncrement(key, by: try amount(context),
                                                             nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(value)
            context.keyModified(key)
        }
    }

    /// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]
    /// Replies how many of the key arguments (repeats counted each time) satisfy `test` (EXISTS, TOUCH).
    static func replyKeyCount(_ context: CommandContext, where test: ([UInt8]) -> Bool) {
        var found: Int64 = 0
        for index in 1..<context.argumentCount where test(context.bytes(index)) { found += 1 }
        context.reply.integer(found)
    }

    private static func set(_ context: CommandContext) throws {
        var options = SetStringOptions()
        var hasCondition = false
        var hasExpiry = false
        var index = 3
        while index < context.argumentCount {
            let hasValue = index + 1 < context.argumentCount
            if context.argument(index, is: "nx") || context.argument(index, is: "xx") {
                guard !hasCondition else { throw RedisError.syntax }
                hasCondition = true
                options.condition = context.argument(index, is: "nx") ? .ifAbsent : .ifPresent
                index += 1
            } else if context.argument(index, is: "get") {
                options.returnPrevious = true
                index += 1
            } else if context.argument(index, is: "keepttl") {
                guard !hasExpiry else { throw RedisError.syntax }
                hasExpiry = true
                options.expiry = .keep
                index += 1
            } else if hasValue, let form = expiryForm(context, index) {
                guard !hasExpiry else { throw RedisError.syntax }
                hasExpiry = true
                options.expiry = .set(form(try context.integer(index + 1)))
                index += 2
            } else {
                throw RedisError.syntax
            }
        }
        let key = context.bytes(1)
        let result = try context.database.stringSet(context.bytes(2), forKey: key, options: options,
                                                    nowMilliseconds: context.nowMilliseconds)
        if options.returnPrevious {
            if let previous = result.previous { context.reply.bulkString(previous) } else { context.reply.nullBulkString() }
        } else if result.written {
            context.reply.simpleString("OK")
        } else {
            context.reply.nullBulkString()
        }
        if result.written { context.keyModified(key) }
        if case .set(let time) = options.expiry {
            // The deadline in absolute milliseconds (one already past is reclaimed, and its DEL recorded, later).
            let deadline = (try? time.deadlineForSet(nowMilliseconds: context.nowMilliseconds)) ?? 0
            context.propagate(effects: !result.written ? [] : [
                [ByteBuffer(string: "SET"), ByteBuffer(bytes: key), context.arguments[2], ByteBuffer(string: "PXAT"),
                 ByteBuffer(string: String(deadline))],
            ])
        }
    }

    private static func expiryForm(_ context: CommandContext, _ index: Int) -> ((Int64) -> ExpireTime)? {
        if context.argument(index, is: "ex") { return ExpireTime.relativeSeconds }
        if context.argument(index, is: "px") { return ExpireTime.relativeMilliseconds }
        if context.argument(index, is: "exat") { return ExpireTime.unixSeconds }
        if context.argument(index, is: "pxat") { return ExpireTime.unixMilliseconds }
        return nil
    }

    // MARK: Sets

    private static let sets: [Command] = [
        Command("sadd", arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["set"], group: "set",
                summary: "Adds one or more members to a set. Creates the key if it doesn't exist.") { context in
            let key = context.bytes(1)
            let added = try context.database.setAdd((2..<context.argumentCount).map { context.bytes($0) },
                                                    forKey: key, nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(Int64(added))
            if added > 0 { context.keyModified(key) }
        },
        Command("srem", arity: -3, flags: [.write, .fast], keys: (1, 1, 1), categories: ["set"],
                group: "set", summary: "Removes one or more members from a set. Deletes the set if the last member was removed.") { context in
            let key = context.bytes(1)
            let removed = try context.database.setRemove((2..<context.argumentCount).map { context.bytes($0) },
                                                         forKey: key, nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(Int64(removed))
            if removed > 0 { context.keyModified(key) }
        },
        Command("smembers", arity: 2, flags: [.readonly], keys: (1, 1, 1), categories: ["set"],
                group: "set", summary: "Returns all members of a set.") { context in
            let members = try context.database.setMembers(forKey: context.bytes(1),
                                                          nowMilliseconds: context.nowMilliseconds)
            context.reply.bulkStrings(members, asSet: true)
        },
        Command("scard", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["set"],
                group: "set", summary: "Returns the number of members in a set.") { context in
            context.reply.integer(Int64(try context.database.setCardinality(forKey: context.bytes(1),
                                                                            nowMilliseconds: context.nowMilliseconds)))
        },
        Command("sismember", arity: 3, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["set"],
                group: "set", summary: "Determines whether a member belongs to a set.") { context in
            let isMember = try context.database.setIsMember(context.bytes(2), forKey: context.bytes(1),
                                                            nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(isMember ? 1 : 0)
        },
    ]
}
