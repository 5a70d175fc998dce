// A PING/XADD-shaped server on SwiftNIO, bootstrapped as rill-server bootstraps its listeners
// (Sources/RillServer/Server/RillServer.swift): one event loop, TCP_NODELAY, 16 messages per read, the same
// adaptive receive allocator, one handler per connection that gathers the replies of a read batch and flushes them
// once in channelReadComplete. No keyspace: the point is what the transport costs per request.
//
//     nio-proto PORT
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The id every XADD is answered with: the reply has the size and shape of a real one.
let fixedStreamIDReply: StaticString = "$15\r\n1700000000000-0\r\n"

/// What a request is, as far as these prototypes care.
enum RequestKind {
    case ping, xadd, other
}

/// Finds the first complete RESP request (array of bulk strings, or an inline line) in `buffer` without copying
/// it; returns its kind and consumes it, or nil when more bytes are needed. Malformed input reads as `.other`.
func takeRequest(_ buffer: inout ByteBuffer) -> RequestKind? {
    let parsed: (RequestKind, Int)? = buffer.withUnsafeReadableBytes { bytes in
        guard let first = bytes.first else { return nil }
        var index = 0
        // The decimal number after a type byte, up to CR LF; moves `index` past the LF, nil when incomplete.
        func readNumberLine() -> Int? {
            var value = 0
            var position = index + 1
            while position < bytes.count, bytes[position] != UInt8(ascii: "\r") {
                value = value * 10 + Int(bytes[position] &- 48)
                position += 1
            }
            guard bytes.count - position >= 2 else { return nil }
            index = position + 2
            return value
        }
        func kind(of name: UnsafeRawBufferPointer.SubSequence) -> RequestKind {
            // Case-folded compare: clearing bit 5 upper-cases letters.
            if name.count == 4 {
                let folded = name.map { $0 & 0xDF }
                if folded.elementsEqual("PING".utf8) { return .ping }
                if folded.elementsEqual("XADD".utf8) { return .xadd }
            }
            return .other
        }
        if first == UInt8(ascii: "*") {
            guard let count = readNumberLine() else { return nil }
            var result = RequestKind.other
            for argument in 0..<count {
                guard index < bytes.count, let length = readNumberLine(), bytes.count - index >= length + 2 else {
                    return nil
                }
                if argument == 0 { result = kind(of: bytes[index..<(index + length)]) }
                index += length + 2
            }
            return (result, index)
        }
        guard let lf = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let nameEnd = bytes[..<lf].firstIndex { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") } ?? lf
        return (kind(of: bytes[..<nameEnd]), lf + 1)
    }
    guard let (kind, length) = parsed else { return nil }
    buffer.moveReaderIndex(forwardBy: length)
    return kind
}

final class PrototypeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes received and not yet parsed (a partial request); nil when there are none.
    private var input: ByteBuffer?
    /// Replies gathered since the last flush.
    private var replies: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input == nil { input = bytes } else { input!.writeBuffer(&bytes) }  // non-nil: checked just above
        if replies == nil { replies = context.channel.allocator.buffer(capacity: 1024) }
        while let request = takeRequest(&input!) {  // non-nil: set above
            switch request {
            case .ping: replies!.writeStaticString("+PONG\r\n")
            case .xadd: replies!.writeStaticString(fixedStreamIDReply)
            case .other: replies!.writeStaticString("-ERR unknown command\r\n")
            }
        }
        if input!.readableBytes == 0 { input = nil }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let pending = replies, pending.readableBytes > 0 {
            context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
            replies = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 6379 : 6379
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 511)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
    .childChannelOption(ChannelOptions.recvAllocator,
                        value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 1 << 20))
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(PrototypeHandler())
        }
    }
let listener = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("nio-proto listening on \(port)")
try listener.closeFuture.wait()
