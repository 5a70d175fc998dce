import NIOCore
import NIOEmbedded
import RillPersistence
@testable import RillServer

/// A reply as a test reads it: RESP2 and RESP3 types folded into the few shapes assertions need.
indirect enum Reply: Equatable, CustomStringConvertible {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk(String)
    case null
    case array([Reply])

    var description: String {
        switch self {
        case .status(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulk(let text): return text.debugDescription
        case .null: return "(nil)"
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// A bulk string's text; nil for any other shape.
    var text: String? {
        if case .bulk(let text) = self { return text }
        return nil
    }
}

/// Parses complete replies off the front of `buffer`; an incomplete one stays for the next bytes.
private func parseReplies(_ buffer: inout ByteBuffer) -> [Reply] {
    var replies: [Reply] = []
    while true {
        var attempt = buffer
        guard let reply = parseReply(&attempt) else { return replies }
        buffer = attempt
        replies.append(reply)
    }
}

private func parseReply(_ buffer: inout ByteBuffer) -> Reply? {
    guard let marker = buffer.readInteger(as: UInt8.self), let line = readLine(&buffer) else { return nil }
    switch marker {
    case UInt8(ascii: "+"): return .status(line)
    case UInt8(ascii: "-"), UInt8(ascii: "!"): return .error(line)
    case UInt8(ascii: ":"): return Int64(line).map(Reply.integer)
    case UInt8(ascii: "_"): return .null
    case UInt8(ascii: "#"): return .integer(line == "t" ? 1 : 0)
    case UInt8(ascii: ","): return .bulk(line)
    case UInt8(ascii: "$"), UInt8(ascii: "="):
        guard let length = Int(line) else { return nil }
        if length < 0 { return .null }
        guard let bytes = buffer.readString(length: length), buffer.readableBytes >= 2 else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return .bulk(bytes)
    case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
        guard let count = Int(line) else { return nil }
        if count < 0 { return .null }
        var elements: [Reply] = []
        for _ in 0..<(marker == UInt8(ascii: "%") ? count * 2 : count) {
            guard let element = parseReply(&buffer) else { return nil }
            elements.append(element)
        }
        return .array(elements)
    default:
        return nil
    }
}

private func readLine(_ buffer: inout ByteBuffer) -> String? {
    guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")),
          end + 1 < buffer.writerIndex else { return nil }
    let line = buffer.readString(length: end - buffer.readerIndex)
    buffer.moveReaderIndex(forwardBy: 2)
    return line
}

/// The server's parts wired together as `rill-server` wires them, on an `EmbeddedEventLoop`, with connections as
/// `EmbeddedChannel`s running the real `ConnectionHandler`: tests drive commands, wake-ups and timeouts
/// deterministically, without processes or sockets.
///
/// Its clients keep it alive; once the last of them and the harness are dropped, `deinit` closes the connections
/// and shuts the loop down, as a real server's connections close and its loop stops.
final class InProcessServer {
    let loop = EmbeddedEventLoop()
    let server: ServerState
    private var channels: [EmbeddedChannel] = []

    init(_ directives: [String: String] = [:]) throws {
        var configuration = ServerConfiguration()
        for (name, value) in directives { try configuration.set(name, [value]) }
        server = ServerState(configuration: configuration, configFile: nil, logger: .init(label: "test"),
                             eventLoop: loop)
    }

    func connect() throws -> InProcessClient {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: server))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50_000)).wait()
        channels.append(channel)
        return InProcessClient(channel: channel, harness: self)
    }

    /// An open `EmbeddedChannel` and its pipeline hold each other, and through the connection handler the server:
    /// never closed, each test's server and keyspace would stay in memory, unreachable (what LeakSanitizer reported).
    /// Scheduled tasks (periodic jobs, block timeouts) go with the loop.
    deinit {
        for channel in channels where channel.isActive { _ = try? channel.finish() }
        loop.run()
        try? loop.syncShutdownGracefully()
    }

    /// Moves the embedded clock on, running timeouts and cron ticks that fall due.
    func advance(milliseconds: Int64) {
        loop.advanceTime(by: .milliseconds(milliseconds))
    }
}

/// One connection to an `InProcessServer`.
final class InProcessClient {
    let channel: EmbeddedChannel
    /// Strong: the server lives as long as a client of it (`try InProcessServer().connect()` keeps only the client).
    private let harness: InProcessServer
    private var loop: EmbeddedEventLoop { harness.loop }
    private var unparsed = ByteBuffer()

    init(channel: EmbeddedChannel, harness: InProcessServer) {
        self.channel = channel
        self.harness = harness
    }

    /// Sends one request without waiting for its reply (a client that will block, or a pipeline).
    func send(_ words: String...) throws {
        try send(words)
    }

    func send(_ words: [String]) throws {
        var request = ByteBuffer(string: "*\(words.count)\r\n")
        for word in words { request.writeString("$\(word.utf8.count)\r\n\(word)\r\n") }
        try channel.writeInbound(request)
        channel.pipeline.fireChannelReadComplete()
        loop.run()
    }

    /// The replies written since the last call.
    func replies() throws -> [Reply] {
        loop.run()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { unparsed.writeBuffer(&chunk) }
        return parseReplies(&unparsed)
    }

    /// Sends a request and returns its one reply.
    func call(_ words: String...) throws -> Reply {
        try call(words)
    }

    func call(_ words: [String]) throws -> Reply {
        try send(words)
        let received = try replies()
        guard received.count == 1 else { throw UnexpectedReplies(replies: received) }
        return received[0]
    }

    var isOpen: Bool { channel.isActive }

    /// The client hangs up: the server sees its connection close.
    func disconnect() {
        channel.close(promise: nil)
        loop.run()
    }
}

struct UnexpectedReplies: Error {
    let replies: [Reply]
}

/// A change-feed subscriber that keeps every hand-over as its own chunk and parses them back into commands.
final class RecordingSubscriber: ChangeFeedSubscriber {
    let audience: ChangeFeedAudience
    var chunks: [[UInt8]] = []

    init(audience: ChangeFeedAudience = .appendOnlyFile) {
        self.audience = audience
    }

    func receive(_ commands: UnsafeRawBufferPointer) { chunks.append(Array(commands)) }

    /// Every command received, as words.
    var commands: [[String]] {
        get throws {
            try chunks.flatMap { chunk in
                try AppendOnlyFileReader.parse(chunk, allowTruncatedTail: false).commands.map { command in
                    command.arguments.map { String(decoding: $0, as: UTF8.self) }
                }
            }
        }
    }
}
