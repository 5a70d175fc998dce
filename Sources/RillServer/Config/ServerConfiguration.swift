import RillCore

/// The server's configuration as typed values, parsed once when the file, the command line or CONFIG SET gives
/// them, so the code that uses a setting reads a field.
///
/// Each stored property holds the directive its comment names; `ConfigDirective.all` gives the directive's limits,
/// whether CONFIG SET may change it and what it does, and parses and formats it. The initial value of a property is
/// the directive's default, which `conf/rill.conf` shows.
public struct ServerConfiguration: Sendable {
    // MARK: Network

    /// `bind`
    public var bindAddresses = ["127.0.0.1"]
    /// `port`
    public var port = 6379
    /// `tcp-backlog`
    public var tcpBacklog = 511
    /// `timeout`
    public var idleTimeoutSeconds = 0

    // MARK: General

    /// `daemonize`
    public var daemonize = DaemonizeOption.no
    /// `pidfile`
    public var pidFile = ""
    /// `loglevel`
    public var logLevel = LogLevel.notice
    /// `logfile`
    public var logFile = ""
    /// `databases`
    public var databases = 16
    /// `hz` as given, which Redis accepts above 500 and below 1; `hz` is the rate used.
    public var configuredHz = 10

    // MARK: Security and clients

    /// `requirepass`; nil when none is needed (`requirepass ""`).
    public var requirePass: String?
    /// `maxclients`
    public var maxClients = 10000
    /// `proto-max-bulk-len`
    public var protoMaxBulkLength = 512 * 1024 * 1024
    /// `client-query-buffer-limit`
    public var queryBufferLimit = 1024 * 1024 * 1024

    // MARK: Streams

    /// `stream-node-max-bytes` and `stream-node-max-entries`, together as streams take them.
    public var streamNodeLimits = StreamNodeLimits(maxBytes: 4096, maxEntries: 100)

    // MARK: Persistence

    /// `dir`
    public var directory = "."
    /// `dbfilename`
    public var snapshotFileName = "dump.rill"
    /// `save`; empty when snapshots are only taken on demand. The default is Redis 7's schedule: after an hour with
    /// one change, 5 minutes with 100, a minute with 10000.
    public var savePoints = [SavePoint(seconds: 3600, changes: 1), SavePoint(seconds: 300, changes: 100),
                             SavePoint(seconds: 60, changes: 10000)]
    /// `appendonly`
    public var appendOnly = false
    /// `appendfsync`
    public var appendFsync = AppendFsyncPolicy.everysec
    /// `appenddirname`
    public var appendOnlyDirectoryName = "appendonlydir"
    /// `appendfilename`
    public var appendOnlyFileName = "appendonly.aof"
    /// `aof-load-truncated`
    public var appendOnlyLoadTruncated = true
    /// `auto-aof-rewrite-percentage`
    public var autoRewritePercentage = 100
    /// `auto-aof-rewrite-min-size`
    public var autoRewriteMinimumSize = 64 * 1024 * 1024

    // MARK: Memory

    /// `maxmemory`
    public var maxMemoryBytes = 0
    /// `maxmemory-policy`
    public var maxMemoryPolicy = MaxMemoryPolicy.noeviction
    /// `maxmemory-stream-policy`
    public var maxMemoryStreamPolicy = MaxMemoryStreamPolicy.reject

    // MARK: Metrics

    /// `metrics-port`
    public var metricsPort = 0
    /// `metrics-max-streams`
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
