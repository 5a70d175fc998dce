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
