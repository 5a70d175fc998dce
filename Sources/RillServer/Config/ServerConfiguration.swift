import RillCore

/// The server's configuration as typed values, parsed once when the file, the command line or CONFIG SET gives
/// them, so the code that uses a setting reads a field.
///
/// Each stored property holds the directive its comment names; `ConfigDirective.all` gives the directive's limits,
/// whether CONFIG SET may change it and what it does, and parses and formats it. The initial value of a property is
/// the directive's default, which `conf/rill.conf` shows.
struct ServerConfiguration: Sendable {
    // MARK: Network

    /// `bind`
    var bindAddresses = ["127.0.0.1"]
    /// `port`
    var port = 6379
    /// `tcp-backlog`
    var tcpBacklog = 511
    /// `timeout`
    var idleTimeoutSeconds = 0

    // MARK: General

    /// `daemonize`
    var daemonize = DaemonizeOption.no
    /// `pidfile`
    var pidFile = ""
    /// `loglevel`
    var logLevel = LogLevel.notice
    /// `logfile`
    var logFile = ""
    /// `databases`
    var databases = 16
    /// `hz` as given, which Redis accepts above 500 and below 1; `hz` is the rate used.
    var configuredHz = 10

    // MARK: Security and clients

    /// `requirepass`; nil when none is needed (`requirepass ""`).
    var requirePass: String?
    /// `maxclients`
    var maxClients = 10000
    /// `proto-max-bulk-len`
    var protoMaxBulkLength = 512 * 1024 * 1024
    /// `client-query-buffer-limit`
    var queryBufferLimit = 1024 * 1024 * 1024

    // MARK: Streams

    /// `stream-node-max-bytes` and `stream-node-max-entries`, together as streams take them.
    var streamNodeLimits = StreamNodeLimits(maxBytes: 4096, maxEntries: 100)

    // MARK: Persistence

    /// `dir`
    var directory = "."
    /// `dbfilename`
    var snapshotFileName = "dump.rill"
    /// `save`; empty when snapshots are only taken on demand. The default is Redis 7's schedule: after an hour with
    /// one change, 5 minutes with 100, a minute with 10000.
    var savePoints = [SavePoint(seconds: 3600, changes: 1), SavePoint(seconds: 300, changes: 100),
                             SavePoint(seconds: 60, changes: 10000)]
    /// `appendonly`
    var appendOnly = false
    /// `appendfsync`
    var appendFsync = AppendFsyncPolicy.everysec
    /// `appenddirname`
    var appendOnlyDirectoryName = "appendonlydir"
    /// `appendfilename`
    var appendOnlyFileName = "appendonly.aof"
    /// `aof-load-truncated`
    var appendOnlyLoadTruncated = true
    /// `auto-aof-rewrite-percentage`
    var autoRewritePercentage = 100
    /// `auto-aof-rewrite-min-size`
    var autoRewriteMinimumSize = 64 * 1024 * 1024

    // MARK: Memory

    /// `maxmemory`
    var maxMemoryBytes = 0
    /// `maxmemory-policy`
    var maxMemoryPolicy = MaxMemoryPolicy.noeviction
    /// `maxmemory-stream-policy`
    var maxMemoryStreamPolicy = MaxMemoryStreamPolicy.reject

    // MARK: Metrics

    /// `metrics-port`
    var metricsPort = 0
    /// `metrics-max-streams`
    var metricsMaxStreams = 1000

    init() {}

    // MARK: Derived values

    /// Times per second the background task runs: Redis accepts any non-negative hz and clamps it to 1...500
    /// where it is used.
    var hz: Int { min(500, max(1, configuredHz)) }
    /// Where SAVE/BGSAVE write and start-up loads: `dir` joined with `dbfilename`.
    var snapshotPath: String { Self.join(directory, snapshotFileName) }
    /// Directory holding the append-only files: `dir` joined with `appenddirname`.
    var appendOnlyDirectory: String { Self.join(directory, appendOnlyDirectoryName) }
    /// The single append-only file of Rill versions before the manifest: `appendOnlyDirectory` joined with
    /// `appendfilename`. Loaded (and then listed in a new manifest) when no manifest exists.
    var appendOnlyPath: String { appendOnlyDirectory + "/" + appendOnlyFileName }
    /// The manifest listing the base and incremental files.
    var appendOnlyManifestPath: String { appendOnlyDirectory + "/" + appendOnlyFileName + ".manifest" }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    // MARK: Setting and reading by directive name

    /// Parses `arguments` for the directive `name` into its field.
    /// - Throws: `ConfigError` naming what is wrong; the configuration is then unchanged.
    mutating func set(_ name: String, _ arguments: [String]) throws(ConfigError) {
        guard let directive = ConfigDirective.named(name.lowercased()) else {
            throw ConfigError(message: "Bad directive or wrong number of arguments")
        }
        try directive.set(arguments, in: &self)
    }

    /// The value of directive `name` as CONFIG GET answers it; nil for an unknown directive.
    subscript(name: String) -> String? { ConfigDirective.named(name.lowercased())?.text(in: self) }

    /// Directive names and values matching a CONFIG GET glob pattern, in table order.
    func matching(_ isMatch: (String) -> Bool) -> [(String, String)] {
        ConfigDirective.all.compactMap { directive in
            isMatch(directive.name) ? (directive.name, directive.text(in: self)) : nil
        }
    }
}

struct ConfigError: Error, Equatable, Sendable {
    let message: String
}
