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
    /// False until AUTH succeeds when requirepass is set.
    var authenticated: Bool
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
    /// The connection's command context (weak: the context owns the session).
    weak var context: CommandContext?
    /// Bytes waiting in the query buffer (CLIENT LIST qbuf=).
    var queryBufferLength = 0

    init(id: UInt64, remoteAddress: String, localAddress: String, now: Int64, authenticated: Bool) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.connectedAt = now
        self.lastInteraction = now
        self.authenticated = authenticated
    }

    /// CLIENT LIST flags letters: N none, x in MULTI, b blocked.
    var flagLetters: String {
        var letters = ""
        if transaction != nil { letters += "x" }
        if blocked != nil { letters += "b" }
        return letters.isEmpty ? "N" : letters
    }
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
}
