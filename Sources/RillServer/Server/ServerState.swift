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
            if configuration.requirePass != oldValue.requirePass {
                accessControl.setDefaultPassword(configuration.requirePass)
            }
        }
    }
    var keyspace: Keyspace
    let commands: CommandTable
    /// Users and their permissions (ACL), checked before each command.
    let accessControl: AccessControl
    var stats = ServerStats()
    let logger: Logger
    let eventLoop: any EventLoop
    /// Unix milliseconds at start-up (INFO uptime).
    let startedAt: Int64
    /// Path of the configuration file given at start-up (INFO config_file).
    let configFile: String?
    /// TCP port actually bound (differs from the configured one when that was 0).
    var boundPort = 0
    /// The engine serving the port's connections (INFO server io_engine): "io_uring" or "nio".
    var ioEngineInUse = "nio"
    /// The `tls-port` listener's port, 0 without one; and the TLS contexts new connections take
    /// (TLSContextBuilder.swift), nil while nothing uses TLS.
    var boundTLSPort = 0
    var tlsContexts: TLSContexts?

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
    /// Network kilobytes per second over the last sample (INFO instantaneous_input_kbps / output_kbps).
    var instantaneousKilobytesPerSecond: (input: Double, output: Double) = (0, 0)
    /// Byte counters at the last sample.
    var networkSample: (input: Int64, output: Int64) = (0, 0)
    /// Inside EXEC: BGSAVE and BGREWRITEAOF are scheduled instead of copying a half-applied transaction.
    var executingTransaction = false
    /// Set by `EmbeddedServer`: the commands whose work needs the process's files, threads, sockets or exit
    /// (`EmbeddedServer.refusal`) are answered with an error instead of run.
    var runsEmbedded = false
    /// Trims made by `maxmemory-stream-policy trim-acked` not yet reported in the log (it is written at most once a
    /// second under sustained pressure).
    var unloggedAcknowledgedTrims = AcknowledgedTrimLog()
    /// used_memory as the maxmemory check last read it, and when (monotonic ns): reading it from jemalloc costs
    /// several microseconds, more than most writes, so the check reuses a reading for up to a millisecond.
    var memoryReading: (bytes: Int, atNanoseconds: UInt64) = (0, 0)
    /// (changeCount, dirty) when trim-acked last trimmed everything it could and memory was still over the limit.
    /// Until a write or an XACK changes them nothing new can be trimmed, so refused writes skip the search.
    var exhaustedTrimState: (changes: Int64, dirty: Int64)?
    /// The Prometheus endpoint's view; nil when `metrics-port` is 0.
    var metrics: MetricsRegistry?
    /// SLOWLOG's entries, LATENCY's events, and the clients in MONITOR mode (CommandObservation.swift feeds them).
    let slowLog = SlowLog()
    let latencyEvents = LatencyMonitor()
    let monitors = MonitorFeed()
    /// The primary's side of replication: id, offset, backlog, replicas and WAIT callers.
    let replication = ReplicationPrimary()
    /// The link to the primary this server follows (REPLICAOF); nil on a primary.
    var primaryLink: PrimaryLink?
    /// Unix milliseconds of the last PING sent to replicas (repl-ping-replica-period).
    var lastReplicaPing: Int64 = 0
    /// Pub/Sub subscriptions and the fan-out of published messages (ServerState+PubSub.swift delivers them).
    let pubSub = PubSubRegistry()
    /// CLIENT PAUSE in force, if any, and the clients whose requests it holds, in arrival order (ClientPause.swift).
    var pause: ClientPause?
    var postponedClients: Deque<ClientSession> = []
    /// The largest client buffers of the last seconds (INFO clients), sampled by the cron.
    var clientPeaks = RecentClientPeaks()
    /// Called by SHUTDOWN once the reply is written.
    var shutdownHandler: () -> Void = {}

    init(configuration: ServerConfiguration, configFile: String?, logger: Logger, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.configFile = configFile
        self.keyspace = Keyspace(databaseCount: configuration.databases)
        self.commands = CommandTable(CommandCatalog.all)
        self.accessControl = AccessControl(commands: commands, requirePass: configuration.requirePass,
                                           logger: logger)
        self.logger = logger
        self.eventLoop = eventLoop
        self.startedAt = Clock.milliseconds()
        if configuration.maxMemoryBytes != 0 { maxMemoryChanged(to: configuration.maxMemoryBytes) }
        persistence = PersistenceCoordinator(host: self, changes: changes, logger: logger, eventLoop: eventLoop,
                                             startedAtMilliseconds: startedAt)
        replication.afterTick = { task in eventLoop.execute(task) }
    }

    // MARK: Clients

    func registerClient(remoteAddress: String, localAddress: String) -> ClientSession {
        stats.totalConnectionsReceived += 1
        let client = clients.register(remoteAddress: remoteAddress, localAddress: localAddress,
                                      now: Clock.milliseconds(),
                                      authenticated: !accessControl.newClientsNeedAuthentication)
        client.user = accessControl.defaultUser
        return client
    }

    /// `protected-mode`: while the default user takes no password, only loopback clients are served.
    func protectedModeRefuses(_ client: ClientSession) -> Bool {
        configuration.protectedMode && accessControl.defaultUser.definition.noPass && !client.isLocal
    }

    func unregisterClient(_ client: ClientSession) {
        blocking.remove(client)
        unwatchAll(client)
        monitors.remove(client)
        pubSub.unsubscribeAll(client)
        forgetPostponed(client)
        replicaDisconnected(client)
        clients.remove(client)
    }

    // MARK: Blocking

    func block(_ client: ClientSession, _ request: BlockRequest, command: Command, context: CommandContext) {
        var blocked = BlockedClient(request: request, database: client.databaseIndex, command: command, timeout: nil)
        blocking.add(client, keys: request.keys, database: client.databaseIndex)
        if request.timeoutMilliseconds > 0 {
            blocked.timeout = eventLoop.scheduleTask(in: .milliseconds(request.timeoutMilliseconds)) { [weak self, weak client] in
                guard let self, let client, client.blocked != nil else { return }
                let blocked = client.blocked
                self.blocking.remove(client)
                context.nowMilliseconds = Clock.milliseconds()
                request.onTimeout(context)
                if let blocked { self.blockedCallAnswered(blocked, client: client, finalAttemptMicroseconds: 0) }
                client.flushOutput()
                client.resumeInput()
            }
        }
        client.blocked = blocked
    }

    /// Records a write to `key`: counts it as a change and, if clients wait on the key, queues them to be served.
    func keyModified(_ key: [UInt8], database: Int, changes count: Int64 = 1) {
        changes.recordChange(count)
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
                    let changesBefore = changes.changeCount
                    let served = blocked.request.retry(context)
                    if changes.changeCount != changesBefore { client.repliesAcknowledgeChanges = true }
                    if changes.isRecording {
                        recordEffects(of: context, database: blocked.database, recordingRequest: false)
                    }
                    client.databaseIndex = previousDatabase
                    if served {
                        // As Redis: the attempt that answers counts in the command's time, and as a failed call
                        // when its answer is an error (XREADGROUP after XGROUP DESTROY).
                        let retryMicroseconds = max(0, Clock.microseconds() - retryStarted)
                        blocked.command.counters.microseconds += retryMicroseconds
                        blockedCallAnswered(blocked, client: client, finalAttemptMicroseconds: retryMicroseconds)
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
    /// The most bytes seen allocated (INFO used_memory_peak, MEMORY STATS peak.allocated), sampled by the cron and
    /// whenever memory is reported; 0 until first sampled.
    var peakAllocatedBytes = 0
    /// Unix seconds at which `peakAllocatedBytes` was seen (INFO used_memory_peak_time); 0 until then.
    var peakAllocatedAt: Int64 = 0
    /// Reads from client sockets and reply writes to them (INFO total_reads_processed, total_writes_processed).
    var readsProcessed: Int64 = 0
    var writesProcessed: Int64 = 0
    /// Clients closed for exceeding client-query-buffer-limit (INFO client_query_buffer_limit_disconnections).
    var queryBufferLimitDisconnections: Int64 = 0
    /// Clients closed for `client-output-buffer-limit` (INFO client_output_buffer_limit_disconnections), and by
    /// `maxmemory-clients` (INFO evicted_clients).
    var outputBufferLimitDisconnections: Int64 = 0
    var evictedClients: Int64 = 0
    /// Bytes read from this replica's primary (INFO total_net_repl_input_bytes).
    var replicationInputBytes: Int64 = 0

}

extension ServerState {
    /// CONFIG RESETSTAT: server counters and every command's call statistics.
    func resetStatistics() {
        stats = ServerStats()
        accessControl.refusalCounts = [:]
        for command in commands.commands.flatMap({ [$0] + $0.subcommands }) {
            command.counters = CommandCounters()
            command.latencyHistogram.reset()
        }
    }
}

struct CommandCounters {
    var calls: Int64 = 0
    var microseconds: Int64 = 0
    var rejectedCalls: Int64 = 0
    var failedCalls: Int64 = 0
}
