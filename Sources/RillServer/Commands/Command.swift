import NIOCore
import RillCore
import RillProtocol

/// One row of the command table, shaped like Redis' command metadata so COMMAND INFO can answer from it.
///
/// A class: the executor passes the looked-up row around on every request, and a reference costs one retain where
/// copying a struct of a dozen references costs a dozen.
final class Command: @unchecked Sendable {
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt32
        init(rawValue: UInt32) { self.rawValue = rawValue }
        static let write = Flags(rawValue: 1 << 0)
        static let readonly = Flags(rawValue: 1 << 1)
        static let denyOOM = Flags(rawValue: 1 << 2)
        static let fast = Flags(rawValue: 1 << 3)
        static let blocking = Flags(rawValue: 1 << 4)
        static let admin = Flags(rawValue: 1 << 5)
        /// Allowed before AUTH when requirepass is set.
        static let noAuth = Flags(rawValue: 1 << 6)
        /// Refused inside MULTI (SAVE, SHUTDOWN), which also makes EXEC abort the transaction.
        static let noMulti = Flags(rawValue: 1 << 7)
        static let loading = Flags(rawValue: 1 << 8)
        static let stale = Flags(rawValue: 1 << 9)
        static let pubsub = Flags(rawValue: 1 << 10)
        static let noScript = Flags(rawValue: 1 << 11)
        static let allowBusy = Flags(rawValue: 1 << 12)
        static let skipSlowlog = Flags(rawValue: 1 << 13)
        static let noAsyncLoading = Flags(rawValue: 1 << 14)
        /// Keys are found by parsing the arguments (XREAD's STREAMS), so first/last/step do not describe them.
        static let movableKeys = Flags(rawValue: 1 << 15)
        /// Rill's own, not shown by COMMAND: not queued inside MULTI but run at once (MULTI, EXEC, DISCARD, WATCH
        /// and QUIT, which Redis treats so by name).
        static let notQueuedInMulti = Flags(rawValue: 1 << 16)
        /// Redis' CMD_PROTECTED, not shown by COMMAND: refused unless its `enable-*-command` directive lets the client
        /// run it (DEBUG).
        static let protected = Flags(rawValue: 1 << 17)
        /// Rill's own, not shown by COMMAND: allowed to a RESP2 client listening to Pub/Sub ((P|S)SUBSCRIBE,
        /// (P|S)UNSUBSCRIBE, PING, QUIT, RESET; Redis lists them by name).
        static let allowedWhileSubscribed = Flags(rawValue: 1 << 18)
        /// Redis' CMD_MAY_REPLICATE, not shown by COMMAND: changes no data but is sent to replicas (PUBLISH), so
        /// CLIENT PAUSE WRITE holds it like a write.
        static let mayReplicate = Flags(rawValue: 1 << 19)

        /// The flags COMMAND shows, in Redis' order.
        static let names: [(Flags, String)] = [
            (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.admin, "admin"),
            (.pubsub, "pubsub"), (.noScript, "noscript"), (.blocking, "blocking"), (.loading, "loading"),
            (.stale, "stale"), (.skipSlowlog, "skip_slowlog"), (.fast, "fast"), (.noAuth, "no_auth"),
            (.noAsyncLoading, "no_async_loading"), (.noMulti, "no_multi"), (.movableKeys, "movablekeys"),
            (.allowBusy, "allow_busy"),
        ]
    }

    /// Lower-case command name (for a subcommand: "parent|sub").
    let name: String
    /// Redis convention: N means exactly N arguments including the name, -N means at least N.
    let arity: Int
    let flags: Flags
    /// Key positions (1-based; 0 when the command takes no key), last -1 meaning the last argument.
    let firstKey: Int
    let lastKey: Int
    let keyStep: Int
    /// ACL categories without the '@', in Redis' order: the row's own (see `init`) and those its flags imply.
    let categories: [String]
    /// One-line description for COMMAND DOCS and the README table.
    let summary: String
    /// Redis command group for COMMAND DOCS ("stream", "generic", "connection", "server", ...).
    let group: String
    let since: String
    let handler: CommandHandler
    /// Subcommands of a container command (CLIENT, CONFIG, XINFO ...), dispatched on the second argument.
    let subcommands: [Command]
    /// Calls and time spent (INFO commandstats). Mutated only on the event loop.
    var counters = CommandCounters()
    /// Latencies of the calls answered (LATENCY HISTOGRAM, INFO latencystats, Prometheus), while
    /// `latency-tracking` is on. Mutated only on the event loop.
    var latencyHistogram = LatencyHistogram()
    /// Argument tree, key specs, tips and history (Commands/Documentation), attached when the table is built.
    private(set) var documentation: CommandDocumentation?
    /// The COMMAND DOCS description as sent in RESP2 and RESP3, rendered on first request (it never changes).
    /// Mutated only on the event loop.
    var renderedDocs: [RESPVersion: ByteBuffer] = [:]
    /// The command's number in the ACL rules' command sets (`ACLCommandCatalog`), given when the server's table is
    /// built; 0 before.
    var aclID = 0

    /// `categories` are only those Redis writes by hand in its command files ("stream", "keyspace", "connection",
    /// "dangerous" for some commands that are not admin, ...); the ones flags imply are added by `aclCategories`.
    init(_ name: String, arity: Int, flags: Flags, keys: (Int, Int, Int) = (0, 0, 0),
                categories: [String] = [], group: String, since: String = "1.0.0", summary: String,
                subcommands: [Command] = [], handler: @escaping CommandHandler) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.0
        self.lastKey = keys.1
        self.keyStep = keys.2
        self.categories = Command.aclCategories(flags: flags, given: categories)
        self.group = group
        self.since = since
        self.summary = summary
        self.handler = handler
        self.subcommands = subcommands
    }

    /// Redis' ACL categories, in the order Redis lists them.
    static let aclCategoryOrder = [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
        "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
    ]

    /// `given` plus the categories Redis derives from the flags (setImplicitACLCategories): write → write, readonly
    /// → read (unless scripting), admin → admin and dangerous, pubsub → pubsub, fast → fast, blocking → blocking,
    /// and every command that is not fast is slow.
    static func aclCategories(flags: Flags, given: [String]) -> [String] {
        var categories = Set(given)
        let implied: [(Flags, [String])] = [
            (.write, ["write"]), (.admin, ["admin", "dangerous"]), (.pubsub, ["pubsub"]), (.fast, ["fast"]),
            (.blocking, ["blocking"]),
        ]
        for (flag, names) in implied where flags.contains(flag) { categories.formUnion(names) }
        if flags.contains(.readonly) && !categories.contains("scripting") { categories.insert("read") }
        if !categories.contains("fast") { categories.insert("slow") }
        assert(categories.isSubset(of: aclCategoryOrder), "unknown ACL category in \(given)")
        return aclCategoryOrder.filter(categories.contains)
    }

    /// Whether `count` arguments (name included) satisfy the arity.
    @inline(__always)
    func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }
}

typealias CommandHandler = (CommandContext) throws -> Void

/// Looks commands up by name without allocating: the table is bucketed by name length and compared
/// case-insensitively on the request's bytes.
struct CommandTable: Sendable {
    let commands: [Command]
    private let byLength: [[(bytes: [UInt8], index: Int)]]

    init(_ commands: [Command]) {
        self.commands = commands.sorted { $0.name < $1.name }
        for command in self.commands { command.attachDocumentation() }
        var buckets: [[(bytes: [UInt8], index: Int)]] = []
        for (index, command) in self.commands.enumerated() {
            let bytes = Array(command.name.utf8)
            while buckets.count <= bytes.count { buckets.append([]) }
            buckets[bytes.count].append((bytes, index))
        }
        self.byLength = buckets
    }

    func lookup(_ name: ByteBuffer) -> Command? {
        let length = name.readableBytes
        guard length < byLength.count else { return nil }
        let bucket = byLength[length]
        if bucket.isEmpty { return nil }
        return name.withUnsafeReadableBytes { requested -> Command? in
            for candidate in bucket where ASCII.equalIgnoringCase(requested, candidate.bytes) {
                return commands[candidate.index]
            }
            return nil
        }
    }

    func lookup(_ name: String) -> Command? {
        lookup(ByteBuffer(string: name))
    }

    /// A command or, written "parent|sub", a subcommand (COMMAND INFO and COMMAND DOCS accept both).
    func lookup(fullName name: ByteBuffer) -> Command? {
        guard let bar = name.readableBytesView.firstIndex(of: UInt8(ascii: "|")) else { return lookup(name) }
        let start = name.readerIndex
        guard let parent = lookup(name.getSlice(at: start, length: bar - start)!),  // within the readable bytes
              let sub = name.getSlice(at: bar + 1, length: name.writerIndex - bar - 1),  // idem
              !sub.readableBytesView.contains(UInt8(ascii: "|")) else { return nil }
        return parent.subcommand(named: sub)
    }
}

extension Command {
    fileprivate func attachDocumentation() {
        documentation = CommandDocumentation.table[name]
        for sub in subcommands { sub.attachDocumentation() }
    }

    func subcommand(named name: ByteBuffer) -> Command? {
        name.withUnsafeReadableBytes { requested in
            subcommands.first { sub in
                let suffix = sub.name.split(separator: "|").last.map(String.init) ?? sub.name
                return ASCII.equalIgnoringCase(requested, suffix.utf8)
            }
        }
    }
}
