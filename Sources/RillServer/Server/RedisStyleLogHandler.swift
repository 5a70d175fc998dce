#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import Logging

/// Writes log lines the way redis-server does, `pid:M 23 Nov 2026 11:40:54.123 * message`, to stdout or a file,
/// one write per line so they reach the file as they happen.
struct RedisStyleLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    private let sink: LogSink

    init(level: Logger.Level, sink: LogSink) {
        self.logLevel = level
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let marker: String
        switch event.level {
        case .trace, .debug: marker = "."
        case .info: marker = "-"
        case .notice: marker = "*"
        case .warning, .error, .critical: marker = "#"
        }
        sink.write("\(getpid()):M \(LogSink.timestamp()) \(marker) \(event.message)\n")
    }

    /// Maps redis.conf `loglevel` words to swift-log levels.
    static func level(for verbosity: LogLevel) -> Logger.Level {
        switch verbosity {
        case .debug: return .debug
        case .verbose: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .nothing: return .critical
        }
    }
}

/// The destination of log lines: stdout, or a file opened for appending.
final class LogSink: @unchecked Sendable {
    private let descriptor: Int32
    private let lock = NIOLock()

    init(path: String) {
        let file = path.isEmpty ? -1 : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        descriptor = file >= 0 ? file : STDOUT_FILENO
    }

    func write(_ line: String) {
        // Log calls can come from the persistence thread too; one line must not interleave with another.
        lock.withLock {
            var line = line
            line.withUTF8 { bytes in
                var written = 0
                while written < bytes.count {
                    // A non-empty buffer has a base address.
                    let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                    if result < 0 && errno == EINTR { continue }
                    // A log line that cannot be written is dropped: there is nowhere to report it.
                    guard result > 0 else { return }
                    written += result
                }
            }
        }
    }

    static func timestamp() -> String {
        logTimestamp()
    }
}
