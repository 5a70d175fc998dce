#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RillCore

/// INFO [section ...]: Redis' sections and field names, so tools that poll INFO read Rill unchanged.
enum InfoReport {
    /// Sections printed by INFO with no argument or "default", in Redis' order.
    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                                  "modules", "errorstats", "cluster", "keyspace"]

    static func handle(_ context: CommandContext) throws {
        var requested: [String] = []
        for index in 1..<max(1, context.argumentCount) {
            let word = context.string(index).lowercased()
            switch word {
            case "default": requested += defaultSections
            case "all", "everything": requested += defaultSections + ["commandstats"]
            default: requested.append(word)
            }
        }
        if requested.isEmpty { requested = defaultSections }
        var seen: Set<String> = []
        let ordered = (defaultSections + ["commandstats"]).filter { requested.contains($0) && seen.insert($0).inserted }
        let text = ordered.map { render($0, context) }.filter { !$0.isEmpty }.joined(separator: "\r\n")
        context.reply.verbatimString(text)
    }

    private static func render(_ section: String, _ context: CommandContext) -> String {
        let server = context.control
        var lines: [String] = []
        switch section {
        case "server":
            let now = Clock.microseconds()
            let uptime = (now / 1000 - server.startedAt) / 1000
            lines = [
                "redis_version:\(announcedRedisVersion)", "rill_version:\(rillVersion)", "redis_git_sha1:00000000",
                "redis_git_dirty:0", "redis_build_id:0", "redis_mode:standalone", "os:\(ProcessFacts.operatingSystem)",
                "arch_bits:64", "multiplexing_api:epoll", "process_id:\(ProcessFacts.processID)", "run_id:\(runID)",
                "tcp_port:\(server.boundPort)", "server_time_usec:\(now)", "uptime_in_seconds:\(uptime)",
                "uptime_in_days:\(uptime / 86400)", "hz:\(context.configuration.hz)",
                "executable:\(CommandLine.arguments.first ?? "")", "config_file:\(server.configFile ?? "")",
            ]
        case "clients":
            lines = [
                "connected_clients:\(context.clients.count)", "cluster_connections:0",
                "maxclients:\(context.configuration.maxClients)", "blocked_clients:\(context.clients.blockedCount)",
                "tracking_clients:0", "clients_in_timeout_table:\(context.clients.blockedCount)",
                "total_blocking_keys:\(context.blocking.keyCount)", "total_blocking_keys_on_nokey:0",
            ]
        case "memory":
            let (allocated, resident) = Allocator.statistics()
            let rss = ProcessFacts.residentSetSize()
            lines = [
                "used_memory:\(allocated)", "used_memory_human:\(human(allocated))",
                "used_memory_rss:\(rss)", "used_memory_rss_human:\(human(rss))",
                "allocator_resident:\(resident)", "maxmemory:\(context.configuration.maxMemoryBytes)",
                "maxmemory_human:\(human(context.configuration.maxMemoryBytes))", "maxmemory_policy:noeviction",
                // Rill's: what happens to streams at the limit (maxmemory-stream-policy).
                "maxmemory_stream_policy:\(context.configuration.maxMemoryStreamPolicy.rawValue)",
                "mem_allocator:\(Allocator.name)",
            ]
        case "persistence":
            let snapshots = context.persistence.snapshots
            let rewrite = context.persistence.appendOnlyRewrite
            let now = Clock.milliseconds()
            let currentSeconds = snapshots.backgroundSaveStartedAt.map { (now - $0) / 1000 } ?? -1
            lines = [
                "loading:0", "async_loading:0", "rdb_changes_since_last_save:\(context.changes.dirty)",
                "rdb_bgsave_in_progress:\(snapshots.backgroundSaveInProgress ? 1 : 0)",
                "rdb_last_save_time:\(snapshots.lastSaveSeconds)",
                "rdb_last_bgsave_status:\(snapshots.lastSaveSucceeded ? "ok" : "err")",
                "rdb_last_bgsave_time_sec:\(snapshots.lastBackgroundSaveSeconds)",
                "rdb_current_bgsave_time_sec:\(currentSeconds)", "rdb_saves:\(snapshots.savesCompleted)",
                "rdb_last_cow_size:0",
                // Rill's stand-in for the fork pause: how long BGSAVE held the event loop copying the keyspace.
                "rdb_last_bgsave_pause_usec:\(snapshots.lastCopyPauseMicroseconds)",
                "aof_enabled:\(context.configuration.appendOnly ? 1 : 0)",
                "aof_rewrite_in_progress:\(rewrite.inProgress ? 1 : 0)",
                "aof_rewrite_scheduled:\(rewrite.scheduled ? 1 : 0)",
                "aof_last_rewrite_time_sec:\(rewrite.lastRewriteSeconds)",
                "aof_current_rewrite_time_sec:\(rewrite.startedAt.map { (now - $0) / 1000 } ?? -1)",
                "aof_last_bgrewrite_status:\(rewrite.lastSucceeded ? "ok" : "err")",
                "aof_rewrites:\(rewrite.rewritesStarted)",
                "aof_rewrites_consecutive_failures:\(rewrite.consecutiveFailures)",
                "aof_last_write_status:\(context.persistence.appendOnlyWriteFailed ? "err" : "ok")",
                "aof_last_cow_size:0",
                // Rill's stand-in for the fork pause of the latest rewrite.
                "aof_last_rewrite_pause_usec:\(rewrite.lastCopyPauseMicroseconds)",
            ]
            if let log = context.persistence.appendOnlyLog {
                lines += [
                    "aof_current_size:\(context.persistence.appendOnlyCurrentSize)", "aof_base_size:\(rewrite.sizeAtLastRewrite)",
                    "aof_pending_rewrite:\(rewrite.scheduled ? 1 : 0)", "aof_buffer_length:\(log.pendingByteCount)",
                ]
            }
        case "stats":
            let stats = server.stats
            let keyspaceStatistics = context.keyspace.statistics
            lines = [
                "total_connections_received:\(stats.totalConnectionsReceived)",
                "total_commands_processed:\(stats.totalCommandsProcessed)",
                "instantaneous_ops_per_sec:\(server.instantaneousOpsPerSecond)",
                "total_net_input_bytes:\(stats.netInputBytes)", "total_net_output_bytes:\(stats.netOutputBytes)",
                "rejected_connections:\(stats.rejectedConnections)", "expired_keys:\(keyspaceStatistics.expiredKeys)",
                "evicted_keys:0", "keyspace_hits:\(keyspaceStatistics.keyspaceHits)",
                "keyspace_misses:\(keyspaceStatistics.keyspaceMisses)",
                "pubsub_channels:0", "pubsub_patterns:0", "total_error_replies:\(stats.totalErrorReplies)",
                "total_blocking_keys:\(context.blocking.keyCount)",
                "latest_fork_usec:\(context.persistence.snapshots.lastCopyPauseMicroseconds)",
                // Rill's: entries removed by maxmemory-stream-policy trim-acked, writes refused at maxmemory.
                "stream_acked_trimmed_entries:\(stats.acknowledgedEntriesTrimmed)",
                "oom_rejected_commands:\(stats.outOfMemoryRejections)",
            ]
        case "replication":
            lines = ["role:master", "connected_slaves:0", "master_repl_offset:0"]
        case "cpu":
            let cpu = ProcessFacts.cpuSeconds()
            lines = ["used_cpu_sys:\(fixedPointText(cpu.system, fractionDigits: 6))",
                     "used_cpu_user:\(fixedPointText(cpu.user, fractionDigits: 6))"]
        case "modules":
            lines = []
        case "errorstats":
            lines = server.stats.errorCounts.sorted { $0.key < $1.key }.map { "errorstat_\($0.key):count=\($0.value)" }
        case "cluster":
            lines = ["cluster_enabled:0"]
        case "keyspace":
            lines = context.keyspace.infoKeyspaceLines(nowMilliseconds: context.nowMilliseconds)
        case "commandstats":
            let called = context.commands.commands.flatMap { [$0] + $0.subcommands }.filter { $0.counters.calls > 0 }
            lines = called.map { command in
                let (name, counters) = (command.name, command.counters)
                let perCall = counters.calls > 0 ? Double(counters.microseconds) / Double(counters.calls) : 0
                return "cmdstat_\(name):calls=\(counters.calls),usec=\(counters.microseconds),"
                    + "usec_per_call=\(fixedPointText(perCall, fractionDigits: 2)),rejected_calls=\(counters.rejectedCalls),"
                    + "failed_calls=\(counters.failedCalls)"
            }
        default:
            return ""
        }
        let title = section.prefix(1).uppercased() + section.dropFirst()
        return (["# \(title)"] + lines).joined(separator: "\r\n") + "\r\n"
    }

    private static let runID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()

    static func human(_ bytes: Int) -> String {
        let units: [(Double, String)] = [(1_073_741_824, "G"), (1_048_576, "M"), (1024, "K")]
        for (size, unit) in units where Double(bytes) >= size {
            return fixedPointText(Double(bytes) / size, fractionDigits: 2) + unit
        }
        return "\(bytes)B"
    }
}
