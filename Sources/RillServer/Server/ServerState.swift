import Collections
import Logging
import NIOCore
import RillCore

/// The server: the keyspace, the configuration and the command table, composed with the parts that own each
/// concern (clients, blocked clients, the change feed, the cron's jobs, persistence; each in its own file, with its
/// own tests), and the glue between them: running commands (CommandExecutor.swift), serving blocked clients after
/// writes, the memory limit (ServerState+Memory.swift). Owned by the single event loop that runs commands: no locks
/// on the command path, as in Redis.
final class ServerState {
    var configuration: ServerConfiguration {
        didSet {
            let limit = configuration.maxMemoryBytes
            if limit != oldValue.maxMemoryBytes { maxMemoryChanged(to: limit) }
        }
    }
    var keyspace: Keyspace
    let commands: CommandTable
    var stats = ServerStats()
    let logger: Logger
    let eventLoop: any EventLoop
    /// Unix milliseconds at start-up (INFO uptime).
    let startedAt: Int64
    /// Path of the configuration file given at start-up (INFO config_file).
    let configFile: String?
    /// TCP port actually bound (differs from the configured one when that was 0).
    var boundPort = 0

    /// The connected clients (CLIENT LIST, KILL, INFO clients).
    let clients = ClientRegistry()
    /// Clients waiting in blocking commands, per key, and the keys written since they were served.
    let blocking = BlockingRegistry()
    /// Change counters and the effects of writes, carried to the append-only log (and replicas).
    let changes = ChangeFeed()
    /// The timed work of the cron.
    let jobs = PeriodicJobs()
    /// Snapshots and the append-only file: loading, saving, rewriting, and the log the change feed writes to.
    /// Set once in `init` (it needs the server as its host).
    private(set) var persistence: PersistenceCoordinator!
    /// INFO instantaneous_ops_per_sec and the sample it is computed from (time in ms, commands processed).
    var instantaneousOpsPerSecond: Int64 = 0
    var operationSample: (at: Int64, commands: Int64) = (0, 0)
    /// Inside EXEC: BGSAVE and BGREWRITEAOF are scheduled instead of copying a half-applied transaction.
    var executingTransaction = false
    /// Trims made by `maxmemory-stream-policy trim-acked` not yet reported in the log (it is written at most once a
    /// second under sustained pressure).
    var unloggedAcknowledgedTrims = AcknowledgedTrimLog()
    /// used_memory as the maxmemory check last read it, and when (monotonic ns): reading it from jemalloc costs
    /// several microseconds, more than most writes, so the check reuses a reading for up to a millisecond.
    var memoryReading: (bytes: Int, atNanoseconds: UInt64) = (0, 0)
    /// (changeCount, dirty) when trim-acked last trimmed everything it could and memory was still over the limit.
    /// Until a write or an XACK changes them nothing new can be trimmed, so refused writes skip the search.
    var exhaustedTrimState: (changes: Int64, dirty: Int64)?
    /// Latency histograms of the Prometheus endpoint; nil when `metrics-port` is 0.
    var metrics: MetricsRegistry?
    /// Called by SHUTDOWN once the reply is written.
    var shutdownHandler: () -> Void = {}

    init(configuration: ServerConfiguration, configFile: String?, logger: Logger, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.configFile = configFile
        self.keyspace = Keyspace(databaseCount: configuration.databases)
        self.commands = CommandTable(CommandCatalog.all)
        self.logger = logger
        self.eventLoop = eventLoop
        self.startedAt = Clock.milliseconds()
        if configuration.maxMemoryBytes != 0 { maxMemoryChanged(to: configuration.maxMemoryBytes) }
        persistence = PersistenceCoordinator(host: self, changes: changes, logger: logger, eventLoop: eventLoop,
                                             startedAtMilliseconds: startedAt)
    }

    // MARK: Clients

    func registerClient(remoteAddress: String, localAddress: String) -> ClientSession {
        stats.totalConnectionsReceived += 1
        return clients.register(remoteAddress: remoteAddress, localAddress: localAddress, now: Clock.milliseconds(),
                                authenticated: configuration.requirePass == nil)
    }

    func unregisterClient(_ client: ClientSession) {
        blocking.remove(client)
        unwatchAll(client)
        clients.remove(client)
    }

    // MARK: Blocking

    func block(_ client: ClientSession, _ request: BlockRequest, command: Command, context: CommandContext) {
        var blocked = BlockedClient(request: request, database: client.databaseIndex, command: command, timeout: nil)
        blocking.add(client, keys: request.keys, database: client.databaseIndex)
        if request.timeoutMilliseconds > 0 {
            blocked.timeout = eventLoop.scheduleTask(in: .milliseconds(request.timeoutMilliseconds)) { [weak self, weak client] in
                guard let self, let client, client.blocked != nil else { return }
                self.blocking.remove(client)
                context.nowMilliseconds = Clock.milliseconds()
                request.onTimeout(context)
                client.flushOutput()
                client.resumeInput()
            }
        }
        client.blocked = blocked
    }

    /// Records a write to `key`: counts it as a change and, if clients wait on the key, queues them to be served.
    func keyModified(_ key: [UInt8], database: Int) {
        changes.recordChange()
        blocking.keyWritten(key, database: database)
    }

    /// Every key of `database` (or of all databases when nil) changed at once (FLUSHDB, FLUSHALL, SWAPDB).
    func allKeysModified(database: Int?) {
        changes.recordChange()
        blocking.allKeysWritten(database: database)
    }

    /// Retries the blocked clients of every key written by the last command, oldest waiter first, as Redis
    /// serves them after each command. A served client gets its reply flushed and resumes its pipeline.
    func serveReadyKeys() {
        while blocking.hasReadyKeys {
            for key in blocking.takeReadyKeys() {
                for client in blocking.waiters(of: key) {
                    guard let blocked = client.blocked, let context = client.context else { continue }
                    let retryStarted = Clock.microseconds()
                    context.nowMilliseconds = retryStarted / 1000
                    let previousDatabase = client.databaseIndex
                    client.databaseIndex = blocked.database
                    let errorsBefore = stats.totalErrorReplies
                    let served = blocked.request.retry(context)
                    if changes.isRecording {
                        recordEffects(of: context, database: blocked.database, recordingRequest: false)
                    }
                    client.databaseIndex = previousDatabase
                    if served {
                        // As Redis: the attempt that answers counts in the command's time, and as a failed call
                        // when its answer is an error (XREADGROUP after XGROUP DESTROY).
                        blocked.command.counters.microseconds += max(0, Clock.microseconds() - retryStarted)
                        if stats.totalErrorReplies != errorsBefore { blocked.command.counters.failedCalls += 1 }
                        blocking.remove(client)
                        client.flushOutput()
                        // Later, not nested inside the command that woke it: its pipelined requests run in order,
                        // after every waiter of this key has been served.
                        eventLoop.execute { client.resumeInput() }
                    }
                }
            }
        }
    }
}

/// Counters INFO stats reports, named as Redis names them.
extension ServerState: PersistenceHost {
    func makeReplayContext() -> CommandContext {
        let client = ClientSession(id: 0, remoteAddress: "", localAddress: "", now: Clock.milliseconds(),
                                   authenticated: true)
        return CommandContext(server: self, client: client, allocator: ByteBufferAllocator())
    }

    func knowsCommand(_ name: [UInt8]) -> Bool {
        commands.lookup(ByteBuffer(bytes: name)) != nil
    }

    func replay(_ context: CommandContext) {
        execute(context)
    }
}

struct ServerStats {
    var totalConnectionsReceived: Int64 = 0
    var totalCommandsProcessed: Int64 = 0
    var totalErrorReplies: Int64 = 0
    var rejectedConnections: Int64 = 0
    var netInputBytes: Int64 = 0
    var netOutputBytes: Int64 = 0
    /// Error replies by their first word ("ERR", "WRONGTYPE"...), for INFO errorstats.
    var errorCounts: [String: Int64] = [:]
    /// Stream entries removed by `maxmemory-stream-policy trim-acked` (Rill's INFO stats
    /// stream_acked_trimmed_entries), and writes refused for memory (Rill's oom_rejected_commands).
    var acknowledgedEntriesTrimmed: Int64 = 0
    var outOfMemoryRejections: Int64 = 0

}

extension ServerState {
    /// CONFIG RESETSTAT: server counters and every command's call statistics.
    func resetStatistics() {
        stats = ServerStats()
        for command in commands.commands.flatMap({ [$0] + $0.subcommands }) { command.counters = CommandCounters() }
    }
}

struct CommandCounters {
    var calls: Int64 = 0
    var microseconds: Int64 = 0
    var rejectedCalls: Int64 = 0
    var failedCalls: Int64 = 0
}
