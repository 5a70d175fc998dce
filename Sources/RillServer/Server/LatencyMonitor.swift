/// Latency spikes by event ("command", "fast-command", "aof-write", ...): the samples at or above
/// `latency-monitor-threshold` milliseconds, for LATENCY LATEST, HISTORY and RESET.
///
/// Each event keeps its last `maxSamples` samples, one per second (two spikes in the same second keep the larger),
/// and its all-time maximum. Events are listed in the order they first spiked.
final class LatencyMonitor {
    struct Sample {
        /// Unix seconds.
        let unixSeconds: Int64
        /// Milliseconds.
        var milliseconds: Int64
    }

    struct Series {
        /// Oldest first, at most `maxSamples`.
        var samples: [Sample] = []
        /// Largest sample ever recorded, in milliseconds (kept across the ring's turnover).
        var maxMilliseconds: Int64 = 0
    }

    /// Samples kept per event (Redis keeps 160).
    static let maxSamples = 160

    private(set) var events: [(name: String, series: Series)] = []

    /// Records `milliseconds` for `event` when the monitor is on (`thresholdMilliseconds` > 0) and it reaches it.
    @inline(__always)
    func add(_ event: String, milliseconds: Int64, thresholdMilliseconds: Int, unixSeconds: @autoclosure () -> Int64) {
        guard thresholdMilliseconds > 0, milliseconds >= thresholdMilliseconds else { return }
        record(event, milliseconds: milliseconds, unixSeconds: unixSeconds())
    }

    func record(_ event: String, milliseconds: Int64, unixSeconds: Int64) {
        var position = events.firstIndex { $0.name == event }
        if position == nil {
            events.append((event, Series()))
            position = events.count - 1
        }
        let index = position!  // set just above when missing
        var series = events[index].series
        if let last = series.samples.last, last.unixSeconds == unixSeconds {
            series.samples[series.samples.count - 1].milliseconds = max(last.milliseconds, milliseconds)
        } else {
            if series.samples.count == Self.maxSamples { series.samples.removeFirst() }
            series.samples.append(Sample(unixSeconds: unixSeconds, milliseconds: milliseconds))
        }
        series.maxMilliseconds = max(series.maxMilliseconds, milliseconds)
        events[index].series = series
    }

    func series(of event: String) -> Series? {
        events.first { $0.name == event }?.series
    }

    /// Forgets the named events (every event when `names` is nil); answers how many existed.
    func reset(_ names: [String]?) -> Int {
        guard let names else {
            defer { events.removeAll() }
            return events.count
        }
        let before = events.count
        let forgotten = Set(names)
        events.removeAll { forgotten.contains($0.name) }
        return before - events.count
    }
}
