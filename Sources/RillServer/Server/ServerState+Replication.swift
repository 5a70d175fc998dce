import NIOCore

/// The glue between the primary's replication state (ReplicationPrimary.swift) and the rest of the server: the
/// cron's PINGs and timeouts, acknowledgements waking WAIT callers, and min-replicas-to-write.
extension ServerState {
    /// Once a second: PING in the stream every `repl-ping-replica-period`, replicas silent for `repl-timeout`
    /// disconnected, the backlog resized or dropped after `repl-backlog-ttl`.
    func replicationCron(now: Int64) {
        followingCron(now: now)
        startQueuedFullSynchronisationsIfDue(now: now)
        replication.resizeBacklog(to: configuration.replicationBacklogSize)
        // A replica's own replicas get its primary's PINGs with the rest of the stream: one of its own would put
        // their offsets out of step with the primary's.
        if !replication.replicas.isEmpty, !isReplica,
           now - lastReplicaPing >= Int64(configuration.replicationPingPeriodSeconds) * 1000 {
            lastReplicaPing = now
            replication.appendToStream(["PING"])
        }
        let timeout = Int64(configuration.replicationTimeoutSeconds) * 1000
        for replica in replication.replicas where (replica.state == .online || replica.state == .loadingSnapshot)
            && now - replica.lastAcknowledgementAt > timeout {
            logger.warning("Disconnecting timedout replica (streaming sync): \(replica.announcedIP):\(replica.client.replicaHandshake.listeningPort)")
            replica.client.closeConnection()
        }
        replication.expireBacklog(ttlSeconds: configuration.replicationBacklogTTLSeconds, now: now, feed: changes)
        if !changes.isRecording { keyspace.setRecordsExpiredKeys(false) }
    }

    /// A replica's connection closed (or it asked to synchronise again): it leaves the list WAIT counts.
    func replicaDisconnected(_ client: ClientSession) {
        if client.replicaLink != nil {
            logger.notice("Connection with replica \(client.remoteAddress) lost.")
            replication.detach(client)
        }
        if client.waitingForAcknowledgements {
            replication.waiters.removeAll { $0.client === client }
            client.waitingForAcknowledgements = false
        }
    }

    /// REPLCONF ACK <offset> from a replica: records it and answers the WAIT callers it satisfies.
    func acknowledgementReceived(from replica: ReplicaLink, offset: Int64, now: Int64) {
        if offset > replica.acknowledgedOffset { replica.acknowledgedOffset = offset }
        replica.lastAcknowledgementAt = now
        replication.acknowledged(by: replica)
        guard !replication.waiters.isEmpty else { return }
        var stillWaiting: [AcknowledgementWaiter] = []
        for waiter in replication.waiters {
            let count = replication.replicasAcknowledging(waiter.targetOffset)
            if count >= waiter.replicasNeeded {
                waiter.timeout?.cancel()
                answerWaiter(waiter.client, count: count)
            } else {
                stillWaiting.append(waiter)
            }
        }
        replication.waiters = stillWaiting
    }

    /// WAIT that cannot be answered yet: asks every replica for an acknowledgement, and answers at the timeout
    /// (0: never) with the count reached by then.
    func waitForAcknowledgements(_ client: ClientSession, targetOffset: Int64, replicasNeeded: Int,
                                 timeoutMilliseconds: Int64) {
        var waiter = AcknowledgementWaiter(client: client, targetOffset: targetOffset,
                                           replicasNeeded: replicasNeeded, timeout: nil)
        if timeoutMilliseconds > 0 {
            waiter.timeout = eventLoop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) { [weak self, weak client] in
                guard let self, let client, client.waitingForAcknowledgements else { return }
                self.replication.waiters.removeAll { $0.client === client }
                self.answerWaiter(client, count: self.replication.replicasAcknowledging(targetOffset))
            }
        }
        client.waitingForAcknowledgements = true
        replication.waiters.append(waiter)
        replication.appendToStream(["REPLCONF", "GETACK", "*"])
    }

    private func answerWaiter(_ client: ClientSession, count: Int) {
        client.waitingForAcknowledgements = false
        client.context?.reply.integer(count)
        client.flushOutput()
        eventLoop.execute { client.resumeInput() }
    }

    /// min-replicas-to-write: whether writes are refused for lack of replicas with a small enough lag.
    var lacksGoodReplicas: Bool {
        let needed = configuration.minReplicasToWrite
        guard needed > 0, configuration.minReplicasMaxLagSeconds > 0 else { return false }
        return replication.replicasWithLag(atMost: configuration.minReplicasMaxLagSeconds,
                                           now: Clock.milliseconds()) < needed
    }
}
