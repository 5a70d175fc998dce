import Collections
import Logging
import NIOCore
import RillCore

/// The server's whole mutable state. Owned by the single event loop that runs commands: no locks on the
/// command path, as in Redis.
public final class ServerState {
    public var configuration: ServerConfiguration {
        didSet {
            let limit = configuration.maxMemoryBytes
            if limit != oldValue.maxMemoryBytes { maxMemoryChanged(to: limit) }
        }
    }
    public var keyspace: Keyspace
    public let commands: CommandTable
    public var stats = ServerStats()
    public let logger: Logger
    public let eventLoop: any EventLoop
    /// Unix milliseconds at start-up (INFO uptime).
    public let startedAt: Int64
    /// Path of the configuration file given at start-up (INFO config_file).
    public let configFile: String?
    /// TCP port actually bound (differs from the configured one when that was 0).
    public var boundPort = 0

    var clients: [UInt64: ClientSession] = [:]
    private var nextClientID: UInt64 = 1
    /// Clients blocked on each key, in the order they blocked.
    private var blockedByKey: [BlockingKey: Deque<ClientSession>] = [:]
    /// Keys written since the last `serveReadyKeys`, with blocked clients waiting on them.
    private(set) var readyKeys: [BlockingKey] = []
    /// Changes since the last snapshot (INFO rdb_changes_since_last_save).
    public var dirty: Int64 = 0
    /// Snapshot bookkeeping: last save, background save in progress, INFO persistence fields.
    public var snapshots = SnapshotState()
    /// INFO instantaneous_ops_per_sec and the sample it is computed from (time in ms, commands processed).
    var instantaneousOpsPerSecond: Int64 = 0
    var operationSample: (at: Int64, commands: Int64) = (0, 0)
    /// The append-only file being written; nil when `appendonly no` (and while it is being replayed).
    var appendOnlyLog: AppendOnlyLog?
    /// Connections whose replies wait for the append-only file to be written (and fsynced under `always`) once,
    /// for all of them, when this event-loop tick's reads are done: group commit. Empty between ticks.
    var connectionsAwaitingAppendOnlyWrite: [ConnectionHandler] = []
    /// Replaying the append-only file: blocking commands time out at once and no key expires.
    var loadingAppendOnlyFile = false
    /// The manifest of the append-only files and the state of BGREWRITEAOF (INFO persistence fields).
    public var appendOnlyRewrite = AppendOnlyRewriteState()
    /// Inside EXEC: BGSAVE and BGREWRITEAOF are scheduled instead of copying a half-applied transaction.
    var executingTransaction = false
    /// Whether the latest write to the append-only file failed (INFO aof_last_write_status); false before any.
    var appendOnlyWriteFailed = false
    /// Writes since start-up, never reset (unlike `dirty`): tells whether a command changed anything.
    var changeCount: Int64 = 0
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
    /// When the cron last removed idle consumers (XGROUP SETPOLICY CONSUMER-IDLE-TIMEOUT), Unix ms.
    var lastIdleConsumerSweep: Int64 = 0
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
        self.snapshots.lastSaveSeconds = startedAt / 1000
        if configuration.maxMemoryBytes != 0 { maxMemoryChanged(to: configuration.maxMemoryBytes) }
    }

    // MARK: Clients

    func registerClient(remoteAddress: String, localAddress: String) -> ClientSession {
        let client = ClientSession(id: nextClientID, remoteAddress: remoteAddress, localAddress: localAddress,
                                   now: Clock.milliseconds(), authenticated: configuration.requirePass == nil)
        nextClientID += 1
        clients[client.id] = client
        stats.totalConnectionsReceived += 1
        return client
    }

    func unregisterClient(_ client: ClientSession) {
        unblock(client)
        unwatchAll(client)
        clients[client.id] = nil
    }

    var connectedClients: Int { clients.count }

    // MARK: Blocking

    var blockedClientCount: Int { clients.values.reduce(0) { $0 + ($1.blocked == nil ? 0 : 1) } }
    var blockingKeyCount: Int { blockedByKey.count }

    func block(_ client: ClientSession, _ request: BlockRequest, context: CommandContext) {
        var blocked = BlockedClient(request: request, database: client.databaseIndex, timeout: nil)
        for key in request.keys {
            blockedByKey[BlockingKey(database: client.databaseIndex, key: key), default: []].append(client)
        }
        if request.timeoutMilliseconds > 0 {
            blocked.timeout = eventLoop.scheduleTask(in: .milliseconds(request.timeoutMilliseconds)) { [weak self, weak client] in
                guard let self, let client, client.blocked != nil else { return }
                self.unblock(client)
                context.nowMilliseconds = Clock.milliseconds()
                request.onTimeout(context)
                client.flushOutput()
                client.resumeInput()
            }
        }
        client.blocked = blocked
    }

    /// Removes `client` from every wait queue and cancels its timeout; no reply is written.
    func unblock(_ client: ClientSession) {
        guard let blocked = client.blocked else { return }
        blocked.timeout?.cancel()
        for key in blocked.request.keys {
            let blockingKey = BlockingKey(database: blocked.database, key: key)
            guard var queue = blockedByKey[blockingKey] else { continue }
            queue.removeAll { $0 === client }
            blockedByKey[blockingKey] = queue.isEmpty ? nil : queue
        }
        client.blocked = nil
    }

    /// Records a write to `key`: counts it as a change and, if clients wait on the key, queues them to be served.
    public func keyModified(_ key: [UInt8], database: Int) {
        dirty += 1
        changeCount += 1
        if blockedByKey.isEmpty { return }
        let blockingKey = BlockingKey(database: database, key: key)
        if blockedByKey[blockingKey] != nil { readyKeys.append(blockingKey) }
    }

    /// Every key of `database` (or of all databases when nil) changed at once (FLUSHDB, FLUSHALL, SWAPDB).
    func allKeysModified(database: Int?) {
        dirty += 1
        changeCount += 1
        for key in blockedByKey.keys where database == nil || key.database == database {
            readyKeys.append(key)
        }
    }

    /// Retries the blocked clients of every key written by the last command, oldest waiter first, as Redis
    /// serves them after each command. A served client gets its reply flushed and resumes its pipeline.
    func serveReadyKeys() {
        while !readyKeys.isEmpty {
            let keys = readyKeys
            readyKeys.removeAll(keepingCapacity: true)
            for key in keys {
                guard let waiters = blockedByKey[key] else { continue }
                for client in waiters {
                    guard let blocked = client.blocked, let context = client.context else { continue }
                    context.nowMilliseconds = Clock.milliseconds()
                    let previousDatabase = client.databaseIndex
                    client.databaseIndex = blocked.database
                    let served = blocked.request.retry(context)
                    if appendOnlyLog != nil {
                        logEffects(of: context, database: blocked.database, loggingRequest: false,
                                   insideTransaction: false)
                    }
                    client.databaseIndex = previousDatabase
                    if served {
                        unblock(client)
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

struct BlockingKey: Hashable {
    let database: Int
    let key: [UInt8]
}

/// Counters INFO stats reports, named as Redis names them.
public struct ServerStats {
    public var totalConnectionsReceived: Int64 = 0
    public var totalCommandsProcessed: Int64 = 0
    public var totalErrorReplies: Int64 = 0
    public var rejectedConnections: Int64 = 0
    public var netInputBytes: Int64 = 0
    public var netOutputBytes: Int64 = 0
    /// Error replies by their first word ("ERR", "WRONGTYPE"...), for INFO errorstats.
    public var errorCounts: [String: Int64] = [:]
    /// Stream entries removed by `maxmemory-stream-policy trim-acked` (Rill's INFO stats
    /// stream_acked_trimmed_entries), and writes refused for memory (Rill's oom_rejected_commands).
    public var acknowledgedEntriesTrimmed: Int64 = 0
    public var outOfMemoryRejections: Int64 = 0

}

extension ServerState {
    /// CONFIG RESETSTAT: server counters and every command's call statistics.
    func resetStatistics() {
        stats = ServerStats()
        for command in commands.commands.flatMap({ [$0] + $0.subcommands }) { command.counters = CommandCounters() }
    }
}

public struct CommandCounters {
    public var calls: Int64 = 0
    public var microseconds: Int64 = 0
    public var rejectedCalls: Int64 = 0
    public var failedCalls: Int64 = 0
}
