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
    /// `io-engine`
    var ioEngine = IOEngineChoice.nio
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
    /// `client-output-buffer-limit`: when a client's unsent replies get it disconnected, per class of client.
    var outputBufferLimits = OutputBufferLimits()
    /// `client-output-pause-threshold` (Rill's own): unsent reply bytes of one connection above which Rill stops
    /// running its pipelined requests and reading its socket, until half of them are sent; 0 never pauses. The
    /// default keeps what one client that never reads can hold to about twice this plus one reply.
    var outputPauseThreshold = 1024 * 1024
    /// `maxmemory-clients`: see `ClientMemoryLimit`; off by default, as in Redis.
    var maxMemoryClients = ClientMemoryLimit.bytes(0)

    // MARK: Replication

    /// `repl-backlog-size`: stream bytes kept for replicas that reconnect (partial resynchronisation).
    var replicationBacklogSize = 1024 * 1024
    /// `repl-backlog-ttl`: seconds without replicas after which the backlog is dropped (0: never).
    var replicationBacklogTTLSeconds = 3600
    /// `repl-diskless-sync`: the snapshot goes to replicas in the `$EOF:` form when they accept it.
    var replicationDisklessSync = true
    /// `repl-diskless-sync-delay`: seconds a diskless full synchronisation waits for more replicas to share its
    /// transfer; 0 starts at once.
    var replicationDisklessSyncDelaySeconds = 5
    /// `repl-diskless-sync-max-replicas`: a waiting transfer starts as soon as this many replicas wait; 0: no limit.
    var replicationDisklessSyncMaxReplicas = 0
    /// `repl-ping-replica-period`: seconds between PINGs in the replication stream.
    var replicationPingPeriodSeconds = 10
    /// `repl-timeout`: seconds without an acknowledgement after which a replica is disconnected.
    var replicationTimeoutSeconds = 60
    /// `min-replicas-to-write` / `min-replicas-max-lag`: writes are refused (NOREPLICAS) unless this many replicas
    /// acknowledged within that many seconds; 0 replicas disables the check.
    var minReplicasToWrite = 0
    var minReplicasMaxLagSeconds = 10

    /// `replicaof <host> <port>`: the primary to follow from start-up; empty for none.
    var replicaOf: [String] = []
    /// `masterauth` / `masteruser`: the credentials sent to the primary with AUTH.
    var primaryPassword: String?
    var primaryUser: String?
    /// `replica-read-only`: clients' writes to a replica answer READONLY.
    var replicaReadOnly = true
    /// `replica-serve-stale-data`: while the link is down, a replica still answers with the data it has.
    var replicaServeStaleData = true
    /// `replica-priority`: Sentinel promotes the replica with the lowest; 0 never (INFO slave_priority).
    var replicaPriority = 100
    /// `replica-announce-ip` / `replica-announce-port` (REPLCONF ip-address / listening-port) and
    /// `replica-announced` (INFO replica_announced: whether Sentinel lists this replica).
    var replicaAnnounceIP: String?
    var replicaAnnouncePort = 0
    var replicaAnnounced = true

    // MARK: Streams

    /// `stream-node-max-bytes` and `stream-node-max-entries`, together as streams take them.
    var streamNodeLimits = StreamNodeLimits(maxBytes: 4096, maxEntries: 100)

    // MARK: Persistence

    /// `dir`
    var directory = "."
    /// `dbfilename`
    var snapshotFileName = "dump.rdb"
    /// `rdbcompression`: LZF for strings in snapshot files, as Redis.
    var snapshotCompression = true
    /// `rdbchecksum`: a CRC-64 ends each snapshot file (else 8 zero bytes, which loaders do not check).
    var snapshotChecksum = true
    /// `save`; empty when snapshots are only taken on demand. The default is Redis 7's schedule: after an hour with
    /// one change, 5 minutes with 100, a minute with 10000.
    var savePoints = [SavePoint(seconds: 3600, changes: 1), SavePoint(seconds: 300, changes: 100),
                             SavePoint(seconds: 60, changes: 10000)]
    /// `stop-writes-on-bgsave-error`: while the latest background save failed (and save points exist), write
    /// commands are refused with MISCONF, as Redis does, so nobody writes on believing the snapshots work.
    var stopWritesOnBackgroundSaveError = true
    /// `appendonly`
    var appendOnly = false
    /// `appendfsync`
    var appendFsync = AppendFsyncPolicy.everysec
    /// `appenddirname`
    var appendOnlyDirectoryName = "appendonlydir"
    /// `appendfilename`
    var appendOnlyFileName = "appendonly.aof"
    /// `aof-use-rdb-preamble`: the append-only base is an RDB file (`.base.rdb`); else RESP commands (`.base.aof`).
    var appendOnlyRDBPreamble = true
    /// `aof-load-truncated`
    var appendOnlyLoadTruncated = true
    /// `aof-fsync-worker` (Rill only): under `appendfsync always`, fdatasync on a worker thread while the loop serves
    /// the next requests; off, on the loop at each tick's end, as Redis does.
    var appendFsyncOnWorker = false
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

    // MARK: Debugging

    /// `enable-debug-command`
    var enableDebugCommand = ProtectedCommandAccess.no
    /// `enable-protected-configs`
    var enableProtectedConfigs = ProtectedCommandAccess.no
    /// `protected-mode`
    var protectedMode = true

    // MARK: Access control

    /// `acllog-max-len`
    var aclLogMaxLength = 128
    /// `aclfile`: where ACL LOAD reads users and ACL SAVE writes them; nil when none.
    var aclFile: String?
    /// The `user` lines (name first, then rules), in order; not a CONFIG GET parameter, as in Redis.
    var userLines: [[String]] = []

    // MARK: TLS

    /// The `tls-*` directives (TLSSettings); CONFIG SET of any of them rebuilds the TLS contexts while TLS is in use.
    var tls = TLSSettings()

    // MARK: Metrics

    /// `metrics-port`
    var metricsPort = 0
    /// `metrics-bind`: loopback only unless configured (`-` marks an address skipped when unavailable).
    var metricsBindAddresses = ["127.0.0.1", "-::1"]
    /// `metrics-max-streams`
    var metricsMaxStreams = 1000
    /// `metrics-key-names`: whether series name streams by key; otherwise only per-database totals are exported.
    var metricsKeyNames = false
    /// `metrics-tls`: the metrics endpoint speaks HTTPS with the TLS listener's certificate and client checks.
    var metricsTLS = false

    // MARK: Observability

    /// `slowlog-log-slower-than`: microseconds; -1 = the slow log is off, 0 = every command is logged.
    var slowLogSlowerThanMicroseconds = 10000
    /// `slowlog-max-len`
    var slowLogMaxLength = 128
    /// `latency-monitor-threshold`: milliseconds; 0 = the latency monitor is off.
    var latencyMonitorThresholdMilliseconds = 0
    /// `latency-tracking`: per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats, Prometheus).
    var latencyTracking = true
    /// `latency-tracking-info-percentiles`: the percentiles INFO latencystats shows, each in 0...100.
    var latencyTrackingPercentiles: [Double] = [50, 99, 99.9]

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

    /// Whether anything needs the TLS contexts: a TLS listener, replication over TLS or HTTPS metrics. As in
    /// Redis, the `tls-*` files are only read (and checked) then.
    var tlsInUse: Bool { tls.port != 0 || tls.replication || (metricsTLS && metricsPort != 0) }

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
