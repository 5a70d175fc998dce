#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RillCore

/// INFO [section ...]: Redis' sections and field names, so tools that poll INFO read Rill unchanged.
enum InfoReport {
    /// Sections printed by INFO with no argument or "default", in Redis' order.
    static let defaultSections = ["server", "clients", "memory", "persistence", "threads", "stats", "replication",
                                  "cpu", "modules", "errorstats", "cluster", "keyspace", "keysizes"]
    /// Sections "all" adds to the default ones.
    static let allOnlySections = ["commandstats", "latencystats"]
    /// Every section in the order INFO prints them, whatever order they were asked in.
    static let printOrder = ["server", "clients", "memory", "persistence", "threads", "stats", "replication", "cpu",
                             "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace",
                             "keysizes"]

    static func handle(_ context: CommandContext) throws {
        var requested: Set<String> = []
        for index in 1..<max(1, context.argumentCount) {
            let word = context.string(index).lowercased()
            switch word {
            case "default": requested.formUnion(defaultSections)
            case "all", "everything": requested.formUnion(defaultSections + allOnlySections)
            default: requested.insert(word)
            }
        }
        if requested.isEmpty { requested = Set(defaultSections) }
        let ordered = printOrder.filter(requested.contains)
        let text = ordered.map { render($0, context) }.filter { !$0.isEmpty }.joined(separator: "\r\n")
        context.reply.verbatimString(text)
    }

    private static func render(_ section: String, _ context: CommandContext) -> String {
        let lines: [String]
        switch section {
        case "server": lines = serverLines(context)
        case "clients": lines = clientLines(context)
        case "memory": lines = memoryLines(context)
        case "persistence": lines = persistenceLines(context)
        case "threads":
            let stats = context.control.stats
            // One thread serves every client: Redis' main thread line.
            lines = ["io_thread_0:clients=\(context.clients.count),reads=\(stats.readsProcessed),"
                     + "writes=\(stats.writesProcessed)"]
        case "stats": lines = statsLines(context)
        case "replication":
            lines = replicationLines(context)
        case "cpu":
            let cpu = ProcessFacts.cpuSeconds()
            let main = ProcessFacts.mainThreadCPUSeconds()
            func seconds(_ value: Double) -> String { fixedPointText(value, fractionDigits: 6) }
            lines = ["used_cpu_sys:\(seconds(cpu.system))", "used_cpu_user:\(seconds(cpu.user))",
                     "used_cpu_sys_children:0.000000", "used_cpu_user_children:0.000000",
                     "used_cpu_sys_main_thread:\(seconds(main.system))",
                     "used_cpu_user_main_thread:\(seconds(main.user))"]
        case "modules":
            lines = []
        case "errorstats":
            lines = context.control.stats.errorCounts.sorted { $0.key < $1.key }
                .map { "errorstat_\($0.key):count=\($0.value)" }
        case "cluster":
            lines = ["cluster_enabled:0"]
        case "keyspace":
            lines = context.keyspace.infoKeyspaceLines(nowMilliseconds: context.nowMilliseconds)
        case "keysizes":
            lines = keySizeLines(context)
        case "commandstats":
            // As Redis: a command refused every time it was sent has a line too.
            let called = context.commands.commands.flatMap { [$0] + $0.subcommands }.filter { command -> Bool in
                let counters = command.counters
                return counters.calls > 0 || counters.rejectedCalls > 0 || counters.failedCalls > 0
            }
            lines = called.map { command in
                let (name, counters) = (command.name, command.counters)
                let perCall = counters.calls > 0 ? Double(counters.microseconds) / Double(counters.calls) : 0
                return "cmdstat_\(name):calls=\(counters.calls),usec=\(counters.microseconds),"
                    + "usec_per_call=\(fixedPointText(perCall, fractionDigits: 2)),rejected_calls=\(counters.rejectedCalls),"
                    + "failed_calls=\(counters.failedCalls)"
            }
        case "latencystats":
            lines = ObservabilityCommands.latencyStatsLines(context)
        default:
            return ""
        }
        let title = section == "cpu" ? "CPU" : section.prefix(1).uppercased() + section.dropFirst()
        return (["# \(title)"] + lines).joined(separator: "\r\n") + "\r\n"
    }

    private static func serverLines(_ context: CommandContext) -> [String] {
        let server = context.control
        let now = Clock.microseconds()
        let uptime = (now / 1000 - server.startedAt) / 1000
        let configuration = context.configuration
        let binds = configuration.bindAddresses.map { "bind=\($0)" }.joined(separator: ",")
        return [
            "redis_version:\(announcedRedisVersion)", "rill_version:\(rillVersion)", "redis_git_sha1:00000000",
            "redis_git_dirty:0", "redis_build_id:0", "redis_mode:standalone", "os:\(ProcessFacts.operatingSystem)",
            "arch_bits:64", "monotonic_clock:POSIX clock_gettime", "multiplexing_api:epoll",
            "io_engine:\(server.ioEngineInUse)",
            // Not built by GCC: Redis prints 0.0.0 then.
            "atomicvar_api:c11-builtin", "gcc_version:0.0.0", "process_id:\(ProcessFacts.processID)",
            "process_supervised:no", "run_id:\(runID)", "tcp_port:\(server.boundPort)", "server_time_usec:\(now)",
            "uptime_in_seconds:\(uptime)", "uptime_in_days:\(uptime / 86400)", "hz:\(configuration.hz)",
            "configured_hz:\(configuration.configuredHz)",
            "lru_clock:\(AccessClock.reading(atMilliseconds: now / 1000))",
            "executable:\(CommandLine.arguments.first ?? "")", "config_file:\(server.configFile ?? "")",
            "io_threads_active:0",
        ] + (server.boundPort != 0 ? ["listener0:name=tcp,\(binds),port=\(server.boundPort)"] : [])
            // Numbered by connection type as Redis numbers them (tcp 0, unix 1, tls 2).
            + (server.boundTLSPort != 0 ? ["listener2:name=tls,\(binds),port=\(server.boundTLSPort)"] : [])
    }

    private static func clientLines(_ context: CommandContext) -> [String] {
        let clients = context.clients.values
        let watching = clients.reduce(0) { $0 + ($1.watchedKeys.isEmpty ? 0 : 1) }
        let watchedKeys = context.keyspace.databases.reduce(0) { $0 + $1.watchedKeyCount }
        // The cron's peaks of the last seconds, and the clients as they are now (the cron may not have run yet).
        let recent = context.control.clientPeaks.peaks(at: context.nowMilliseconds / 1000)
        let input = clients.reduce(recent.input) { max($0, $1.queryBufferLength + $1.queryBufferFree) }
        let output = clients.reduce(recent.output) { max($0, $1.outputBytes) }
        return [
            "connected_clients:\(context.clients.count)", "cluster_connections:0",
            "maxclients:\(context.configuration.maxClients)",
            "client_recent_max_input_buffer:\(input)", "client_recent_max_output_buffer:\(output)",
            "blocked_clients:\(context.clients.blockedCount)", "tracking_clients:0",
            "pubsub_clients:\(context.pubSub.subscribedClients)",
            "watching_clients:\(watching)", "clients_in_timeout_table:\(context.clients.blockedCount)",
            "total_watched_keys:\(watchedKeys)", "total_blocking_keys:\(context.blocking.keyCount)",
            "total_blocking_keys_on_nokey:0",
        ]
    }

    private static func memoryLines(_ context: CommandContext) -> [String] {
        let memory = MemoryOverview(context)
        let figures = memory.allocator
        let rss = memory.residentSetSize
        let totalSystem = ProcessFacts.physicalMemory()
        let configuration = context.configuration
        func ratio(_ numerator: Int, _ denominator: Int) -> String {
            fixedPointText(MemoryOverview.ratio(numerator, denominator), fractionDigits: 2)
        }
        return [
            "used_memory:\(figures.allocated)", "used_memory_human:\(human(figures.allocated))",
            "used_memory_rss:\(rss)", "used_memory_rss_human:\(human(rss))",
            "used_memory_peak:\(memory.peak)", "used_memory_peak_human:\(human(memory.peak))",
            "used_memory_peak_time:\(context.control.stats.peakAllocatedAt)",
            "used_memory_peak_perc:\(ratio(figures.allocated * 100, memory.peak))%",
            "used_memory_overhead:\(memory.overhead)", "used_memory_startup:\(memory.startup)",
            "used_memory_dataset:\(memory.dataset)",
            "used_memory_dataset_perc:\(ratio(memory.dataset * 100, memory.allocatedSinceStartup))%",
            "allocator_allocated:\(figures.allocated)", "allocator_active:\(figures.active)",
            "allocator_resident:\(figures.resident)", "allocator_muzzy:\(figures.muzzy)",
            "total_system_memory:\(totalSystem)", "total_system_memory_human:\(human(totalSystem))",
            // No scripting or functions in Rill.
            "used_memory_lua:0", "used_memory_vm_eval:0", "used_memory_lua_human:0B", "used_memory_scripts_eval:0",
            "number_of_cached_scripts:0", "number_of_functions:0", "number_of_libraries:0",
            "used_memory_vm_functions:0", "used_memory_vm_total:0", "used_memory_vm_total_human:0B",
            "used_memory_functions:0", "used_memory_scripts:0", "used_memory_scripts_human:0B",
            "maxmemory:\(configuration.maxMemoryBytes)", "maxmemory_human:\(human(configuration.maxMemoryBytes))",
            "maxmemory_policy:\(configuration.maxMemoryPolicy.rawValue)",
            // Rill's: what happens to streams at the limit (maxmemory-stream-policy).
            "maxmemory_stream_policy:\(configuration.maxMemoryStreamPolicy.rawValue)",
            "allocator_frag_ratio:\(ratio(figures.active, figures.allocated))",
            "allocator_frag_bytes:\(figures.active - figures.allocated)",
            "allocator_rss_ratio:\(ratio(figures.resident, figures.active))",
            "allocator_rss_bytes:\(figures.resident - figures.active)",
            "rss_overhead_ratio:\(ratio(rss, figures.resident))", "rss_overhead_bytes:\(rss - figures.resident)",
            "mem_fragmentation_ratio:\(ratio(rss, figures.allocated))",
            "mem_fragmentation_bytes:\(rss - figures.allocated)",
            "mem_not_counted_for_evict:\(memory.appendOnlyBuffer)", "mem_replication_backlog:0",
            "mem_total_replication_buffers:0", "mem_replica_full_sync_buffer:0", "mem_clients_slaves:\(memory.replicaClientBuffers)",
            "mem_clients_normal:\(memory.clientBuffers - memory.replicaClientBuffers)", "mem_cluster_links:0",
            "mem_aof_buffer:\(memory.appendOnlyBuffer)", "mem_allocator:\(Allocator.name)",
            "mem_overhead_db_hashtable_rehashing:0", "active_defrag_running:0", "lazyfree_pending_objects:0",
            "lazyfreed_objects:0",
        ]
    }

    private static func persistenceLines(_ context: CommandContext) -> [String] {
        let snapshots = context.persistence.snapshots
        let rewrite = context.persistence.appendOnlyRewrite
        let now = Clock.milliseconds()
        let currentSeconds = snapshots.backgroundSaveStartedAt.map { (now - $0) / 1000 } ?? -1
        // Rill copies the keyspace value instead of forking, so there is no copy-on-write to report.
        var lines = [
            "loading:0", "async_loading:0", "current_cow_peak:0", "current_cow_size:0", "current_cow_size_age:0",
            "current_fork_perc:0.00", "current_save_keys_processed:0", "current_save_keys_total:0",
            "rdb_changes_since_last_save:\(context.changes.dirty)",
            "rdb_bgsave_in_progress:\(snapshots.backgroundSaveInProgress ? 1 : 0)",
            "rdb_last_save_time:\(snapshots.lastSaveSeconds)",
            "rdb_last_bgsave_status:\(snapshots.lastSaveSucceeded ? "ok" : "err")",
            "rdb_last_bgsave_time_sec:\(snapshots.lastBackgroundSaveSeconds)",
            "rdb_current_bgsave_time_sec:\(currentSeconds)", "rdb_saves:\(snapshots.savesCompleted)",
            "rdb_last_cow_size:0",
            // Rill's stand-in for the fork pause: how long BGSAVE held the event loop copying the keyspace.
            "rdb_last_bgsave_pause_usec:\(snapshots.lastCopyPauseMicroseconds)",
            "rdb_last_load_keys_expired:\(snapshots.lastLoadKeysExpired)",
            "rdb_last_load_keys_loaded:\(snapshots.lastLoadKeysLoaded)",
            "aof_enabled:\(context.configuration.appendOnly ? 1 : 0)",
            "aof_rewrite_in_progress:\(rewrite.inProgress ? 1 : 0)",
            "aof_rewrite_scheduled:\(rewrite.scheduled ? 1 : 0)",
            "aof_last_rewrite_time_sec:\(rewrite.lastRewriteSeconds)",
            "aof_current_rewrite_time_sec:\(rewrite.startedAt.map { (now - $0) / 1000 } ?? -1)",
            "aof_last_bgrewrite_status:\(rewrite.lastSucceeded ? "ok" : "err")",
            "aof_rewrites:\(rewrite.rewritesStarted)",
            "aof_rewrites_consecutive_failures:\(rewrite.consecutiveFailures)",
            "aof_last_write_status:\(context.persistence.appendOnlyHealth.failure == nil ? "ok" : "err")",
            "aof_last_cow_size:0",
            // Rill's stand-in for the fork pause of the latest rewrite.
            "aof_last_rewrite_pause_usec:\(rewrite.lastCopyPauseMicroseconds)",
            "module_fork_in_progress:0", "module_fork_last_cow_size:0",
        ]
        if let log = context.persistence.appendOnlyLog {
            lines += [
                "aof_current_size:\(context.persistence.appendOnlyCurrentSize)",
                "aof_base_size:\(rewrite.sizeAtLastRewrite)",
                "aof_pending_rewrite:\(rewrite.scheduled ? 1 : 0)", "aof_buffer_length:\(log.pendingByteCount)",
                "aof_pending_bio_fsync:0", "aof_delayed_fsync:0",
            ]
        }
        return lines
    }

    private static func statsLines(_ context: CommandContext) -> [String] {
        let server = context.control
        let stats = server.stats
        let refusals = context.accessControl.refusalCounts
        let keyspaceStatistics = context.keyspace.statistics
        let (inputRate, outputRate) = server.instantaneousKilobytesPerSecond
        func rate(_ value: Double) -> String { fixedPointText(value, fractionDigits: 2) }
        return [
            "total_connections_received:\(stats.totalConnectionsReceived)",
            "total_commands_processed:\(stats.totalCommandsProcessed)",
            "instantaneous_ops_per_sec:\(server.instantaneousOpsPerSecond)",
            "total_net_input_bytes:\(stats.netInputBytes)", "total_net_output_bytes:\(stats.netOutputBytes)",
            "total_net_repl_input_bytes:\(stats.replicationInputBytes)", "total_net_repl_output_bytes:0",
            "instantaneous_input_kbps:\(rate(inputRate))", "instantaneous_output_kbps:\(rate(outputRate))",
            "instantaneous_input_repl_kbps:0.00", "instantaneous_output_repl_kbps:0.00",
            "rejected_connections:\(stats.rejectedConnections)",
            "sync_full:\(context.replication.fullSynchronisations)",
            "sync_partial_ok:\(context.replication.partialSynchronisations)",
            "sync_partial_err:\(context.replication.refusedPartialSynchronisations)", "expired_subkeys:0", "expired_keys:\(keyspaceStatistics.expiredKeys)",
            "expired_stale_perc:0.00", "expired_time_cap_reached_count:0", "expire_cycle_cpu_milliseconds:0",
            "evicted_keys:0", "evicted_clients:\(stats.evictedClients)", "evicted_scripts:0", "total_eviction_exceeded_time:0",
            "current_eviction_exceeded_time:0", "keyspace_hits:\(keyspaceStatistics.keyspaceHits)",
            "keyspace_misses:\(keyspaceStatistics.keyspaceMisses)", "pubsub_channels:\(context.pubSub.channelCount)",
            "pubsub_patterns:\(context.pubSub.patternCount)", "pubsubshard_channels:\(context.pubSub.shardChannelCount)",
            // Rill's stand-in for the fork: the pause of the latest keyspace copy; it never forks.
            "latest_fork_usec:\(context.persistence.snapshots.lastCopyPauseMicroseconds)", "total_forks:0",
            "migrate_cached_sockets:0", "slave_expires_tracked_keys:0", "active_defrag_hits:0",
            "active_defrag_misses:0", "active_defrag_key_hits:0", "active_defrag_key_misses:0",
            "total_active_defrag_time:0", "current_active_defrag_time:0", "tracking_total_keys:0",
            "tracking_total_items:0", "tracking_total_prefixes:0", "unexpected_error_replies:0",
            "total_error_replies:\(stats.totalErrorReplies)", "dump_payload_sanitizations:0",
            "total_reads_processed:\(stats.readsProcessed)", "total_writes_processed:\(stats.writesProcessed)",
            "io_threaded_reads_processed:0", "io_threaded_writes_processed:0",
            "io_threaded_total_prefetch_batches:0", "io_threaded_total_prefetch_entries:0",
            "client_query_buffer_limit_disconnections:\(stats.queryBufferLimitDisconnections)",
            "client_output_buffer_limit_disconnections:\(stats.outputBufferLimitDisconnections)", "reply_buffer_shrinks:0", "reply_buffer_expands:0",
            // SwiftNIO runs the event loop; Rill does not observe its cycles.
            "eventloop_cycles:0", "eventloop_duration_sum:0", "eventloop_duration_cmd_sum:0",
            "instantaneous_eventloop_cycles_per_sec:0", "instantaneous_eventloop_duration_usec:0",
            "acl_access_denied_auth:\(refusals["auth", default: 0])",
            "acl_access_denied_cmd:\(refusals["command", default: 0])",
            "acl_access_denied_key:\(refusals["key", default: 0])",
            "acl_access_denied_channel:\(refusals["channel", default: 0])",
            // Rill's: entries removed by maxmemory-stream-policy trim-acked, writes refused at maxmemory.
            "stream_acked_trimmed_entries:\(stats.acknowledgedEntriesTrimmed)",
            "oom_rejected_commands:\(stats.outOfMemoryRejections)",
        ]
    }

    /// `db<n>_distrib_<kind>:<bucket>=<keys>,...` per non-empty histogram, buckets named by their lower bound
    /// (1024-based K, M, G... above 1023).
    private static func keySizeLines(_ context: CommandContext) -> [String] {
        var lines: [String] = []
        for (index, database) in context.keyspace.databases.enumerated() where !database.isEmpty {
            let histograms = database.keySizeHistograms
            for (kind, counts) in [("strings_sizes", histograms.strings), ("lists_items", histograms.lists),
                                   ("sets_items", histograms.sets)] {
                let buckets = counts.indices.filter { counts[$0] > 0 }
                guard !buckets.isEmpty else { continue }
                let text = buckets.map { "\(bucketName($0))=\(counts[$0])" }.joined(separator: ",")
                lines.append("db\(index)_distrib_\(kind):\(text)")
            }
        }
        return lines
    }

    private static func bucketName(_ bucket: Int) -> String {
        guard bucket > 0 else { return "0" }
        let exponent = bucket - 1
        let units = ["", "K", "M", "G", "T", "P", "E"]
        return "\(1 << (exponent % 10))\(units[exponent / 10])"
    }

    /// INFO replication for a primary, line for line as Redis writes it (Sentinel parses the slaveN lines).
    private static func replicationLines(_ context: CommandContext) -> [String] {
        let replication = context.replication
        let now = context.nowMilliseconds
        var lines: [String]
        if let link = context.control.primaryLink {
            let configuration = context.configuration
            lines = ["role:slave", "master_host:\(link.host)", "master_port:\(link.port)",
                     "master_link_status:\(link.isUp ? "up" : "down")",
                     "master_last_io_seconds_ago:\(link.isUp ? (now - link.lastIOAt) / 1000 : -1)",
                     "master_sync_in_progress:\(link.state == .sync ? 1 : 0)",
                     "slave_read_repl_offset:\(replication.offset)", "slave_repl_offset:\(replication.offset)",
                     "replica_full_sync_buffer_size:0", "replica_full_sync_buffer_peak:0",
                     "master_current_sync_attempts:\(link.currentAttempts)",
                     "master_total_sync_attempts:\(link.totalAttempts)"]
            if link.isUp {
                lines.append("master_link_up_since_seconds:\((now - link.upSince) / 1000)")
            } else {
                let downSeconds = link.downSince == 0 ? -1 : (now - link.downSince) / 1000
                lines.append("master_link_down_since_seconds:\(downSeconds)")
            }
            lines += ["total_disconnect_time_sec:0", "slave_priority:\(configuration.replicaPriority)",
                      "slave_read_only:\(configuration.replicaReadOnly ? 1 : 0)",
                      "replica_announced:\(configuration.replicaAnnounced ? 1 : 0)",
                      "connected_slaves:\(replication.replicas.count)"]
        } else {
            lines = ["role:master", "connected_slaves:\(replication.replicas.count)"]
        }
        if context.configuration.minReplicasToWrite > 0 && context.configuration.minReplicasMaxLagSeconds > 0 {
            let good = replication.replicasWithLag(atMost: context.configuration.minReplicasMaxLagSeconds, now: now)
            lines.append("min_slaves_good_slaves:\(good)")
        }
        for (index, replica) in replication.replicas.enumerated() {
            let lag = (now - replica.lastAcknowledgementAt) / 1000
            lines.append("slave\(index):ip=\(replica.announcedIP),port=\(replica.client.replicaHandshake.listeningPort),"
                         + "state=\(replica.state.infoName),offset=\(replica.acknowledgedOffset),lag=\(max(0, lag))")
        }
        let backlog = replication.backlog
        lines += ["master_failover_state:no-failover", "master_replid:\(replication.replicationID)",
                  "master_replid2:\(replication.previousReplicationID)", "master_repl_offset:\(replication.offset)",
                  "second_repl_offset:\(replication.previousIDEndOffset)",
                  "repl_backlog_active:\(backlog == nil ? 0 : 1)",
                  "repl_backlog_size:\(context.configuration.replicationBacklogSize)",
                  "repl_backlog_first_byte_offset:\(backlog?.firstByteOffset ?? 0)",
                  "repl_backlog_histlen:\(backlog?.historyLength ?? 0)"]
        return lines
    }

    /// This process's run id (INFO run_id, master_replid, PSYNC's FULLRESYNC): 40 random hex digits.
    static let runID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()

    static func human(_ bytes: Int) -> String {
        let units: [(Double, String)] = [(1_073_741_824, "G"), (1_048_576, "M"), (1024, "K")]
        for (size, unit) in units where Double(bytes) >= size {
            return fixedPointText(Double(bytes) / size, fractionDigits: 2) + unit
        }
        return "\(bytes)B"
    }
}
