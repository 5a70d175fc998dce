import NIOCore

/// What one client's connection holds in memory, in the terms of CLIENT LIST (qbuf, argv-mem, multi-mem, rbs, obl,
/// oll, omem, tot-mem), `client-output-buffer-limit` and `maxmemory-clients`.
extension ClientSession {
    /// Reply bytes gathered by the running batch and not yet handed to the channel (obl).
    var gatheredReplyBytes: Int { context?.reply.buffer.readableBytes ?? 0 }

    /// Bytes of storage of the buffer replies are gathered in (rbs).
    var replyBufferSize: Int { context?.reply.buffer.capacity ?? 0 }

    /// Output waiting to reach the client (omem, and what `client-output-buffer-limit` measures): the gathered
    /// replies, the bytes the channel has not sent (a replica's snapshot excepted), and, for a replica whose snapshot
    /// is being prepared, the stream held back until it is sent.
    var outputBytes: Int {
        let unsent = max(0, pendingOutputBytes() - snapshotBytesInFlight)
        return gatheredReplyBytes + unsent + (replicaLink?.pendingStream.count ?? 0)
    }

    /// Bytes of the arguments of the request being run (argv-mem), or of the one CLIENT PAUSE holds.
    var argumentBytes: Int {
        let running = context?.arguments.reduce(0) { $0 + $1.readableBytes } ?? 0
        return running + (postponedRequest?.reduce(0) { $0 + $1.readableBytes } ?? 0)
    }

    /// Bytes of the requests queued by MULTI (multi-mem): their arguments and one buffer header each.
    var transactionBytes: Int {
        guard let queued = transaction?.queued else { return 0 }
        return queued.reduce(0) { total, request in
            request.reduce(total) { $0 + $1.readableBytes + MemoryLayout<ByteBuffer>.stride }
        }
    }

    /// Everything above plus the query buffer's storage (tot-mem): what closing the client would free, the figure
    /// `maxmemory-clients` ranks clients by.
    var memoryUsage: Int {
        queryBufferLength + queryBufferFree + argumentBytes + transactionBytes + replyBufferSize + outputBytes
            - gatheredReplyBytes  // counted in the reply buffer's size already
    }

    /// Whether `maxmemory-clients` may close this client: normal and Pub/Sub clients without CLIENT NO-EVICT, as in
    /// Redis (never a replica or the link to this server's primary).
    var isEvictable: Bool {
        !noEvict && (type == .normal || type == .pubsub)
    }
}
