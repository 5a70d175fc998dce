import NIOCore
import NIOPosix
import RillPersistence
import RillProtocol

/// The replica's side of replication: the connection to the primary (REPLICAOF / `replicaof`), its handshake, the
/// full synchronisation's snapshot and the stream that follows, run as a master client.
///
/// States follow Redis' (ROLE's words): `connect` (waiting to connect, retried by the cron every second),
/// `connecting`, `handshake` (PING, AUTH, REPLCONF, PSYNC sent, replies awaited), `sync` (receiving the snapshot),
/// `connected` (streaming).
final class PrimaryLink {
    enum State: String {
        case connect, connecting, handshake, sync, connected
    }

    let host: String
    let port: Int
    var state = State.connect
    var channel: (any Channel)?
    /// The client the primary's stream runs as (CLIENT LIST flag M); nil while not streaming.
    var primaryClient: ClientSession?
    /// The command context of `primaryClient`, held here: the session refers to it weakly.
    var primaryContext: CommandContext?
    /// Unix milliseconds of the last bytes from the primary (INFO master_last_io_seconds_ago).
    var lastIOAt: Int64 = 0
    /// Unix milliseconds since which the link is down (INFO master_link_down_since_seconds); 0 while up and
    /// before it was ever up.
    var downSince: Int64 = 0
    /// Unix milliseconds since which the link is up; 0 while down.
    var upSince: Int64 = 0
    /// Connection attempts since the link was last up, and in all (INFO master_current/total_sync_attempts).
    var currentAttempts: Int64 = 0
    var totalAttempts: Int64 = 0

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    var isUp: Bool { state == .connected }
}

/// Reads what the primary sends: handshake replies (one line each), the PSYNC answer, the snapshot (`$<length>`
/// or `$EOF:<mark>` framed), then the stream of commands. Runs on the server's event loop.
final class PrimaryConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        /// Awaiting the reply to one of PING, AUTH, REPLCONF; the next command is sent after it (Redis refuses
        /// PSYNC while replies to the same client are still unsent).
        case handshakeReply
        case psyncReply
        case snapshotHeader
        case snapshot(length: Int)
        case snapshotUntilMark([UInt8])
        case streaming
    }

    private unowned let server: ServerState
    private let link: PrimaryLink
    private var phase: Phase
    private var input: ByteBuffer?
    private var snapshotBytes: [UInt8] = []
    private var decoder = RESPRequestDecoder()
    private var fullSyncID = ""
    private var fullSyncOffset: Int64 = 0

    /// Commands still to send, each after the previous one's reply; PSYNC last.
    private var handshake: [[String]]

    init(server: ServerState, link: PrimaryLink, handshake: [[String]]) {
        self.server = server
        self.link = link
        self.handshake = handshake
        self.phase = .handshakeReply
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNextHandshakeCommand(context)
        context.fireChannelActive()
    }

    private func sendNextHandshakeCommand(_ context: ChannelHandlerContext) {
        guard !handshake.isEmpty else { return }
        var request = context.channel.allocator.buffer(capacity: 128)
        request.writeRESPCommand(handshake.removeFirst())
        if handshake.isEmpty { phase = .psyncReply }
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        link.lastIOAt = Clock.milliseconds()
        server.stats.replicationInputBytes += Int64(bytes.readableBytes)
        if input == nil { input = bytes } else { input!.writeBuffer(&bytes) }  // non-nil: checked
        guard var buffer = input else { return }
        input = nil
        do {
            try process(&buffer, context: context)
        } catch {
            server.logger.warning("Replication from \(link.host):\(link.port) failed: \(error)")
            context.close(promise: nil)
            return
        }
        if buffer.readableBytes > 0 {
            if buffer.readerIndex > 64 * 1024 { buffer.discardReadBytes() }
            input = buffer
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.primaryLinkClosed(link)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        server.logger.warning("Error condition on socket for SYNC: \(error)")
        context.close(promise: nil)
    }

    private struct LinkError: Error, CustomStringConvertible {
        let description: String
    }

    private func process(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) throws {
        while true {
            switch phase {
            case .handshakeReply:
                guard let line = Self.readLine(&buffer) else { return }
                // -NOAUTH to PING is expected when AUTH follows; an error to AUTH or REPLCONF ends the attempt.
                if line.hasPrefix("-") && !line.hasPrefix("-NOAUTH") {
                    throw LinkError(description: "the primary answered \(line)")
                }
                sendNextHandshakeCommand(context)
            case .psyncReply:
                guard let line = Self.readLine(&buffer) else { return }
                if line.isEmpty {
                    // A newline keeps the link alive while the primary waits to start the snapshot.
                    continue
                } else if line.hasPrefix("+FULLRESYNC") {
                    let words = line.split(separator: " ")
                    guard words.count == 3, let offset = Int64(words[2]) else {
                        throw LinkError(description: "bad FULLRESYNC reply: \(line)")
                    }
                    fullSyncID = String(words[1])
                    fullSyncOffset = offset
                    server.logger.notice("Full resync from master: \(fullSyncID):\(offset)")
                    link.state = .sync
                    phase = .snapshotHeader
                } else if line.hasPrefix("+CONTINUE") {
                    let words = line.split(separator: " ")
                    server.logger.notice("Successful partial resynchronization with master.")
                    server.replication.continueHistory(newID: words.count > 1 ? String(words[1]) : nil)
                    server.primaryLinkStreaming(link, context: context)
                    phase = .streaming
                } else {
                    throw LinkError(description: "unexpected reply to PSYNC: \(line)")
                }
            case .snapshotHeader:
                // The primary may send newlines while it prepares the snapshot, to keep the link alive.
                while buffer.readableBytes > 0, buffer.readableBytesView.first == UInt8(ascii: "\n") {
                    buffer.moveReaderIndex(forwardBy: 1)
                }
                guard let line = Self.readLine(&buffer) else { return }
                if line.hasPrefix("$EOF:") {
                    let mark = Array(line.utf8.dropFirst(5))
                    guard mark.count == 40 else { throw LinkError(description: "bad end mark in \(line)") }
                    phase = .snapshotUntilMark(mark)
                } else if line.hasPrefix("$"), let length = Int(line.dropFirst()), length >= 0 {
                    phase = .snapshot(length: length)
                } else {
                    throw LinkError(description: "unexpected snapshot header: \(line)")
                }
            case .snapshot(let length):
                let wanted = min(length - snapshotBytes.count, buffer.readableBytes)
                Self.moveBytes(wanted, from: &buffer, to: &snapshotBytes)
                guard snapshotBytes.count == length else { return }
                try finishSnapshot(snapshotBytes, context: context)
            case .snapshotUntilMark(let mark):
                // The mark may straddle two reads, and the stream may follow it in the same read.
                let searchFrom = max(0, snapshotBytes.count - (mark.count - 1))
                Self.moveBytes(buffer.readableBytes, from: &buffer, to: &snapshotBytes)
                guard let end = Self.firstIndex(of: mark, in: snapshotBytes, from: searchFrom) else { return }
                buffer.clear()
                buffer.writeBytes(snapshotBytes[(end + mark.count)...])
                // Cut in place: the file (tens of MB for a big stream) is not copied.
                snapshotBytes.removeSubrange(end...)
                try finishSnapshot(snapshotBytes, context: context)
            case .streaming:
                try applyStream(&buffer)
                return
            }
        }
    }

    private func finishSnapshot(_ file: [UInt8], context: ChannelHandlerContext) throws {
        snapshotBytes = []
        server.logger.notice("MASTER <-> REPLICA sync: Loading DB in memory (\(file.count) bytes)")
        let result: SnapshotLoadResult
        do {
            result = try RDBFileReader.decode(file, databaseCount: server.keyspace.databaseCount)
        } catch {
            throw LinkError(description: "the snapshot from the primary could not be loaded: \(error)")
        }
        server.replaceKeyspace(with: result.keyspace)
        server.replication.adoptHistory(id: fullSyncID, offset: fullSyncOffset,
                                        backlogSize: server.configuration.replicationBacklogSize)
        server.logger.notice("MASTER <-> REPLICA sync: Finished with success (\(result.keyCount) keys)")
        server.primaryLinkStreaming(link, context: context)
        phase = .streaming
    }

    /// Runs each complete command of the stream as the primary's client, replies dropped, and counts its bytes in
    /// the offset; the same bytes go to this server's own backlog and replicas, so offsets agree down the chain.
    /// Each command's bytes are counted right after it runs (REPLCONF GETACK answers with the offset before it).
    private func applyStream(_ buffer: inout ByteBuffer) throws {
        // Read once per batch: each access to the unowned reference is a checked retain, and the server's
        // reference counts live in a side table (it is referenced weakly), so that retain took 5% of the replica's
        // CPU when done per command.
        let server = self.server
        guard let client = link.primaryClient, let context = client.context else { return }
        let replication = server.replication
        decoder.limits.maxBulkLength = server.configuration.protoMaxBulkLength
        // A copy that shares the storage: it still holds the bytes of commands `buffer` has moved past.
        let unread = buffer
        var commandStart = buffer.readerIndex
        defer { context.arguments.removeAll(keepingCapacity: true) }
        try unread.withUnsafeReadableBytes { stream in
            while try decoder.decode(&buffer, into: &context.arguments) {
                server.execute(context)
                context.reply.buffer.clear()
                let first = commandStart - unread.readerIndex
                commandStart = buffer.readerIndex
                replication.receiveFromPrimary(
                    UnsafeRawBufferPointer(rebasing: stream[first..<(commandStart - unread.readerIndex)]))
            }
        }
    }

    /// Appends the next `count` readable bytes of `buffer` to `bytes` without an intermediate array.
    private static func moveBytes(_ count: Int, from buffer: inout ByteBuffer, to bytes: inout [UInt8]) {
        buffer.readWithUnsafeReadableBytes { raw in
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<count]))
            return count
        }
    }

    /// Where `mark` first starts in `bytes` at or after `start`, nil when it is not there (yet).
    /// - Complexity: O(bytes after `start`), the mark's first byte found by a scan and the rest compared on a match.
    private static func firstIndex(of mark: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        let lastStart = bytes.count - mark.count
        var index = start
        while index <= lastStart {
            guard let candidate = bytes[index...lastStart].firstIndex(of: mark[0]) else { return nil }
            if bytes[candidate..<(candidate + mark.count)].elementsEqual(mark) { return candidate }
            index = candidate + 1
        }
        return nil
    }

    /// One line without its CRLF (a lone LF is accepted), or nil when the line is not complete yet.
    private static func readLine(_ buffer: inout ByteBuffer) -> String? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = newline - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
