import Logging
import NIOCore
import RillCore
import RillProtocol

/// What a command handler works with: the request's arguments, the calling client, the reply being built, and the
/// server's parts it may use (its database and the keyspace, the change feed through `keyModified` and `propagate`,
/// the client and blocking registries, persistence, and `control` for what only the server does), never the server
/// itself: the server calls commands, commands use their context. One context lives per connection and is reused
/// for every command it sends, so running a command allocates nothing here.
final class CommandContext {
    /// The request, the command name first. Slices of the connection's read buffer: valid for this call only.
    var arguments: [ByteBuffer] = []
    /// Private: handlers reach the server only through the parts and operations below. Strong: the server
    /// outlives every connection and holds no context strongly, so there is no cycle, and an `unowned` reference
    /// cost a checked retain (`swift_unownedRetainStrong`) on every access.
    private let server: ServerState
    let client: ClientSession
    /// What the session holds weakly to reach this context (see `Backlink`).
    private(set) lazy var backlink = Backlink(self)
    /// Replies for the current read batch; flushed as one write when the batch ends.
    var reply: RESPWriter
    /// Wall-clock time in Unix milliseconds, read once per command so a command sees one "now".
    var nowMilliseconds: Int64 = 0
    /// Set by a handler that could not answer yet and wants to wait for keys (XREAD BLOCK).
    var blockRequest: BlockRequest?
    /// What `lookupBytes` copies arguments into, reused from command to command.
    private var lookupBuffers: [[UInt8]] = [[], [], []]
    /// A byte buffer handlers borrow to gather arguments without allocating per command; empty when lent out.
    private var scratch: [UInt8] = []

    /// Lends the scratch buffer, emptied but keeping its capacity; give it back with `returnScratch`.
    func takeScratch() -> [UInt8] {
        var buffer = scratch
        scratch = []
        buffer.removeAll(keepingCapacity: true)
        return buffer
    }

    func returnScratch(_ buffer: [UInt8]) {
        // A buffer grown by one huge request is not kept for the connection's lifetime.
        if buffer.capacity <= 64 * 1024 { scratch = buffer }
    }

    init(server: ServerState, client: ClientSession, allocator: ByteBufferAllocator) {
        self.server = server
        self.client = client
        self.reply = RESPWriter(buffer: allocator.buffer(capacity: 1024), version: .v2)
    }

    var argumentCount: Int { arguments.count }

    /// The client's selected database.
    var database: Database {
        get { server.keyspace[client.databaseIndex] }
        // An addressor, not `_modify`: a coroutine's frame, when the call is not inlined, is allocated per access.
        unsafeMutableAddress { server.keyspace.address(ofDatabase: client.databaseIndex) }
    }

    // MARK: The parts of the server a handler may use

    /// Every database (SELECT's range, FLUSHALL, EXEC's WATCH check, INFO keyspace).
    var keyspace: Keyspace {
        get { server.keyspace }
        _modify { yield &server.keyspace }
    }

    var configuration: ServerConfiguration { server.configuration }
    var clients: ClientRegistry { server.clients }
    var blocking: BlockingRegistry { server.blocking }
    var changes: ChangeFeed { server.changes }
    var persistence: PersistenceCoordinator { server.persistence }
    var commands: CommandTable { server.commands }
    var accessControl: AccessControl { server.accessControl }
    var slowLog: SlowLog { server.slowLog }
    var latencyEvents: LatencyMonitor { server.latencyEvents }
    var monitors: MonitorFeed { server.monitors }
    var pubSub: PubSubRegistry { server.pubSub }
    var replication: ReplicationPrimary { server.replication }
    var logger: Logger { server.logger }
    var eventLoop: any EventLoop { server.eventLoop }
    /// What only the server itself can do (transactions, statistics, configuration, shutdown), for the admin,
    /// transaction and introspection commands.
    var control: any ServerControl { server }

    // MARK: Argument access

    func bytes(_ index: Int) -> [UInt8] {
        arguments[index].getBytes(at: arguments[index].readerIndex, length: arguments[index].readableBytes) ?? []
    }

    /// Argument `index` copied into buffer `buffer` (0 to 2) of the context's lookup buffers: once the previous result
    /// from that buffer is dropped (when its command ends), the copy allocates nothing. For the names a command looks
    /// up (key, group, consumer: one buffer each when it holds them together). A caller may store the result (the
    /// keyspace and a new consumer keep copies of their own size), but while it keeps it, the next copy into that
    /// buffer allocates.
    func lookupBytes(_ index: Int, buffer: Int = 0) -> [UInt8] {
        // One long argument does not stay with the connection.
        if lookupBuffers[buffer].capacity > 4096 { lookupBuffers[buffer] = [] }
        lookupBuffers[buffer].removeAll(keepingCapacity: true)
        arguments[index].withUnsafeReadableBytes { lookupBuffers[buffer].append(contentsOf: $0) }
        return lookupBuffers[buffer]
    }

    func string(_ index: Int) -> String {
        String(buffer: arguments[index])
    }

    /// Whether argument `index` equals `lowercaseWord`, ignoring ASCII case (option names like NX, COUNT).
    func argument(_ index: Int, is lowercaseWord: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: lowercaseWord.utf8Start, count: lowercaseWord.utf8CodeUnitCount)
        return arguments[index].withUnsafeReadableBytes { ASCII.equalIgnoringCase($0, expected) }
    }

    /// Parses argument `index` as Redis parses integers (no spaces, no '+', no leading zeros, fits int64).
    func integer(_ index: Int, error: RedisError = .notAnInteger) throws(RedisError) -> Int64 {
        let value = arguments[index].withUnsafeReadableBytes { RedisInteger.parse($0) }
        guard let value else { throw error }
        return value
    }

    /// Like `integer` but requires a value >= 0, failing with `error`.
    func nonNegativeInteger(_ index: Int, error: RedisError) throws(RedisError) -> Int64 {
        let value = try integer(index, error: error)
        guard value >= 0 else { throw error }
        return value
    }

    /// Walks `name value` option pairs from argument `start` to the last: `body` gets each name's index, reads the
    /// names it knows (the value is at `index + 1`) and returns false for any other. A name without a value, or one
    /// `body` does not know, is a syntax error, as Redis answers.
    func forEachOptionPair(from start: Int, _ body: (_ index: Int) throws -> Bool) throws {
        var index = start
        while index < argumentCount {
            guard index + 1 < argumentCount, try body(index) else { throw RedisError.syntax }
            index += 2
        }
    }

    /// A HELP subcommand's reply: one status line per element, as Redis sends them.
    func replyHelp(_ lines: [String]) {
        reply.arrayHeader(lines.count)
        for line in lines { reply.simpleString(line.utf8) }
    }

    // MARK: Effects

    /// Records that a key changed: WATCH versions, blocked readers and the dirty counter.
    func keyModified(_ key: [UInt8]) {
        server.keyModified(key, database: client.databaseIndex)
    }

    /// `keyModified` counting `changes` in the dirty counter instead of one: Redis counts some writes per element
    /// (RPUSH of three elements is three changes), and a key touched by a write that moved nothing as none.
    func keyModified(_ key: [UInt8], changes: Int) {
        server.keyModified(key, database: client.databaseIndex, changes: Int64(changes))
    }

    /// Every key of `database` (of all databases when nil) changed at once (FLUSHDB, FLUSHALL).
    func allKeysModified(database: Int?) {
        server.allKeysModified(database: database)
    }

    /// PUBLISH / SPUBLISH from this client: delivers `payload` and answers the number of deliveries.
    func publish(_ payload: ByteBuffer, to channel: ByteBuffer, shard: Bool) -> Int {
        server.publish(payload, to: channel, shard: shard, publisher: client)
    }

    /// Writes `error` as this context's next reply and counts it (INFO errorstats), for a handler that answers an
    /// error inside a larger reply instead of throwing.
    func replyError(_ error: RedisError) {
        server.writeError(self, error)
    }

    /// Records `command` in the append-only file as (part of) this call's effect. A handler whose request would
    /// not replay to the same state (an ID chosen by the server, a relative time, an approximate trim, a delivery)
    /// calls it with deterministic commands that do; once it is called, the request itself is not recorded.
    /// The command is built only when an append-only file is being written.
    func propagate(_ command: @autoclosure () -> [ByteBuffer]) {
        guard server.changes.isRecording else { return }
        server.changes.propagate(command())
    }

    /// `propagate` for a list of commands, possibly empty: an empty list records nothing for this call.
    func propagate(effects commands: @autoclosure () -> [[ByteBuffer]]) {
        guard server.changes.isRecording else { return }
        server.changes.propagate(effects: commands())
    }

    /// Whether effects are recorded (the change feed has a subscriber): handlers test it before gathering what
    /// only the effects need.
    var recordsEffects: Bool { server.changes.isRecording }

    /// Asks the server to run `retry` again when one of `keys` changes, until it answers or `timeoutMilliseconds`
    /// (0 = forever) passes; on timeout `onTimeout` writes the reply. Where the client may not block (inside
    /// MULTI, while the append-only file replays) `onDenied` answers, `onTimeout` when it is nil.
    func block(keys: [[UInt8]], timeoutMilliseconds: Int64, retry: @escaping (CommandContext) -> Bool,
               onTimeout: @escaping (CommandContext) -> Void, onDenied: ((CommandContext) -> Void)? = nil) {
        blockRequest = BlockRequest(keys: keys, timeoutMilliseconds: timeoutMilliseconds, retry: retry,
                                    onTimeout: onTimeout, onDenied: onDenied ?? onTimeout)
    }
}

/// What a handler asks for when it must wait for data.
struct BlockRequest {
    let keys: [[UInt8]]
    let timeoutMilliseconds: Int64
    let retry: (CommandContext) -> Bool
    let onTimeout: (CommandContext) -> Void
    /// The answer when the client may not block (Redis answers a BLMOVE in MULTI with a null bulk string, its
    /// timeout with a null array).
    let onDenied: (CommandContext) -> Void
}
