import NIOCore

/// One replica attached to this primary, as INFO replication and ROLE describe it.
final class ReplicaLink {
    enum State {
        /// Queued for a diskless transfer that has not started (`repl-diskless-sync-delay`): no snapshot, no
        /// stream, no `+FULLRESYNC` yet.
        case waitingForSnapshotStart
        /// The snapshot is being encoded; the stream since the snapshot's offset waits in `pendingStream`.
        case waitingForSnapshot
        /// The snapshot went in the `$EOF:` form; the stream keeps waiting until the replica's first acknowledgement
        /// says it loaded it: a replica looks for the end mark at the end of what it read, so stream bytes right
        /// behind the mark would hide it (Redis holds the stream the same way).
        case loadingSnapshot
        /// Receives the stream as it is produced.
        case online

        /// INFO slaveN state=: Redis shows both waiting states as `wait_bgsave`, and a replica loading a diskless
        /// snapshot as `online`.
        var infoName: String {
            switch self {
            case .waitingForSnapshotStart, .waitingForSnapshot: "wait_bgsave"
            case .loadingSnapshot, .online: "online"
            }
        }
    }

    unowned let client: ClientSession
    var state: State
    /// Stream bytes produced while the snapshot is prepared, sent right after it.
    var pendingStream: [UInt8] = []
    /// Stream bytes of an online replica not yet handed to its connection: written once per event-loop tick, not
    /// once per command (see `ReplicationPrimary.forward`); empty between ticks.
    var unsentStream = ByteBuffer()
    /// Offset the replica last acknowledged (REPLCONF ACK); 0 before any.
    var acknowledgedOffset: Int64 = 0
    /// Unix milliseconds of the last REPLCONF ACK (or of the synchronisation's start), for lag and `repl-timeout`.
    var lastAcknowledgementAt: Int64

    init(client: ClientSession, state: State, now: Int64) {
        self.client = client
        self.state = state
        self.lastAcknowledgementAt = now
    }

    /// The address INFO slaveN and ROLE give: the one announced with REPLCONF ip-address, else the peer's.
    var announcedIP: String {
        if let ip = client.replicaHandshake.announcedIP { return ip }
        let address = client.remoteAddress
        return address.lastIndex(of: ":").map { String(address[..<$0]) } ?? address
    }
}

/// A client waiting in WAIT until enough replicas acknowledge `targetOffset`.
struct AcknowledgementWaiter {
    unowned let client: ClientSession
    let targetOffset: Int64
    let replicasNeeded: Int
    var timeout: Scheduled<Void>?
}

/// The primary's side of replication (Redis' replication.c, master half): the replication id and offset, the
/// backlog, the attached replicas and the WAIT callers. It subscribes to the change feed's replica stream once the
/// first replica arrives (as Redis creates its backlog then) and stays subscribed while the backlog lives, so every
/// write from then on counts in the offset and is kept for partial resynchronisation.
final class ReplicationPrimary: ChangeFeedSubscriber {
    let audience = ChangeFeedAudience.replicas

    /// INFO master_replid: 40 hex digits, new at start-up and whenever the history is cut (no backlog).
    private(set) var replicationID = ReplicationPrimary.newReplicationID()
    /// INFO master_replid2 / second_repl_offset: the id this history continues (after a promotion) and up to
    /// which offset it is shared; all zeros and -1 when none.
    private(set) var previousReplicationID = String(repeating: "0", count: 40)
    private(set) var previousIDEndOffset: Int64 = -1
    /// nil until the first replica connects, and again after `repl-backlog-ttl` seconds without one.
    private(set) var backlog: ReplicationBacklog?
    /// INFO master_repl_offset: stream bytes produced so far.
    var offset: Int64 { backlog?.endOffset ?? offsetWithoutBacklog }
    /// The offset while there is no backlog: kept from the last one, and raised by 1 for each REPLCONF GETACK that
    /// WAIT sends to no replica, as Redis counts it.
    private var offsetWithoutBacklog: Int64 = 0
    private(set) var replicas: [ReplicaLink] = []
    /// Full synchronisations waiting for the diskless transfer they will share, oldest first (see
    /// ServerState+FullSynchronisation.swift), and the timer that starts it `repl-diskless-sync-delay` after the
    /// oldest arrived; empty and nil when none waits.
    var queuedFullSynchronisations: [FullSynchronisationRequest] = []
    var queuedTransferStart: Scheduled<Void>?
    var waiters: [AcknowledgementWaiter] = []
    /// Unix milliseconds since which no replica is attached (repl-backlog-ttl); 0 while one is.
    private var noReplicasSince: Int64 = 0
    /// INFO stats sync_full / sync_partial_ok / sync_partial_err.
    var fullSynchronisations: Int64 = 0
    var partialSynchronisations: Int64 = 0
    var refusedPartialSynchronisations: Int64 = 0

    static func newReplicationID() -> String {
        String((0..<40).map { _ in "0123456789abcdef".randomElement()! })
    }

    func link(of client: ClientSession) -> ReplicaLink? {
        replicas.first { $0.client === client }
    }

    // MARK: The stream

    /// Set while this server follows a primary: its backlog and replicas get the primary's stream as received
    /// (`receiveFromPrimary`), so offsets agree along a chain, and this object is not subscribed to the change feed
    /// (its encoding of the applied commands would be thrown away; Redis does not propagate on a replica either).
    private(set) var isFollowing = false

    func receive(_ commands: UnsafeRawBufferPointer) {
        forward(commands)
    }

    /// REPLICAOF host port.
    func startFollowing(feed: ChangeFeed) {
        isFollowing = true
        unsubscribe(feed)
    }

    /// Bytes of the primary's stream this replica has applied.
    func receiveFromPrimary(_ commands: UnsafeRawBufferPointer) {
        forward(commands)
    }

    /// Runs a task after the current event-loop tick's reads (set by the server; tests may leave it unset, and the
    /// stream then goes out at once). Every command run in a tick is in `unsentStream` by then, so each replica gets
    /// one write and one flush per tick instead of one per command, as Redis writes replica buffers before sleeping.
    var afterTick: ((@escaping () -> Void) -> Void)?
    private var sendScheduled = false

    private func forward(_ commands: UnsafeRawBufferPointer) {
        backlog?.append(commands)
        for replica in replicas {
            switch replica.state {
            case .online:
                replica.unsentStream.writeBytes(commands)
                scheduleSend()
            case .waitingForSnapshot, .loadingSnapshot: replica.pendingStream.append(contentsOf: commands)
            case .waitingForSnapshotStart: break  // its snapshot, taken later, will hold these writes
            }
        }
    }

    private func scheduleSend() {
        guard !sendScheduled else { return }
        guard let afterTick else {
            sendUnsentStream()
            return
        }
        sendScheduled = true
        // Captured strongly, for the task's short life: a weak capture gives this object a side table for its
        // reference counts, and every retain the change feed makes of it (once per write) then takes the slow path.
        afterTick {
            self.sendScheduled = false
            self.sendUnsentStream()
        }
    }

    private func sendUnsentStream() {
        for replica in replicas where replica.unsentStream.readableBytes > 0 {
            replica.client.sendRaw(replica.unsentStream)
            replica.unsentStream.clear()
        }
    }

    /// Adds a command that is not a write to the stream (PING, REPLCONF GETACK): it counts in the offset and is
    /// kept in the backlog like any other.
    func appendToStream(_ arguments: [String]) {
        guard backlog != nil else {
            offsetWithoutBacklog += 1
            return
        }
        var encoded = ByteBuffer()
        encoded.writeRESPCommand(arguments)
        encoded.withUnsafeReadableBytes { forward($0) }
    }

    // MARK: Synchronisation

    /// PSYNC's decision: the bytes to send after `+CONTINUE` when the backlog continues the history `id` from
    /// `offset` (the first byte the replica lacks), nil when a full synchronisation is needed.
    func continuation(id: String, offset requested: Int64) -> ArraySlice<UInt8>? {
        guard let backlog else { return nil }
        guard id == replicationID || (id == previousReplicationID && requested <= previousIDEndOffset) else {
            return nil
        }
        return backlog.bytes(from: requested)
    }

    /// A full synchronisation from this server's primary: its history (id, offset) becomes this server's, in a new
    /// backlog, and this server's own replicas must synchronise again.
    func adoptHistory(id: String, offset: Int64, backlogSize: Int) {
        for replica in replicas { replica.client.closeConnection() }
        replicationID = id
        previousReplicationID = String(repeating: "0", count: 40)
        previousIDEndOffset = -1
        offsetWithoutBacklog = offset
        backlog = ReplicationBacklog(capacity: backlogSize, endOffset: offset)
    }

    /// `+CONTINUE <id>` from this server's primary: a new id continues the same history (the primary was promoted),
    /// so the old one stays valid up to here, as replid2.
    func continueHistory(newID: String?) {
        guard let newID, newID != replicationID else { return }
        previousReplicationID = replicationID
        previousIDEndOffset = offset + 1
        replicationID = newID
    }

    /// REPLICAOF NO ONE: this server's history goes on under a new id; the old one, up to here, lets the other
    /// replicas of the former primary resynchronise partially.
    func promote(feed: ChangeFeed) {
        isFollowing = false
        previousReplicationID = replicationID
        previousIDEndOffset = offset + 1
        replicationID = Self.newReplicationID()
        if backlog != nil { subscribeIfNeeded(feed) }
    }

    /// Whether the change feed sends this object the replica stream: while there is a backlog and this server is a
    /// primary.
    private var isSubscribed = false

    private func subscribeIfNeeded(_ feed: ChangeFeed) {
        guard !isSubscribed, !isFollowing else { return }
        isSubscribed = true
        feed.subscribe(self)
    }

    private func unsubscribe(_ feed: ChangeFeed) {
        guard isSubscribed else { return }
        isSubscribed = false
        feed.unsubscribe(self)
    }

    /// Starts the backlog (and the subscription that feeds it) if there is none, then attaches `client`.
    func attach(_ client: ClientSession, state: ReplicaLink.State, feed: ChangeFeed, backlogSize: Int,
                now: Int64) -> ReplicaLink {
        if backlog == nil {
            // A new history: nothing before it can be continued.
            replicationID = Self.newReplicationID()
            previousReplicationID = String(repeating: "0", count: 40)
            previousIDEndOffset = -1
            backlog = ReplicationBacklog(capacity: backlogSize, endOffset: offsetWithoutBacklog)
            subscribeIfNeeded(feed)
        }
        if let existing = link(of: client) { detach(existing.client) }
        let replica = ReplicaLink(client: client, state: state, now: now)
        replicas.append(replica)
        client.replicaLink = replica
        noReplicasSince = 0
        return replica
    }

    /// The snapshot of `replica`'s full synchronisation has been sent: the stream since then follows, at once after
    /// a snapshot with its length up front, after the replica's first acknowledgement after an `$EOF:` one.
    func snapshotSent(to replica: ReplicaLink, endMarked: Bool) {
        guard replica.state == .waitingForSnapshot else { return }
        if endMarked {
            replica.state = .loadingSnapshot
        } else {
            startStream(to: replica)
        }
    }

    /// The replica acknowledged an offset: a replica that was loading its snapshot now has it.
    func acknowledged(by replica: ReplicaLink) {
        if replica.state == .loadingSnapshot { startStream(to: replica) }
    }

    private func startStream(to replica: ReplicaLink) {
        replica.state = .online
        if !replica.pendingStream.isEmpty {
            replica.client.sendRaw(ByteBuffer(bytes: replica.pendingStream))
            replica.pendingStream = []
        }
    }

    func detach(_ client: ClientSession) {
        replicas.removeAll { $0.client === client }
        client.replicaLink = nil
        if replicas.isEmpty && noReplicasSince == 0 { noReplicasSince = Clock.milliseconds() }
    }

    /// Replicas, online, that acknowledged at least `offset` (WAIT's count).
    func replicasAcknowledging(_ offset: Int64) -> Int {
        replicas.reduce(0) { $0 + ($1.state == .online && $1.acknowledgedOffset >= offset ? 1 : 0) }
    }

    /// Online replicas whose last acknowledgement is at most `maxLagSeconds` old (min-replicas-to-write).
    func replicasWithLag(atMost maxLagSeconds: Int, now: Int64) -> Int {
        replicas.reduce(0) {
            $0 + ($1.state == .online && (now - $1.lastAcknowledgementAt) / 1000 <= Int64(maxLagSeconds) ? 1 : 0)
        }
    }

    /// The cron's part (once a second): drops the backlog after `ttlSeconds` without replicas (0: never).
    func expireBacklog(ttlSeconds: Int, now: Int64, feed: ChangeFeed) {
        // A replica keeps its backlog: it may be promoted (Redis keeps it too).
        guard backlog != nil, !isFollowing, replicas.isEmpty, ttlSeconds > 0, noReplicasSince > 0,
              now - noReplicasSince >= Int64(ttlSeconds) * 1000 else { return }
        unsubscribe(feed)
        offsetWithoutBacklog = offset
        backlog = nil
        // The history before now can no longer be continued.
        replicationID = Self.newReplicationID()
    }

    func resizeBacklog(to size: Int) {
        backlog?.resize(to: size)
    }
}
