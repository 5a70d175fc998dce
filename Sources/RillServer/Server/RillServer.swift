#if !RILL_NO_JEMALLOC
import CJemalloc
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Logging
import NIOCore
import NIOPosix

/// Rill's own version (INFO rill_version, the start-up banner, the producer of its files); 0.x while the
/// campaign's issues land.
let rillVersion = "0.3.0"

/// The Redis version Rill announces (INFO redis_version, HELLO's version), which clients and tools gate features on:
/// the release that added the newest stream commands Rill implements (XNACK and XIDMPRECORD, Redis 8.8), so a client
/// that checks the version before sending them does send them. Rill's replies follow Redis 8.2.3, its reference,
/// and Redis' documentation for commands added later; Rill has no hashes, JSON, search or vector sets, whatever the
/// version says (they answer "unknown command").
let announcedRedisVersion = "8.8.0"

/// Starts the server from `rill-server [config-file] [--directive value ...]` and runs until SHUTDOWN or a signal.
public enum RillServerMain {
    public static func run(arguments: [String]) -> Int32 {
        setvbuf(stdout, nil, _IOLBF, 0)
        let configuration: ServerConfiguration
        let configFile: String?
        do {
            (configuration, configFile) = try ConfigLoader.load(commandLine: arguments)
        } catch {
            fputs("\(error.description)\n", stderr)
            return 1
        }
        let sink = LogSink(path: configuration.logFile)
        let level = RedisStyleLogHandler.level(for: configuration.logLevel)
        LoggingSystem.bootstrap { _ in RedisStyleLogHandler(level: level, sink: sink) }
        let logger = Logger(label: "rill")
        logger.notice("Rill is starting oO0OoO0OoO0Oo")
        logger.notice("Rill version=\(rillVersion) (announces redis_version \(announcedRedisVersion)), bits=64, pid=\(getpid()), just started")
        if let configFile {
            logger.notice("Configuration loaded from \(configFile)")
        } else {
            logger.warning("No config file specified, using the default config. In order to specify a config file use rill-server /path/to/rill.conf")
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let eventLoop = group.next()
        // Before any data is loaded: MEMORY STATS reports what the server takes when empty.
        _ = Allocator.startupAllocated
        let server = ServerState(configuration: configuration, configFile: configFile, logger: logger,
                                 eventLoop: eventLoop)
        if let failure = server.accessControl.loadConfiguredUsers(configuration) {
            logger.warning("\(failure)")
            try? group.syncShutdownGracefully()
            return 1
        }
        guard server.configureTLSAtStartup() else {
            try? group.syncShutdownGracefully()
            return 1
        }
        guard configuration.appendOnly ? server.persistence.startAppendOnlyFile() : server.persistence.loadSnapshotAtStartup() else {
            try? group.syncShutdownGracefully()
            return 1
        }
        // A replica from its first reply: a client that connects as soon as the port is bound must not see a
        // primary (the link is recorded here; the connection to the primary starts once the listeners are bound).
        let startupPrimary = configuration.replicaOf.count == 2 ? Int(configuration.replicaOf[1]).map { (configuration.replicaOf[0], $0) } : nil
        if let (host, port) = startupPrimary {
            try? eventLoop.submit { server.follow(host: host, port: port, connecting: false) }.wait()
        }
        // The metrics port first: once the main port answers, everything this server serves is listening (a client,
        // or a test, that saw PING answered may scrape at once).
        var metricsListeners: [any Channel] = []
        if configuration.metricsPort != 0 {
            do {
                metricsListeners = try MetricsEndpoint.bind(server: server, group: group)
            } catch {
                logger.warning("Failed listening on metrics port \(configuration.metricsPort) (tcp), aborting: \(error)")
                try? group.syncShutdownGracefully()
                return 1
            }
            for case let address? in metricsListeners.map(\.localAddress) {
                let host = address.protocol == .inet6 ? "[\(address.ipAddress ?? "")]" : address.ipAddress ?? ""
                logger.notice("Prometheus metrics at \(configuration.metricsTLS ? "https" : "http")://\(host):\(address.port ?? 0)/metrics")
            }
        }
        var listeners: [any Channel] = []
        let uringEngine = startURingEngine(server: server, eventLoop: eventLoop)
        // `port 0` beside a tls-port means TLS only, as in Redis; alone it lets the kernel pick the TCP port.
        for (port, tls) in [(configuration.port, false), (configuration.tls.port, true)]
        where tls ? port != 0 : port != 0 || configuration.tls.port == 0 {
            do {
                if !tls, let uringEngine {
                    // The io_uring engine serves the plain port; TLS stays on SwiftNIO.
                    server.boundPort = try uringEngine.start(group: group)
                    server.ioEngineInUse = "io_uring"
                    continue
                }
                let bound = try bind(server: server, group: group, port: port, tls: tls)
                if tls { server.boundTLSPort = bound.first?.localAddress?.port ?? port }
                else { server.boundPort = bound.first?.localAddress?.port ?? port }
                listeners += bound
            } catch {
                logger.warning("Failed listening on port \(port) (\(tls ? "tls" : "tcp")), aborting: \(error)")
                for listener in listeners + metricsListeners { try? listener.close().wait() }
                uringEngine?.stop()
                try? group.syncShutdownGracefully()
                return 1
            }
        }
        let shutdownPromise = eventLoop.makePromise(of: Void.self)
        server.shutdownHandler = { shutdownPromise.succeed(()) }
        // Installed before "Ready" is logged: a supervisor that sends SIGTERM as soon as it sees that line must
        // not land in the moment when the default action is already ignored but no source listens yet.
        let signalSources = [SIGTERM, SIGINT].map { signalNumber -> any DispatchSourceSignal in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                eventLoop.execute {
                    logger.warning("Received \(signalNumber == SIGINT ? "SIGINT" : "SIGTERM") scheduling shutdown...")
                    // Like Redis on SIGTERM: the final snapshot when save points exist; exit even if it fails.
                    _ = server.persistence.saveBeforeShutdown(nil)
                    server.persistence.closeAppendOnlyFile()
                    server.prepareShutdown()
                    shutdownPromise.succeed(())
                }
            }
            source.resume()
            return source
        }
        writePidFile(configuration.pidFile, logger: logger)
        logger.notice("Running mode=standalone, port=\(server.boundPort), allocator=\(Allocator.name), io-engine=\(server.ioEngineInUse)")
        logger.notice("Server initialized")
        if server.boundPort != 0 { logger.notice("Ready to accept connections tcp") }
        if server.boundTLSPort != 0 { logger.notice("Ready to accept connections tls") }

        eventLoop.execute {
            server.startPeriodicJobs()
            if let (host, port) = startupPrimary {
                logger.notice("Connecting to MASTER \(host):\(port)")
                server.connectToPrimary()
            }
        }
        try? shutdownPromise.futureResult.wait()
        signalSources.forEach { $0.cancel() }
        for listener in listeners + metricsListeners { try? listener.close().wait() }
        uringEngine?.stop()
        if !configuration.pidFile.isEmpty { unlink(configuration.pidFile) }
        logger.warning("Rill is now ready to exit, bye bye...")
        try? group.syncShutdownGracefully()
        return 0
    }

    /// The io_uring engine `io-engine` asks for, or nil for SwiftNIO: `nio`, or io_uring refused by the kernel or a
    /// seccomp policy (a warning when `io_uring` was asked for explicitly, a notice under `auto`).
    private static func startURingEngine(server: ServerState, eventLoop: any EventLoop) -> URingEngine? {
        let choice = server.configuration.ioEngine
        guard choice != .nio else { return nil }
        do {
            return try URingEngine.make(server: server, eventLoop: eventLoop)
        } catch {
            let message = "\(error); serving clients with SwiftNIO (io-engine \(choice.rawValue))"
            if choice == .ioUring { server.logger.warning("\(message)") } else { server.logger.notice("\(message)") }
            return nil
        }
    }

    /// Listens on `port` at every bind address; with `tls`, connections start with TLS (`tls-port`).
    private static func bind(server: ServerState, group: MultiThreadedEventLoopGroup, port: Int,
                             tls: Bool) throws -> [any Channel] {
        let configuration = server.configuration
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: Int32(configuration.tcpBacklog))
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 1 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if tls { try server.addTLSServerHandlers(to: channel.pipeline.syncOperations) }
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: server))
                }
            }
        return try ListenAddresses.bind(bootstrap, addresses: configuration.bindAddresses, port: port,
                                        logger: server.logger)
    }

    private static func writePidFile(_ path: String, logger: Logger) {
        guard !path.isEmpty else { return }
        do {
            try "\(getpid())\n".write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            logger.warning("Failed to write PID file: \(error)")
        }
    }
}

/// The memory allocator the binary is linked with.
enum Allocator {
    #if RILL_NO_JEMALLOC
    /// Built without jemalloc (`RILL_NO_JEMALLOC`, for sanitizer builds): the C library's allocator, or the
    /// sanitizer's that replaces it.
    static let name = "libc"

    /// Bytes allocated and heap bytes mapped, as the sanitizer's allocator counts them (AddressSanitizer replaces
    /// malloc); without a sanitizer, the process's resident set size for both (glibc keeps no cheap total).
    static func statistics() -> (allocated: Int, resident: Int) {
        typealias Counter = @convention(c) () -> Int
        if let allocated = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__sanitizer_get_current_allocated_bytes"),
           let heap = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__sanitizer_get_heap_size") {
            return (unsafeBitCast(allocated, to: Counter.self)(), unsafeBitCast(heap, to: Counter.self)())
        }
        let resident = ProcessFacts.residentSetSize()
        return (resident, resident)
    }

    /// jemalloc controls do not exist in this build: every one reads 0.
    static func read(_ name: String) -> Int { 0 }
    #else
    /// "jemalloc-5.3.0", read from jemalloc itself: calling it also keeps the linker from dropping the library.
    static let name: String = {
        var version: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return "libc" }
        let text = String(cString: version)
        return "jemalloc-" + (text.split(separator: "-").first.map(String.init) ?? text)
    }()

    /// Bytes allocated by the application and resident bytes of the allocator (INFO used_memory, allocator stats).
    static func statistics() -> (allocated: Int, resident: Int) {
        // jemalloc caches statistics; bumping the epoch refreshes them.
        var newEpoch: UInt64 = 1
        var oldEpoch: UInt64 = 0
        var epochSize = MemoryLayout<UInt64>.size
        _ = mallctl("epoch", &oldEpoch, &epochSize, &newEpoch, epochSize)
        return (read("stats.allocated"), read("stats.resident"))
    }

    /// The integer jemalloc control `name` holds; 0 when it cannot be read.
    static func read(_ name: String) -> Int {
        var value: Int = 0
        var size = MemoryLayout<Int>.size
        return mallctl(name, &value, &size, nil, 0) == 0 ? value : 0
    }
    #endif
}
