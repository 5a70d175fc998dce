import NIOCore
import RillCore

/// The cron's jobs (Redis' serverCron) and what happens before the process exits.
extension ServerState {
    /// Registers the cron's jobs, in the order each tick runs them, and starts ticking `hz` times a second.
    func startPeriodicJobs() {
        jobs.add("active expiry") { [unowned self] now in removeExpiredKeys(now: now) }
        jobs.add("operations sample", everyMilliseconds: 1000) { [unowned self] now in sampleOperations(now: now) }
        jobs.add("scheduled background jobs") { [unowned self] now in persistence.startBackgroundJobsIfDue(now: now) }
        jobs.add("stream sweep", everyMilliseconds: 1000) { [unowned self] now in sweepStreams(now: now) }
        jobs.add("append-only write retry", everyMilliseconds: 1000) { [unowned self] _ in
            persistence.retryFailedAppendOnlyWrite()
        }
        jobs.add("save points") { [unowned self] now in persistence.checkSavePoints(now: now) }
        jobs.add("idle clients") { [unowned self] now in closeIdleClients(now: now) }
        jobs.add("clients") { [unowned self] now in clientsCron(now: now) }
        jobs.add("replication", everyMilliseconds: 1000) { [unowned self] now in replicationCron(now: now) }
        jobs.add("memory peak", everyMilliseconds: 100) { [unowned self] _ in _ = allocatorFigures() }
        jobs.start(on: eventLoop, hz: configuration.hz, clock: Clock.milliseconds)
    }

    private func removeExpiredKeys(now: Int64) {
        if pause != nil { return }  // CLIENT PAUSE keeps the data as it is
        let started = configuration.latencyMonitorThresholdMilliseconds > 0 ? Clock.microseconds() : 0
        let expired = keyspace.removeExpiredKeys(nowMilliseconds: now)
        if started != 0 {
            latencyEvents.add("expire-cycle", milliseconds: (Clock.microseconds() - started) / 1000,
                              thresholdMilliseconds: configuration.latencyMonitorThresholdMilliseconds,
                              unixSeconds: now / 1000)
        }
        changes.recordExpiredKeys(Int64(expired))
        if expired > 0 && changes.isRecording {
            for database in 0..<keyspace.databaseCount { recordExpiredKeys(database: database) }
            persistence.writeAppendOnlyFile()
        }
    }

    /// Ops/sec over the last second, as INFO instantaneous_ops_per_sec.
    private func sampleOperations(now: Int64) {
        let elapsed = now - operationSample.at
        let done = stats.totalCommandsProcessed - operationSample.commands
        instantaneousOpsPerSecond = done * 1000 / max(1, elapsed)
        operationSample = (now, stats.totalCommandsProcessed)
        let seconds = Double(max(1, elapsed)) / 1000
        instantaneousKilobytesPerSecond = (Double(stats.netInputBytes - networkSample.input) / 1024 / seconds,
                                           Double(stats.netOutputBytes - networkSample.output) / 1024 / seconds)
        networkSample = (stats.netInputBytes, stats.netOutputBytes)
    }

    /// `timeout`: connections idle longer are closed (blocked clients wait as long as their command says; Pub/Sub
    /// subscribers listen without sending, and are kept as Redis keeps them).
    private func closeIdleClients(now: Int64) {
        let timeout = Int64(configuration.idleTimeoutSeconds) * 1000
        guard timeout > 0 else { return }
        for client in clients.values where client.blocked == nil && client.postponedRequest == nil
            && client.subscriptions.isEmpty && client.replicaLink == nil && !client.isPrimaryLink
            && !client.waitingForAcknowledgements
            && now - client.lastInteraction > timeout {
            logger.info("Closing idle client \(client.id)")
            client.closeConnection()
        }
    }

    /// Stops accepting work: blocked clients are released and connections closed before the process exits.
    func prepareShutdown() {
        jobs.stop()
        for client in clients.values {
            blocking.remove(client)
            client.closeConnection()
        }
    }

    /// Drops every WATCH of `client` (EXEC, DISCARD, UNWATCH, disconnect).
    func unwatchAll(_ client: ClientSession) {
        for watched in client.watchedKeys { keyspace[watched.database].unwatch(watched.key) }
        client.watchedKeys = []
    }
}
