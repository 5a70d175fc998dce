import Prometheus
import RillCore

/// The Prometheus view of the server (`metrics-port`). Everything here runs on the event loop that owns the
/// keyspace: command latencies are recorded as commands finish, and a scrape reads the keyspace between two
/// commands, so neither needs a lock around the data. The histograms' own locks are never contended for the
/// same reason.
final class MetricsRegistry {
    /// The per-command latency histograms, from the histogram LATENCY HISTOGRAM reads (`LatencyHistogram`): its
    /// power-of-two steps (1 µs, 2, 4, 8, 16, 33, 66 µs ... about 1.08 s) are the buckets, exact for durations
    /// measured in whole microseconds. Written as text: the Prometheus library's histograms keep their own counts.
    private func emitLatencyHistograms(_ commands: CommandTable, into text: inout [UInt8]) {
        let used = commands.commands.flatMap { [$0] + $0.subcommands }.filter { !$0.latencyHistogram.isEmpty }
        guard !used.isEmpty else { return }
        let bounds = (0..<LatencyHistogram.reportingStepCount).map { step in
            trimmedDecimalText(Double(LatencyHistogram.stepBoundMicroseconds(step)) / 1_000_000)
        }
        var lines = "# HELP rill_command_duration_seconds Time spent running each command (a blocked call: its attempts, "
            + "not its wait)\n# TYPE rill_command_duration_seconds histogram\n"
        for command in used {
            let histogram = command.latencyHistogram
            let label = "command=\"\(command.name)\""
            for (bound, cumulative) in zip(bounds, histogram.cumulativeStepCounts()) {
                lines += "rill_command_duration_seconds_bucket{\(label),le=\"\(bound)\"} \(cumulative)\n"
            }
            lines += "rill_command_duration_seconds_bucket{\(label),le=\"+Inf\"} \(histogram.calls)\n"
            lines += "rill_command_duration_seconds_sum{\(label)} "
                + "\(trimmedDecimalText(Double(histogram.totalMicroseconds) / 1_000_000))\n"
            lines += "rill_command_duration_seconds_count{\(label)} \(histogram.calls)\n"
        }
        text += Array(lines.utf8)
    }

    /// The Prometheus text exposition of the server now. Per-stream series cover at most `metrics-max-streams`
    /// streams, the longest ones; finding them is one pass over the keys, the rest is O(blocks + groups) per
    /// exported stream.
    func scrape(_ server: ServerState) -> [UInt8] {
        let now = Clock.milliseconds()
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "rill", metricName: name, unitName: unit,
                                                                helpText: help), labels: labels)
        }
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "rill", metricName: name,
                                                                  unitName: "total", helpText: help))
        }
        gauge("connected_clients", "", "Client connections open now", []).set(Int64(server.clients.count))
        gauge("used_memory", "bytes", "Bytes allocated (INFO memory used_memory)", [])
            .set(Int64(Allocator.statistics().allocated))
        gauge("maxmemory", "bytes", "The maxmemory limit; 0 when unlimited", []).set(Int64(server.configuration.maxMemoryBytes))
        counter("stream_acked_trimmed_entries", "Stream entries removed by maxmemory-stream-policy trim-acked")
            .increment(by: server.stats.acknowledgedEntriesTrimmed)
        counter("oom_rejected_commands", "Commands refused because used memory was over maxmemory")
            .increment(by: server.stats.outOfMemoryRejections)

        emitDatabaseTotals(server.keyspace, nowMilliseconds: now, gauge: gauge, registry: registry)
        if server.configuration.metricsKeyNames {
            emitStreamSeries(server, nowMilliseconds: now, gauge: gauge, registry: registry)
        }
        var text: [UInt8] = []
        emitLatencyHistograms(server.commands, into: &text)
        registry.emit(into: &text)
        return text
    }

    /// Per database: its streams, their entries and bytes, and their consumer groups' lag, pending entries and
    /// oldest pending idle time (the largest), dead-lettered entries. No key name: what every scrape exports.
    /// O(streams + blocks + groups) over all streams.
    private func emitDatabaseTotals(_ keyspace: Keyspace, nowMilliseconds now: Int64,
                                    gauge: (String, String, String, [(String, String)]) -> Gauge,
                                    registry: PrometheusCollectorRegistry) {
        for database in 0..<keyspace.databaseCount {
            var streams = 0, entries: UInt64 = 0, bytes = 0, groups = 0, lag: Int64 = 0, pending = 0
            var oldestIdle: Int64 = 0, deadLettered: UInt64 = 0
            keyspace[database].forEachLiveStream(nowMilliseconds: now) { _, stream in
                streams += 1
                entries += stream.length
                bytes += stream.memoryFootprint + stream.consumerGroupMemoryFootprint
                for group in stream.consumerGroups {
                    groups += 1
                    lag += stream.lag(of: group) ?? 0
                    pending += group.pendingCount
                    oldestIdle = max(oldestIdle, group.pendingEntries(limit: 1).first?.idle(nowMilliseconds: now) ?? 0)
                    deadLettered += UInt64(group.deadLetteredCount)
                }
            }
            guard streams > 0 else { continue }
            let labels = [("db", String(database))]
            gauge("db_streams", "", "Streams in the database", labels).set(Int64(streams))
            gauge("db_stream_entries", "", "Entries of the database's streams (their XLEN summed)", labels)
                .set(Int64(clamping: entries))
            gauge("db_stream_memory", "bytes", "Approximate bytes held by the database's streams", labels)
                .set(Int64(bytes))
            gauge("db_consumer_groups", "", "Consumer groups of the database's streams", labels).set(Int64(groups))
            gauge("db_consumer_group_lag", "", "Lag of the database's consumer groups summed (a nil lag counts 0)",
                  labels).set(lag)
            gauge("db_consumer_group_pending", "", "Pending entries of the database's consumer groups summed",
                  labels).set(Int64(pending))
            gauge("db_consumer_group_oldest_pending_idle", "milliseconds",
                  "The largest idle time of a group's lowest-id pending entry in the database; 0 when none", labels)
                .set(oldestIdle)
            registry.makeCounter(descriptor: MetricNameDescriptor(
                namespace: "rill", metricName: "db_consumer_group_dead_lettered", unitName: "total",
                helpText: "Entries moved to dead-letter streams by the database's consumer groups"),
                labels: labels).increment(by: Int64(clamping: deadLettered))
        }
    }

    /// `metrics-key-names yes`: series per stream and per consumer group, labelled with the key (and group) name,
    /// for the `metrics-max-streams` longest streams.
    private func emitStreamSeries(_ server: ServerState, nowMilliseconds now: Int64,
                                  gauge: (String, String, String, [(String, String)]) -> Gauge,
                                  registry: PrometheusCollectorRegistry) {
        let (streams, omitted) = longestStreams(in: server.keyspace, limit: server.configuration.metricsMaxStreams,
                                                nowMilliseconds: now)
        gauge("metrics_streams_omitted", "", "Streams left out of the per-stream series (metrics-max-streams)", [])
            .set(Int64(omitted))
        for (database, key, stream) in streams {
            let streamLabels = [("db", String(database)), ("stream", String(decoding: key, as: UTF8.self))]
            gauge("stream_length", "", "Entries in the stream (XLEN)", streamLabels).set(Int64(stream.length))
            gauge("stream_memory", "bytes", "Approximate bytes held by the stream: entries and consumer groups",
                  streamLabels).set(Int64(stream.memoryFootprint + stream.consumerGroupMemoryFootprint))
            for group in stream.consumerGroups {
                let labels = streamLabels + [("group", String(decoding: group.name, as: UTF8.self))]
                if let lag = stream.lag(of: group) {
                    gauge("consumer_group_lag", "", "Entries not yet delivered to the group (XINFO GROUPS lag); "
                          + "absent while Redis would report nil", labels).set(lag)
                }
                gauge("consumer_group_pending", "", "Entries delivered and not acknowledged (XPENDING count)",
                      labels).set(Int64(group.pendingCount))
                let oldestIdle = group.pendingEntries(limit: 1).first?.idle(nowMilliseconds: now) ?? 0
                gauge("consumer_group_oldest_pending_idle", "milliseconds",
                      "Milliseconds since the lowest-id pending entry was last delivered; 0 when none is pending",
                      labels).set(oldestIdle)
                registry.makeCounter(descriptor: MetricNameDescriptor(
                    namespace: "rill", metricName: "consumer_group_dead_lettered", unitName: "total",
                    helpText: "Entries moved to the group's dead-letter stream (XGROUP SETPOLICY MAXDELIVERIES)"),
                    labels: labels).increment(by: Int64(clamping: group.deadLetteredCount))
            }
        }
    }

    /// The `limit` longest live streams of all databases, and how many other streams exist.
    private func longestStreams(in keyspace: Keyspace, limit: Int, nowMilliseconds: Int64)
        -> (streams: [(database: Int, key: [UInt8], stream: Stream)], omitted: Int) {
        var all: [(database: Int, key: [UInt8], stream: Stream)] = []
        for database in 0..<keyspace.databaseCount {
            keyspace[database].forEachLiveStream(nowMilliseconds: nowMilliseconds) { key, stream in
                all.append((database, key, stream))
            }
        }
        guard all.count > limit else { return (all, 0) }
        all.sort { $0.stream.length > $1.stream.length }
        return (Array(all.prefix(limit)), all.count - limit)
    }
}
