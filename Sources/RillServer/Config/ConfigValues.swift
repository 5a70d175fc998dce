/// A directive value that is one of a fixed set of words; the raw value is the word as redis.conf writes it.
protocol ConfigWord: RawRepresentable<String>, CaseIterable, Sendable, Equatable {}

/// `appendfsync`: when the append-only file's bytes reach the disk.
enum AppendFsyncPolicy: String, ConfigWord {
    /// Every reply waits until its write is fsynced.
    case always
    /// Written before the reply, fsynced by a background thread about once a second.
    case everysec
    /// Written before the reply, fsync left to the operating system.
    case no
}

/// `io-engine`: what moves client connections' bytes on the port (TLS always uses SwiftNIO).
enum IOEngineChoice: String, ConfigWord {
    /// io_uring when the kernel offers what the engine needs (Linux 6.0: multishot receive into a
    /// buffer ring), else SwiftNIO.
    case auto
    /// io_uring, falling back to SwiftNIO with a warning when the kernel or a seccomp policy refuses it.
    case ioUring = "io_uring"
    /// SwiftNIO's epoll loop.
    case nio
}

/// `loglevel`: the least severe log lines written, from most to least verbose.
enum LogLevel: String, ConfigWord {
    case debug, verbose, notice, warning, nothing
}

/// `maxmemory-policy`: Rill never evicts keys; the word exists so clients that read or set Redis' policy keep
/// working.
enum MaxMemoryPolicy: String, ConfigWord {
    case noeviction
}

/// `maxmemory-stream-policy`: what happens to streams when a write is about to be refused for `maxmemory`.
enum MaxMemoryStreamPolicy: String, ConfigWord {
    /// Refuse the write, nothing else.
    case reject
    /// First trim stream entries every consumer group has acknowledged.
    case trimAcked = "trim-acked"
}

/// `enable-debug-command` and `enable-protected-configs`: who may run DEBUG, or CONFIG SET a protected directive.
enum ProtectedCommandAccess: String, ConfigWord {
    /// Nobody.
    case no
    /// Every client.
    case yes
    /// Clients connected over the loopback interface.
    case local

    /// Whether `client` may run the command this setting protects.
    func allows(_ client: ClientSession) -> Bool {
        switch self {
        case .no: return false
        case .yes: return true
        case .local: return client.isLocal
        }
    }
}

/// `tls-auth-clients`: whether clients of the TLS listener must present a certificate the CA vouches for.
enum TLSClientAuthentication: String, ConfigWord {
    /// No certificate is asked for.
    case no
    /// A certificate is required and verified.
    case yes
    /// A certificate is verified when the client presents one; a client without one is accepted.
    case optional
}

/// The `tls-*` directives, together so CONFIG SET can tell whether the TLS contexts must be rebuilt.
struct TLSSettings: Sendable, Equatable {
    /// `tls-port`: port of the TLS listener; 0 = none.
    var port = 0
    /// `tls-cert-file` / `tls-key-file` / `tls-key-file-pass`: the server's certificate chain (PEM), its private
    /// key and the key's passphrase; also the replica's client certificate unless `tls-client-*` names another.
    var certFile = ""
    var keyFile = ""
    var keyFilePass = ""
    /// `tls-client-cert-file` / `tls-client-key-file` / `tls-client-key-file-pass`: the certificate a replica
    /// presents to its primary; empty = the server's.
    var clientCertFile = ""
    var clientKeyFile = ""
    var clientKeyFilePass = ""
    /// `tls-ca-cert-file` / `tls-ca-cert-dir`: the CAs that verify clients' certificates and the primary's.
    var caCertFile = ""
    var caCertDir = ""
    /// `tls-auth-clients`
    var authClients = TLSClientAuthentication.yes
    /// `tls-protocols`: TLS versions allowed, space separated; empty = TLSv1.2 and TLSv1.3.
    var protocols = ""
    /// `tls-ciphers`: TLS 1.2 (and older) cipher list in OpenSSL's syntax; empty = the library's default.
    var ciphers = ""
    /// `tls-ciphersuites`: TLS 1.3 cipher suites, colon separated; empty = the library's default.
    var ciphersuites = ""
    /// `tls-replication`: a replica connects to its primary over TLS.
    var replication = false
}

/// `daemonize`: Rill does not fork into the background, so only "no" exists.
enum DaemonizeOption: String, ConfigWord {
    case no
}

/// One point of the `save` schedule: snapshot when at least `changes` writes happened and `seconds` passed since
/// the last snapshot.
struct SavePoint: Sendable, Equatable {
    var seconds: Int
    var changes: Int

    init(seconds: Int, changes: Int) {
        self.seconds = seconds
        self.changes = changes
    }
}

/// redis.conf memory notation: plain bytes or a k/kb/m/mb/g/gb suffix (1k = 1000, 1kb = 1024), as Redis parses it.
enum MemorySize {
    /// The bytes `text` stands for; nil when it is not a non-negative size or overflows.
    static func parse(_ text: String) -> Int? {
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

/// One class's `client-output-buffer-limit`: a client whose unsent replies reach `hardBytes` is disconnected at once;
/// one that stays at `softBytes` or more for longer than `softSeconds` too. 0 bytes means no such limit.
struct OutputBufferLimit: Sendable, Equatable {
    var hardBytes: Int
    var softBytes: Int
    var softSeconds: Int

    /// Whether a client with `unsentBytes` waiting must be disconnected now (Unix seconds `now`). `softSince` is the
    /// client's record of when it reached the soft limit (0: it is below): set the first time, cleared once below,
    /// as Redis keeps `obuf_soft_limit_reached_time`.
    func isExceeded(unsentBytes: Int, softSince: inout Int64, now: Int64) -> Bool {
        let overHard = hardBytes > 0 && unsentBytes >= hardBytes
        guard softBytes > 0 && unsentBytes >= softBytes else {
            softSince = 0
            return overHard
        }
        if softSince == 0 {
            softSince = now
            return overHard
        }
        return overHard || now - softSince > Int64(softSeconds)
    }
}

/// `client-output-buffer-limit`, per class as Redis sets them by default: none for normal clients, 256mb hard and
/// 64mb for a minute for replicas, 32mb hard and 8mb for a minute for Pub/Sub subscribers. A client's class is its
/// `ClientType`, the link to this server's primary counting as normal, as in Redis.
struct OutputBufferLimits: Sendable, Equatable {
    var normal = OutputBufferLimit(hardBytes: 0, softBytes: 0, softSeconds: 0)
    var replica = OutputBufferLimit(hardBytes: 256 << 20, softBytes: 64 << 20, softSeconds: 60)
    var pubsub = OutputBufferLimit(hardBytes: 32 << 20, softBytes: 8 << 20, softSeconds: 60)

    /// The classes in Redis' order, with the names CONFIG GET and CONFIG REWRITE write (`slave` for replicas).
    static let classes: [(name: String, limit: WritableKeyPath<OutputBufferLimits, OutputBufferLimit>)] = [
        ("normal", \.normal), ("slave", \.replica), ("pubsub", \.pubsub),
    ]

    /// The limit that applies to clients of `type`.
    subscript(type: ClientType) -> OutputBufferLimit {
        switch type {
        case .normal, .master: return normal
        case .replica: return replica
        case .pubsub: return pubsub
        }
    }

    /// Applies `class hard soft seconds` groups (any number, several classes per line) to the classes they name,
    /// leaving the others as they are, as Redis does for the directive and CONFIG SET.
    mutating func apply(_ words: [String]) throws(ConfigError) {
        guard !words.isEmpty, words.count % 4 == 0 else {
            throw ConfigError(message: "Wrong number of arguments in buffer limit configuration.")
        }
        var updated = self
        for start in stride(from: 0, to: words.count, by: 4) {
            guard let type = ClientType(word: words[start]), type != .master,
                  let path = Self.classes.first(where: { ClientType(word: $0.name) == type })?.limit else {
                throw ConfigError(message: "Invalid client class specified in buffer limit configuration.")
            }
            guard let hard = MemorySize.parse(words[start + 1]), let soft = MemorySize.parse(words[start + 2]),
                  let seconds = Int(words[start + 3]), seconds >= 0 else {
                throw ConfigError(message: "Error in hard, soft or soft_seconds setting in buffer limit configuration.")
            }
            updated[keyPath: path] = OutputBufferLimit(hardBytes: hard, softBytes: soft, softSeconds: seconds)
        }
        self = updated
    }

    /// Every class as `name hard soft seconds`, sizes in bytes (CONFIG GET).
    var words: [String] {
        Self.classes.flatMap { name, path in
            let limit = self[keyPath: path]
            return [name, String(limit.hardBytes), String(limit.softBytes), String(limit.softSeconds)]
        }
    }
}

/// `maxmemory-clients`: the memory all normal and Pub/Sub clients may take together (buffers, queued transactions)
/// before the largest are closed, as a byte count or a percentage of `maxmemory`; 0 (or a percentage while
/// `maxmemory` is 0) turns client eviction off.
enum ClientMemoryLimit: Sendable, Equatable {
    case bytes(Int)
    case percentOfMaxMemory(Int)

    /// Redis' floor: a limit this low would close every client, the one that could raise it included.
    static let smallestEffectiveBytes = 128 * 1024

    /// Parses `4mb`, `1048576` or `10%`; nil for anything else (negative, over 100%).
    init(parsing text: String) throws(ConfigError) {
        if text.hasSuffix("%") {
            guard let percent = Int(text.dropLast()), percent >= 0 else {
                throw ConfigError(message: "argument must be a memory or percent value")
            }
            guard percent <= 100 else { throw ConfigError(message: "percentage argument must be less or equal to 100") }
            self = .percentOfMaxMemory(percent)
            return
        }
        guard let bytes = MemorySize.parse(text) else {
            throw ConfigError(message: "argument must be a memory or percent value")
        }
        self = .bytes(bytes)
    }

    /// As CONFIG GET shows it: bytes, or the percentage with its sign.
    var text: String {
        switch self {
        case .bytes(let bytes): return String(bytes)
        case .percentOfMaxMemory(let percent): return "\(percent)%"
        }
    }

    /// The limit in bytes given `maxMemoryBytes`; 0 when client eviction is off. Never below
    /// `smallestEffectiveBytes` otherwise.
    func effectiveBytes(maxMemoryBytes: Int) -> Int {
        let bytes: Int
        switch self {
        case .bytes(let value): bytes = value
        case .percentOfMaxMemory(let percent):
            bytes = maxMemoryBytes == 0 ? 0 : Int(Double(maxMemoryBytes) * Double(percent) / 100)
        }
        return bytes == 0 ? 0 : max(bytes, Self.smallestEffectiveBytes)
    }
}
