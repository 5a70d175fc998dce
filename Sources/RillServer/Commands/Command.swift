import NIOCore
import Prometheus
import RillCore
import RillProtocol

/// One row of the command table, shaped like Redis' command metadata so COMMAND INFO can answer from it.
///
/// A class: the executor passes the looked-up row around on every request, and a reference costs one retain where
/// copying a struct of a dozen references costs a dozen.
public final class Command: @unchecked Sendable {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let write = Flags(rawValue: 1 << 0)
        public static let readonly = Flags(rawValue: 1 << 1)
        public static let denyOOM = Flags(rawValue: 1 << 2)
        public static let fast = Flags(rawValue: 1 << 3)
        public static let blocking = Flags(rawValue: 1 << 4)
        public static let admin = Flags(rawValue: 1 << 5)
        /// Allowed before AUTH when requirepass is set.
        public static let noAuth = Flags(rawValue: 1 << 6)
        /// Not queued inside MULTI; runs at once (EXEC, DISCARD, MULTI, WATCH, QUIT...).
        public static let noMulti = Flags(rawValue: 1 << 7)
        public static let loading = Flags(rawValue: 1 << 8)
        public static let stale = Flags(rawValue: 1 << 9)
        public static let pubsub = Flags(rawValue: 1 << 10)
        public static let noScript = Flags(rawValue: 1 << 11)
        public static let allowBusy = Flags(rawValue: 1 << 12)

        static let names: [(Flags, String)] = [
            (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.admin, "admin"),
            (.pubsub, "pubsub"), (.noScript, "noscript"), (.blocking, "blocking"), (.loading, "loading"),
            (.stale, "stale"), (.noAuth, "no_auth"), (.noMulti, "no_multi"), (.fast, "fast"), (.allowBusy, "allow_busy"),
        ]
    }

    /// Lower-case command name (for a subcommand: "parent|sub").
    public let name: String
    /// Redis convention: N means exactly N arguments including the name, -N means at least N.
    public let arity: Int
    public let flags: Flags
    /// Key positions (1-based; 0 when the command takes no key), last -1 meaning the last argument.
    public let firstKey: Int
    public let lastKey: Int
    public let keyStep: Int
    /// ACL categories without the '@', e.g. ["stream", "write", "fast"].
    public let categories: [String]
    /// One-line description for COMMAND DOCS and the README table.
    public let summary: String
    /// Redis command group for COMMAND DOCS ("stream", "generic", "connection", "server", ...).
    public let group: String
    public let since: String
    public let handler: CommandHandler
    /// Subcommands of a container command (CLIENT, CONFIG, XINFO ...), dispatched on the second argument.
    public let subcommands: [Command]
    /// Calls and time spent (INFO commandstats). Mutated only on the event loop.
    public var counters = CommandCounters()
    /// Latency histogram of the Prometheus endpoint, made on the first call once `metrics-port` is set.
    var latencyHistogram: DurationHistogram?

    public init(_ name: String, arity: Int, flags: Flags, keys: (Int, Int, Int) = (0, 0, 0),
                categories: [String] = [], group: String, since: String = "1.0.0", summary: String,
                subcommands: [Command] = [], handler: @escaping CommandHandler) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.0
        self.lastKey = keys.1
        self.keyStep = keys.2
        self.categories = categories
        self.group = group
        self.since = since
        self.summary = summary
        self.handler = handler
        self.subcommands = subcommands
    }

    /// Whether `count` arguments (name included) satisfy the arity.
    @inline(__always)
    func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }
}

public typealias CommandHandler = (CommandContext) throws -> Void

/// Looks commands up by name without allocating: the table is bucketed by name length and compared
/// case-insensitively on the request's bytes.
public struct CommandTable: Sendable {
    public let commands: [Command]
    private let byLength: [[(bytes: [UInt8], index: Int)]]

    public init(_ commands: [Command]) {
        self.commands = commands.sorted { $0.name < $1.name }
        var buckets: [[(bytes: [UInt8], index: Int)]] = []
        for (index, command) in self.commands.enumerated() {
            let bytes = Array(command.name.utf8)
            while buckets.count <= bytes.count { buckets.append([]) }
            buckets[bytes.count].append((bytes, index))
        }
        self.byLength = buckets
    }

    public func lookup(_ name: ByteBuffer) -> Command? {
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

    public func lookup(_ name: String) -> Command? {
        lookup(ByteBuffer(string: name))
    }
}

extension Command {
    func subcommand(named name: ByteBuffer) -> Command? {
        name.withUnsafeReadableBytes { requested in
            subcommands.first { sub in
                let suffix = sub.name.split(separator: "|").last.map(String.init) ?? sub.name
                return ASCII.equalIgnoringCase(requested, suffix.utf8)
            }
        }
    }
}
