import Prometheus
import RillCore

/// The Prometheus view of the server (`metrics-port`). Everything here runs on the event loop that owns the
/// keyspace: command latencies are recorded as commands finish, and a scrape reads the keyspace between two
/// commands, so neither needs a lock around the data. The histograms' own locks are never contended for the
/// same reason.
final class MetricsRegistry {
    /// Series that live as long as the process: one latency histogram per command that ran.
    private let processRegistry = PrometheusCollectorRegistry()

    /// Upper bounds from 10 µs (a fast command) to 1 s (a huge range or a slow disk under appendfsync always).
    private static let latencyBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    private static let latencyDescriptor = MetricNameDescriptor(
        namespace: "rill", metricName: "command_duration", unitName: "seconds",
        helpText: "Time spent running each command; calls that block are not timed")

    /// Records one call that did not block; the histogram is made on the command's first call, so
    /// commands never used add no series.
    func recordLatency(of command: Command, nanoseconds: UInt64) {
        let histogram = command.latencyHistogram ?? {
            let made = processRegistry.makeDurationHistogram(
                descriptor: Self.latencyDescriptor, labels: [("command", command.name)], buckets: Self.latencyBuckets)
            command.latencyHistogram = made
            return made
        }()
        histogram.record(.nanoseconds(Int64(truncatingIfNeeded: nanoseconds)))
    }

    /// The Prometheus text exposition of the server now. Per-stream series cover at most `metrics-max-streams`
    /// streams, the longest ones; finding them is one pass over the keys, the rest is O(blocks + groups) per
    /// exported stream.
    func scrape(_ server: ServerState) -> [UInt8] {
        let now = Clock.milliseconds()
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "rill", metricName: name, unitName: unit,
                                                                helpText: help), labels: labels)
        }
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "rill", metricName: name,
                                                                  unitName: "total", helpText: help))
        }
        gauge("connected_clients", "", "Client connections open now").set(Int64(server.clients.count))
        gauge("used_memory", "bytes", "Bytes allocated (INFO memory used_memory)")
            .set(Int64(Allocator.statistics().allocated))
        gauge("maxmemory", "bytes", "The maxmemory limit; 0 when unlimited").set(Int64(server.configuration.maxMemoryBytes))
        counter("stream_acked_trimmed_entries", "Stream entries removed by maxmemory-stream-policy trim-acked")
            .increment(by: server.stats.acknowledgedEntriesTrimmed)
        counter("oom_rejected_commands", "Commands refused because used memory was over maxmemory")
            .increment(by: server.stats.outOfMemoryRejections)

        let (streams, omitted) = longestStreams(in: server.keyspace, limit: server.configuration.metricsMaxStreams,
                                                nowMilliseconds: now)
        gauge("metrics_streams_omitted", "", "Streams left out of the per-stream series (metrics-max-streams)")
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
        var text: [UInt8] = []
        processRegistry.emit(into: &text)
        registry.emit(into: &text)
        return text
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
