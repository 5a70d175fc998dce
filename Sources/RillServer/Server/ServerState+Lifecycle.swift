import NIOCore
import RillCore

/// Background work on the event loop (Redis' serverCron): active expiry, idle client timeouts and the
/// instantaneous ops/sec sample, plus what happens before the process exits.
extension ServerState {
    func startPeriodicTasks() {
        let interval = max(1, 1000 / configuration.hz)
        eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(interval)),
                                       delay: .milliseconds(Int64(interval))) { [weak self] _ in
            self?.cron()
        }
    }

    private func cron() {
        let now = Clock.milliseconds()
        let expired = keyspace.removeExpiredKeys(nowMilliseconds: now)
        dirty += Int64(expired)
        if expired > 0 && appendOnlyLog != nil {
            for database in 0..<keyspace.databaseCount { logExpiredKeys(database: database) }
            writeAppendOnlyFile()
        }
        sampleOperations(now: now)
        startBackgroundJobsIfDue(now: now)
        sweepStreamsIfDue(now: now)
        checkSavePoints(now: now)
        let timeout = Int64(configuration.idleTimeoutSeconds) * 1000
        if timeout > 0 {
            for client in clients.values where client.blocked == nil && now - client.lastInteraction > timeout {
                logger.info("Closing idle client \(client.id)")
                client.closeConnection()
            }
        }
    }

    /// Ops/sec over the last second, as INFO instantaneous_ops_per_sec.
    private func sampleOperations(now: Int64) {
        let elapsed = now - operationSample.at
        guard elapsed >= 1000 else { return }
        let done = stats.totalCommandsProcessed - operationSample.commands
        instantaneousOpsPerSecond = done * 1000 / max(1, elapsed)
        operationSample = (now, stats.totalCommandsProcessed)
    }

    /// Stops accepting work: blocked clients are released and connections closed before the process exits.
    func prepareShutdown() {
        for client in clients.values {
            unblock(client)
            client.closeConnection()
        }
    }

    /// Drops every WATCH of `client` (EXEC, DISCARD, UNWATCH, disconnect).
    func unwatchAll(_ client: ClientSession) {
        for watched in client.watchedKeys { keyspace[watched.database].unwatch(watched.key) }
        client.watchedKeys = []
    }
}
