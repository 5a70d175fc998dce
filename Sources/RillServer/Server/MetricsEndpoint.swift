import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /metrics` over HTTP/1.1 on `metrics-port`, inside TLS with `metrics-tls yes`, at the `metrics-bind`
/// addresses (loopback only by default: the series describe the data, and with `metrics-key-names` name its keys).
/// The listener shares the server's single event loop, so a scrape runs between two commands and reads the
/// keyspace without locks.
enum MetricsEndpoint {
    static func bind(server: ServerState, group: any EventLoopGroup) throws -> [any Channel] {
        let metrics = MetricsRegistry()
        server.metrics = metrics
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if server.configuration.metricsTLS {
                        try server.addTLSServerHandlers(to: channel.pipeline.syncOperations)
                    }
                    // A scraper that keeps its connection open sends again within its scrape interval (15 s to a
                    // minute); a connection silent for longer is dropped so idle sockets do not pile up.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .minutes(5)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(server: server))
                }
            }
        return try ListenAddresses.bind(bootstrap, addresses: server.configuration.metricsBindAddresses,
                                        port: server.configuration.metricsPort, logger: server.logger)
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: ServerState
    private var requestHead: HTTPRequestHead?

    init(server: ServerState) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestHead = head
        case .body:
            break
        case .end:
            guard let head = requestHead else { return }
            requestHead = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let status: HTTPResponseStatus
        let body: [UInt8]
        var headers = HTTPHeaders()
        if path != "/metrics" {
            (status, body) = (.notFound, Array("Not found: the metrics are at /metrics\n".utf8))
        } else if head.method != .GET && head.method != .HEAD {
            (status, body) = (.methodNotAllowed, Array("Only GET and HEAD\n".utf8))
            headers.add(name: "Allow", value: "GET, HEAD")
        } else if let metrics = server.metrics {
            (status, body) = (.ok, metrics.scrape(server))
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        } else {
            (status, body) = (.serviceUnavailable, [])
        }
        if status != .ok { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        headers.add(name: "Content-Length", value: String(body.count))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                          promise: nil)
        }
        let ended = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: ended)
        if !keepAlive {
            let channel = context.channel
            ended.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
