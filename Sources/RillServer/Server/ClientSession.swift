import NIOCore
import RillCore

/// Everything the server knows about one connected client. Lives on the event loop; never shared across threads.
final class ClientSession {
    /// Unique, increasing from 1 (CLIENT ID).
    let id: UInt64
    /// "ip:port" of the peer and of our socket, as CLIENT LIST prints them.
    let remoteAddress: String
    let localAddress: String
    /// Unix milliseconds of the connection's start (CLIENT LIST age).
    let connectedAt: Int64
    /// Unix milliseconds of the last command (CLIENT LIST idle); 0 before the first.
    var lastInteraction: Int64
    /// CLIENT SETNAME / HELLO SETNAME; nil when unset.
    var name: String?
    /// CLIENT SETINFO LIB-NAME / LIB-VER; empty when unset.
    var libraryName = ""
    var libraryVersion = ""
    var databaseIndex = 0
    /// False until AUTH succeeds while the default user needs a password (`requirepass`) or is off.
    var authenticated: Bool
    /// The user whose permissions apply (ACL); the default user until AUTH names another. Nil for the server's
    /// own clients (append-only replay, the link to the primary), which are not checked, as in Redis.
    var user: ACLUser?
    /// Set while the client is inside MULTI.
    var transaction: Transaction?
    /// WATCHed keys with the version each had when watched; EXEC fails if any changed.
    var watchedKeys: [WatchedKey] = []
    /// Set while the client waits in a blocking command.
    var blocked: BlockedClient?
    /// Lower-case name of the last command run (CLIENT LIST cmd=).
    var lastCommandName = "NULL"
    /// Set by CLIENT KILL or QUIT: the connection closes once pending replies are written.
    var closeAfterReply = false
    /// Closes the connection from outside the connection handler (CLIENT KILL).
    var closeConnection: () -> Void = {}
    /// Writes pending replies from outside the read path (a blocked client woken by another's write).
    var flushOutput: () -> Void = {}
    /// Resumes reading pipelined requests that arrived while the client was blocked.
    var resumeInput: () -> Void = {}
    /// The connection's command context, held weakly (the context owns the session) through its backlink.
    var context: CommandContext? {
        get { contextBacklink?.target }
        set { contextBacklink = newValue?.backlink }
    }
    private weak var contextBacklink: Backlink<CommandContext>?
    /// Bytes waiting in the query buffer (CLIENT LIST qbuf=), and the room after them in its storage (qbuf-free=).
    var queryBufferLength = 0
    var queryBufferFree = 0
    /// The request CLIENT PAUSE holds, copied out of the read buffer; nil when none is held. Shown as blocked.
    var postponedRequest: [ByteBuffer]?
    /// In MONITOR mode (CLIENT LIST flag O).
    var monitoring = false
    /// What the client said of itself with REPLCONF before SYNC or PSYNC.
    var replicaHandshake = ReplicaHandshake()
    /// Set by SYNC or PSYNC: a snapshot is being prepared for the client; its later requests are not read, and
    /// the connection closes once the snapshot is sent.
    var awaitingSnapshot = false
    /// Whether the replies gathered since the last write include one to a command that changed something: those
    /// wait for the append-only file (held if its write fails); replies to reads alone never do.
    var repliesAcknowledgeChanges = false
    /// Sends `payload` after the pending replies, then closes the connection once it is written (SYNC's end).
    var sendAndClose: (ByteBuffer) -> Void = { _ in }
    /// Writes `payload` after the pending replies, keeping the connection open (a replica's stream).
    var sendRaw: (ByteBuffer) -> Void = { _ in }
    /// Set once PSYNC or SYNC made this connection a replica of this server (CLIENT LIST flag S, TYPE replica).
    var replicaLink: ReplicaLink?
    /// Set on the client that runs the stream of this server's primary (CLIENT LIST flag M, TYPE master).
    var isPrimaryLink = false
    /// The replication offset just after this client's last write reached the stream; 0 before any (WAIT).
    var replicationWriteOffset: Int64 = 0
    /// Set while the client waits in WAIT: its later requests are not read until it is answered.
    var waitingForAcknowledgements = false
    /// CLIENT NO-EVICT ON (flag e): `maxmemory-clients` never closes this client.
    var noEvict = false
    /// CLIENT REPLY: which replies are sent (see `ReplyMode`).
    var replyMode = ReplyMode.on
    /// Bytes read from and written to the connection, and commands run, since it opened (CLIENT LIST tot-net-in,
    /// tot-net-out, tot-cmds).
    var totalNetInput: Int64 = 0
    var totalNetOutput: Int64 = 0
    var totalCommands: Int64 = 0
    /// The channels, patterns and shard channels the client listens to (PubSubRegistry keeps the reverse view).
    var subscriptions = ClientSubscriptions()
    /// Messages published to this client by its own running command, written after that command's reply (after
    /// EXEC's for a transaction), as Redis 7.2+ orders them, and whatever CLIENT REPLY says.
    var deferredMessages: [PubSubMessage] = []
    /// Bytes the socket still has to send (NIO's pending writes); 0 when unknown (no connection).
    var pendingOutputBytes: () -> Int = { 0 }
    /// Writes the channel has not finished sending (CLIENT LIST oll).
    var queuedWriteCount: () -> Int = { 0 }
    /// Writes a replica's snapshot after the pending replies (see `snapshotBytesInFlight`).
    var sendSnapshot: (ByteBuffer) -> Void = { _ in }
    /// Bytes of a replica's snapshot handed to the channel and not yet all written: Redis does not count the
    /// snapshot against `client-output-buffer-limit replica`, so they are left out of `outputBytes`; 0 when none.
    var snapshotBytesInFlight = 0
    /// Unix seconds since which the unsent output has been at the soft `client-output-buffer-limit`; 0 when below.
    var outputSoftLimitSince: Int64 = 0
    /// The most reply bytes gathered for one write since the cron last reset it (CLIENT LIST rbp), every 5 seconds.
    var replyBufferPeak = 0
    /// `memoryUsage` when last measured, as the registry's total of client memory holds it; 0 before.
    var recordedMemory = 0

    init(id: UInt64, remoteAddress: String, localAddress: String, now: Int64, authenticated: Bool) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.connectedAt = now
        self.lastInteraction = now
        self.authenticated = authenticated
    }

    /// CLIENT NO-TOUCH ON: this client's commands leave keys' access times alone (TOUCH excepted).
    var noTouch = false

    /// Whether the peer connects over the loopback interface (enable-debug-command local).
    var isLocal: Bool {
        let host = remoteAddress.lastIndex(of: ":").map { remoteAddress[..<$0] } ?? Substring(remoteAddress)
        return host == "127.0.0.1" || host == "::1"
    }

    /// CLIENT LIST flags letters, in Redis' order: O monitor, P pub/sub, x in MULTI, b blocked, e no-evict,
    /// T no-touch; N none.
    var flagLetters: String {
        var letters = ""
        if monitoring { letters += "O" }
        if replicaLink != nil { letters += "S" }
        if isPrimaryLink { letters += "M" }
        if !subscriptions.isEmpty { letters += "P" }
        if transaction != nil { letters += "x" }
        if blocked != nil || postponedRequest != nil { letters += "b" }
        if noEvict { letters += "e" }
        if noTouch { letters += "T" }
        return letters.isEmpty ? "N" : letters
    }
}

/// The classes of clients CLIENT LIST TYPE and CLIENT KILL TYPE select (Redis' getClientType): a replica
/// connection (not a MONITOR one), the link to this server's primary, a client listening to Pub/Sub, or any other.
enum ClientType: String {
    case normal, replica, pubsub, master

    /// The word of CLIENT LIST / KILL TYPE, `slave` being the old name of `replica`; nil for another word.
    init?(word: String) {
        let lowered = word.lowercased()
        self.init(rawValue: lowered == "slave" ? "replica" : lowered)
    }
}

extension ClientSession {
    /// The class CLIENT LIST TYPE and CLIENT KILL TYPE match this client against.
    var type: ClientType {
        if replicaLink != nil { return .replica }
        if isPrimaryLink { return .master }
        return subscriptions.isEmpty ? .normal : .pubsub
    }
}

/// CLIENT REPLY's modes. Replies are dropped while `off`, and for the one command after CLIENT REPLY SKIP: SKIP puts
/// the client in `skipNext`, which becomes `skip` once SKIP itself is done, and `on` after the skipped command.
enum ReplyMode {
    case on, off, skipNext, skip
}

/// Commands queued between MULTI and EXEC.
struct Transaction {
    /// Queued requests, arguments copied out of the read buffer.
    var queued: [[ByteBuffer]] = []
    /// Set when a queued command was rejected (unknown, wrong arity): EXEC then answers EXECABORT.
    var rejected = false
}

struct WatchedKey {
    let database: Int
    let key: [UInt8]
    let version: KeyVersion
}

/// A client waiting in a blocking command.
struct BlockedClient {
    let request: BlockRequest
    let database: Int
    /// The command that blocked: the attempt that serves it adds its time, and a failure, to its statistics.
    let command: Command
    /// Pending timeout, cancelled when the client is served, killed or disconnects.
    var timeout: Scheduled<Void>?
    /// Microseconds the attempt that blocked took: the answering attempt adds its own (slow log, latency histogram).
    var attemptMicroseconds: Int64 = 0
    /// The request as the slow log keeps it, copied when the call blocked while the slow log was on (the request's
    /// buffers are reused before the answer); nil otherwise or for a command the slow log skips.
    var slowLogArguments: [[UInt8]]?
}

/// REPLCONF options a client gave before asking for a snapshot (`redis-cli --rdb` sends `capa eof` and
/// `rdb-only 1`).
struct ReplicaHandshake {
    /// `REPLCONF capa <name>`: `eof` means the client reads a payload delimited by an end mark.
    var capabilities: Set<String> = []
    /// `REPLCONF rdb-only 1`: the client wants the snapshot only, not the command stream after it.
    var snapshotOnly = false
    /// `REPLCONF listening-port <port>`; 0 when not given.
    var listeningPort = 0
    /// `REPLCONF ip-address <ip>`; nil when not given (the peer's address is shown).
    var announcedIP: String?
}
