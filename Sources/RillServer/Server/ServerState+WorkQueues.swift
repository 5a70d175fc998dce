import RillCore

extension ServerState {
    /// Once a second, from the cron: removes the idle consumers of groups with a CONSUMER-IDLE-TIMEOUT (workers
    /// also trigger it lazily; this catches groups nobody touches) and records each as XGROUP DELCONSUMER; frees
    /// idempotency pairs past IDMP-DURATION.
    func sweepStreams(now: Int64) {
        guard !persistence.loadingAppendOnlyFile else { return }
        var removedAny = false
        for database in 0..<keyspace.databaseCount {
            // Same once-a-second pass: memory of idempotency pairs past IDMP-DURATION (no effect to log).
            keyspace[database].forgetExpiredIdempotentRecords(nowMilliseconds: now)
            let removed = keyspace[database].removeIdleConsumers(nowMilliseconds: now)
            guard !removed.isEmpty else { continue }
            removedAny = true
            changes.recordChange(Int64(removed.count))
            guard changes.isRecording else { continue }
            // Keys found expired during the sweep go first, as after any command.
            recordExpiredKeys(database: database)
            for (key, group, consumer) in removed {
                changes.emit(ConsumerGroupCommands.deleteConsumerEffect(key: key, group: group, consumer: consumer),
                             database: database)
            }
        }
        if removedAny && changes.isRecording { persistence.writeAppendOnlyFile() }
    }
}
