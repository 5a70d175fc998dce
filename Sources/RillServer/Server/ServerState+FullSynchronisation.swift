import NIOCore

/// A full synchronisation asked for by PSYNC, SYNC or `redis-cli --rdb` whose snapshot is not taken yet.
struct FullSynchronisationRequest {
    weak var client: ClientSession?
    /// PSYNC is answered `+FULLRESYNC <id> <offset>` when the snapshot is taken; SYNC gets the file alone.
    let answersFullResync: Bool
    /// The replica the client became (state `waitingForSnapshotStart` while queued); nil for `redis-cli --rdb`,
    /// which gets the file and is disconnected.
    let replica: ReplicaLink?
    /// Unix milliseconds of the request, from which `repl-diskless-sync-delay` counts.
    let requestedAt: Int64

    /// Whether the client is still there to receive the snapshot (a replica that disconnected was detached).
    var isLive: Bool {
        guard let client else { return false }
        return replica == nil || client.replicaLink === replica
    }
}

/// When full synchronisations start. With `repl-diskless-sync yes` and a replica that accepts the `$EOF:` form, the
/// transfer waits `repl-diskless-sync-delay` seconds after the first request so that replicas arriving meanwhile
/// share one keyspace copy and one encoding, as Redis delays its fork for the same reason; it starts sooner once
/// `repl-diskless-sync-max-replicas` wait (0: no such limit). Other requests start at once, each its own transfer.
extension ServerState {
    func requestFullSynchronisation(_ request: FullSynchronisationRequest) {
        guard let client = request.client else { return }
        let delay = configuration.replicationDisklessSyncDelaySeconds
        guard configuration.replicationDisklessSync, delay > 0,
              client.replicaHandshake.capabilities.contains("eof") else {
            startFullSynchronisations([request], answeredLater: false)
            return
        }
        logger.notice("Delay next BGSAVE for diskless SYNC")
        replication.queuedFullSynchronisations.append(request)
        if queuedTransferIsDue(now: Clock.milliseconds()) {
            startQueuedFullSynchronisations()
        } else if replication.queuedTransferStart == nil {
            replication.queuedTransferStart = eventLoop.scheduleTask(in: .seconds(Int64(delay))) { [weak self] in
                self?.startQueuedFullSynchronisations()
            }
        }
    }

    /// The cron's check, for a delay or limit lowered by CONFIG SET while requests wait.
    func startQueuedFullSynchronisationsIfDue(now: Int64) {
        if queuedTransferIsDue(now: now) { startQueuedFullSynchronisations() }
    }

    private func queuedTransferIsDue(now: Int64) -> Bool {
        let queue = replication.queuedFullSynchronisations.filter(\.isLive)
        guard let oldest = queue.first?.requestedAt else { return false }
        let maxReplicas = configuration.replicationDisklessSyncMaxReplicas
        return (maxReplicas > 0 && queue.count >= maxReplicas)
            || now - oldest >= Int64(configuration.replicationDisklessSyncDelaySeconds) * 1000
    }

    private func startQueuedFullSynchronisations() {
        replication.queuedTransferStart?.cancel()
        replication.queuedTransferStart = nil
        let queued = replication.queuedFullSynchronisations
        replication.queuedFullSynchronisations = []
        startFullSynchronisations(queued, answeredLater: true)
    }

    /// Takes one snapshot for `requests` now, at the current offset: answers `+FULLRESYNC` to PSYNC, and each replica
    /// then collects the stream from this offset until its snapshot is sent. `answeredLater`: the requests' commands
    /// have returned, so the replies are flushed here.
    private func startFullSynchronisations(_ requests: [FullSynchronisationRequest], answeredLater: Bool) {
        let live = requests.filter(\.isLive)
        guard !live.isEmpty else { return }
        if live.contains(where: { $0.replica != nil }) {
            // The stream after the snapshot must start with a SELECT.
            changes.restartReplicaDatabaseSelection()
        }
        var recipients: [SnapshotRecipient] = []
        for request in live {
            guard let client = request.client else { continue }  // isLive checked it
            if request.answersFullResync {
                client.context?.reply.simpleString("FULLRESYNC \(replication.replicationID) \(replication.offset)".utf8)
                if answeredLater { client.flushOutput() }
            }
            guard let replica = request.replica else {
                recipients.append(SnapshotRecipient(client: client) { payload, _ in client.sendAndClose(payload) })
                continue
            }
            replica.state = .waitingForSnapshot
            let replication = self.replication
            recipients.append(SnapshotRecipient(client: client) { [weak client] payload, endMarked in
                guard let client, client.replicaLink === replica else { return }
                client.sendSnapshot(payload)
                replication.snapshotSent(to: replica, endMarked: endMarked)
                replica.lastAcknowledgementAt = Clock.milliseconds()
                client.awaitingSnapshot = false
                client.resumeInput()
            })
        }
        persistence.startSnapshotTransfer(to: recipients)
    }
}
