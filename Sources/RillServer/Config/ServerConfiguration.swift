/// The server's configuration: every directive Rill accepts, its type, default and whether CONFIG SET may change it.
///
/// One table (`ConfigDirective.all`) drives the config file parser, the command-line overrides, CONFIG GET/SET and
/// the documented defaults in `conf/rill.conf`, so a directive exists in exactly one place.
public struct ServerConfiguration: Sendable {
    /// Current values by directive name, in the canonical textual form CONFIG GET answers with.
    private var values: [String: String]

    public init() {
        var values: [String: String] = [:]
        for directive in ConfigDirective.all { values[directive.name] = directive.defaultValue }
        self.values = values
    }

    public subscript(name: String) -> String? { values[name] }

    /// Sets a directive after validating it; the stored form is normalised (sizes as bytes, booleans as yes/no).
    /// - Throws: `ConfigError` naming what is wrong.
    public mutating func set(_ name: String, _ arguments: [String]) throws(ConfigError) {
        guard let directive = ConfigDirective.named(name.lowercased()) else {
            throw ConfigError(message: "Bad directive or wrong number of arguments")
        }
        values[directive.name] = try directive.normalise(arguments)
    }

    public var bindAddresses: [String] { (values["bind"] ?? "127.0.0.1").split(separator: " ").map(String.init) }
    public var port: Int { int("port") }
    public var databases: Int { int("databases") }
    public var requirePass: String? { values["requirepass"].flatMap { $0.isEmpty ? nil : $0 } }
    public var maxClients: Int { int("maxclients") }
    public var idleTimeoutSeconds: Int { int("timeout") }
    public var tcpBacklog: Int { int("tcp-backlog") }
    /// Redis accepts any non-negative hz and clamps it to 1...500 where it is used.
    public var hz: Int { min(500, max(1, int("hz"))) }
    public var protoMaxBulkLength: Int { int("proto-max-bulk-len") }
    public var queryBufferLimit: Int { int("client-query-buffer-limit") }
    public var streamNodeMaxBytes: Int { int("stream-node-max-bytes") }
    public var streamNodeMaxEntries: Int { int("stream-node-max-entries") }
    public var logLevel: String { values["loglevel"] ?? "notice" }
    public var logFile: String { values["logfile"] ?? "" }
    public var directory: String { values["dir"] ?? "." }
    public var pidFile: String { values["pidfile"] ?? "" }
    /// File name of snapshots inside `directory` (`dbfilename`).
    public var snapshotFileName: String { values["dbfilename"] ?? "dump.rill" }
    /// Where SAVE/BGSAVE write and start-up loads: `dir` joined with `dbfilename`.
    public var snapshotPath: String {
        let directory = self.directory
        return directory.hasSuffix("/") ? directory + snapshotFileName : directory + "/" + snapshotFileName
    }
    /// The `save` schedule: snapshot when at least `changes` writes happened and `seconds` passed since the last
    /// one. Empty when snapshots are only taken on demand.
    public var savePoints: [(seconds: Int, changes: Int)] {
        let numbers = (values["save"] ?? "").split(separator: " ").compactMap { Int($0) }
        return stride(from: 0, to: numbers.count - 1, by: 2).map { (numbers[$0], numbers[$0 + 1]) }
    }

    /// `appendonly yes`: writes are logged to the append-only file, which start-up replays instead of the snapshot.
    public var appendOnly: Bool { values["appendonly"] == "yes" }
    /// `appendfsync`: "always", "everysec" or "no".
    public var appendFsync: String { values["appendfsync"] ?? "everysec" }
    /// Whether an incomplete last command in the append-only file is dropped (with a warning) rather than fatal.
    public var appendOnlyLoadTruncated: Bool { values["aof-load-truncated"] != "no" }
    /// Directory holding the append-only file: `dir` joined with `appenddirname`.
    public var appendOnlyDirectory: String {
        let directory = self.directory
        let name = values["appenddirname"] ?? "appendonlydir"
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
    /// `appendfilename`: the stem of the manifest, base and incremental file names.
    public var appendOnlyFileName: String { values["appendfilename"] ?? "appendonly.aof" }
    /// The single append-only file of Rill versions before the manifest: `appendOnlyDirectory` joined with
    /// `appendfilename`. Loaded (and then listed in a new manifest) when no manifest exists.
    public var appendOnlyPath: String { appendOnlyDirectory + "/" + appendOnlyFileName }
    /// The manifest listing the base and incremental files.
    public var appendOnlyManifestPath: String { appendOnlyDirectory + "/" + appendOnlyFileName + ".manifest" }
    /// `auto-aof-rewrite-percentage`: growth over the size after the last rewrite that triggers one; 0 = never.
    public var autoRewritePercentage: Int { int("auto-aof-rewrite-percentage") }
    /// `auto-aof-rewrite-min-size`: no automatic rewrite while the files are smaller than this.
    public var autoRewriteMinimumSize: Int { int("auto-aof-rewrite-min-size") }

    /// `maxmemory`: used memory above which writes that grow memory are refused; 0 = no limit.
    public var maxMemoryBytes: Int { int("maxmemory") }
    /// `maxmemory-stream-policy trim-acked`: trim acknowledged stream entries before refusing a write.
    public var trimsAcknowledgedEntries: Bool { values["maxmemory-stream-policy"] == "trim-acked" }
    /// `metrics-port`: TCP port of the Prometheus endpoint (GET /metrics); 0 = not served.
    public var metricsPort: Int { int("metrics-port") }
    /// `metrics-max-streams`: at most this many streams (the longest) get per-stream series in one scrape.
    public var metricsMaxStreams: Int { int("metrics-max-streams") }

    private func int(_ name: String) -> Int {
        // Every stored integer went through `normalise`, which only stores decimal text.
        Int(values[name] ?? "") ?? 0
    }

    /// Directive names and values matching a CONFIG GET glob pattern, in table order.
    public func matching(_ isMatch: (String) -> Bool) -> [(String, String)] {
        ConfigDirective.all.compactMap { directive in
            guard isMatch(directive.name), let value = values[directive.name] else { return nil }
            return (directive.name, value)
        }
    }
}

public struct ConfigError: Error, Equatable, Sendable {
    public let message: String
}

/// One configuration directive: name, value kind, default, and whether it may change while running.
public struct ConfigDirective: Sendable {
    public enum Kind: Sendable {
        /// A decimal integer within a closed range.
        case integer(ClosedRange<Int>)
        /// A memory size: plain bytes or with a k/kb/m/mb/g/gb suffix (1k = 1000, 1kb = 1024), as redis.conf.
        case memory(ClosedRange<Int>)
        case boolean
        case string
        /// One of a fixed set of words (lower-case).
        case oneOf([String])
        /// One or more words (bind addresses).
        case words
        /// `save` points: pairs of non-negative integers "<seconds> <changes> ...", or "" for none.
        case savePoints
        /// A file name without any directory part (`dbfilename`).
        case fileName
    }

    public let name: String
    public let kind: Kind
    public let defaultValue: String
    /// False when the directive can only be given at start-up (CONFIG SET answers an error).
    public let mutable: Bool

    static func named(_ name: String) -> ConfigDirective? { index[name] }

    private static let index: [String: ConfigDirective] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The accepted directives. `conf/rill.conf` documents each of them.
    public static let all: [ConfigDirective] = [
        ConfigDirective(name: "bind", kind: .words, defaultValue: "127.0.0.1", mutable: false),
        ConfigDirective(name: "port", kind: .integer(0...65535), defaultValue: "6379", mutable: false),
        ConfigDirective(name: "tcp-backlog", kind: .integer(1...65535), defaultValue: "511", mutable: false),
        ConfigDirective(name: "timeout", kind: .integer(0...Int(Int32.max)), defaultValue: "0", mutable: true),
        ConfigDirective(name: "databases", kind: .integer(1...Int(Int32.max)), defaultValue: "16", mutable: false),
        ConfigDirective(name: "requirepass", kind: .string, defaultValue: "", mutable: true),
        ConfigDirective(name: "maxclients", kind: .integer(1...Int(Int32.max)), defaultValue: "10000", mutable: true),
        ConfigDirective(name: "hz", kind: .integer(0...Int(Int32.max)), defaultValue: "10", mutable: true),
        ConfigDirective(name: "loglevel", kind: .oneOf(["debug", "verbose", "notice", "warning", "nothing"]),
                        defaultValue: "notice", mutable: true),
        ConfigDirective(name: "logfile", kind: .string, defaultValue: "", mutable: false),
        ConfigDirective(name: "pidfile", kind: .string, defaultValue: "", mutable: false),
        ConfigDirective(name: "daemonize", kind: .oneOf(["no"]), defaultValue: "no", mutable: false),
        ConfigDirective(name: "dir", kind: .string, defaultValue: ".", mutable: false),
        ConfigDirective(name: "proto-max-bulk-len", kind: .memory((1024 * 1024)...Int(Int64.max)),
                        defaultValue: "536870912", mutable: true),
        ConfigDirective(name: "client-query-buffer-limit", kind: .memory((1024 * 1024)...Int(Int64.max)),
                        defaultValue: "1073741824", mutable: true),
        ConfigDirective(name: "stream-node-max-bytes", kind: .memory(0...Int(Int64.max)),
                        defaultValue: "4096", mutable: true),
        ConfigDirective(name: "stream-node-max-entries", kind: .integer(0...Int(Int64.max)),
                        defaultValue: "100", mutable: true),
        // Redis 7's default schedule: after an hour with one change, 5 minutes with 100, a minute with 10000.
        ConfigDirective(name: "save", kind: .savePoints, defaultValue: "3600 1 300 100 60 10000", mutable: true),
        ConfigDirective(name: "dbfilename", kind: .fileName, defaultValue: "dump.rill", mutable: true),
        // Switching the append-only file on at runtime would need the keyspace written as commands first (Redis
        // rewrites the AOF); not implemented, so the setting is fixed at start-up.
        ConfigDirective(name: "appendonly", kind: .boolean, defaultValue: "no", mutable: true),
        ConfigDirective(name: "appendfsync", kind: .oneOf(["always", "everysec", "no"]), defaultValue: "everysec",
                        mutable: true),
        ConfigDirective(name: "appenddirname", kind: .fileName, defaultValue: "appendonlydir", mutable: false),
        ConfigDirective(name: "appendfilename", kind: .fileName, defaultValue: "appendonly.aof", mutable: false),
        ConfigDirective(name: "aof-load-truncated", kind: .boolean, defaultValue: "yes", mutable: true),
        ConfigDirective(name: "maxmemory", kind: .memory(0...Int(Int64.max)), defaultValue: "0", mutable: true),
        // Rill never evicts keys; the word exists so clients that read or set Redis' policy keep working.
        ConfigDirective(name: "maxmemory-policy", kind: .oneOf(["noeviction"]), defaultValue: "noeviction",
                        mutable: true),
        ConfigDirective(name: "maxmemory-stream-policy", kind: .oneOf(["reject", "trim-acked"]),
                        defaultValue: "reject", mutable: true),
        ConfigDirective(name: "metrics-port", kind: .integer(0...65535), defaultValue: "0", mutable: false),
        ConfigDirective(name: "metrics-max-streams", kind: .integer(0...Int(Int32.max)), defaultValue: "1000",
                        mutable: true),
        ConfigDirective(name: "auto-aof-rewrite-percentage", kind: .integer(0...Int(Int32.max)), defaultValue: "100",
                        mutable: true),
        ConfigDirective(name: "auto-aof-rewrite-min-size", kind: .memory(0...Int(Int64.max)), defaultValue: "67108864",
                        mutable: true),
    ]

    func normalise(_ arguments: [String]) throws(ConfigError) -> String {
        if case .words = kind {
            guard !arguments.isEmpty else { throw ConfigError(message: "wrong number of arguments") }
            return arguments.joined(separator: " ")
        }
        if case .savePoints = kind {
            // `save ""`, `save` alone and `--save ''` mean no save points; `--save "60 1"` arrives as one word.
            let words = arguments.flatMap { $0.split(separator: " ") }
            guard words.count % 2 == 0 else { throw ConfigError(message: "Invalid save parameters") }
            var numbers: [Int] = []
            for word in words {
                guard let number = Int(word), number >= 0 else { throw ConfigError(message: "Invalid save parameters") }
                numbers.append(number)
            }
            return numbers.map(String.init).joined(separator: " ")
        }
        guard arguments.count == 1 else { throw ConfigError(message: "wrong number of arguments") }
        let text = arguments[0]
        switch kind {
        case .integer(let range):
            guard let value = Int(text) else { throw ConfigError(message: "argument couldn't be parsed into an integer") }
            guard range.contains(value) else {
                throw ConfigError(message: "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
            }
            return String(value)
        case .memory(let range):
            guard let value = ConfigDirective.parseMemory(text) else {
                throw ConfigError(message: "argument must be a memory value")
            }
            guard range.contains(value) else {
                throw ConfigError(message: "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
            }
            return String(value)
        case .boolean:
            switch text.lowercased() {
            case "yes": return "yes"
            case "no": return "no"
            default: throw ConfigError(message: "argument must be 'yes' or 'no'")
            }
        case .string:
            return text
        case .oneOf(let words):
            let lowered = text.lowercased()
            guard words.contains(lowered) else {
                throw ConfigError(message: "argument(s) must be one of the following: \(words.joined(separator: ", "))")
            }
            return lowered
        case .words:
            return text
        case .fileName:
            guard !text.contains("/") else { throw ConfigError(message: "\(name) can't be a path, just a filename") }
            return text
        case .savePoints:
            return text  // handled above
        }
    }

    /// Parses redis.conf memory notation: `1024`, `1k` (1000), `1kb` (1024), `5m`, `5mb`, `1g`, `1gb`.
    static func parseMemory(_ text: String) -> Int? {
        let lowered = text.lowercased()
        let units: [(String, Int)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10),
                                      ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1)]
        for (suffix, multiplier) in units where lowered.hasSuffix(suffix) {
            guard let number = Int(lowered.dropLast(suffix.count)), number >= 0 else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : product
        }
        guard let number = Int(lowered), number >= 0 else { return nil }
        return number
    }
}
