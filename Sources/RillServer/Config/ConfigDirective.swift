/// One configuration directive: its name, the kind and limits of its value, whether CONFIG SET may change it, what
/// it does, and the field of `ServerConfiguration` it parses into and formats from.
///
/// `ConfigDirective.all` drives the config file parser, the command-line overrides, CONFIG GET and CONFIG SET, so
/// a directive is declared in exactly one place; its default is the initial value of its field.
struct ConfigDirective: Sendable {
    /// The kind of value and its limits, as CONFIG SET checks them.
    enum Kind: Sendable, Equatable {
        /// A decimal integer within a closed range.
        case integer(ClosedRange<Int>)
        /// A memory size in bytes within a closed range, given as redis.conf writes sizes (`MemorySize`).
        case memory(ClosedRange<Int>)
        /// `yes` or `no`.
        case boolean
        case string
        /// One of a fixed set of words (lower-case).
        case oneOf([String])
        /// One or more words (bind addresses).
        case words
        /// `save` points: pairs of non-negative integers "<seconds> <changes> ...", or "" for none.
        case savePoints
        /// Numbers in 0...100, space separated, or "" for none (`latency-tracking-info-percentiles`).
        case percentiles
        /// A file name without any directory part (`dbfilename`).
        case fileName
        /// `class hard soft seconds` groups, each changing one class (`client-output-buffer-limit`).
        case outputBufferLimits
        /// A memory size or a percentage of `maxmemory` (`maxmemory-clients`).
        case memoryOrPercent
    }

    let name: String
    let kind: Kind
    /// False when the directive can only be given at start-up (CONFIG SET answers an error).
    let mutable: Bool
    /// What the directive does, in one line.
    let summary: String
    /// Parses a directive line's arguments into the field; leaves the configuration unchanged when it throws.
    private let parse: @Sendable ([String], inout ServerConfiguration) throws(ConfigError) -> Void
    /// The field as a directive line's arguments.
    private let format: @Sendable (ServerConfiguration) -> [String]

    /// Parses `arguments` (the words after the directive's name) into its field of `configuration`.
    /// - Throws: `ConfigError` with the reason Redis gives; `configuration` is then unchanged.
    func set(_ arguments: [String], in configuration: inout ServerConfiguration) throws(ConfigError) {
        try parse(arguments, &configuration)
    }

    /// The value in `configuration` as the arguments of a config file line that sets it (what CONFIG REWRITE
    /// writes, quoting each argument; an empty list is written `""`). Parsing them gives the value back.
    func arguments(in configuration: ServerConfiguration) -> [String] { format(configuration) }

    /// The value in `configuration` as CONFIG GET answers it.
    func text(in configuration: ServerConfiguration) -> String {
        format(configuration).joined(separator: " ")
    }

    /// The default value as CONFIG GET answers it.
    var defaultText: String { text(in: ServerConfiguration()) }

    static func named(_ name: String) -> ConfigDirective? { index[name] }

    /// Redis' protected configs: where files are written, which CONFIG SET may change only as
    /// `enable-protected-configs` allows (a client able to set them could write files anywhere).
    static let protectedNames: Set<String> = ["dir", "dbfilename"]

    private static let index: [String: ConfigDirective] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The accepted directives, in the order CONFIG GET lists them. `conf/rill.conf` documents each of them.
    static let all: [ConfigDirective] = [
        .words("bind", \.bindAddresses, mutable: false, "Addresses to listen on."),
        .integer("port", \.port, 0...65535, mutable: false, "TCP port; 0 lets the kernel pick a free one."),
        .integer("tcp-backlog", \.tcpBacklog, 1...65535, mutable: false, "Backlog of the listening socket."),
        .word("io-engine", \.ioEngine, mutable: false,
              "What serves client connections on the port: auto, io_uring or nio (SwiftNIO)."),
        .integer("timeout", \.idleTimeoutSeconds, 0...Int(Int32.max), mutable: true,
                 "Seconds without a command after which a client is closed; 0 = never."),
        .integer("databases", \.databases, 1...Int(Int32.max), mutable: false, "Number of databases."),
        .optionalString("requirepass", \.requirePass, mutable: true,
                        "Password clients must AUTH with; empty = none."),
        .memory("repl-backlog-size", \.replicationBacklogSize, 1...Int(Int64.max), mutable: true,
                "Stream bytes kept so a replica that reconnects resumes without a full synchronisation."),
        .integer("repl-backlog-ttl", \.replicationBacklogTTLSeconds, 0...Int(Int32.max), mutable: true,
                 "Seconds without replicas after which the backlog is dropped; 0 keeps it."),
        .boolean("repl-diskless-sync", \.replicationDisklessSync, mutable: true,
                 "Send snapshots to replicas in the $EOF: form, without a length known up front."),
        .integer("repl-diskless-sync-delay", \.replicationDisklessSyncDelaySeconds, 0...Int(Int32.max),
                 mutable: true, "Seconds a diskless full synchronisation waits for more replicas to share it; 0: none."),
        .integer("repl-diskless-sync-max-replicas", \.replicationDisklessSyncMaxReplicas, 0...Int(Int32.max),
                 mutable: true, "Start a waiting diskless transfer once this many replicas wait; 0: no limit."),
        .integer("repl-ping-replica-period", \.replicationPingPeriodSeconds, 1...Int(Int32.max), mutable: true,
                 "Seconds between PINGs sent to replicas in the replication stream."),
        .integer("repl-timeout", \.replicationTimeoutSeconds, 1...Int(Int32.max), mutable: true,
                 "Seconds without an acknowledgement after which a replica is disconnected."),
        .integer("min-replicas-to-write", \.minReplicasToWrite, 0...Int(Int32.max), mutable: true,
                 "Refuse writes (NOREPLICAS) unless this many replicas are connected with a small lag; 0: off."),
        .integer("min-replicas-max-lag", \.minReplicasMaxLagSeconds, 0...Int(Int32.max), mutable: true,
                 "The largest acknowledgement age, in seconds, of a replica counted by min-replicas-to-write."),
        .words("replicaof", \.replicaOf, mutable: false,
               "Follow the primary at <host> <port> from start-up (REPLICAOF changes it at run time)."),
        .optionalString("masterauth", \.primaryPassword, mutable: true,
                        "Password sent to the primary with AUTH before synchronising."),
        .optionalString("masteruser", \.primaryUser, mutable: true,
                        "User name sent to the primary with AUTH, with masterauth."),
        .boolean("replica-read-only", \.replicaReadOnly, mutable: true,
                 "A replica refuses clients' writes with READONLY."),
        .boolean("replica-serve-stale-data", \.replicaServeStaleData, mutable: true,
                 "A replica whose link is down still serves its data; no answers MASTERDOWN."),
        .integer("replica-priority", \.replicaPriority, 0...Int(Int32.max), mutable: true,
                 "Sentinel promotes the replica with the lowest priority; 0 never."),
        .optionalString("replica-announce-ip", \.replicaAnnounceIP, mutable: true,
                        "Address this replica gives its primary (REPLCONF ip-address)."),
        .integer("replica-announce-port", \.replicaAnnouncePort, 0...65535, mutable: true,
                 "Port this replica gives its primary; 0 gives the listening port."),
        .boolean("replica-announced", \.replicaAnnounced, mutable: true,
                 "Whether Sentinel lists this replica (INFO replica_announced)."),
        .integer("maxclients", \.maxClients, 1...Int(Int32.max), mutable: true, "Most simultaneous clients."),
        .integer("hz", \.configuredHz, 0...Int(Int32.max), mutable: true,
                 "Times per second the background task runs, used clamped to 1..500."),
        .word("loglevel", \.logLevel, mutable: true, "Log verbosity."),
        .string("logfile", \.logFile, mutable: false, "Log file path; empty = standard output."),
        .string("pidfile", \.pidFile, mutable: false, "File the process id is written to; empty = none."),
        .word("daemonize", \.daemonize, mutable: false, "Rill does not fork into the background: only no."),
        .string("dir", \.directory, mutable: false, "Working directory of snapshots and append-only files."),
        .memory("proto-max-bulk-len", \.protoMaxBulkLength, (1024 * 1024)...Int(Int64.max), mutable: true,
                "Largest bulk string a request may carry."),
        .memory("client-query-buffer-limit", \.queryBufferLimit, (1024 * 1024)...Int(Int64.max), mutable: true,
                "Most unparsed input one client may accumulate before it is disconnected."),
        .outputBufferLimits("client-output-buffer-limit", \.outputBufferLimits, mutable: true,
                            "Unsent reply bytes that disconnect a client of a class, at once or after a while."),
        .memory("client-output-pause-threshold", \.outputPauseThreshold, 0...Int(Int64.max), mutable: true,
                "Unsent reply bytes of a client above which its requests and reads wait; 0 = never."),
        .memory("stream-node-max-bytes", \.streamNodeLimits.maxBytes, 0...Int(Int64.max), mutable: true,
                "Bytes at which a stream starts a new block; 0 = no limit."),
        .integer("stream-node-max-entries", \.streamNodeLimits.maxEntries, 0...Int(Int64.max), mutable: true,
                 "Entries at which a stream starts a new block; 0 = no limit."),
        .savePoints("save", \.savePoints, mutable: true,
                    "Background snapshot after <seconds> with at least <changes> writes; empty = never."),
        .boolean("stop-writes-on-bgsave-error", \.stopWritesOnBackgroundSaveError, mutable: true,
                 "Refuse writes (MISCONF) while the latest background save failed and save points exist."),
        .fileName("dbfilename", \.snapshotFileName, mutable: true, "Snapshot (RDB) file name inside dir."),
        .boolean("rdbcompression", \.snapshotCompression, mutable: true,
                 "Compress long strings in snapshot files with LZF."),
        // Immutable, as in Redis: CONFIG SET rdbchecksum answers "can't set immutable config".
        .boolean("rdbchecksum", \.snapshotChecksum, mutable: false,
                 "End snapshot files with a CRC-64 of their bytes (else 8 zero bytes)."),
        .boolean("appendonly", \.appendOnly, mutable: true,
                 "Log every write to the append-only file, which start-up replays instead of the snapshot."),
        .word("appendfsync", \.appendFsync, mutable: true, "When the append-only file is fsynced."),
        .fileName("appenddirname", \.appendOnlyDirectoryName, mutable: false,
                  "Directory of the append-only files inside dir."),
        .fileName("appendfilename", \.appendOnlyFileName, mutable: false,
                  "Stem of the append-only file names."),
        .boolean("aof-use-rdb-preamble", \.appendOnlyRDBPreamble, mutable: true,
                 "Write the append-only base as an RDB file; no: as the commands that rebuild the keyspace."),
        .boolean("aof-load-truncated", \.appendOnlyLoadTruncated, mutable: true,
                 "Start after cutting an incomplete last command off the append-only file."),
        .boolean("aof-fsync-worker", \.appendFsyncOnWorker, mutable: true,
                 "appendfsync always: fdatasync on a worker thread while the next requests run; replies still wait."),
        .memory("maxmemory", \.maxMemoryBytes, 0...Int(Int64.max), mutable: true,
                "Used memory above which writes that grow memory are refused; 0 = no limit."),
        .memoryOrPercent("maxmemory-clients", \.maxMemoryClients, mutable: true,
                         "Memory of all clients above which the largest are closed (bytes or % of maxmemory); 0 = off."),
        .word("maxmemory-policy", \.maxMemoryPolicy, mutable: true, "Rill never evicts keys: only noeviction."),
        .word("maxmemory-stream-policy", \.maxMemoryStreamPolicy, mutable: true,
              "Whether acknowledged stream entries are trimmed before a write is refused for maxmemory."),
        .word("enable-debug-command", \.enableDebugCommand, mutable: false,
              "Who may run DEBUG: no one, every client (yes) or loopback clients (local)."),
        .word("enable-protected-configs", \.enableProtectedConfigs, mutable: false,
              "Who may CONFIG SET dir and dbfilename: no one, every client (yes) or loopback clients (local)."),
        .boolean("protected-mode", \.protectedMode, mutable: true,
                 "While the default user has no password, refuse clients that are not on the loopback interface."),
        .optionalString("aclfile", \.aclFile, mutable: false,
                        "File of users (ACL LIST lines) read at start-up and by ACL LOAD, written by ACL SAVE."),
        .integer("acllog-max-len", \.aclLogMaxLength, 0...Int(Int64.max), mutable: true,
                 "Most entries ACL LOG keeps (refused commands, keys, channels and logins)."),
        .integer("metrics-port", \.metricsPort, 0...65535, mutable: false,
                 "TCP port of the Prometheus endpoint; 0 = none."),
        .words("metrics-bind", \.metricsBindAddresses, mutable: false,
               "Addresses the metrics endpoint listens on; a leading '-' marks one skipped when unavailable."),
        .boolean("metrics-tls", \.metricsTLS, mutable: false,
                 "Serve the metrics over HTTPS with tls-cert-file, tls-key-file and tls-auth-clients."),
        .integer("metrics-max-streams", \.metricsMaxStreams, 0...Int(Int32.max), mutable: true,
                 "Most streams (the longest) with per-stream series in one scrape."),
        .boolean("metrics-key-names", \.metricsKeyNames, mutable: true,
                 "Label series with stream key names (per stream and group); otherwise per-database totals only."),
        .integer("auto-aof-rewrite-percentage", \.autoRewritePercentage, 0...Int(Int32.max), mutable: true,
                 "Growth in percent over the size after the last rewrite that starts one; 0 = never."),
        .memory("auto-aof-rewrite-min-size", \.autoRewriteMinimumSize, 0...Int(Int64.max), mutable: true,
                "No automatic rewrite while the append-only files are smaller."),
        .integer("slowlog-log-slower-than", \.slowLogSlowerThanMicroseconds, -1...Int(Int64.max), mutable: true,
                 "Microseconds from which a command is kept in the slow log; -1 = off, 0 = every command."),
        .integer("slowlog-max-len", \.slowLogMaxLength, 0...Int(Int64.max), mutable: true,
                 "Most entries the slow log keeps."),
        .integer("latency-monitor-threshold", \.latencyMonitorThresholdMilliseconds, 0...Int(Int64.max),
                 mutable: true, "Milliseconds from which LATENCY records an event; 0 = off."),
        .boolean("latency-tracking", \.latencyTracking, mutable: true,
                 "Keep a latency histogram per command (LATENCY HISTOGRAM, INFO latencystats, metrics)."),
        .integer("tls-port", \.tls.port, 0...65535, mutable: false, "TCP port of the TLS listener; 0 = none."),
        .string("tls-cert-file", \.tls.certFile, mutable: true, "Server certificate chain (PEM)."),
        .string("tls-key-file", \.tls.keyFile, mutable: true, "Private key of tls-cert-file (PEM)."),
        .string("tls-key-file-pass", \.tls.keyFilePass, mutable: true, "Passphrase of tls-key-file; empty = none."),
        .string("tls-client-cert-file", \.tls.clientCertFile, mutable: true,
                "Certificate a replica presents to its primary; empty = tls-cert-file."),
        .string("tls-client-key-file", \.tls.clientKeyFile, mutable: true,
                "Private key of tls-client-cert-file; empty = tls-key-file."),
        .string("tls-client-key-file-pass", \.tls.clientKeyFilePass, mutable: true,
                "Passphrase of tls-client-key-file; empty = none."),
        .string("tls-ca-cert-file", \.tls.caCertFile, mutable: true,
                "CA certificates (PEM) that verify clients and the primary."),
        .string("tls-ca-cert-dir", \.tls.caCertDir, mutable: true,
                "Directory of CA certificates (hashed names, as openssl rehash makes)."),
        .word("tls-auth-clients", \.tls.authClients, mutable: true,
              "Whether TLS clients must present a certificate: yes, no, or optional (verified when presented)."),
        .string("tls-protocols", \.tls.protocols, mutable: true,
                "TLS versions allowed (TLSv1 TLSv1.1 TLSv1.2 TLSv1.3); empty = TLSv1.2 TLSv1.3."),
        .string("tls-ciphers", \.tls.ciphers, mutable: true, "TLS 1.2 cipher list (OpenSSL syntax); empty = default."),
        .string("tls-ciphersuites", \.tls.ciphersuites, mutable: true,
                "TLS 1.3 cipher suites; BoringSSL always offers all three, so only those, all of them, are accepted."),
        .boolean("tls-replication", \.tls.replication, mutable: true, "A replica connects to its primary over TLS."),
        .percentiles("latency-tracking-info-percentiles", \.latencyTrackingPercentiles, mutable: true,
                     "Percentiles INFO latencystats shows."),
    ]
}

// MARK: Declaring directives of each kind

private extension ConfigDirective {
    init<Value>(_ name: String, _ field: WritableKeyPath<ServerConfiguration, Value>, _ kind: Kind, mutable: Bool,
                _ summary: String, parse: @escaping @Sendable ([String]) throws(ConfigError) -> Value,
                format: @escaping @Sendable (Value) -> [String]) {
        self.name = name
        self.kind = kind
        self.mutable = mutable
        self.summary = summary
        // Key paths to stored properties hold no state; they are only not declared Sendable.
        nonisolated(unsafe) let field = field
        self.parse = { arguments, configuration throws(ConfigError) in
            configuration[keyPath: field] = try parse(arguments)
        }
        self.format = { format($0[keyPath: field]) }
    }

    static func integer(_ name: String, _ field: WritableKeyPath<ServerConfiguration, Int>, _ range: ClosedRange<Int>,
                        mutable: Bool, _ summary: String) -> Self {
        Self(name, field, .integer(range), mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            guard let value = Int(try single(arguments)) else {
                throw ConfigError(message: "argument couldn't be parsed into an integer")
            }
            return try checked(value, in: range)
        }, format: { [String($0)] })
    }

    static func memory(_ name: String, _ field: WritableKeyPath<ServerConfiguration, Int>, _ range: ClosedRange<Int>,
                       mutable: Bool, _ summary: String) -> Self {
        Self(name, field, .memory(range), mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            guard let value = MemorySize.parse(try single(arguments)) else {
                throw ConfigError(message: "argument must be a memory value")
            }
            return try checked(value, in: range)
        }, format: { [String($0)] })
    }

    static func boolean(_ name: String, _ field: WritableKeyPath<ServerConfiguration, Bool>, mutable: Bool,
                        _ summary: String) -> Self {
        Self(name, field, .boolean, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            switch try single(arguments).lowercased() {
            case "yes": return true
            case "no": return false
            default: throw ConfigError(message: "argument must be 'yes' or 'no'")
            }
        }, format: { [$0 ? "yes" : "no"] })
    }

    static func string(_ name: String, _ field: WritableKeyPath<ServerConfiguration, String>, mutable: Bool,
                       _ summary: String) -> Self {
        Self(name, field, .string, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            try single(arguments)
        }, format: { [$0] })
    }

    /// A string where empty means none (`requirepass ""`).
    static func optionalString(_ name: String, _ field: WritableKeyPath<ServerConfiguration, String?>,
                               mutable: Bool, _ summary: String) -> Self {
        Self(name, field, .string, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            let text = try single(arguments)
            return text.isEmpty ? nil : text
        }, format: { [$0 ?? ""] })
    }

    static func fileName(_ name: String, _ field: WritableKeyPath<ServerConfiguration, String>, mutable: Bool,
                         _ summary: String) -> Self {
        Self(name, field, .fileName, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            let text = try single(arguments)
            guard !text.contains("/") else { throw ConfigError(message: "\(name) can't be a path, just a filename") }
            return text
        }, format: { [$0] })
    }

    static func word<Word: ConfigWord>(_ name: String, _ field: WritableKeyPath<ServerConfiguration, Word>,
                                       mutable: Bool, _ summary: String) -> Self {
        let words = Word.allCases.map(\.rawValue)
        return Self(name, field, .oneOf(words), mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            guard let value = Word(rawValue: try single(arguments).lowercased()) else {
                throw ConfigError(message: "argument(s) must be one of the following: \(words.joined(separator: ", "))")
            }
            return value
        }, format: { [$0.rawValue] })
    }

    static func words(_ name: String, _ field: WritableKeyPath<ServerConfiguration, [String]>, mutable: Bool,
                      _ summary: String) -> Self {
        Self(name, field, .words, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            guard !arguments.isEmpty else { throw ConfigError(message: "wrong number of arguments") }
            // A quoted "a b" holds two addresses, as CONFIG SET bind "a b" does.
            return arguments.flatMap { $0.split(separator: " ").map(String.init) }
        }, format: { $0 })
    }

    static func savePoints(_ name: String, _ field: WritableKeyPath<ServerConfiguration, [SavePoint]>,
                           mutable: Bool, _ summary: String) -> Self {
        Self(name, field, .savePoints, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            // `save ""`, `save` alone and `--save ''` mean no save points; `--save "60 1"` arrives as one word.
            let words = arguments.flatMap { $0.split(separator: " ") }
            guard words.count % 2 == 0 else { throw ConfigError(message: "Invalid save parameters") }
            var numbers: [Int] = []
            for word in words {
                guard let number = Int(word), number >= 0 else { throw ConfigError(message: "Invalid save parameters") }
                numbers.append(number)
            }
            return stride(from: 0, to: numbers.count, by: 2).map {
                SavePoint(seconds: numbers[$0], changes: numbers[$0 + 1])
            }
        }, format: { $0.flatMap { [String($0.seconds), String($0.changes)] } })
    }

    /// Groups of `class hard soft seconds`; each changes the class it names (several lines add up).
    static func outputBufferLimits(_ name: String, _ field: WritableKeyPath<ServerConfiguration, OutputBufferLimits>,
                                   mutable: Bool, _ summary: String) -> Self {
        // Key paths to stored properties hold no state; they are only not declared Sendable.
        nonisolated(unsafe) let field = field
        return Self(name: name, kind: .outputBufferLimits, mutable: mutable, summary: summary,
                    parse: { arguments, configuration throws(ConfigError) in
                        try configuration[keyPath: field].apply(arguments.flatMap { $0.split(separator: " ").map(String.init) })
                    },
                    format: { $0[keyPath: field].words })
    }

    static func memoryOrPercent(_ name: String, _ field: WritableKeyPath<ServerConfiguration, ClientMemoryLimit>,
                                mutable: Bool, _ summary: String) -> Self {
        Self(name, field, .memoryOrPercent, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            try ClientMemoryLimit(parsing: try single(arguments))
        }, format: { [$0.text] })
    }

    /// Space-separated numbers in 0...100; empty for none. Shown as printf's "%f" without trailing zeros.
    static func percentiles(_ name: String, _ field: WritableKeyPath<ServerConfiguration, [Double]>, mutable: Bool,
                            _ summary: String) -> Self {
        Self(name, field, .percentiles, mutable: mutable, summary, parse: { arguments throws(ConfigError) in
            var values: [Double] = []
            for word in arguments.flatMap({ $0.split(separator: " ") }) {
                guard let value = Double(word), value.isFinite else {
                    throw ConfigError(message: "Invalid latency-tracking-info-percentiles parameters")
                }
                guard (0...100).contains(value) else {
                    throw ConfigError(message: "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
                }
                values.append(value)
            }
            return values
        }, format: { $0.map(trimmedDecimalText) })
    }

    /// The one argument of a single-valued directive.
    static func single(_ arguments: [String]) throws(ConfigError) -> String {
        guard arguments.count == 1 else { throw ConfigError(message: "wrong number of arguments") }
        return arguments[0]
    }

    static func checked(_ value: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard range.contains(value) else {
            throw ConfigError(message: "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
        }
        return value
    }
}
