import NIOCore
import RillProtocol

/// What a client connection needs of the socket it is served on, whichever engine (`io-engine`) owns it: SwiftNIO's
/// channel (`ConnectionHandler`) or the io_uring loop (`URingEngine`). Every call happens on the keyspace's event loop.
protocol ClientTransport: AnyObject {
    var eventLoop: any EventLoop { get }
    var allocator: ByteBufferAllocator { get }
    var remoteAddress: String { get }
    var localAddress: String { get }
    /// Bytes handed to `write` that the kernel has not taken yet.
    var unsentBytes: Int { get }
    /// Writes handed to `write` and not finished (CLIENT LIST oll).
    var unfinishedWrites: Int { get }
    /// False once more than the high water mark is unsent, true again below the low water mark; the transport calls
    /// `ClientConnection.writabilityChanged` on each change.
    var isWritable: Bool { get }
    func setWaterMarks(low: Int, high: Int)
    /// Sends `payload` after everything handed over before; `completion` runs once it is written or failed.
    func write(_ payload: ByteBuffer, completion: (() -> Void)?)
    /// Reading stops while the output is paused (the connection calls `pauseReading`) and starts again on
    /// `resumeReading`.
    func pauseReading()
    func resumeReading()
    func close()
}

/// One client connection, independent of the engine that moves its bytes: decodes requests from the accumulated
/// input, runs them in order on the event loop, and gathers the replies of one read batch into a single write sent
/// when the event-loop tick ends.
///
/// Back-pressure (`client-output-pause-threshold`): once the gathered replies reach the threshold they are written
/// at once, and while the transport holds more unsent bytes than the threshold (its high water mark; it becomes
/// writable again below half of it) the remaining pipelined requests wait and the socket is not read, as swift-nio's
/// `BackPressureHandler` holds `read`. A client that pipelines without reading is slowed instead of making the server
/// hold every reply it asked for.
final class ClientConnection {
    private let server: ServerState
    /// Held strongly: the connection may outlive the socket in the tick-end list. The transport drops its own
    /// reference to the connection once closed, which ends the cycle.
    private let transport: any ClientTransport
    private var decoder = RESPRequestDecoder()
    /// Bytes read but not yet parsed into a complete request; nil when empty.
    private var input: ByteBuffer?
    private var commandContext: CommandContext?
    /// Set after a protocol error or QUIT/KILL: nothing more is read or run.
    private(set) var closing = false
    /// Whether this connection is in the server's list of replies written at the end of the event-loop tick, or
    /// held there after the append-only file's write failed until a retry succeeds.
    var awaitsTickEnd = false
    /// `appendfsync always`: the gathered replies that wait for the append-only file's fsync, as prefixes of the
    /// reply buffer (`replyBytes` from its start) each with the file position the fsync must reach (`fileEnd`),
    /// both increasing. The requests after them run meanwhile: their replies wait behind (a pipeline's next
    /// requests run while the fsync of the previous ones is in flight); `client-output-pause-threshold` bounds them,
    /// since reaching it fsyncs on the loop and sends everything (`sendGatheredRepliesNow`).
    private var repliesAwaitingFsync: [(replyBytes: Int, fileEnd: Int64)] = []
    /// The number of the worker fsync (`PersistenceCoordinator.fsyncRound`) that released this connection's
    /// replies while the next fsync waits for its next request; -1 otherwise.
    var releasedByFsyncRound = -1
    /// Set while the transport holds more unsent bytes than `client-output-pause-threshold`: requests wait, and the
    /// socket is not read.
    private(set) var outputPaused = false {
        didSet { if outputPaused && !oldValue { transport.pauseReading() } }
    }
    /// Set while the rest of the pipeline waits for a later turn after a large reply (see `processInput`): reads
    /// arriving meanwhile only add to the input, so one read of many small chunks cannot run a request per chunk.
    private var continuationScheduled = false
    /// Set while `processInput` runs requests: a writability change seen then is acted on by that loop.
    private var processingInput = false
    /// The threshold the transport's water marks were last set from; 0 before they were set.
    private var appliedPauseThreshold = 0

    /// What the session's closures hold (weakly) to reach this connection; they outlive it when the session does.
    private lazy var backlink = Backlink(self)

    init(server: ServerState, transport: any ClientTransport) {
        self.server = server
        self.transport = transport
    }

    /// The socket is connected: registers the client, or refuses it (maxclients, protected mode) and closes.
    /// Returns false when refused.
    func activate() -> Bool {
        let client = server.registerClient(remoteAddress: transport.remoteAddress,
                                           localAddress: transport.localAddress)
        let commandContext = CommandContext(server: server, client: client, allocator: transport.allocator)
        client.context = commandContext
        // Through the backlink, not `[weak self]`: see `Backlink`.
        let link = backlink
        client.closeConnection = { [weak link] in link?.target.close() }
        client.flushOutput = { [weak link] in link?.target.flush() }
        client.pendingOutputBytes = { [weak link] in link?.target.transport.unsentBytes ?? 0 }
        client.queuedWriteCount = { [weak link] in link?.target.queuedWriteCount ?? 0 }
        client.sendSnapshot = { [weak link] payload in link?.target.sendSnapshot(payload) }
        client.resumeInput = { [weak link] in
            link?.target.processInput()
            link?.target.flush()
        }
        client.sendAndClose = { [weak link] payload in link?.target.sendAndClose(payload) }
        client.sendRaw = { [weak link] payload in link?.target.send(payload) }
        self.commandContext = commandContext
        applyPauseThreshold()
        if server.clients.count > server.configuration.maxClients {
            server.stats.rejectedConnections += 1
            refuse(with: RedisError.maxClientsReached.message)
            return false
        }
        if server.protectedModeRefuses(client) {
            refuse(with: RedisError.protectedMode.message)
            return false
        }
        return true
    }

    private func refuse(with message: String) {
        guard let commandContext else { return }
        commandContext.reply.error(message)
        closing = true
        // Written now: replies wait for the tick's end otherwise, and the connection closes before that.
        writeReplies()
        transport.close()
    }

    /// The socket is closed: the client leaves the server's lists.
    func deactivate() {
        if let client = commandContext?.client { server.unregisterClient(client) }
        commandContext = nil
        input = nil
    }

    /// Bytes arrived from the socket.
    func received(_ bytes: inout ByteBuffer) {
        if closing { return }
        server.stats.netInputBytes += Int64(bytes.readableBytes)
        server.stats.readsProcessed += 1
        commandContext?.client.totalNetInput += Int64(bytes.readableBytes)
        if input == nil {
            input = bytes
        } else {
            input!.writeBuffer(&bytes)  // non-nil: checked just above
        }
        if !continuationScheduled { processInput() }
    }

    func writabilityChanged(isWritable: Bool) {
        if !isWritable {
            if pausesForOutput { outputPaused = true }
        } else if outputPaused {
            // The transport may report both changes inside one write (unwritable once the reply is queued, writable
            // again once the socket took most of it): within `processInput` its loop schedules what follows.
            outputPaused = false
            if !processingInput { scheduleContinuation() }
        }
    }

    /// Runs the rest of the pipeline in a later turn, after the other connections' ready input. Not with `execute`:
    /// NIO runs tasks queued by tasks in the same tick, before polling sockets again; a task due a millisecond later
    /// ends the tick first (for this client, a millisecond per megabyte of replies).
    private func scheduleContinuation() {
        guard !continuationScheduled, commandContext != nil else { return }
        continuationScheduled = true
        // Held strongly (no weak reference, see `Backlink`): the task runs within a millisecond, and
        // `continuePipeline` does nothing once the connection is gone.
        transport.eventLoop.scheduleTask(in: .milliseconds(1)) { self.continuePipeline() }
    }

    /// Runs the requests that waited, then reads again unless they paused the connection anew.
    private func continuePipeline() {
        continuationScheduled = false
        guard commandContext != nil else { return }
        processInput()
        flush()
        if !outputPaused { transport.resumeReading() }
    }

    /// Runs every complete request in the input, stopping while the client is blocked (its later pipelined
    /// requests wait, as in Redis) or closing.
    func processInput() {
        guard var buffer = input, let commandContext else { return }
        input = nil
        let client = commandContext.client
        decoder.limits.maxBulkLength = server.configuration.protoMaxBulkLength
        let pauseThreshold = server.configuration.outputPauseThreshold
        if pauseThreshold != appliedPauseThreshold { applyPauseThreshold() }
        processingInput = true
        defer { processingInput = false }
        do {
            while !closing, !outputPaused, client.blocked == nil, client.postponedRequest == nil,
                  !client.awaitingSnapshot, !client.waitingForAcknowledgements {
                // AUTH may succeed mid-pipeline: the limits of each request follow the state before it.
                decoder.limits.unauthenticated = !client.authenticated
                guard try decoder.decode(&buffer, into: &commandContext.arguments) else { break }
                server.execute(commandContext)
                // As Redis stops reading a client once it is past its output limit (when its class has one).
                if client.closeAfterReply || server.closeIfOverOutputLimit(client) { closing = true }
                if pauseThreshold > 0 && commandContext.reply.buffer.readableBytes >= pauseThreshold && !closing {
                    sendGatheredRepliesNow()
                    // Even when the socket took it all: the other connections are served between two large replies.
                    if !outputPaused { scheduleContinuation() }
                    break
                }
            }
        } catch {
            server.writeError(commandContext, RedisError.protocolError(error.message))
            server.logger.info("Protocol error from client \(client.id) (\(client.remoteAddress)): \(error.message)")
            closing = true
        }
        // Drop the argument slices so the next read can append to the buffer without copying it.
        commandContext.arguments.removeAll(keepingCapacity: true)
        if closing {
            flush()
            close()
            return
        }
        if buffer.readableBytes > 0 {
            if buffer.readableBytes > server.configuration.queryBufferLimit {
                server.logger.warning("Closing client \(client.id) that reached max query buffer length")
                server.stats.queryBufferLimitDisconnections += 1
                close()
                return
            }
            if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
            input = buffer
        }
        client.queryBufferLength = buffer.readableBytes
        // An emptied buffer is dropped (`input` stays nil), its storage with it.
        client.queryBufferFree = buffer.readableBytes > 0 ? buffer.writableBytes : 0
    }

    /// Writes the gathered replies now, in the middle of a batch: the append-only file first, since they may
    /// acknowledge writes. Pauses the connection if the transport is past its high water mark.
    private func sendGatheredRepliesNow() {
        // Replies that may acknowledge writes leave only once those are in the file; if that write fails they stay
        // gathered and wait at the tick's end with the rest, held until a retry succeeds.
        let persistence: PersistenceCoordinator = server.persistence
        guard !persistence.repliesWaitForAppendOnlyFile || persistence.writeAppendOnlyFile() else { return }
        writeReplies()
        if !transport.isWritable, pausesForOutput { outputPaused = true }
    }

    /// Whether unsent output pauses this connection: not when the threshold is 0, nor for a replica, whose stream
    /// `client-output-buffer-limit replica` bounds and whose acknowledgements must still be read.
    private var pausesForOutput: Bool {
        server.configuration.outputPauseThreshold > 0 && commandContext?.client.replicaLink == nil
    }

    /// Sets the transport's water marks from `client-output-pause-threshold`: unwritable above it, writable again
    /// below half of it. With 0 (never pause) the transport's defaults stay; writability is then ignored.
    private func applyPauseThreshold() {
        let threshold = server.configuration.outputPauseThreshold
        appliedPauseThreshold = threshold
        if threshold > 0 {
            transport.setWaterMarks(low: threshold / 2, high: threshold)
        } else if outputPaused {
            outputPaused = false
            scheduleContinuation()
        }
    }

    /// CLIENT LIST oll: writes the transport has not finished sending.
    private var queuedWriteCount: Int { transport.unsentBytes > 0 ? transport.unfinishedWrites : 0 }

    /// Writes the replies gathered so far in one write, at the end of this event-loop tick, after the append-only
    /// file's write (see `PersistenceCoordinator.writeRepliesAtTickEnd`): the requests of every connection read in
    /// this tick run before any reply goes out, as Redis writes replies before it sleeps. Writing each connection's
    /// replies as soon as its read is done wakes its client in the middle of the tick, and on a busy machine the
    /// switch to that client costs more than the write (pipelined XADD: 600k to 780k ops/s, BENCHMARKS.md).
    func flush() {
        if !awaitsTickEnd {
            awaitsTickEnd = true
            server.persistence.writeRepliesAtTickEnd(self)
        }
    }

    var holdsRepliesForFsync: Bool { !repliesAwaitingFsync.isEmpty }

    /// The replies gathered so far (those not already held) wait until the append-only file is fsynced up to `end`.
    /// - Returns: whether any reply waits now.
    func holdReplies(untilFsyncReaches end: Int64) -> Bool {
        let gathered = commandContext?.reply.buffer.readableBytes ?? 0
        let held = repliesAwaitingFsync.last?.replyBytes ?? 0
        if gathered > held {
            if repliesAwaitingFsync.last?.fileEnd == end {
                repliesAwaitingFsync[repliesAwaitingFsync.count - 1].replyBytes = gathered
            } else {
                repliesAwaitingFsync.append((gathered, end))
            }
        }
        return !repliesAwaitingFsync.isEmpty
    }

    /// Sends the held replies whose writes are fsynced now: those held until `committed` or before.
    func releaseReplies(fsyncedUpTo committed: Int64) {
        guard let covered = repliesAwaitingFsync.lastIndex(where: { $0.fileEnd <= committed }) else { return }
        let byteCount = repliesAwaitingFsync[covered].replyBytes
        repliesAwaitingFsync.removeFirst(covered + 1)
        for index in repliesAwaitingFsync.indices { repliesAwaitingFsync[index].replyBytes -= byteCount }
        writeReplies(prefix: byteCount)
    }

    /// Whether the replies gathered so far acknowledge a change (see `ClientSession.repliesAcknowledgeChanges`).
    var repliesAcknowledgeChanges: Bool { commandContext?.client.repliesAcknowledgeChanges ?? false }

    /// Before the connection closes: the replies leave if the writes they may acknowledge are in the file; else
    /// they are dropped, unacknowledged (the client sees the connection close).
    private func writeRepliesBeforeClosing() {
        let repliesWait = awaitsTickEnd || server.persistence.repliesWaitForAppendOnlyFile
        if server.persistence.writeAppendOnlyFile() || !repliesWait {
            writeReplies()
        } else {
            server.persistence.forgetHeldReplies(of: self)
        }
    }

    /// Sends the gathered replies now (with `prefix`, only that many bytes of them: those an fsync released).
    /// Callers make sure the writes they acknowledge or show are in the append-only file.
    func writeReplies(prefix: Int? = nil) {
        guard let commandContext else {
            repliesAwaitingFsync.removeAll()
            return
        }
        let gathered = commandContext.reply.buffer.readableBytes
        guard gathered > 0 else { return }
        let byteCount = min(prefix ?? gathered, gathered)
        server.stats.netOutputBytes += Int64(byteCount)
        server.stats.writesProcessed += 1
        let client = commandContext.client
        client.totalNetOutput += Int64(byteCount)
        client.replyBufferPeak = max(client.replyBufferPeak, gathered)
        if byteCount < gathered {
            // The rest stays held: it may acknowledge writes a later fsync covers.
            transport.write(commandContext.reply.buffer.readSlice(length: byteCount)!, completion: nil)  // <= gathered
            server.outputAdded(to: client)
            return
        }
        // Everything gathered leaves: nothing stays held behind it.
        repliesAwaitingFsync.removeAll()
        client.repliesAcknowledgeChanges = false
        transport.write(commandContext.reply.buffer, completion: nil)
        if commandContext.reply.buffer.capacity > 64 * 1024 {
            // A buffer grown by one large reply is not kept for the connection's lifetime.
            commandContext.reply.buffer = transport.allocator.buffer(capacity: 1024)
        } else {
            // Usually the kernel took every byte and the transport has dropped its copy, so the memory is reused;
            // while the transport still holds it (a partial write), `clear` allocates fresh storage instead.
            commandContext.reply.buffer.clear()
        }
        server.outputAdded(to: client)
    }

    /// Writes the pending replies and `payload`, and closes the connection once the payload is written: closing
    /// at once would drop what the socket has not taken yet (a snapshot is large).
    private func sendAndClose(_ payload: ByteBuffer) {
        guard let commandContext else { return }
        closing = true
        writeRepliesBeforeClosing()
        server.stats.netOutputBytes += Int64(payload.readableBytes)
        commandContext.client.totalNetOutput += Int64(payload.readableBytes)
        let link = backlink
        transport.write(payload) { [weak link] in link?.target.transport.close() }
    }

    /// Writes the pending replies and `payload` now, leaving the connection open (a replica's snapshot and stream).
    private func send(_ payload: ByteBuffer) {
        guard let commandContext, !closing else { return }
        writeReplies()
        server.stats.netOutputBytes += Int64(payload.readableBytes)
        commandContext.client.totalNetOutput += Int64(payload.readableBytes)
        transport.write(payload, completion: nil)
        server.outputAdded(to: commandContext.client)
    }

    /// `send` for a replica's snapshot, which Redis does not count against the replica's output limit: its bytes
    /// are left out of the client's output until the transport has written them.
    private func sendSnapshot(_ payload: ByteBuffer) {
        guard let commandContext, !closing else { return }
        let client = commandContext.client
        writeReplies()
        server.stats.netOutputBytes += Int64(payload.readableBytes)
        client.totalNetOutput += Int64(payload.readableBytes)
        client.snapshotBytesInFlight += payload.readableBytes
        let size = payload.readableBytes
        transport.write(payload) { [weak client] in client?.snapshotBytesInFlight -= size }
    }

    func close() {
        closing = true
        // The last replies leave before the connection closes, so the file cannot wait for the tick's end.
        writeRepliesBeforeClosing()
        transport.close()
    }
}
