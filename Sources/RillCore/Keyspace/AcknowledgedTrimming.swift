/// Choosing what `maxmemory-stream-policy trim-acked` may remove: entries that every consumer group of their
/// stream has already been given and has acknowledged. Nothing here changes the keyspace; the server trims the
/// chosen streams with `XTRIM key MINID = id ACKED`, which is also what the append-only file records.

extension Stream {
    /// The smallest ID not yet delivered to every consumer group: entries below it were delivered to each group
    /// (they are at or before every group's last-delivered ID). Those of them in no group's pending entries list
    /// are done; `XTRIM MINID = boundary ACKED` removes exactly them, and keeps pending ones wherever they are, so
    /// one entry a consumer never acknowledges does not hold back the entries after it.
    ///
    /// Nil for a stream without groups: nobody has acknowledged anything there (plain XREAD readers leave no
    /// trace), so none of its entries counts as done. Cap such streams with `XADD ... MAXLEN` instead.
    /// - Complexity: O(g).
    public var acknowledgedTrimBoundary: StreamID? {
        let groups = groupTable.groups
        guard !groups.isEmpty else { return nil }
        var boundary = StreamID.max
        for group in groups {
            // A group that delivered the maximum ID has read everything.
            if let afterDelivered = group.lastDeliveredID.next { boundary = Swift.min(boundary, afterDelivered) }
        }
        return boundary
    }

    /// Removes the entries below `acknowledgedTrimBoundary` that no group has pending (`XTRIM MINID = boundary
    /// ACKED`). Blocks whose entries all go are freed; a block keeping a pending entry keeps its memory.
    /// - Returns: the number of entries removed.
    /// - Complexity: O(r (log b + m + g log n)) for the r entries below the boundary.
    @discardableResult
    public mutating func trimAcknowledgedEntries(below boundary: StreamID) -> Int {
        trim(.minimumID(boundary), approximate: false, policy: .acknowledged)
    }
}

/// A stream that holds acknowledged entries, and the trim that removes them.
public struct AcknowledgedTrimCandidate: Sendable, Hashable {
    /// The database index and key of the stream.
    public let database: Int
    public let key: [UInt8]
    /// Its oldest live entry: candidates are trimmed oldest first.
    public let oldestEntryID: StreamID
    /// `XTRIM key MINID = minimumID ACKED` removes the acknowledged entries and nothing else.
    public let minimumID: StreamID
}

extension Keyspace {
    /// Every live stream with entries delivered to all its groups, ordered by its oldest entry (then database and
    /// key, so the order is deterministic): trimming them in this order frees the oldest data first. A candidate
    /// whose delivered entries are all still pending has nothing to trim; the trim then removes nothing.
    /// - Complexity: O(keys + s log s) for the s streams found, plus O(m) per stream to find its first entry.
    public func acknowledgedTrimCandidates(nowMilliseconds: Int64) -> [AcknowledgedTrimCandidate] {
        var candidates: [AcknowledgedTrimCandidate] = []
        for (index, database) in databases.enumerated() {
            database.forEachLiveStream(nowMilliseconds: nowMilliseconds) { key, stream in
                guard stream.length > 0, let boundary = stream.acknowledgedTrimBoundary,
                      let oldest = stream.firstEntryID, oldest < boundary else { return }
                candidates.append(AcknowledgedTrimCandidate(database: index, key: key, oldestEntryID: oldest,
                                                            minimumID: boundary))
            }
        }
        candidates.sort { lhs, rhs in
            if lhs.oldestEntryID != rhs.oldestEntryID { return lhs.oldestEntryID < rhs.oldestEntryID }
            if lhs.database != rhs.database { return lhs.database < rhs.database }
            return lhs.key.lexicographicallyPrecedes(rhs.key)
        }
        return candidates
    }
}

extension Database {
    /// Calls `body` with every stream whose key has not passed its deadline, in no particular order. Keys past
    /// their deadline are skipped, not removed (reading must not change the keyspace).
    /// - Complexity: O(keys).
    public func forEachLiveStream(nowMilliseconds: Int64, _ body: ([UInt8], Stream) -> Void) {
        for (key, value) in values {
            guard case .stream(let stream) = value else { continue }
            if !keysWithExpiry.isEmpty, let deadline = deadline(of: key), deadline < nowMilliseconds { continue }
            body(key, stream)
        }
    }
}
