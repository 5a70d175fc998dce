import NIOCore
import NIOPosix
import RillCore

/// The replica's side, glued to the server: REPLICAOF, connecting and reconnecting to the primary, the handshake,
/// acknowledgements, and what a replica refuses (READONLY, MASTERDOWN). The link itself is in PrimaryLink.swift.
extension ServerState {
    var isReplica: Bool { primaryLink != nil }

    /// REPLICAOF host port: follows `host:port`, keeping the data and the history until the primary decides
    /// between a partial and a full synchronisation. `connecting: false` (the `replicaof` directive at start-up)
    /// only records the link, so that the first client already sees `role:slave`; the caller connects with
    /// `connectToPrimary()` once the listeners are bound and the port to announce is known.
    func follow(host: String, port: Int) { follow(host: host, port: port, connecting: true) }

    func follow(host: String, port: Int, connecting: Bool) {
        if let link = primaryLink {
            closeLink(link)
        } else {
            // This server's replicas synchronise again, with the new chain, as Redis disconnects them.
            for replica in replication.replicas { replica.client.closeConnection() }
        }
        replication.startFollowing(feed: changes)
        primaryLink = PrimaryLink(host: host, port: port)
        guard connecting else { return }
        logger.notice("Connecting to MASTER \(host):\(port)")
        connectToPrimary()
    }

    /// REPLICAOF NO ONE: stops following and becomes a primary with the data and history it has.
    func stopFollowing() {
        guard let link = primaryLink else { return }
        primaryLink = nil
        closeLink(link)
        replication.promote(feed: changes)
        changes.restartReplicaDatabaseSelection()
        logger.notice("MASTER MODE enabled (user request from '\(link.host):\(link.port)')")
    }

    private func closeLink(_ link: PrimaryLink) {
        if let client = link.primaryClient {
            link.primaryClient = nil
            link.primaryContext = nil
            unregisterClient(client)
        }
        link.channel?.close(promise: nil)
        link.channel = nil
        link.state = .connect
    }

    func connectToPrimary() {
        guard let link = primaryLink, link.state == .connect else { return }
        link.state = .connecting
        link.currentAttempts += 1
        link.totalAttempts += 1
        // The PSYNC request is decided now: the data and history do not change before it is sent.
        let handshake = handshakeCommands() + [psyncCommand()]
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .connectTimeout(.seconds(Int64(max(1, configuration.replicationTimeoutSeconds))))
            .channelInitializer { [unowned self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = try self.primaryLinkTLSHandler() { try channel.pipeline.syncOperations.addHandler(tls) }
                    try channel.pipeline.syncOperations.addHandler(
                        PrimaryConnectionHandler(server: self, link: link, handshake: handshake))
                }
            }
            .connect(host: link.host, port: link.port)
            .whenComplete { [weak self] result in
                guard let self else { return }
                switch result {
                case .success(let channel):
                    guard self.primaryLink === link else {
                        channel.close(promise: nil)
                        return
                    }
                    link.channel = channel
                    link.state = .handshake
                    self.logger.notice("MASTER <-> REPLICA sync started")
                case .failure(let error):
                    self.logger.warning("Error condition on socket for SYNC: \(error)")
                    if self.primaryLink === link { link.state = .connect }
                }
            }
    }

    /// PING, AUTH when `masterauth` is set, REPLCONF listening-port (and ip-address), REPLCONF capa: each answered
    /// with one line, then PSYNC.
    private func handshakeCommands() -> [[String]] {
        var commands = [["PING"]]
        if let password = configuration.primaryPassword {
            commands.append(configuration.primaryUser.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        // Over TLS the primary reaches this replica at its tls-port, as Redis announces it.
        let port = configuration.replicaAnnouncePort != 0 ? configuration.replicaAnnouncePort
            : configuration.tls.replication && boundTLSPort != 0 ? boundTLSPort : boundPort
        commands.append(["REPLCONF", "listening-port", String(port)])
        if let ip = configuration.replicaAnnounceIP { commands.append(["REPLCONF", "ip-address", ip]) }
        commands.append(["REPLCONF", "capa", "eof", "capa", "psync2"])
        return commands
    }

    /// PSYNC with this server's history when it has one (the first byte it lacks), else `PSYNC ? -1`.
    private func psyncCommand() -> [String] {
        guard replication.backlog != nil else { return ["PSYNC", "?", "-1"] }
        logger.notice("Trying a partial resynchronization (request \(replication.replicationID):\(replication.offset + 1)).")
        return ["PSYNC", replication.replicationID, String(replication.offset + 1)]
    }

    /// The snapshot is loaded or the primary accepted a partial resynchronisation: the stream runs from here.
    func primaryLinkStreaming(_ link: PrimaryLink, context: ChannelHandlerContext) {
        let now = Clock.milliseconds()
        link.state = .connected
        link.upSince = now
        link.downSince = 0
        link.currentAttempts = 0
        let client = registerClient(remoteAddress: "\(link.host):\(link.port)",
                                    localAddress: Self.describe(context.channel.localAddress))
        client.authenticated = true
        // The primary's stream is applied whatever users there are, as Redis' master client has no user.
        client.user = nil
        client.isPrimaryLink = true
        // CLIENT KILL TYPE master: the link closes and is retried by the cron, as in Redis.
        let channel = context.channel
        client.closeConnection = { [weak channel] in channel?.close(promise: nil) }
        let commandContext = CommandContext(server: self, client: client, allocator: context.channel.allocator)
        client.context = commandContext
        link.primaryContext = commandContext
        link.primaryClient = client
        sendAcknowledgement()
    }

    func primaryLinkClosed(_ link: PrimaryLink) {
        guard primaryLink === link else { return }
        if link.state == .connected {
            logger.notice("Connection with master lost.")
            link.downSince = Clock.milliseconds()
        }
        if let client = link.primaryClient {
            link.primaryClient = nil
            link.primaryContext = nil
            unregisterClient(client)
        }
        link.channel = nil
        link.state = .connect
        link.upSince = 0
    }

    /// REPLCONF ACK <offset>: what this replica has applied (every second, and when the primary asks).
    func sendAcknowledgement() {
        guard let link = primaryLink, link.state == .connected, let channel = link.channel else { return }
        var request = channel.allocator.buffer(capacity: 64)
        request.writeRESPCommand(["REPLCONF", "ACK", String(replication.offset)])
        channel.writeAndFlush(request, promise: nil)
    }

    /// The cron's part for a replica (once a second): reconnect, acknowledge, give up on a silent primary.
    func followingCron(now: Int64) {
        guard let link = primaryLink else { return }
        switch link.state {
        case .connect:
            connectToPrimary()
        case .connected:
            if now - link.lastIOAt > Int64(configuration.replicationTimeoutSeconds) * 1000 {
                logger.warning("MASTER timeout: no data nor PING received...")
                link.channel?.close(promise: nil)
            } else {
                sendAcknowledgement()
            }
        case .connecting, .handshake, .sync:
            if now - link.lastIOAt > Int64(configuration.replicationTimeoutSeconds) * 1000 && link.lastIOAt > 0 {
                link.channel?.close(promise: nil)
            }
        }
    }

    /// Replaces every database with the full synchronisation's snapshot.
    func replaceKeyspace(with loaded: Keyspace) {
        let now = Clock.milliseconds()
        keyspace.removeAll()
        allKeysModified(database: nil)
        _ = keyspace.insertAll(from: loaded, replacing: false, nowMilliseconds: now)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?:0" }
        return "\(ip):\(port)"
    }
}

extension Keyspace {
    /// Stores every key of `loaded` (a snapshot just read); with `replacing`, a key already here is replaced,
    /// otherwise it is kept and the result is false.
    mutating func insertAll(from loaded: Keyspace, replacing: Bool, nowMilliseconds now: Int64) -> Bool {
        let clock = AccessClock.reading(atMilliseconds: now)
        var noDuplicate = true
        for index in 0..<min(loaded.databaseCount, databaseCount) {
            loaded[index].forEachEntry { key, value, deadline in
                if replacing { self[index].delete(key, nowMilliseconds: now) }
                if !self[index].insertLoaded(value, forKey: key, deadline: deadline, lastAccess: clock) {
                    noDuplicate = false
                }
            }
        }
        return noDuplicate
    }
}

extension ByteBuffer {
    /// `command` as a RESP array of bulk strings.
    mutating func writeRESPCommand(_ command: [String]) {
        writeString("*\(command.count)\r\n")
        for argument in command {
            writeString("$\(argument.utf8.count)\r\n")
            writeString(argument)
            writeString("\r\n")
        }
    }
}
