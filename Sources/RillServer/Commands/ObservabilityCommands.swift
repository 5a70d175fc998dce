import NIOCore
import RillProtocol

/// SLOWLOG, LATENCY and MONITOR: what the server records about the commands it runs (the recording itself is in
/// Server/CommandObservation.swift).
enum ObservabilityCommands {
    static let all: [Command] = [
        Command("slowlog", arity: -2, flags: [], group: "server", since: "2.2.12",
                summary: "A container for slow log commands.", subcommands: slowLogSubcommands) { _ in },
        Command("latency", arity: -2, flags: [], group: "server", since: "2.8.13",
                summary: "A container for latency diagnostics commands.", subcommands: latencySubcommands) { _ in },
        Command("monitor", arity: 1, flags: [.admin, .noScript, .loading, .stale], group: "server", since: "1.0.0",
                summary: "Streams every command the server runs to this connection.", handler: monitor),
    ]

    // MARK: SLOWLOG

    private static let slowLogSubcommands: [Command] = [
        Command("slowlog|get", arity: -2, flags: [.admin, .loading, .stale], group: "server", since: "2.2.12",
                summary: "Returns the newest slow log entries.", handler: slowLogGet),
        Command("slowlog|len", arity: 2, flags: [.admin, .loading, .stale], group: "server", since: "2.2.12",
                summary: "Returns the number of entries in the slow log.") { context in
            context.reply.integer(context.slowLog.count)
        },
        Command("slowlog|reset", arity: 2, flags: [.admin, .loading, .stale], group: "server", since: "2.2.12",
                summary: "Empties the slow log.") { context in
            context.slowLog.reset()
            context.reply.simpleString("OK")
        },
        Command("slowlog|help", arity: 2, flags: [.loading, .stale], group: "server", since: "6.2.0",
                summary: "Returns helpful text about the different subcommands.") { context in
            context.replyHelp([
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Answer the <count> newest entries of the slow log (10 by default, -1 for all).",
                "    Each entry holds: its id, the unix time it was added, the execution time",
                "    in microseconds, the command's arguments, the client's address and port,",
                "    and the client's name.",
                "LEN",
                "    Answer how many entries the slow log holds.",
                "RESET",
                "    Remove every entry from the slow log.",
                "HELP",
                "    Print this help.",
            ])
        },
    ]

    private static func slowLogGet(_ context: CommandContext) throws {
        guard context.argumentCount <= 3 else {
            throw RedisError.unknownSubcommandOrArity(context.string(1), of: "SLOWLOG")
        }
        var count = 10
        if context.argumentCount == 3 {
            let requested = try context.integer(2, error: .slowLogCountBelowMinusOne)
            guard requested >= -1 else { throw RedisError.slowLogCountBelowMinusOne }
            count = requested == -1 ? Int.max : Int(clamping: requested)
        }
        let entries = context.slowLog.entries.prefix(count)
        context.reply.arrayHeader(entries.count)
        for entry in entries {
            context.reply.arrayHeader(6)
            context.reply.integer(entry.id)
            context.reply.integer(entry.unixSeconds)
            context.reply.integer(entry.microseconds)
            context.reply.arrayHeader(entry.arguments.count)
            for argument in entry.arguments { context.reply.bulkString(argument) }
            context.reply.bulkString(entry.clientAddress)
            context.reply.bulkString(entry.clientName)
        }
    }

    // MARK: LATENCY

    private static let latencyFlags: Command.Flags = [.admin, .noScript, .loading, .stale]

    private static let latencySubcommands: [Command] = [
        Command("latency|latest", arity: 2, flags: latencyFlags, group: "server", since: "2.8.13",
                summary: "Returns the latest latency sample of every event.") { context in
            let events = context.latencyEvents.events
            context.reply.arrayHeader(events.count)
            for (name, series) in events {
                let last = series.samples.last
                context.reply.arrayHeader(4)
                context.reply.bulkString(name)
                context.reply.integer(last?.unixSeconds ?? 0)
                context.reply.integer(last?.milliseconds ?? 0)
                context.reply.integer(series.maxMilliseconds)
            }
        },
        Command("latency|history", arity: 3, flags: latencyFlags, group: "server", since: "2.8.13",
                summary: "Returns the recorded samples of one event.") { context in
            let samples = context.latencyEvents.series(of: context.string(2))?.samples ?? []
            context.reply.arrayHeader(samples.count)
            for sample in samples {
                context.reply.arrayHeader(2)
                context.reply.integer(sample.unixSeconds)
                context.reply.integer(sample.milliseconds)
            }
        },
        Command("latency|reset", arity: -2, flags: latencyFlags, group: "server", since: "2.8.13",
                summary: "Forgets the samples of some or all events.") { context in
            let names = context.argumentCount > 2 ? (2..<context.argumentCount).map(context.string) : nil
            context.reply.integer(context.latencyEvents.reset(names))
        },
        Command("latency|graph", arity: 3, flags: latencyFlags, group: "server", since: "2.8.13",
                summary: "Draws the samples of one event as an ASCII graph.") { context in
            let event = context.string(2)
            guard let series = context.latencyEvents.series(of: event),
                  let graph = LatencyReport.graph(event, series: series, nowSeconds: context.nowMilliseconds / 1000) else {
                throw RedisError.noLatencySamples(event)
            }
            context.reply.verbatimString(graph)
        },
        Command("latency|doctor", arity: 2, flags: latencyFlags, group: "server", since: "2.8.13",
                summary: "Summarises the latency spikes recorded, with hints.") { context in
            context.reply.verbatimString(LatencyReport.doctor(
                context.latencyEvents.events,
                thresholdMilliseconds: context.configuration.latencyMonitorThresholdMilliseconds,
                slowLogSlowerThanMicroseconds: context.configuration.slowLogSlowerThanMicroseconds,
                nowSeconds: context.nowMilliseconds / 1000))
        },
        Command("latency|histogram", arity: -2, flags: latencyFlags, group: "server", since: "7.0.0",
                summary: "Returns the latency histograms of some or all commands.", handler: latencyHistogram),
        Command("latency|help", arity: 2, flags: [.loading, .stale], group: "server", since: "2.8.13",
                summary: "Returns helpful text about the different subcommands.") { context in
            context.replyHelp([
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Answer a readable summary of the latency spikes recorded, with hints.",
                "GRAPH <event>",
                "    Answer an ASCII graph of the samples of the <event> class.",
                "HISTORY <event>",
                "    Answer the recorded (unix time, milliseconds) samples of the <event> class.",
                "LATEST",
                "    Answer the newest sample and the all-time maximum of every event class.",
                "RESET [<event> ...]",
                "    Forget the samples of the named event classes",
                "    (of every class when none is named).",
                "HISTOGRAM [COMMAND ...]",
                "    Answer each named command's call count and cumulative latency distribution.",
                "    Every command that ran is answered when none is named.",
                "HELP",
                "    Print this help.",
            ])
        },
    ]

    /// Per command: a map of "calls" and "histogram_usec" (step bound in µs → calls at or under it). With names,
    /// each name (a container adds its subcommands) in the order given, unknown names skipped; without, every
    /// command that has calls.
    private static func latencyHistogram(_ context: CommandContext) throws {
        var chosen: [Command] = []
        if context.argumentCount == 2 {
            chosen = context.commands.commands.flatMap { [$0] + $0.subcommands }
        } else {
            for index in 2..<context.argumentCount {
                let parts = context.string(index).split(separator: "|", omittingEmptySubsequences: false)
                guard parts.count <= 2, let command = context.commands.lookup(String(parts[0])) else { continue }
                if parts.count == 2 {
                    if let sub = command.subcommand(named: ByteBuffer(string: String(parts[1]))) { chosen.append(sub) }
                } else {
                    chosen.append(command)
                    chosen += command.subcommands
                }
            }
        }
        chosen.removeAll { $0.latencyHistogram.isEmpty }
        context.reply.mapHeader(chosen.count)
        for command in chosen {
            let histogram = command.latencyHistogram
            context.reply.bulkString(command.name)
            context.reply.mapHeader(2)
            context.reply.bulkString("calls")
            context.reply.integer(Int64(clamping: histogram.calls))
            context.reply.bulkString("histogram_usec")
            let steps = histogram.reportedSteps()
            context.reply.mapHeader(steps.count)
            for step in steps {
                context.reply.integer(step.microseconds)
                context.reply.integer(Int64(clamping: step.cumulativeCalls))
            }
        }
    }

    /// INFO latencystats: one line per command with calls, the configured percentiles in microseconds.
    static func latencyStatsLines(_ context: CommandContext) -> [String] {
        let percentiles = context.configuration.latencyTrackingPercentiles
        return context.commands.commands.flatMap { [$0] + $0.subcommands }
            .filter { !$0.latencyHistogram.isEmpty }
            .map { command in
                let values = percentiles.map { percentile in
                    let nanoseconds = command.latencyHistogram.value(atPercentile: percentile)
                    return "p\(trimmedDecimalText(percentile))=\(fixedPointText(Double(nanoseconds) / 1000, fractionDigits: 3))"
                }
                return "latency_percentiles_usec_\(command.name):" + values.joined(separator: ",")
            }
    }

    // MARK: MONITOR

    private static func monitor(_ context: CommandContext) throws {
        // Queued in MULTI, it would run inside EXEC, where a connection cannot change mode.
        guard !context.control.executingTransaction else { throw RedisError.monitorInsideTransaction }
        // A second MONITOR answers nothing, as in Redis.
        guard !context.monitors.contains(context.client) else { return }
        context.reply.simpleString("OK")
        context.monitors.add(context.client)
    }
}
