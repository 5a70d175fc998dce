import Logging
import NIOCore
import RillCore

/// What the persistence coordinator needs of the server it persists: the settings, the keyspace it copies, saves
/// and loads into, and a way to run the commands of an append-only file.
protocol PersistenceHost: AnyObject {
    var configuration: ServerConfiguration { get }
    var keyspace: Keyspace { get set }
    /// Inside EXEC: background jobs are scheduled instead of copying a half-applied transaction.
    var executingTransaction: Bool { get }
    /// A client of its own for replaying an append-only file, authenticated, in database 0.
    func makeReplayContext() -> CommandContext
    /// Whether `name` is a command this server runs (an append-only file naming another one is refused).
    func knowsCommand(_ name: [UInt8]) -> Bool
    /// Runs one replayed command as the replay client.
    func replay(_ context: CommandContext)
    /// Records as DEL the keys of `database` removed for being past their deadline.
    func recordExpiredKeys(database: Int)
    /// LATENCY's events ("aof-write", "aof-fsync-always").
    var latencyEvents: LatencyMonitor { get }
}

/// Snapshots (SAVE, BGSAVE, save points, loading at start-up) and the append-only file (loading, writing with
/// group commit, rewriting, switching on and off), with the bookkeeping INFO persistence reports. One background
/// job runs at a time, as Redis runs one child process.
///
/// The append-only log, when open, is subscribed to the server's change feed: the coordinator decides which file
/// receives the effects and when they reach the disk, not what they are.
final class PersistenceCoordinator {
    unowned let host: any PersistenceHost
    let changes: ChangeFeed
    let logger: Logger
    let eventLoop: any EventLoop

    /// Snapshot bookkeeping: last save, background save in progress, INFO persistence fields.
    var snapshots = SnapshotState()
    /// The manifest of the append-only files and the state of BGREWRITEAOF (INFO persistence fields).
    var appendOnlyRewrite = AppendOnlyRewriteState()
    /// The append-only file being written; nil when `appendonly no` (and while it is being replayed). Set, it
    /// subscribes to the change feed.
    var appendOnlyLog: AppendOnlyLog? {
        didSet {
            if let oldValue, oldValue !== appendOnlyLog { changes.unsubscribe(oldValue) }
            if let appendOnlyLog, appendOnlyLog !== oldValue { changes.subscribe(appendOnlyLog) }
        }
    }
    /// Connections whose replies are written when this event-loop tick's reads are done, after the append-only file
    /// is written (and fsynced under `always`) once for all of them: group commit. Empty between ticks.
    var connectionsAwaitingTickEnd: [ClientConnection] = []
    /// The list `connectionsAwaitingTickEnd` swaps with at each tick's end, emptied with its capacity kept: taking the
    /// list and emptying it in place would copy it (the taken copy still shares it), an allocation per tick.
    var spareTickEndList: [ClientConnection] = []
    /// Replaying the append-only file: blocking commands time out at once and no key expires.
    var loadingAppendOnlyFile = false
    /// Failed writes and fsyncs of the append-only file (INFO aof_last_write_status, MISCONF).
    var appendOnlyHealth = AppendOnlyWriteHealth()
    /// Connections whose replies acknowledge writes that a failed write or fsync left out of the file: they are
    /// sent once a retry gets them there (`writeAppendOnlyFile`), never before. Empty while the file is healthy.
    var connectionsHeldUntilAppendOnlyWrite: [ClientConnection] = []
    /// `appendfsync always`: connections with replies that wait for the worker's fsync to reach the position they
    /// were given at (`ClientConnection.repliesAwaitingFsync`), released in order as fsyncs return.
    var connectionsAwaitingFsync: [ClientConnection] = []
    /// Whether the append-only log's worker is fsyncing (at most one at a time: the next covers everything written
    /// meanwhile, group commit).
    var fsyncInFlight = false
    /// Counts the worker's fsyncs that returned; a connection released by one remembers its number
    /// (`ClientConnection.releasedByFsyncRound`) until its next replies are held.
    var fsyncRound = 0
    /// Connections released by the latest fsync whose next requests the next fsync waits for (see
    /// `startFsyncIfIdle`), 0 once they came back or the wait ended.
    var returnsAwaitedByFsync = 0
    /// How long the latest fsync of the worker took (µs): the longest the next one waits for returning clients.
    var lastFsyncMicroseconds: Int64 = 0
    /// Whether the end of that wait is scheduled.
    var fsyncWaitScheduled = false

    init(host: any PersistenceHost, changes: ChangeFeed, logger: Logger, eventLoop: any EventLoop,
         startedAtMilliseconds: Int64) {
        self.host = host
        self.changes = changes
        self.logger = logger
        self.eventLoop = eventLoop
        snapshots.lastSaveSeconds = startedAtMilliseconds / 1000
    }

    var configuration: ServerConfiguration { host.configuration }

    var keyspace: Keyspace {
        get { host.keyspace }
        // In place: a get-then-set would copy the keyspace's storage.
        _modify { yield &host.keyspace }
        set { host.keyspace = newValue }
    }

    /// A background save or rewrite is running: like Redis' single child process, only one at a time.
    var backgroundJobInProgress: Bool { snapshots.backgroundSaveInProgress || appendOnlyRewrite.inProgress }
}
