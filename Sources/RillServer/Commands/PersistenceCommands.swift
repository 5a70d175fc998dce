import NIOCore
import RillCore
import RillPersistence
import RillProtocol

/// Snapshots (SAVE, BGSAVE, LASTSAVE), append-only rewriting (BGREWRITEAOF) and single-key serialisation (DUMP, RESTORE).
enum PersistenceCommands {
    static let all: [Command] = [
        Command("save", arity: 1, flags: [.admin, .noScript, .noAsyncLoading, .noMulti],
                group: "server", summary: "Synchronously saves the database(s) to disk.") { context in
            guard !context.persistence.snapshots.backgroundSaveInProgress else {
                throw RedisError.backgroundSaveInProgress
            }
            guard context.persistence.saveSynchronously() else { throw RedisError.saveFailed }
            context.reply.simpleString("OK")
        },
        Command("bgsave", arity: -1, flags: [.admin, .noScript, .noAsyncLoading],
                group: "server", summary: "Asynchronously saves the database(s) to disk.") { context in
            guard context.argumentCount == 1 || (context.argumentCount == 2 && context.argument(1, is: "schedule")) else {
                throw RedisError.syntax
            }
            let persistence = context.persistence
            let executingTransaction = context.control.executingTransaction
            guard !persistence.snapshots.backgroundSaveInProgress else {
                throw RedisError.backgroundSaveInProgress
            }
            // One background job at a time, as Redis runs one child process; inside EXEC the copy would hold half
            // of the transaction.
            if persistence.appendOnlyRewrite.inProgress || executingTransaction {
                guard context.argumentCount == 2 || executingTransaction else {
                    throw RedisError.backgroundSaveBehindChild
                }
                persistence.snapshots.backgroundSaveScheduled = true
                context.reply.simpleString("Background saving scheduled")
                return
            }
            persistence.startBackgroundSave()
            context.reply.simpleString("Background saving started")
        },
        Command("bgrewriteaof", arity: 1, flags: [.admin, .noScript, .noAsyncLoading],
                group: "server", since: "1.0.0", summary: "Asynchronously rewrites the append-only file to disk.") { context in
            switch context.persistence.requestAppendOnlyRewrite() {
            case .started: context.reply.simpleString("Background append only file rewriting started")
            case .scheduled: context.reply.simpleString("Background append only file rewriting scheduled")
            case .alreadyInProgress: throw RedisError.appendOnlyRewriteInProgress
            case .failed:
                throw RedisError.appendOnlyRewriteFailed
            }
        },
        Command("lastsave", arity: 1, flags: [.loading, .stale, .fast], categories: ["admin", "dangerous"],
                group: "server", summary: "Returns the Unix timestamp of the last successful save to disk.") { context in
            context.reply.integer(context.persistence.snapshots.lastSaveSeconds)
        },
        Command("dump", arity: 2, flags: [.readonly], keys: (1, 1, 1), categories: ["keyspace"],
                group: "generic", since: "2.6.0", summary: "Returns a serialized representation of the value stored at a key.") { context in
            // A read as Redis makes it: counts a keyspace hit or miss and records the access.
            guard let value = context.database.value(forKey: context.bytes(1), nowMilliseconds: context.nowMilliseconds) else {
                context.reply.nullBulkString()
                return
            }
            context.reply.bulkString(DumpPayload.encode(value))
        },
        Command("restore", arity: -4, flags: [.write, .denyOOM], keys: (1, 1, 1),
                categories: ["keyspace", "dangerous"], group: "generic", since: "2.6.0",
                summary: "Creates a key from the serialized representation of a value.", handler: restore),
    ]

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency], with Redis' checks in
    /// Redis' order: options, TTL, existing key, payload trailer, payload body. IDLETIME sets the key's access
    /// time (OBJECT IDLETIME); FREQ is validated and otherwise ignored (Rill has no LFU policy).
    private static func restore(_ context: CommandContext) throws {
        var replace = false
        var absolute = false
        var sawIdleTime = false
        var idleSeconds: Int64?
        var sawFrequency = false
        var index = 4
        while index < context.argumentCount {
            let more = index + 1 < context.argumentCount
            if context.argument(index, is: "replace") {
                replace = true
            } else if context.argument(index, is: "absttl") {
                absolute = true
            } else if context.argument(index, is: "idletime"), more, !sawFrequency {
                let idle = try context.integer(index + 1)
                guard idle >= 0 else { throw RedisError.invalidIdleTime }
                sawIdleTime = true
                idleSeconds = idle
                index += 1
            } else if context.argument(index, is: "freq"), more, !sawIdleTime {
                let frequency = try context.integer(index + 1)
                guard (0...255).contains(frequency) else {
                    throw RedisError.invalidFrequency
                }
                sawFrequency = true
                index += 1
            } else {
                throw RedisError.syntax
            }
            index += 1
        }
        let ttl = try context.integer(2)
        guard ttl >= 0 else { throw RedisError.invalidTTL }
        let key = context.bytes(1)
        let now = context.nowMilliseconds
        if !replace && context.database.exists(key, nowMilliseconds: now) {
            throw RedisError.targetKeyExists
        }
        let payload = context.bytes(3)
        let value: RedisValue
        do {
            value = try DumpPayload.decode(payload)
        } catch {
            switch error {
            case .badFooter: throw RedisError.badDumpPayload
            case .corrupt: throw RedisError.badDataFormat
            case .unsupportedType(let name): throw RedisError.unsupportedDumpPayloadType(name)
            }
        }
        var deadline: Int64?
        if ttl > 0 {
            let (sum, overflow) = now.addingReportingOverflow(ttl)
            deadline = absolute ? ttl : (overflow ? Int64.max : sum)
        }
        let existed = context.database.delete(key, nowMilliseconds: now)
        if let deadline, deadline <= now, !context.database.isExpiryPaused {
            // Already expired (ABSTTL in the past): nothing is stored, as in Redis.
            if existed { context.keyModified(key) }
            context.reply.simpleString("OK")
            context.propagate(effects: existed ? [Propagation.delete(key)] : [])
            return
        }
        let lastAccess = idleSeconds.map { AccessClock.reading(idleSeconds: $0, nowMilliseconds: now) }
        _ = context.database.insertLoaded(value, forKey: key, deadline: deadline, lastAccess: lastAccess)
        context.keyModified(key)
        context.reply.simpleString("OK")
        if let deadline, !absolute {
            // The TTL as an absolute deadline, so that a later replay gives the same one.
            context.propagate(Array(context.arguments[0..<2]) + [ByteBuffer(string: String(deadline))]
                              + context.arguments[3...] + [ByteBuffer(string: "ABSTTL")])
        }
    }
}
