import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server binary started for one test on a free 127.0.0.1 port, with its output in a log file, stopped by pid.
///
/// The binary is env `RILL_SERVER_BIN`, else this package's `.build/debug/rill-server`. It is started like
/// redis-server (`<bin> --port N --bind 127.0.0.1 [directives]`) in a fresh temporary directory; a binary named
/// redis-server also gets `--save '' --appendonly no` so it never writes to disk.
///
/// It is spawned with posix_spawn rather than Foundation's Process: the test runner's threads block most signals
/// and Process passes that mask on, so the server would never see SIGTERM. Here the child gets an empty signal mask
/// and default dispositions, and this type reaps it with waitpid.
final class ServerProcess {
    /// Loopback TCP port the server listens on.
    let port: Int
    /// Process id of the server; reaped by `stop()`.
    let pid: pid_t
    /// Fresh temporary directory used as the server's working directory; removed by `stop()`.
    let workDirectory: URL
    /// File receiving the server's stdout and stderr.
    let logURL: URL

    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["RILL_SERVER_BIN"], !path.isEmpty { return path }
        // #filePath is <package>/Tests/RillEndToEndTests/ServerProcess.swift.
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/rill-server").path
    }

    static var isRedisServer: Bool {
        URL(fileURLWithPath: binaryPath).lastPathComponent.hasPrefix("redis-server")
    }

    /// Starts the server and waits (at most 10 s) until it answers PING.
    init(directives: [String] = []) throws {
        let binary = Self.binaryPath
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ServerError(message: "server binary \(binary) is missing: run `swift build` or set RILL_SERVER_BIN")
        }
        workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("rill-e2e-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        logURL = workDirectory.appendingPathComponent("server.log")

        var lastFailure = ""
        // A port found free can be taken before the server binds it; then the server exits and we retry.
        for _ in 0..<3 {
            let port = try Self.freePort()
            var arguments = [binary, "--port", String(port), "--bind", "127.0.0.1"]
            if Self.isRedisServer { arguments += ["--save", "", "--appendonly", "no"] }
            let pid = try Self.spawn(arguments + directives, directory: workDirectory.path, log: logURL.path)
            switch Self.waitUntilReady(pid: pid, port: port) {
            case .ready:
                self.port = port
                self.pid = pid
                return
            case .exited(let reason):
                lastFailure = reason
            case .unresponsive(let reason):
                lastFailure = reason
                Self.terminate(pid)
            }
        }
        throw ServerError(message: "server did not start: \(lastFailure)\n\(Self.tail(of: logURL))")
    }

    /// A new hiredis connection to this server.
    func client(timeoutSeconds: Int = 10) throws -> HiredisClient {
        try HiredisClient(port: port, timeoutSeconds: timeoutSeconds)
    }

    /// SIGTERM, then SIGKILL after 5 s; reports a server that died on its own before this call.
    func stop() {
        if let status = Self.exitStatus(pid) {
            Issue.record("server exited on its own (wait status \(status))\n\(logTail())")
        } else {
            Self.terminate(pid)
        }
        try? FileManager.default.removeItem(at: workDirectory)
    }

    /// The last lines of the server log, for failure messages.
    func logTail() -> String { Self.tail(of: logURL) }

    // MARK: - helpers

    private enum Readiness {
        case ready
        /// The process exited (and has been reaped) before answering.
        case exited(String)
        /// Still running but not answering PING in time.
        case unresponsive(String)
    }

    private static func spawn(_ arguments: [String], directory: String, log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // posix_spawn_file_actions_addchdir_np is not visible to Swift, so /bin/sh changes directory and then
        // execs the server, which keeps the pid and the signal settings made here.
        let shell = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + arguments
        var argv: [UnsafeMutablePointer<CChar>?] = shell.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, shell[0], &actions, &attributes, &argv, environ)
        guard status == 0 else {
            throw ServerError(message: "posix_spawn \(arguments[0]) failed: \(String(cString: strerror(status)))")
        }
        return pid
    }

    /// The wait status if the process has exited (and is now reaped), nil while it runs.
    private static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? status : nil
    }

    private static func waitUntilReady(pid: pid_t, port: Int) -> Readiness {
        let deadline = Date().addingTimeInterval(10)
        var lastError = "timeout"
        while Date() < deadline {
            if let status = exitStatus(pid) { return .exited("exited with wait status \(status)") }
            do {
                let probe = try HiredisClient(port: port, timeoutSeconds: 1)
                // NOAUTH also proves the server is serving requests (requirepass directive).
                switch try probe.command("PING") {
                case .status, .error: return .ready
                case let other: lastError = "unexpected PING reply \(other)"
                }
            } catch {
                lastError = "\(error)"
            }
            usleep(20_000)
        }
        return .unresponsive(lastError)
    }

    /// SIGTERM, wait up to 5 s, then SIGKILL; reaps the process. Only for a process not reaped yet, so the pid
    /// cannot have been reused.
    private static func terminate(_ pid: pid_t) {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if exitStatus(pid) != nil { return }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    private static func tail(of url: URL, lines: Int = 60) -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { return "(no server log)" }
        let text = String(decoding: data, as: UTF8.self)
        return "--- server log \(url.path) ---\n" + text.split(separator: "\n", omittingEmptySubsequences: false)
            .suffix(lines).joined(separator: "\n")
    }

    /// A port that was free a moment ago: bind port 0 on loopback, read the kernel's choice, close.
    static func freePort() throws -> Int {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw ServerError(message: "socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw ServerError(message: "bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw ServerError(message: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct ServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs `body` against a fresh server and always stops it; a thrown error is rethrown with the server log attached.
func withServer<Result>(
    directives: [String] = [],
    _ body: (ServerProcess) async throws -> Result
) async throws -> Result {
    let server = try ServerProcess(directives: directives)
    defer { server.stop() }
    do {
        return try await body(server)
    } catch {
        throw ServerError(message: "\(error)\n\(server.logTail())")
    }
}
