#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import RillCore
import RillPersistence

/// What an operator asks about keys and memory: OBJECT, MEMORY, TOUCH, and DEBUG (behind `enable-debug-command`).
///
/// OBJECT, MEMORY USAGE and DEBUG OBJECT look keys up without recording an access (Redis' LOOKUP_NOTOUCH), so asking
/// how long a key was idle does not reset it.
enum IntrospectionCommands {
    static let all: [Command] = [
        Command("object", arity: -2, flags: [], group: "generic", since: "2.2.3",
                summary: "Subcommands that describe how a key's value is held.", subcommands: objectSubcommands) { _ in },
        Command("memory", arity: -2, flags: [], group: "server", since: "4.0.0",
                summary: "Subcommands that report and manage the server's memory.", subcommands: memorySubcommands) { _ in },
        Command("touch", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1), categories: ["keyspace"],
                group: "generic", since: "3.2.1",
                summary: "Marks keys as just used and counts how many of them exist.") { context in
            KeyspaceCommands.replyKeyCount(context) { context.database.touch($0, nowMilliseconds: context.nowMilliseconds) }
        },
        Command("debug", arity: -2, flags: [.admin, .noScript, .loading, .stale, .protected], group: "server",
                since: "1.0.0", summary: "Subcommands for testing and inspecting the server (enable-debug-command).", handler: debug),
    ]

    /// The key's value and access clock without touching it, or nil (after writing the null reply) when absent.
    private static func inspectedKey(_ context: CommandContext, at index: Int) -> (value: RedisValue, lastAccess: UInt32)? {
        guard let found = context.database.inspect(context.bytes(index), nowMilliseconds: context.nowMilliseconds) else {
            context.reply.nullBulkString()
            return nil
        }
        return found
    }

    /// The encoding Redis would report for the value stored under argument `index`.
    private static func encoding(of value: RedisValue, _ context: CommandContext, keyAt index: Int) -> ValueEncoding {
        let key = context.bytes(index)
        let hasDeadline = context.database.storedEntry(forKey: key)?.deadline != nil
        return value.encoding(keyLength: key.count, hasDeadline: hasDeadline)
    }

    // MARK: OBJECT

    private static let objectSubcommands: [Command] = [
        Command("object|encoding", arity: 3, flags: [.readonly], keys: (2, 2, 1), categories: ["keyspace"],
                group: "generic", since: "2.2.3",
                summary: "Names the encoding of a key's value.") { context in
            guard let (value, _) = inspectedKey(context, at: 2) else { return }
            context.reply.bulkString(encoding(of: value, context, keyAt: 2).rawValue)
        },
        Command("object|freq", arity: 3, flags: [.readonly], keys: (2, 2, 1), categories: ["keyspace"],
                group: "generic", since: "4.0.0",
                summary: "Reports a key's access frequency counter (LFU policies only).") { context in
            guard inspectedKey(context, at: 2) != nil else { return }
            // Rill has no LFU policy (maxmemory-policy is noeviction only), so frequencies are never tracked.
            throw RedisError.frequencyNotTracked
        },
        Command("object|idletime", arity: 3, flags: [.readonly], keys: (2, 2, 1), categories: ["keyspace"],
                group: "generic", since: "2.2.3",
                summary: "Reports the seconds since a key was last used.") { context in
            guard let (_, lastAccess) = inspectedKey(context, at: 2) else { return }
            let idle = AccessClock.idleMilliseconds(since: lastAccess, nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(idle / 1000)
        },
        Command("object|refcount", arity: 3, flags: [.readonly], keys: (2, 2, 1), categories: ["keyspace"],
                group: "generic", since: "2.2.3",
                summary: "Reports how many references a key's value has.") { context in
            guard inspectedKey(context, at: 2) != nil else { return }
            // Each key owns its value (Redis 8 no longer shares small integers between keys either).
            context.reply.integer(1)
        },
        Command("object|help", arity: 2, flags: [.loading, .stale], categories: ["keyspace"], group: "generic",
                since: "6.2.0", summary: "Returns helpful text about the different subcommands.") { context in
            context.replyHelp([
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>", "    The encoding Redis would use for the value of <key>.",
                "FREQ <key>", "    The logarithmic access frequency of <key> (needs an LFU maxmemory-policy, which",
                "    Rill does not have).",
                "IDLETIME <key>", "    Seconds since <key> was last read or written.",
                "REFCOUNT <key>", "    How many references the value of <key> has.",
                "HELP", "    Print this help.",
            ])
        },
    ]

    // MARK: MEMORY

    private static let memorySubcommands: [Command] = [
        Command("memory|usage", arity: -3, flags: [.readonly], keys: (2, 2, 1), group: "server", since: "4.0.0",
                summary: "Estimates the bytes a key and its value take.", handler: memoryUsage),
        Command("memory|stats", arity: 2, flags: [], group: "server", since: "4.0.0",
                summary: "Reports where the server's memory goes.", handler: memoryStats),
        Command("memory|doctor", arity: 2, flags: [], group: "server", since: "4.0.0",
                summary: "Reports what looks wrong in the memory figures.") { context in
            context.reply.verbatimString(doctorReport(context))
        },
        Command("memory|malloc-stats", arity: 2, flags: [], group: "server", since: "4.0.0",
                summary: "Prints the allocator's own statistics.") { context in
            context.reply.verbatimString(Allocator.report())
        },
        Command("memory|purge", arity: 2, flags: [], group: "server", since: "4.0.0",
                summary: "Asks the allocator to return unused pages to the system.") { context in
            Allocator.purge()
            context.reply.simpleString("OK")
        },
        Command("memory|help", arity: 2, flags: [.loading, .stale], group: "server", since: "4.0.0",
                summary: "Returns helpful text about the different subcommands.") { context in
            context.replyHelp([
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR", "    Report what looks wrong in the server's memory figures.",
                "MALLOC-STATS", "    The allocator's (jemalloc) own statistics report.",
                "PURGE", "    Ask the allocator to return unused dirty pages to the system.",
                "STATS", "    Memory figures of the server: allocator, keys, overheads.",
                "USAGE <key> [SAMPLES <count>]", "    Bytes taken by <key> and its value. Collections are measured on",
                "    up to <count> elements (default 5; 0 measures every one).",
                "HELP", "    Print this help.",
            ])
        },
    ]

    /// Collections are measured on this many elements unless SAMPLES says otherwise (Redis' default).
    private static let defaultSamples = 5

    /// MEMORY USAGE key [SAMPLES count]: options are checked before the key is looked up, as Redis does.
    private static func memoryUsage(_ context: CommandContext) throws {
        var samples: Int? = defaultSamples
        var index = 3
        while index < context.argumentCount {
            guard context.argument(index, is: "samples"), index + 1 < context.argumentCount else {
                throw RedisError.syntax
            }
            let count = try context.integer(index + 1)
            guard count >= 0 else { throw RedisError.syntax }
            samples = count == 0 ? nil : Int(count)
            index += 2
        }
        guard let (value, _) = inspectedKey(context, at: 2) else { return }
        context.reply.integer(Int64(MemoryUsage.bytes(ofKey: context.bytes(2), value: value, samples: samples)))
    }

    /// Where the server's memory goes, in Redis' MEMORY STATS fields and order: what Rill does not have (Lua,
    /// replication, cluster links) is 0, the rest is jemalloc's figures and Rill's own accounting.
    private static func memoryStats(_ context: CommandContext) throws {
        let memory = MemoryOverview(context)
        let figures = memory.allocator
        let keyCount = context.keyspace.keyCount
        context.reply.mapHeader(33 + memory.databaseOverheads.count)
        func field(_ name: String, _ value: Int) {
            context.reply.bulkString(name)
            context.reply.integer(Int64(value))
        }
        func ratio(_ name: String, _ numerator: Int, _ denominator: Int) {
            context.reply.bulkString(name)
            context.reply.double(MemoryOverview.ratio(numerator, denominator))
        }
        field("peak.allocated", memory.peak)
        field("total.allocated", figures.allocated)
        field("startup.allocated", memory.startup)
        field("replication.backlog", 0)
        field("replica.fullsync.buffer", 0)
        field("clients.slaves", memory.replicaClientBuffers)
        field("clients.normal", memory.clientBuffers - memory.replicaClientBuffers)
        field("cluster.links", 0)
        field("aof.buffer", memory.appendOnlyBuffer)
        field("lua.caches", 0)
        field("functions.caches", 0)
        field("script.VMs", 0)
        for database in memory.databaseOverheads {
            context.reply.bulkString("db.\(database.index)")
            context.reply.mapHeader(2)
            field("overhead.hashtable.main", database.main)
            field("overhead.hashtable.expires", database.expires)
        }
        field("overhead.db.hashtable.lut", 0)
        field("overhead.db.hashtable.rehashing", 0)
        field("overhead.total", memory.overhead)
        field("db.dict.rehashing.count", 0)
        field("keys.count", keyCount)
        field("keys.bytes-per-key", keyCount > 0 ? memory.allocatedSinceStartup / keyCount : 0)
        field("dataset.bytes", memory.dataset)
        ratio("dataset.percentage", memory.dataset * 100, memory.allocatedSinceStartup)
        ratio("peak.percentage", figures.allocated * 100, memory.peak)
        field("allocator.allocated", figures.allocated)
        field("allocator.active", figures.active)
        field("allocator.resident", figures.resident)
        field("allocator.muzzy", figures.muzzy)
        ratio("allocator-fragmentation.ratio", figures.active, figures.allocated)
        field("allocator-fragmentation.bytes", figures.active - figures.allocated)
        ratio("allocator-rss.ratio", figures.resident, figures.active)
        field("allocator-rss.bytes", figures.resident - figures.active)
        ratio("rss-overhead.ratio", memory.residentSetSize, figures.resident)
        field("rss-overhead.bytes", memory.residentSetSize - figures.resident)
        ratio("fragmentation", memory.residentSetSize, figures.allocated)
        field("fragmentation.bytes", memory.residentSetSize - figures.allocated)
    }

    /// Below this many allocated bytes the figures say nothing useful (the runtime itself takes a few megabytes).
    private static let doctorMinimumBytes = 5 * 1024 * 1024

    /// MEMORY DOCTOR: Rill's reading of its own figures, one finding per paragraph.
    static func doctorReport(_ context: CommandContext) -> String {
        let memory = MemoryOverview(context)
        let (figures, peak, rss) = (memory.allocator, memory.peak, memory.residentSetSize)
        let human = InfoReport.human
        if figures.allocated < doctorMinimumBytes {
            return "Rill holds only \(human(figures.allocated)) (under \(human(doctorMinimumBytes))): too little for "
                + "the memory figures to point at anything. Nothing to report.\n"
        }
        var findings: [String] = []
        if peak > figures.allocated * 3 / 2 {
            findings.append("Peak: the server once held \(human(peak)), more than 150% of the \(human(figures.allocated)) "
                + "it holds now. The allocator may keep the freed pages, so the resident size can stay high; "
                + "MEMORY PURGE asks it to return them.")
        }
        if figures.allocated > 0 && figures.active * 10 > figures.allocated * 11 {
            findings.append("Allocator fragmentation: pages in use hold \(human(figures.active)) for \(human(figures.allocated)) "
                + "of data (\(ratioText(figures.active, figures.allocated))). Many keys of mixed sizes were freed; "
                + "this falls as the freed space is reused.")
        }
        if figures.allocated > 0 && rss * 10 > figures.allocated * 14 {
            findings.append("Resident size: the process holds \(human(rss)) of RAM for \(human(figures.allocated)) "
                + "of data (\(ratioText(rss, figures.allocated))). MEMORY PURGE returns dirty pages the allocator keeps.")
        }
        if context.configuration.maxMemoryBytes > 0 && figures.allocated * 10 > context.configuration.maxMemoryBytes * 9 {
            findings.append("Limit: \(human(figures.allocated)) used of the \(human(context.configuration.maxMemoryBytes)) "
                + "maxmemory allows; writes that grow memory are refused above it.")
        }
        let summary = "\(human(figures.allocated)) allocated, \(human(rss)) resident, peak \(human(peak)), "
            + "allocator metadata \(human(figures.metadata)), \(human(figures.retained)) of address space retained"
        if findings.isEmpty {
            return "Rill's memory looks healthy: \(summary)\n"
        }
        return "Rill found \(findings.count) thing(s) worth a look (\(summary))\n\n"
            + findings.enumerated().map { " * \($0.element)" }.joined(separator: "\n\n") + "\n"
    }

    private static func ratioText(_ numerator: Int, _ denominator: Int) -> String {
        fixedPointText(Double(numerator) / Double(denominator), fractionDigits: 2) + " times"
    }

    // MARK: DEBUG

    /// DEBUG subcommand [arguments]: a subcommand unknown or given the wrong number of arguments gets Redis' one error.
    private static func debug(_ context: CommandContext) throws {
        let count = context.argumentCount
        if context.argument(1, is: "help") && count == 2 {
            context.replyHelp([
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "OBJECT <key>", "    Internal figures of the value of <key>: encoding, serialized length, access clock.",
                "RELOAD [MERGE] [NOFLUSH] [NOSAVE]",
                "    Save the snapshot, empty the databases and load the snapshot again. Options:",
                "    * MERGE: a loaded key replaces the key of the same name instead of failing the load.",
                "    * NOFLUSH: keep the current keys instead of emptying the databases first.",
                "    * NOSAVE: load the snapshot on disk as it is, without saving first.",
                "SLEEP <seconds>", "    Stop the server for <seconds> (a decimal number; 0 returns at once).",
                "HELP", "    Print this help.",
            ])
        } else if context.argument(1, is: "object") && count == 3 {
            try debugObject(context)
        } else if context.argument(1, is: "reload") {
            try debugReload(context)
        } else if context.argument(1, is: "sleep") && count == 3 {
            // Redis reads the number as strtod does: a leading number, anything else counts as 0.
            let seconds = context.string(2).withCString { strtod($0, nil) }
            if seconds > 0 && seconds.isFinite { usleep(UInt32(min(seconds * 1_000_000, Double(UInt32.max)))) }
            context.reply.simpleString("OK")
        } else {
            throw RedisError.unknownSubcommandOrArity(context.string(1), of: "DEBUG")
        }
    }

    /// DEBUG OBJECT key: Redis' line of figures, with Rill's: the value's storage address, its encoding as OBJECT
    /// ENCODING names it, its length in Rill's snapshot encoding and its access clock. A list Redis would hold as a
    /// quicklist adds the nodes Redis would fill.
    private static func debugObject(_ context: CommandContext) throws {
        let key = context.bytes(2)
        guard let (value, lastAccess) = context.database.inspect(key, nowMilliseconds: context.nowMilliseconds) else {
            throw RedisError.noSuchKey
        }
        let encoding = encoding(of: value, context, keyAt: 2)
        let idle = AccessClock.idleMilliseconds(since: lastAccess, nowMilliseconds: context.nowMilliseconds) / 1000
        var line = "Value at:0x\(String(value.storageAddress, radix: 16)) refcount:1 encoding:\(encoding.rawValue) "
            + "serializedlength:\(DumpPayload.serializedLength(of: value)) lru:\(lastAccess) lru_seconds_idle:\(idle)"
        if encoding == .quicklist, case .list(let list) = value {
            let (nodes, bytes) = ListpackLayout.quicklistNodes(of: list)
            let average = fixedPointText(Double(list.count) / Double(max(1, nodes)), fractionDigits: 2)
            line += " ql_nodes:\(nodes) ql_avg_node:\(average) ql_listpack_max:-2 ql_compressed:0 "
                + "ql_uncompressed_size:\(bytes)"
        }
        context.reply.simpleString(line.utf8)
    }

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the snapshot (unless NOSAVE), empties every database (unless
    /// NOFLUSH) and loads the snapshot file into them. Without MERGE a loaded key that is already stored fails the
    /// load (Redis stops the process there); keys loaded before it stay.
    private static func debugReload(_ context: CommandContext) throws {
        var merge = false
        var flush = true
        var save = true
        for index in 2..<context.argumentCount {
            if context.argument(index, is: "merge") {
                merge = true
            } else if context.argument(index, is: "noflush") {
                flush = false
            } else if context.argument(index, is: "nosave") {
                save = false
            } else {
                throw RedisError.debugReloadOption
            }
        }
        if save && !context.persistence.saveSynchronously() { throw RedisError.saveFailed }
        let path = context.configuration.snapshotPath
        let result: SnapshotLoadResult
        do {
            result = try SnapshotLoader.load(path: path, databaseCount: context.keyspace.databaseCount,
                                             nowMilliseconds: context.nowMilliseconds)
        } catch {
            context.logger.warning("DEBUG RELOAD could not load \(path): \(error)")
            throw RedisError.debugReloadFailed
        }
        let loaded = result.keyspace
        if flush { context.keyspace.removeAll() }
        context.allKeysModified(database: nil)
        let stored = context.keyspace.insertAll(from: loaded, replacing: merge, nowMilliseconds: context.nowMilliseconds)
        guard stored else {
            context.logger.warning("DEBUG RELOAD: the snapshot holds keys already stored; use MERGE to replace them")
            throw RedisError.debugReloadFailed
        }
        context.persistence.snapshots.lastLoadKeysLoaded = Int64(loaded.keyCount)
        context.persistence.snapshots.lastLoadKeysExpired = Int64(result.expiredKeysSkipped)
        context.logger.notice("DB reloaded by DEBUG RELOAD")
        context.reply.simpleString("OK")
    }
}
