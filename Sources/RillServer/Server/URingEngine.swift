import CRillURing
import Collections
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix

/// The io_uring client transport (`io-engine io_uring`): one ring driven on the event loop that owns the keyspace,
/// so commands keep running on that single thread and timers, blocking commands, replication and the append-only
/// file stay on the NIO loop unchanged.
///
/// The listeners have one multishot accept each; each connection one multishot receive drawing from a provided
/// buffer ring. An eventfd registered with the ring is a NIO pipe channel: when it is readable the loop drains the
/// completions (running the requests they carry), and the sends the tick's replies queue are submitted together by
/// one task at the tick's end (one `io_uring_enter` for all of them).
///
/// More loops owning shards of the keyspace would each own one ring like this one (ARCHITECTURE.md).
final class URingEngine {
    /// What a submission's user data names: the operation in the top byte, a connection or listener id below.
    enum Operation: UInt64 {
        case accept = 1, receive, send, cancel
    }

    private let server: ServerState
    let eventLoop: any EventLoop
    private let ring: OpaquePointer
    private let eventfd: Int32
    private var eventfdChannel: (any Channel)?
    private var listeners: [Int32] = []
    private var connections: [UInt64: URingConnection] = [:]
    private var nextConnectionID: UInt64 = 1
    /// A `finishTick` task is queued; the eventfd is quiet while one is (it takes the completions itself).
    private var submitScheduled = false
    /// `takeCompletionsWithoutWakeUp`, every `missedWakeUpInterval`.
    private var missedWakeUpCheck: RepeatedTask?
    /// `finishTick` passes since the eventfd last woke the loop (see `passesBeforePolling`).
    private var passesSinceWakeUp = 0
    /// Request bytes the current pass of `handleReadyCompletions` delivered to connections.
    private var deliveredRequestBytes = 0
    private var stopped = false
    /// Completions taken from the kernel's queue at a time: few enough that a drain stops close to
    /// `requestBytesPerTick` (each receive holds up to `receiveBufferSize` bytes).
    private var completions = [rill_uring_completion](repeating: rill_uring_completion(), count: 8)
    let allocator = ByteBufferAllocator()
    /// The bytes of one receive on their way to the connection's decoder. Reused: the decoder consumes them within
    /// the call, dropping its reference, so `clear()` finds the storage unshared; a connection that keeps a partial
    /// request holds on to the storage, and the next receive gets a fresh one.
    private var receiveBuffer: ByteBuffer

    /// Ring entries; buffers of the receive ring (a power of two) and their size.
    private static let ringEntries: UInt32 = 4096
    private static let receiveBufferCount: UInt32 = 1024
    private static let receiveBufferSize: UInt32 = 16384
    /// `finishTick` passes in a row that handle completions before the loop goes back to NIO's poller.
    private static let passesBeforePolling = 8
    private static let missedWakeUpInterval = TimeAmount.milliseconds(100)
    /// Request bytes one tick passes to connections at most: a client pipelining megabytes gets its first replies
    /// after this much work (NIO's first read batch of a connection, 16 reads starting at 16 KB, is of that size).
    private static let requestBytesPerTick = 128 * 1024

    private init(server: ServerState, eventLoop: any EventLoop, ring: OpaquePointer, eventfd: Int32) {
        self.server = server
        self.eventLoop = eventLoop
        self.ring = ring
        self.eventfd = eventfd
        receiveBuffer = allocator.buffer(capacity: Int(Self.receiveBufferSize))
    }

    /// Creates the ring on the event loop's thread (it is the ring's single issuer). Throws `Unavailable` with the
    /// kernel's reason when io_uring or a feature the engine needs is refused. `RILL_TEST_IO_URING_UNAVAILABLE=1`
    /// makes it refuse, so the test suite covers the fallback on a kernel that has io_uring.
    static func make(server: ServerState, eventLoop: any EventLoop) throws -> URingEngine {
        let simulateUnavailable = getenv("RILL_TEST_IO_URING_UNAVAILABLE").map { String(cString: $0) == "1" } ?? false
        return try eventLoop.submit {
            var ring: OpaquePointer?
            var eventfd: Int32 = -1
            let result = rill_uring_open(&ring, ringEntries, receiveBufferCount, receiveBufferSize,
                                         simulateUnavailable ? 1 : 0, &eventfd)
            guard result == 0, let ring else { throw Unavailable(reason: String(cString: strerror(-result))) }
            return URingEngine(server: server, eventLoop: eventLoop, ring: ring, eventfd: eventfd)
        }.wait()
    }

    struct Unavailable: Error, CustomStringConvertible {
        let reason: String
        var description: String { "io_uring unavailable: \(reason)" }
    }

    struct ListenError: Error, CustomStringConvertible {
        let address: String
        let reason: String
        var description: String { "\(address): \(reason)" }
    }

    /// Listens on `configuration.bindAddresses` and starts accepting. Returns the bound port (the kernel's pick
    /// when `port` is 0; further addresses reuse it). An address starting with "-" may be missing.
    func start(group: any EventLoopGroup) throws -> Int {
        let configuration = server.configuration
        var port = configuration.port
        for address in configuration.bindAddresses {
            let optional = address.hasPrefix("-")
            let host = optional ? String(address.dropFirst()) : address
            let fd = rill_uring_listen(host, Int32(port), Int32(configuration.tcpBacklog))
            if fd < 0 {
                if optional { continue }
                stop()
                throw ListenError(address: "\(host):\(port)", reason: String(cString: strerror(-fd)))
            }
            if port == 0 { port = Int(rill_uring_local_port(fd)) }
            listeners.append(fd)
        }
        let engine = self
        eventfdChannel = try NIOPipeBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.maxMessagesPerRead, value: 1)
            .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 8))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CompletionWakeUp(engine: engine))
                }
            }
            .takingOwnershipOfDescriptor(input: eventfd).wait()
        try eventLoop.submit {
            for (index, listener) in self.listeners.enumerated() { self.armAccept(listenerIndex: index, fd: listener) }
            self.scheduleSubmit()
            self.missedWakeUpCheck = self.eventLoop.scheduleRepeatedTask(initialDelay: Self.missedWakeUpInterval,
                                                                         delay: Self.missedWakeUpInterval) { _ in
                self.takeCompletionsWithoutWakeUp()
            }
        }.wait()
        return port
    }

    /// Closes the listeners and the eventfd channel; open connections end with the process.
    func stop() {
        stopped = true
        missedWakeUpCheck?.cancel()
        for listener in listeners { Glibc.close(listener) }
        listeners.removeAll()
        try? eventfdChannel?.close().wait()
    }

    static func userData(_ operation: Operation, _ id: UInt64) -> UInt64 { operation.rawValue << 56 | id }

    // MARK: Submissions

    private func armAccept(listenerIndex: Int, fd: Int32) {
        _ = rill_uring_accept(ring, fd, Self.userData(.accept, UInt64(listenerIndex)))
        scheduleSubmit()
    }

    func armReceive(_ connection: URingConnection) {
        _ = rill_uring_receive(ring, connection.fd, Self.userData(.receive, connection.id))
        scheduleSubmit()
    }

    func cancelReceive(_ connection: URingConnection) {
        _ = rill_uring_cancel(ring, Self.userData(.receive, connection.id), Self.userData(.cancel, connection.id))
        scheduleSubmit()
    }

    func send(_ connection: URingConnection, _ bytes: UnsafeRawBufferPointer) {
        _ = rill_uring_send(ring, connection.fd, bytes.baseAddress, bytes.count, Self.userData(.send, connection.id))
        scheduleSubmit()
    }

    /// Everything queued in this tick (the replies written at its end above all) reaches the kernel in one
    /// submission, by a task that runs after the tick's other tasks.
    private func scheduleSubmit() {
        guard !submitScheduled else { return }
        submitScheduled = true
        eventLoop.execute { [self] in finishTick() }
    }

    // MARK: Completions

    /// The eventfd fired. The kernel posted the completions before the loop was back in user space (its task work
    /// runs on the way out of `epoll_wait`), so they are handled without a system call; the eventfd stays quiet
    /// until the tick's end, where `finishTick` submits the replies and takes what they completed.
    func drain() {
        passesSinceWakeUp = 0
        rill_uring_quiet_eventfd(ring)
        handleReadyCompletions()
        scheduleSubmit()
    }

    /// The tick's end: one `io_uring_enter` submits what the tick queued (the replies above all) and runs the
    /// kernel's pending work. Sends to a writable socket complete inside that call, so their completions, and any
    /// request that arrived meanwhile, are handled at once rather than through another wake-up. While a pass
    /// handled something, another pass follows the tasks it queued (the replies it caused); the eventfd is switched
    /// back on only when the loop is about to poll. After `passesBeforePolling` passes the loop polls anyway (NIO's
    /// other channels), and completions still waiting signal the eventfd by hand.
    private func finishTick() {
        submitScheduled = false
        if rill_uring_pending_submissions(ring) > 0 { _ = rill_uring_get_events(ring) }
        passesSinceWakeUp += 1
        let mayHandle = passesSinceWakeUp <= Self.passesBeforePolling
        if mayHandle && handleReadyCompletions() > 0 {
            scheduleSubmit()
            return
        }
        if submitScheduled { return }
        if rill_uring_signal_eventfd_again(ring) != 0 {
            if mayHandle {
                rill_uring_quiet_eventfd(ring)
                scheduleSubmit()
            } else {
                rill_uring_wake_poller(ring)
            }
        }
    }

    /// A safety net, not the wake-up path: the kernel checks whether the eventfd is quiet without ordering that read
    /// after its posting of the completion, so a completion posted just as `finishTick` turns the eventfd back on
    /// could signal nothing and wait for the next one (forever for a lone client). Completions found waiting while
    /// no tick-end pass is queued are taken here, within `missedWakeUpInterval`.
    private func takeCompletionsWithoutWakeUp() {
        guard !submitScheduled, !stopped, rill_uring_ready_completions(ring) > 0 else { return }
        rill_uring_quiet_eventfd(ring)
        passesSinceWakeUp = 0
        scheduleSubmit()
    }

    /// Handles the completions waiting in the queue, without a system call; returns how many. A pass stops once it
    /// has delivered `requestBytesPerTick` request bytes (the rest stays queued for the next pass), so a client
    /// pipelining without pause gets its replies between passes: draining until the kernel had nothing left kept
    /// such a client in one tick, and no reply left until it stopped sending (10,000 pipelined XADDs under
    /// `appendfsync always` were answered only after 7 s, past redis-py's 5 s timeout, which then resent them).
    @discardableResult
    private func handleReadyCompletions() -> Int {
        deliveredRequestBytes = 0
        var handled = 0
        while deliveredRequestBytes < Self.requestBytesPerTick {
            let count = completions.withUnsafeMutableBufferPointer { buffer in
                Int(rill_uring_completions(ring, buffer.baseAddress, UInt32(buffer.count)))
            }
            for index in 0..<count { handle(completions[index]) }
            handled += count
            if count < completions.count { break }
        }
        rill_uring_return_buffers(ring)
        return handled
    }

    private func handle(_ completion: rill_uring_completion) {
        let id = completion.user_data & ((1 << 56) - 1)
        guard let operation = Operation(rawValue: completion.user_data >> 56) else { return }
        switch operation {
        case .accept:
            accepted(completion, listenerIndex: Int(id))
        case .receive:
            let connection = connections[id]
            if completion.has_buffer != 0 {
                if completion.result > 0, let connection, let base = completion.buffer {
                    deliveredRequestBytes += Int(completion.result)
                    receiveBuffer.clear()
                    receiveBuffer.writeBytes(UnsafeRawBufferPointer(start: UnsafeRawPointer(base),
                                                                    count: Int(completion.result)))
                    connection.received(&receiveBuffer)
                }
                rill_uring_recycle_buffer(ring, completion.buffer_id)
            }
            if completion.more == 0, let connection { connection.receiveEnded(result: completion.result) }
        case .send:
            connections[id]?.sendCompleted(result: completion.result)
        case .cancel:
            break
        }
    }

    private func accepted(_ completion: rill_uring_completion, listenerIndex: Int) {
        if completion.more == 0, !stopped, listenerIndex < listeners.count {
            armAccept(listenerIndex: listenerIndex, fd: listeners[listenerIndex])
        }
        guard completion.result >= 0 else {
            server.logger.warning("Accepting client connection: \(String(cString: strerror(-completion.result)))")
            return
        }
        let fd = completion.result
        rill_uring_set_nodelay(fd)
        let connection = URingConnection(engine: self, fd: fd, id: nextConnectionID)
        nextConnectionID += 1
        connections[connection.id] = connection
        connection.start(server: server)
    }

    /// The connection's socket is closed and the kernel holds no operation of it any more.
    func forget(_ connection: URingConnection) {
        connections[connection.id] = nil
    }
}

/// Reads the eventfd (NIO does, as the pipe channel's input) and drains the ring.
private final class CompletionWakeUp: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let engine: URingEngine

    init(engine: URingEngine) {
        self.engine = engine
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        engine.drain()
    }
}

/// One client socket of the io_uring engine: the `ClientTransport` of its `ClientConnection`.
///
/// Replies are queued and sent one write at a time; a write's bytes stay untouched in the queue until its send
/// completes (the kernel reads them meanwhile), and a short send is resent from where it stopped.
final class URingConnection: ClientTransport {
    /// `unowned(unsafe)`: the engine owns its connections (`connections`) and outlives them; a checked `unowned`
    /// cost a `swift_unownedRetainStrong` on every access (each receive and send).
    unowned(unsafe) let engine: URingEngine
    let fd: Int32
    let id: UInt64
    private var connection: ClientConnection?
    private var queue: Deque<(bytes: ByteBuffer, completion: (() -> Void)?)> = []
    /// Of the queue's first write, bytes the kernel took already (short sends).
    private var sentOfHead = 0
    private var sending = false
    private var receiving = false
    private var readingPaused = false
    /// close() was called: the socket shuts down once the send in flight completes.
    private var closeRequested = false
    private var socketClosed = false
    private(set) var unsentBytes = 0
    private(set) var isWritable = true
    private var lowWaterMark = 32 * 1024
    private var highWaterMark = 64 * 1024
    let remoteAddress: String
    let localAddress: String

    init(engine: URingEngine, fd: Int32, id: UInt64) {
        self.engine = engine
        self.fd = fd
        self.id = id
        remoteAddress = Self.describe(fd, peer: true)
        localAddress = Self.describe(fd, peer: false)
    }

    func start(server: ServerState) {
        let connection = ClientConnection(server: server, transport: self)
        self.connection = connection
        if connection.activate() && !closeRequested {
            receiving = true
            engine.armReceive(self)
        }
    }

    private static func describe(_ fd: Int32, peer: Bool) -> String {
        var text = [CChar](repeating: 0, count: 80)
        rill_uring_describe(fd, peer ? 1 : 0, &text, text.count)
        return String(cString: text)
    }

    // MARK: ClientTransport

    var eventLoop: any EventLoop { engine.eventLoop }
    var allocator: ByteBufferAllocator { engine.allocator }
    var unfinishedWrites: Int { queue.count }

    func setWaterMarks(low: Int, high: Int) {
        lowWaterMark = low
        highWaterMark = high
    }

    func write(_ payload: ByteBuffer, completion: (() -> Void)?) {
        guard !socketClosed else {
            completion?()
            return
        }
        guard payload.readableBytes > 0 else {
            if queue.isEmpty { completion?() } else { queue.append((payload, completion)) }
            return
        }
        queue.append((payload, completion))
        unsentBytes += payload.readableBytes
        if isWritable && unsentBytes > highWaterMark {
            isWritable = false
            connection?.writabilityChanged(isWritable: false)
        }
        if !sending { sendHead() }
    }

    func pauseReading() {
        readingPaused = true
        if receiving { engine.cancelReceive(self) }
    }

    func resumeReading() {
        readingPaused = false
        if !receiving && !closeRequested && !socketClosed {
            receiving = true
            engine.armReceive(self)
        }
    }

    /// The client leaves the server at once, as a closed NIO channel's does (a PUBLISH right after no longer counts
    /// it, its output no longer counts against `maxmemory-clients`); the socket shuts once the send in flight is
    /// done (a reply to QUIT, or the error a refused client gets, is usually queued just before) and the unsent
    /// rest is dropped, as a closed NIO channel drops it.
    func close() {
        guard !closeRequested else { return }
        closeRequested = true
        leaveServer()
        if !sending {
            shutDown()
            return
        }
        dropQueuedWrites(keepingHead: true)
        // A client that does not read keeps a send pending forever: the socket shuts down anyway soon after.
        engine.eventLoop.scheduleTask(in: .seconds(1)) { [weak self] in self?.shutDown() }
    }

    // MARK: Engine events

    func received(_ buffer: inout ByteBuffer) {
        guard let connection, !closeRequested else { return }
        connection.received(&buffer)
        connection.flush()
    }

    /// The multishot receive ended: rearmed after a cancellation (paused reading) or an empty buffer ring; the
    /// peer's end of stream or an error closes the connection.
    func receiveEnded(result: Int32) {
        receiving = false
        if !closeRequested && !socketClosed && (result == -ECANCELED || result == -ENOBUFS) {
            if !readingPaused {
                receiving = true
                engine.armReceive(self)
            }
            return
        }
        closeRequested = true
        shutDown()
    }

    func sendCompleted(result: Int32) {
        sending = false
        if socketClosed {
            // The write the kernel was reading from is released only now.
            dropQueuedWrites()
            shutDown()
            return
        }
        guard result >= 0, !queue.isEmpty else {
            // The peer went away: what is queued is dropped.
            closeRequested = true
            shutDown()
            return
        }
        sentOfHead += Int(result)
        unsentBytes -= Int(result)
        if sentOfHead >= queue[0].bytes.readableBytes {
            let finished = queue.removeFirst()
            sentOfHead = 0
            finished.completion?()
        }
        if !isWritable && unsentBytes < lowWaterMark {
            isWritable = true
            connection?.writabilityChanged(isWritable: true)
        }
        if closeRequested {
            shutDown()
        } else if !queue.isEmpty {
            sendHead()
        }
    }

    private func sendHead() {
        // Zero-length writes carry only a completion: they finish in order here.
        while let head = queue.first, head.bytes.readableBytes == 0 {
            queue.removeFirst()
            head.completion?()
        }
        guard let head = queue.first else { return }
        sending = true
        head.bytes.withUnsafeReadableBytes { bytes in
            // The queue keeps the buffer alive and unmodified until the send completes.
            engine.send(self, UnsafeRawBufferPointer(rebasing: bytes[sentOfHead...]))
        }
    }

    /// Closes the socket: the client leaves the server at once; the ring's operations end with errors, and the
    /// connection is forgotten once none is left.
    private func shutDown() {
        if !socketClosed {
            socketClosed = true
            Glibc.shutdown(fd, Int32(SHUT_RDWR))
            Glibc.close(fd)
            leaveServer()
            // A send in flight still reads its write: that one goes when the send completes.
            if !sending { dropQueuedWrites() }
        }
        if !sending && !receiving { engine.forget(self) }
    }

    /// Unregisters the client; the connection stops reading and running requests.
    private func leaveServer() {
        connection?.deactivate()
        connection = nil
    }

    /// Drops the queued writes, all of them or all but the one a send in flight still reads.
    private func dropQueuedWrites(keepingHead: Bool = false) {
        let kept = keepingHead ? queue.first : nil
        var dropped = queue
        queue.removeAll()
        unsentBytes = 0
        if let kept {
            dropped.removeFirst()
            queue.append(kept)
            unsentBytes = kept.bytes.readableBytes - sentOfHead
        }
        for write in dropped { write.completion?() }
    }
}
