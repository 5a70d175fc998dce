import RillCore

extension ServerState {
    /// Once a second, from the cron: removes the idle consumers of groups with a CONSUMER-IDLE-TIMEOUT (workers
    /// also trigger it lazily; this catches groups nobody touches) and records each as XGROUP DELCONSUMER; frees
    /// idempotency pairs past IDMP-DURATION.
    func sweepStreamsIfDue(now: Int64) {
        guard now - lastIdleConsumerSweep >= 1000, !loadingAppendOnlyFile else { return }
        lastIdleConsumerSweep = now
        var removedAny = false
        for database in 0..<keyspace.databaseCount {
            // Same once-a-second pass: memory of idempotency pairs past IDMP-DURATION (no effect to log).
            keyspace[database].forgetExpiredIdempotentRecords(nowMilliseconds: now)
            let removed = keyspace[database].removeIdleConsumers(nowMilliseconds: now)
            guard !removed.isEmpty else { continue }
            removedAny = true
            dirty += Int64(removed.count)
            guard let log = appendOnlyLog else { continue }
            // Keys found expired during the sweep go first, as after any command.
            logExpiredKeys(database: database)
            for (key, group, consumer) in removed {
                log.append(ConsumerGroupCommands.deleteConsumerEffect(key: key, group: group, consumer: consumer),
                           database: database)
            }
        }
        if removedAny && appendOnlyLog != nil { writeAppendOnlyFile() }
    }
}
