import NIOCore

/// The SwiftNIO transport of a client connection (`io-engine nio`, and TLS): a channel handler passing the
/// channel's events to its `ClientConnection` and the connection's writes to the channel. The channel's water marks
/// carry the connection's pause threshold; a read NIO asks for while the output is paused is held back, as swift-nio's
/// `BackPressureHandler` does.
final class ConnectionHandler: ChannelDuplexHandler, ClientTransport {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerState
    private var connection: ClientConnection?
    private var channelContext: ChannelHandlerContext?
    /// A read the channel asked for while paused, passed on when the output drains.
    private var readHeldBack = false
    /// Writes still queued in the channel (CLIENT LIST oll): those made while it already held unsent bytes are
    /// counted by their completion; `headWriteMayBeUnsent` is set after a write made on an empty channel without a
    /// promise, which may have left bytes behind.
    private var trackedUnsentWrites = 0
    private var headWriteMayBeUnsent = false
    /// The channel's options, looked up once: `channel.syncOptions` builds a new existential on every call.
    private var channelOptions: (any NIOSynchronousChannelOptions)?

    init(server: ServerState) {
        self.server = server
    }

    // MARK: ClientTransport

    var eventLoop: any EventLoop { channelContext!.eventLoop }
    var allocator: ByteBufferAllocator { channelContext?.channel.allocator ?? ByteBufferAllocator() }
    var remoteAddress: String { Self.describe(channelContext?.channel.remoteAddress) }
    var localAddress: String { Self.describe(channelContext?.channel.localAddress) }
    var unsentBytes: Int { (try? channelOptions?.getOption(.bufferedWritableBytes)) ?? 0 }
    var unfinishedWrites: Int { trackedUnsentWrites + (headWriteMayBeUnsent ? 1 : 0) }
    var isWritable: Bool { channelContext?.channel.isWritable ?? true }

    func setWaterMarks(low: Int, high: Int) {
        let marks = ChannelOptions.Types.WriteBufferWaterMark(low: low, high: high)
        try? channelOptions?.setOption(.writeBufferWaterMark, value: marks)
    }

    /// Hands `payload` to the channel, counting it while unsent (CLIENT LIST oll).
    ///
    /// Whether the channel holds unsent bytes is a generic option lookup with dynamic casts in NIO: asking before
    /// and after every write cost 5% of the server's CPU for XADD over TLS at -P 1. So a write on an empty channel
    /// is not asked about after it; the next write asks (once) whether it left anything behind.
    func write(_ payload: ByteBuffer, completion: (() -> Void)?) {
        guard let channelContext else {
            completion?()
            return
        }
        if headWriteMayBeUnsent && trackedUnsentWrites == 0 && unsentBytes == 0 {
            headWriteMayBeUnsent = false
        }
        if !headWriteMayBeUnsent && trackedUnsentWrites == 0 && completion == nil {
            // The common case: the channel is empty; no promise, as the kernel usually takes every byte.
            headWriteMayBeUnsent = true
            channelContext.writeAndFlush(wrapOutboundOut(payload), promise: nil)
            return
        }
        let promise = channelContext.eventLoop.makePromise(of: Void.self)
        trackedUnsentWrites += 1
        // Held strongly: a weak reference would move every retain and release of this handler (NIO makes them on
        // each read and write) to the slower side-table path. NIO completes or fails the promise when the channel
        // closes, which ends the reference.
        promise.futureResult.whenComplete { _ in
            self.trackedUnsentWrites = max(0, self.trackedUnsentWrites - 1)
            // Writes complete in order: whatever was ahead of this one is gone too.
            self.headWriteMayBeUnsent = false
            completion?()
        }
        channelContext.writeAndFlush(wrapOutboundOut(payload), promise: promise)
    }

    /// Nothing to do: `read(context:)` holds the channel's next read while the connection's output is paused.
    func pauseReading() {}

    func resumeReading() {
        if readHeldBack {
            readHeldBack = false
            channelContext?.read()
        }
    }

    func close() {
        channelContext?.close(promise: nil)
    }

    // MARK: ChannelDuplexHandler

    func channelActive(context: ChannelHandlerContext) {
        channelContext = context
        channelOptions = context.channel.syncOptions
        let connection = ClientConnection(server: server, transport: self)
        self.connection = connection
        if connection.activate() { context.fireChannelActive() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.deactivate()
        connection = nil
        channelContext = nil
        channelOptions = nil
        context.fireChannelInactive()
    }

    /// Holds the channel's reads while the output is paused.
    func read(context: ChannelHandlerContext) {
        if connection?.outputPaused == true {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection?.writabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        connection?.received(&bytes)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection?.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        server.logger.debug("Connection error: \(error)")
        context.close(promise: nil)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?:0" }
        return "\(ip):\(port)"
    }
}
