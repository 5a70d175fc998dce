/// What commands may ask of the server itself, beyond their client's data and the server's parts (which
/// `CommandContext` exposes one by one): the transaction being executed, statistics, configuration changes,
/// shutdown, and the figures INFO reports. The server implements it; handlers reach it as `context.control`.
protocol ServerControl: AnyObject {
    /// Inside EXEC: background jobs are scheduled instead of copying a half-applied transaction.
    var executingTransaction: Bool { get set }
    /// Runs a command EXEC dequeued, as the executor runs any command but without blocking.
    func runQueued(_ command: Command, _ context: CommandContext)
    /// Drops every WATCH of `client` (EXEC, DISCARD, UNWATCH).
    func unwatchAll(_ client: ClientSession)

    /// CONFIG SET replaces the configuration as a whole, after validating every value.
    var configuration: ServerConfiguration { get set }
    /// Rebuilds the TLS contexts after CONFIG SET changed a `tls-*` directive; false (logged) when the new settings
    /// do not work (TLSContextBuilder.swift).
    func applyTLSSettings(previous: ServerConfiguration, changedDirective: String) -> Bool
    var stats: ServerStats { get }
    /// The largest client buffers of the last seconds (INFO clients).
    var clientPeaks: RecentClientPeaks { get }
    /// CONFIG RESETSTAT.
    func resetStatistics()

    /// A blocked call ended by CLIENT UNBLOCK: its latency histogram and slow log entry (CommandObservation.swift).
    func blockedCallAnswered(_ blocked: BlockedClient, client: ClientSession, finalAttemptMicroseconds: Int64)
    /// CLIENT PAUSE and CLIENT UNPAUSE (ClientPause.swift).
    func pauseClients(_ mode: ClientPause.Mode, forMilliseconds duration: Int64, now: Int64)
    func unpauseClients()

    /// REPLCONF ACK and WAIT (ServerState+Replication.swift).
    func acknowledgementReceived(from replica: ReplicaLink, offset: Int64, now: Int64)
    func waitForAcknowledgements(_ client: ClientSession, targetOffset: Int64, replicasNeeded: Int,
                                 timeoutMilliseconds: Int64)

    /// PSYNC and SYNC's full synchronisation, now or queued (ServerState+FullSynchronisation.swift).
    func requestFullSynchronisation(_ request: FullSynchronisationRequest)

    /// REPLICAOF (ServerState+Following.swift) and the primary's GETACK.
    var primaryLink: PrimaryLink? { get }
    func follow(host: String, port: Int)
    func stopFollowing()
    func sendAcknowledgement()

    /// SHUTDOWN, after the final save: releases blocked clients, closes connections and stops the event loop.
    func shutDown()

    /// INFO server and stats figures.
    var startedAt: Int64 { get }
    var boundPort: Int { get }
    /// The engine serving the port's connections (INFO server io_engine).
    var ioEngineInUse: String { get }
    var boundTLSPort: Int { get }
    var configFile: String? { get }
    var instantaneousOpsPerSecond: Int64 { get }
    var instantaneousKilobytesPerSecond: (input: Double, output: Double) { get }
    /// jemalloc's current figures; also raises the recorded peak (INFO memory, MEMORY STATS, MEMORY DOCTOR).
    func allocatorFigures() -> Allocator.Figures
}

extension ServerState: ServerControl {
    func runQueued(_ command: Command, _ context: CommandContext) {
        if let user = context.client.user, !user.allowsEverything,
           let denial = accessControl.denial(for: user, command: command, arguments: context.arguments) {
            command.counters.rejectedCalls += 1
            writeError(context, refusal(denial, user: user, command: command, context: context, logContext: "multi"))
            return
        }
        run(command, context, allowBlocking: false)
    }

    func allocatorFigures() -> Allocator.Figures {
        let figures = Allocator.figures()
        if figures.allocated > stats.peakAllocatedBytes {
            stats.peakAllocatedBytes = figures.allocated
            stats.peakAllocatedAt = Clock.milliseconds() / 1000
        }
        return figures
    }

    func shutDown() {
        prepareShutdown()
        eventLoop.execute { [self] in shutdownHandler() }
    }
}
