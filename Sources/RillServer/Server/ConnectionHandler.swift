import NIOCore
import RillProtocol

/// One client connection: decodes requests from the accumulated input, runs them in order on the event loop,
/// and gathers the replies of one read batch into a single write flushed when the batch ends.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerState
    private var decoder = RESPRequestDecoder()
    /// Bytes read but not yet parsed into a complete request; nil when empty.
    private var input: ByteBuffer?
    private var commandContext: CommandContext?
    private var channelContext: ChannelHandlerContext?
    /// Set after a protocol error or QUIT/KILL: nothing more is read or run.
    private var closing = false
    /// Whether this connection is in the server's list of replies waiting for the append-only file's write.
    var awaitsAppendOnlyWrite = false

    init(server: ServerState) {
        self.server = server
    }

    func channelActive(context: ChannelHandlerContext) {
        channelContext = context
        let client = server.registerClient(
            remoteAddress: Self.describe(context.channel.remoteAddress),
            localAddress: Self.describe(context.channel.localAddress))
        let commandContext = CommandContext(server: server, client: client, allocator: context.channel.allocator)
        client.context = commandContext
        client.closeConnection = { [weak self] in self?.close() }
        client.flushOutput = { [weak self] in self?.flush() }
        client.resumeInput = { [weak self] in
            self?.processInput()
            self?.flush()
        }
        self.commandContext = commandContext
        if server.clients.count > server.configuration.maxClients {
            server.stats.rejectedConnections += 1
            commandContext.reply.error(RedisError.maxClientsReached.message)
            closing = true
            flush()
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client = commandContext?.client { server.unregisterClient(client) }
        commandContext = nil
        channelContext = nil
        input = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if closing { return }
        server.stats.netInputBytes += Int64(bytes.readableBytes)
        if input == nil {
            input = bytes
        } else {
            input!.writeBuffer(&bytes)  // non-nil: checked just above
        }
        processInput()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        server.logger.debug("Connection error: \(error)")
        context.close(promise: nil)
    }

    /// Runs every complete request in the input, stopping while the client is blocked (its later pipelined
    /// requests wait, as in Redis) or closing.
    func processInput() {
        guard var buffer = input, let commandContext else { return }
        input = nil
        let client = commandContext.client
        decoder.limits.maxBulkLength = server.configuration.protoMaxBulkLength
        do {
            while !closing, client.blocked == nil, try decoder.decode(&buffer, into: &commandContext.arguments) {
                server.execute(commandContext)
                if client.closeAfterReply { closing = true }
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
                close()
                return
            }
            if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
            input = buffer
        }
        client.queryBufferLength = buffer.readableBytes
    }

    /// Writes the replies gathered so far in one write; while logged writes are not yet in the append-only file,
    /// after the file's write at the end of this event-loop tick (see `PersistenceCoordinator.writeRepliesAfterAppendOnlyFile`).
    func flush() {
        if server.persistence.appendOnlyLog?.hasPendingBytes == true {
            if !awaitsAppendOnlyWrite {
                awaitsAppendOnlyWrite = true
                server.persistence.writeRepliesAfterAppendOnlyFile(self)
            }
            return
        }
        writeReplies()
    }

    /// Sends the gathered replies now. Callers make sure the writes they acknowledge are in the append-only file.
    func writeReplies() {
        guard let channelContext, let commandContext, commandContext.reply.buffer.readableBytes > 0 else { return }
        server.stats.netOutputBytes += Int64(commandContext.reply.buffer.readableBytes)
        channelContext.writeAndFlush(wrapOutboundOut(commandContext.reply.buffer), promise: nil)
        if commandContext.reply.buffer.capacity > 64 * 1024 {
            // A buffer grown by one large reply is not kept for the connection's lifetime.
            commandContext.reply.buffer = channelContext.channel.allocator.buffer(capacity: 1024)
        } else {
            // Usually the kernel took every byte and the channel has dropped its copy, so the memory is reused;
            // while the channel still holds it (a partial write), `clear` allocates fresh storage instead.
            commandContext.reply.buffer.clear()
        }
    }

    private func close() {
        closing = true
        // The last replies leave before the connection closes, so the file cannot wait for the tick's end.
        server.persistence.writeAppendOnlyFile()
        writeReplies()
        channelContext?.close(promise: nil)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?:0" }
        return "\(ip):\(port)"
    }
}
