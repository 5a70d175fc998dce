import NIOCore

/// The primary's side of replication as replicas and `redis-cli --rdb` drive it: REPLCONF (what the replica says of
/// itself, its acknowledgements), PSYNC and SYNC (a partial resynchronisation from the backlog, or a full one: the
/// snapshot, then the stream), WAIT and ROLE. The state lives in ReplicationPrimary; ServerState+Replication.swift
/// ties it to the cron and to the command path.
enum ReplicationCommands {
    static let all: [Command] = [
        Command("replconf", arity: -1, flags: [.admin, .noScript, .loading, .stale, .allowBusy],
                group: "server", since: "3.0.0",
                summary: "Sets options of a replica connection before SYNC or PSYNC.", handler: replconf),
        Command("sync", arity: 1, flags: [.admin, .noScript, .noAsyncLoading, .noMulti],
                group: "server", summary: "Starts a full synchronisation: the snapshot, then the stream of writes.") {
            try synchronise($0, requestedID: nil, requestedOffset: 0)
        },
        Command("psync", arity: -3, flags: [.admin, .noScript, .noAsyncLoading, .noMulti],
                group: "server", since: "2.8.0",
                summary: "Resumes replication from the backlog, or starts a full synchronisation.") { context in
            let offset = try context.integer(2)
            try synchronise(context, requestedID: context.string(1), requestedOffset: offset)
        },
        Command("wait", arity: 3, flags: [.blocking], categories: ["connection"], group: "generic", since: "3.0.0",
                summary: "Waits until replicas acknowledge the writes made so far.", handler: wait),
        Command("replicaof", arity: 3, flags: [.admin, .noScript, .stale, .noAsyncLoading], group: "server",
                since: "5.0.0", summary: "Follows another server as its replica, or stops following.",
                handler: replicaOf),
        Command("slaveof", arity: 3, flags: [.admin, .noScript, .stale, .noAsyncLoading], group: "server",
                summary: "Follows another server as its replica, or stops following (old name of REPLICAOF).",
                handler: replicaOf),
        Command("role", arity: 1, flags: [.noScript, .loading, .stale, .fast], categories: ["admin", "dangerous"],
                group: "server", since: "2.8.12",
                summary: "Answers the replication role of the server.", handler: role),
    ]

    /// REPLCONF <option> <value> ...: `listening-port`, `ip-address`, `capa`, `rdb-only`, `rdb-filter-only` are
    /// recorded or accepted before the synchronisation; `ack <offset>` (a replica's acknowledgement) and `getack`
    /// get no reply, as in Redis.
    private static func replconf(_ context: CommandContext) throws {
        guard context.argumentCount % 2 == 1 else { throw RedisError.syntax }
        var handshake = context.client.replicaHandshake
        for index in stride(from: 1, to: context.argumentCount, by: 2) {
            if context.argument(index, is: "listening-port") {
                let port = try context.integer(index + 1)
                guard (0...65535).contains(port) else { throw RedisError.notAnInteger }
                handshake.listeningPort = Int(port)
            } else if context.argument(index, is: "ip-address") {
                handshake.announcedIP = context.string(index + 1)
            } else if context.argument(index, is: "rdb-filter-only") {
                continue
            } else if context.argument(index, is: "capa") {
                handshake.capabilities.insert(context.string(index + 1).lowercased())
            } else if context.argument(index, is: "rdb-only") {
                let flag = try context.integer(index + 1)
                guard flag == 0 || flag == 1 else { throw RedisError.replicationFlagOutOfRange }
                handshake.snapshotOnly = flag == 1
            } else if context.argument(index, is: "ack") {
                // Only a replica's acknowledgement counts; Redis ignores one from another client, silently.
                if let replica = context.client.replicaLink, let offset = try? context.integer(index + 1) {
                    context.control.acknowledgementReceived(from: replica, offset: offset,
                                                            now: context.nowMilliseconds)
                }
                return
            } else if context.argument(index, is: "getack") {
                if context.client.isPrimaryLink { context.control.sendAcknowledgement() }
                return
            } else {
                throw RedisError.unrecognizedReplicationOption(context.string(index))
            }
        }
        context.client.replicaHandshake = handshake
        context.reply.simpleString("OK")
    }

    /// PSYNC (`requestedID` set, "?" for none) and SYNC (nil): `+CONTINUE <id>` and the backlog from
    /// `requestedOffset` when the backlog continues that history, else `+FULLRESYNC <id> <offset>` (PSYNC only)
    /// and a snapshot of the keyspace, taken now or after `repl-diskless-sync-delay`, followed by the stream from that
    /// offset (ServerState+FullSynchronisation.swift).
    private static func synchronise(_ context: CommandContext, requestedID: String?, requestedOffset: Int64) throws {
        let client = context.client
        let replication = context.replication
        if client.replicaLink != nil { return }  // Redis ignores SYNC and PSYNC from a connected replica
        let now = context.nowMilliseconds
        if client.replicaHandshake.snapshotOnly {
            // redis-cli --rdb: the snapshot alone, then the connection closes; no replica is attached.
            client.awaitingSnapshot = true
            context.logger.notice("Replica \(client.remoteAddress) asks for an RDB snapshot only (redis-cli --rdb)")
            context.control.requestFullSynchronisation(FullSynchronisationRequest(
                client: client, answersFullResync: requestedID != nil, replica: nil, requestedAt: now))
            return
        }
        if let requestedID, requestedID != "?" {
            if let missing = replication.continuation(id: requestedID, offset: requestedOffset) {
                context.keyspace.setRecordsExpiredKeys(true)
                let replica = replication.attach(client, state: .online, feed: context.changes,
                                                 backlogSize: context.configuration.replicationBacklogSize, now: now)
                replica.acknowledgedOffset = requestedOffset - 1
                replication.partialSynchronisations += 1
                // Replicas without psync2 expect no id: they could not switch to a new one.
                if client.replicaHandshake.capabilities.contains("psync2") {
                    context.reply.simpleString("CONTINUE \(replication.replicationID)".utf8)
                } else {
                    context.reply.simpleString("CONTINUE")
                }
                context.logger.notice("""
                    Partial resynchronization request from \(client.remoteAddress) accepted. Sending \
                    \(missing.count) bytes of backlog starting from offset \(requestedOffset).
                    """)
                if !missing.isEmpty { client.sendRaw(ByteBuffer(bytes: missing)) }
                return
            }
            replication.refusedPartialSynchronisations += 1
            context.logger.notice("Partial resynchronization not accepted for \(client.remoteAddress): full sync")
        }
        context.logger.notice("Replica \(client.remoteAddress) asks for synchronization")
        replication.fullSynchronisations += 1
        let replica = replication.attach(client, state: .waitingForSnapshotStart, feed: context.changes,
                                         backlogSize: context.configuration.replicationBacklogSize, now: now)
        // Keys found expired from now on reach the replica as DEL (a replica never expires keys itself).
        context.keyspace.setRecordsExpiredKeys(true)
        // Its later requests are not read until the snapshot is sent.
        client.awaitingSnapshot = true
        // The snapshot and `+FULLRESYNC` come now or, diskless, after repl-diskless-sync-delay.
        context.control.requestFullSynchronisation(FullSynchronisationRequest(
            client: client, answersFullResync: requestedID != nil, replica: replica, requestedAt: now))
    }

    /// WAIT numreplicas timeout: how many replicas acknowledged the calling client's writes so far, once
    /// `numreplicas` did or the timeout (milliseconds, 0 for none) passed.
    private static func wait(_ context: CommandContext) throws {
        guard context.control.primaryLink == nil else { throw RedisError.waitOnReplica }
        let needed = try context.integer(1)
        let timeout = try context.integer(2, error: RedisError.timeoutNotInteger)
        guard timeout >= 0 else { throw RedisError.timeoutNegative }
        let replication = context.replication
        let target = context.client.replicationWriteOffset
        let acknowledged = replication.replicasAcknowledging(target)
        if acknowledged >= needed || context.control.executingTransaction {
            context.reply.integer(acknowledged)
            return
        }
        context.control.waitForAcknowledgements(context.client, targetOffset: target, replicasNeeded: Int(needed),
                                                timeoutMilliseconds: timeout)
    }

    /// REPLICAOF host port | NO ONE.
    private static func replicaOf(_ context: CommandContext) throws {
        if context.argument(1, is: "no") && context.argument(2, is: "one") {
            context.control.stopFollowing()
            // CONFIG GET and CONFIG REWRITE (Sentinel's failover persists the new role with it) show the change.
            context.control.configuration.replicaOf = []
            context.reply.simpleString("OK")
            return
        }
        let port = try context.integer(2, error: .invalidPrimaryPort)
        guard (0...65535).contains(port) else { throw RedisError.invalidPrimaryPort }
        let host = context.string(1)
        if let link = context.control.primaryLink, link.host == host, link.port == Int(port) {
            context.reply.simpleString("OK Already connected to specified master")
            return
        }
        context.control.follow(host: host, port: Int(port))
        context.control.configuration.replicaOf = [host, String(port)]
        context.reply.simpleString("OK")
    }

    /// ROLE for a primary: ["master", offset, [[ip, port, acknowledged offset], ...]]; for a replica:
    /// ["slave", host, port, link state, offset] (-1 before the first synchronisation).
    private static func role(_ context: CommandContext) throws {
        let replication = context.replication
        if let link = context.control.primaryLink {
            context.reply.arrayHeader(5)
            context.reply.bulkString("slave")
            context.reply.bulkString(link.host)
            context.reply.integer(link.port)
            context.reply.bulkString(link.state.rawValue)
            context.reply.integer(replication.backlog == nil ? -1 : replication.offset)
            return
        }
        let online = replication.replicas.filter { $0.state == .online }
        context.reply.arrayHeader(3)
        context.reply.bulkString("master")
        context.reply.integer(replication.offset)
        context.reply.arrayHeader(online.count)
        for replica in online {
            context.reply.arrayHeader(3)
            context.reply.bulkString(replica.announcedIP)
            context.reply.bulkString(String(replica.client.replicaHandshake.listeningPort))
            context.reply.bulkString(String(replica.acknowledgedOffset))
        }
    }
}
