import Foundation
import Logging

/// Writes log lines the way redis-server does, `pid:M 23 Nov 2026 11:40:54.123 * message`, to stdout or a file,
/// one write per line so they reach the file as they happen.
public struct RedisStyleLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let sink: LogSink

    public init(level: Logger.Level, sink: LogSink) {
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
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
    public static func level(forConfigWord word: String) -> Logger.Level {
        switch word {
        case "debug": return .debug
        case "verbose": return .info
        case "warning": return .warning
        case "nothing": return .critical
        default: return .notice
        }
    }
}

/// The destination of log lines: stdout, or a file opened for appending.
public final class LogSink: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    public init(path: String) {
        if path.isEmpty {
            handle = FileHandle.standardOutput
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            handle = FileHandle(forWritingAtPath: path) ?? FileHandle.standardOutput
            handle.seekToEndOfFile()
        }
    }

    func write(_ line: String) {
        // Log calls can come from the persistence thread too; one line must not interleave with another.
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data(line.utf8))
    }

    private static let formatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "dd MMM yyyy HH:mm:ss.SSS"
        return formatter
    }()

    static func timestamp() -> String {
        formatter.string(from: Date())
    }
}
