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
    var stats: ServerStats { get }
    /// CONFIG RESETSTAT.
    func resetStatistics()

    /// SHUTDOWN, after the final save: releases blocked clients, closes connections and stops the event loop.
    func shutDown()

    /// INFO server and stats figures.
    var startedAt: Int64 { get }
    var boundPort: Int { get }
    var configFile: String? { get }
    var instantaneousOpsPerSecond: Int64 { get }
}

extension ServerState: ServerControl {
    func runQueued(_ command: Command, _ context: CommandContext) {
        run(command, context, allowBlocking: false)
    }

    func shutDown() {
        prepareShutdown()
        eventLoop.execute { [self] in shutdownHandler() }
    }
}
