import NIOCore

/// What the executor records about each call besides its counters: the latency monitor's "command" events, the
/// command's latency histogram, the slow log, and the MONITOR feed. Each costs one test of its setting when it is
/// off; the histogram (on by default) one increment.
extension ServerState {
    /// After a call ran (`run`): a call that blocked is recorded in the histogram and the slow log when it is
    /// answered (`blockedCallAnswered`), with the time of both attempts, as Redis does; MONITOR shows it now.
    @inline(__always)
    func callFinished(_ command: Command, _ context: CommandContext, microseconds: Int64) {
        let client = context.client
        let threshold = configuration.latencyMonitorThresholdMilliseconds
        if threshold > 0 {
            latencyEvents.add(command.flags.contains(.fast) ? "fast-command" : "command",
                              milliseconds: microseconds / 1000, thresholdMilliseconds: threshold,
                              unixSeconds: context.nowMilliseconds / 1000)
        }
        if client.blocked != nil {
            client.blocked!.attemptMicroseconds = microseconds  // checked non-nil just above
            if configuration.slowLogSlowerThanMicroseconds >= 0 && !command.flags.contains(.skipSlowlog) {
                client.blocked!.slowLogArguments = SlowLog.Entry.arguments(
                    of: context.arguments, redacted: RedactedArguments.of(command.name, context.arguments))
            }
        } else {
            if configuration.latencyTracking { command.latencyHistogram.record(microseconds: microseconds) }
            let slowerThan = configuration.slowLogSlowerThanMicroseconds
            if slowerThan >= 0 && microseconds >= slowerThan && !command.flags.contains(.skipSlowlog) {
                slowLog.add(arguments: SlowLog.Entry.arguments(
                                of: context.arguments, redacted: RedactedArguments.of(command.name, context.arguments)),
                            microseconds: microseconds, unixSeconds: Clock.milliseconds() / 1000,
                            clientAddress: client.remoteAddress, clientName: client.name ?? "",
                            maxLength: configuration.slowLogMaxLength)
            }
        }
        // Admin commands (CONFIG, CLIENT LIST, SLOWLOG, MONITOR...) are not shown, as in Redis.
        if !monitors.isEmpty && !command.flags.contains(.admin) {
            monitors.show(context.arguments, redacted: RedactedArguments.of(command.name, context.arguments),
                          database: client.databaseIndex, address: client.remoteAddress,
                          unixMicroseconds: Clock.microseconds())
        }
    }

    /// A blocked call was answered (served or timed out) after a last attempt of `finalAttemptMicroseconds`.
    func blockedCallAnswered(_ blocked: BlockedClient, client: ClientSession, finalAttemptMicroseconds: Int64) {
        let microseconds = blocked.attemptMicroseconds + finalAttemptMicroseconds
        if configuration.latencyTracking { blocked.command.latencyHistogram.record(microseconds: microseconds) }
        let slowerThan = configuration.slowLogSlowerThanMicroseconds
        if let arguments = blocked.slowLogArguments, slowerThan >= 0, microseconds >= slowerThan {
            slowLog.add(arguments: arguments, microseconds: microseconds, unixSeconds: Clock.milliseconds() / 1000,
                        clientAddress: client.remoteAddress, clientName: client.name ?? "",
                        maxLength: configuration.slowLogMaxLength)
        }
    }
}
