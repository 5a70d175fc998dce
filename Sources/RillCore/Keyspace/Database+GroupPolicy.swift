// The keyspace side of the group policy (see Stream+GroupPolicy.swift): moving exhausted entries to
// another key, and the periodic sweep of idle consumers.

extension Database {
    /// Moves the entries a delivery attempt found exhausted in `group` of the stream at `key` to the group's
    /// dead-letter stream: each is appended there (`*` ID, the key created if absent) and only then removed from
    /// the group's PEL and counted, so an entry is in exactly one of the two. An entry no longer due (acknowledged,
    /// deleted, policy changed) is skipped.
    ///
    /// When the dead-letter key holds another type (or its stream cannot take another ID) nothing more is moved:
    /// the remaining entries stay pending, undelivered, and the failure names them.
    /// - Complexity: O(k (log n + log b + m)) for k due entries.
    public mutating func moveDueDeadLetters(
        from key: [UInt8], group: [UInt8], nowMilliseconds: Int64, limits: StreamNodeLimits = StreamNodeLimits()
    ) -> (moves: [DeadLetterMove], failure: DeadLetterMoveFailure?) {
        let taken = try? streamGroups(key, nowMilliseconds: nowMilliseconds) { stream in
            (stream.takeDueDeadLetters(group: group), stream.group(named: group)?.policy.deadLetterKey)
        }
        guard let (due, deadLetterKey) = taken ?? nil, !due.isEmpty, let deadLetterKey else { return ([], nil) }
        var moves: [DeadLetterMove] = []
        for (position, id) in due.enumerated() {
            let letter = (try? streamGroups(key, nowMilliseconds: nowMilliseconds) { stream in
                stream.deadLetter(of: id, group: group, sourceKey: key)
            }) ?? nil
            guard let letter else { continue }
            let appended: StreamID
            do {
                appended = try streamModify(deadLetterKey, nowMilliseconds: nowMilliseconds,
                                            creatingWith: { Stream() }) { deadLetters in
                    try deadLetters.append(.automatic, fieldsAndValues: letter.fieldsAndValues,
                                           nowMilliseconds: UInt64(max(0, nowMilliseconds)), limits: limits)
                }!
            } catch {
                let reason = error is KeyspaceError ? "the key holds a value of another type" : "\(error)"
                return (moves, DeadLetterMoveFailure(deadLetterKey: deadLetterKey, leftPending: Array(due[position...]),
                                                     reason: reason))
            }
            // The letter was built from the pending entry just above, in this same step.
            let counter = ((try? streamGroups(key, nowMilliseconds: nowMilliseconds) { stream in
                stream.completeDeadLetter(group: group, id: id)
            }) ?? nil) ?? nil
            moves.append(DeadLetterMove(sourceID: id, deadLetterID: appended, fieldsAndValues: letter.fieldsAndValues,
                                        deadLetteredCount: counter ?? 0))
        }
        return (moves, nil)
    }

    /// One pass of idle-consumer removal over every live stream whose groups have a consumer idle timeout.
    /// - Returns: the removed consumers, with their keys and groups.
    /// - Complexity: O(keys) plus the work of `Stream.removeIdleConsumers` on the streams concerned.
    public mutating func removeIdleConsumers(nowMilliseconds: Int64)
        -> [(key: [UInt8], group: [UInt8], consumer: [UInt8])]
    {
        var concerned: [[UInt8]] = []
        forEachLiveStream(nowMilliseconds: nowMilliseconds) { key, stream in
            if stream.hasConsumerIdleTimeout { concerned.append(key) }
        }
        var removed: [(key: [UInt8], group: [UInt8], consumer: [UInt8])] = []
        for key in concerned {
            let gone = (try? streamGroups(key, nowMilliseconds: nowMilliseconds) { stream in
                stream.removeIdleConsumers(nowMilliseconds: nowMilliseconds)
            }) ?? nil
            for (group, consumer) in gone ?? [] { removed.append((key, group, consumer)) }
        }
        return removed
    }

    /// One pass that drops the idempotency pairs past IDMP-DURATION from every live stream holding some.
    /// - Returns: the number of pairs dropped.
    /// - Complexity: O(keys) plus the pairs dropped; streams with nothing expired are not touched (not copied).
    @discardableResult
    public mutating func forgetExpiredIdempotentRecords(nowMilliseconds: Int64) -> Int {
        var concerned: [[UInt8]] = []
        forEachLiveStream(nowMilliseconds: nowMilliseconds) { key, stream in
            if stream.hasExpiredIdempotentRecords(nowMilliseconds: nowMilliseconds) { concerned.append(key) }
        }
        var dropped = 0
        for key in concerned {
            dropped += ((try? streamGroups(key, nowMilliseconds: nowMilliseconds) { stream in
                stream.forgetExpiredIdempotentRecords(nowMilliseconds: nowMilliseconds)
            }) ?? nil) ?? 0
        }
        return dropped
    }
}
