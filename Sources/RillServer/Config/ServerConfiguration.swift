import RillCore

/// The server's configuration as typed values, parsed once when the file, the command line or CONFIG SET gives
/// them, so the code that uses a setting reads a field.
///
/// Each stored property holds one directive of `ConfigDirective.all`, which names it, gives its limits, whether
/// CONFIG SET may change it and what it does, and parses and formats it. The initial value of a property is the
/// directive's default; `conf/rill.conf` documents each directive with it.
public struct ServerConfiguration: Sendable {
    // MARK: Network

    /// `bind`: addresses to listen on.
    public var bindAddresses = ["127.0.0.1"]
    /// `port`: TCP port; 0 lets the kernel pick one.
    public var port = 6379
    /// `tcp-backlog`: connections the kernel queues before Rill accepts them.
    public var tcpBacklog = 511
    /// `timeout`: seconds without a command after which a client is closed; 0 = never.
    public var idleTimeoutSeconds = 0

    // MARK: General

    /// `daemonize`: Rill always runs in the foreground.
    public var daemonize = DaemonizeOption.no
    /// `pidfile`: where the process id is written; "" = nowhere.
    public var pidFile = ""
    /// `loglevel`: the least severe log lines written.
    public var logLevel = LogLevel.notice
    /// `logfile`: log file path; "" = standard output.
    public var logFile = ""
    /// `databases`: number of databases.
    public var databases = 16
    /// `hz` as given, which Redis accepts above 500 and below 1; `hz` is the rate used.
    public var configuredHz = 10

    // MARK: Security and clients

    /// `requirepass`: the password AUTH must give; nil when none is needed (`requirepass ""`).
    public var requirePass: String?
    /// `maxclients`: most simultaneous clients.
    public var maxClients = 10000
    /// `proto-max-bulk-len`: largest bulk string a request may carry.
    public var protoMaxBulkLength = 512 * 1024 * 1024
    /// `client-query-buffer-limit`: most unparsed input one client may accumulate.
    public var queryBufferLimit = 1024 * 1024 * 1024

    // MARK: Streams

    /// `stream-node-max-bytes` and `stream-node-max-entries`: when a stream starts a new block.
    public var streamNodeLimits = StreamNodeLimits(maxBytes: 4096, maxEntries: 100)

    // MARK: Persistence

    /// `dir`: working directory of snapshots and the append-only files.
    public var directory = "."
    /// `dbfilename`: file name of snapshots inside `directory`.
    public var snapshotFileName = "dump.rill"
    /// `save`: snapshot when at least `changes` writes happened and `seconds` passed since the last one. Empty when
    /// snapshots are only taken on demand. Redis 7's default schedule: after an hour with one change, 5 minutes
    /// with 100, a minute with 10000.
    public var savePoints = [SavePoint(seconds: 3600, changes: 1), SavePoint(seconds: 300, changes: 100),
                             SavePoint(seconds: 60, changes: 10000)]
    /// `appendonly yes`: writes are logged to the append-only file, which start-up replays instead of the snapshot.
    public var appendOnly = false
    /// `appendfsync`: when the append-only file's bytes are fsynced.
    public var appendFsync = AppendFsyncPolicy.everysec
    /// `appenddirname`: directory of the append-only files inside `directory`.
    public var appendOnlyDirectoryName = "appendonlydir"
    /// `appendfilename`: the stem of the manifest, base and incremental file names.
    public var appendOnlyFileName = "appendonly.aof"
    /// `aof-load-truncated`: whether an incomplete last command in the append-only file is dropped (with a
    /// warning) rather than fatal.
    public var appendOnlyLoadTruncated = true
    /// `auto-aof-rewrite-percentage`: growth over the size after the last rewrite that triggers one; 0 = never.
    public var autoRewritePercentage = 100
    /// `auto-aof-rewrite-min-size`: no automatic rewrite while the files are smaller than this.
    public var autoRewriteMinimumSize = 64 * 1024 * 1024

    // MARK: Memory

    /// `maxmemory`: used memory above which writes that grow memory are refused; 0 = no limit.
    public var maxMemoryBytes = 0
    /// `maxmemory-policy`: Rill never evicts keys.
    public var maxMemoryPolicy = MaxMemoryPolicy.noeviction
    /// `maxmemory-stream-policy`: what may be trimmed before a write is refused.
    public var maxMemoryStreamPolicy = MaxMemoryStreamPolicy.reject

    // MARK: Metrics

    /// `metrics-port`: TCP port of the Prometheus endpoint (GET /metrics); 0 = not served.
    public var metricsPort = 0
    /// `metrics-max-streams`: at most this many streams (the longest) get per-stream series in one scrape.
    public var metricsMaxStreams = 1000

    public init() {}

    // MARK: Derived values

    /// Times per second the background task runs: Redis accepts any non-negative hz and clamps it to 1...500
    /// where it is used.
    public var hz: Int { min(500, max(1, configuredHz)) }
    /// Where SAVE/BGSAVE write and start-up loads: `dir` joined with `dbfilename`.
    public var snapshotPath: String { Self.join(directory, snapshotFileName) }
    /// Directory holding the append-only files: `dir` joined with `appenddirname`.
    public var appendOnlyDirectory: String { Self.join(directory, appendOnlyDirectoryName) }
    /// The single append-only file of Rill versions before the manifest: `appendOnlyDirectory` joined with
    /// `appendfilename`. Loaded (and then listed in a new manifest) when no manifest exists.
    public var appendOnlyPath: String { appendOnlyDirectory + "/" + appendOnlyFileName }
    /// The manifest listing the base and incremental files.
    public var appendOnlyManifestPath: String { appendOnlyDirectory + "/" + appendOnlyFileName + ".manifest" }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    // MARK: Setting and reading by directive name

    /// Parses `arguments` for the directive `name` into its field.
    /// - Throws: `ConfigError` naming what is wrong; the configuration is then unchanged.
    public mutating func set(_ name: String, _ arguments: [String]) throws(ConfigError) {
        guard let directive = ConfigDirective.named(name.lowercased()) else {
            throw ConfigError(message: "Bad directive or wrong number of arguments")
        }
        try directive.set(arguments, in: &self)
    }

    /// The value of directive `name` as CONFIG GET answers it; nil for an unknown directive.
    public subscript(name: String) -> String? { ConfigDirective.named(name.lowercased())?.text(in: self) }

    /// Directive names and values matching a CONFIG GET glob pattern, in table order.
    public func matching(_ isMatch: (String) -> Bool) -> [(String, String)] {
        ConfigDirective.all.compactMap { directive in
            isMatch(directive.name) ? (directive.name, directive.text(in: self)) : nil
        }
    }
}

public struct ConfigError: Error, Equatable, Sendable {
    public let message: String
}
