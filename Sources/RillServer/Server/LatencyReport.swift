/// LATENCY GRAPH and LATENCY DOCTOR texts from the latency monitor's samples.
///
/// GRAPH draws what Redis draws, since people compare the two: a title line, 80 dashes, then the samples oldest
/// first, one column each (80 columns per block), as bars four rows high scaled between the lowest and highest
/// sample, each column labelled vertically with the sample's age ("14s", "3m", "2h", "1d"). DOCTOR is Rill's own
/// summary of the same data.
enum LatencyReport {
    static let graphColumns = 80
    static let graphRows = 4
    /// Sub-row levels of a bar's top, lowest first; full cells below the top are '|'.
    private static let barTops: [UInt8] = Array("_o#".utf8)

    /// The GRAPH text for `event`; nil when it has no samples.
    static func graph(_ event: String, series: LatencyMonitor.Series, nowSeconds: Int64) -> String? {
        let samples = series.samples
        guard let lowest = samples.map(\.milliseconds).min(), let highest = samples.map(\.milliseconds).max() else {
            return nil
        }
        var text = "\(event) - high \(highest) ms, low \(lowest) ms (all time high \(series.maxMilliseconds) ms)\n"
        text += String(repeating: "-", count: graphColumns) + "\n"
        let labels = samples.map { age(nowSeconds - $0.unixSeconds) }
        var start = 0
        while start < samples.count {
            let end = min(samples.count, start + graphColumns)
            if start != 0 { text += "\n" }
            text += bars(samples[start..<end].map(\.milliseconds), labels: Array(labels[start..<end]),
                         lowest: lowest, highest: highest)
            start = end
        }
        return text
    }

    /// "12s", "5m", "3h", "2d": how long ago, in the largest unit under which it is under the next.
    static func age(_ seconds: Int64) -> String {
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" }
        if seconds < 86400 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    /// The rows of one block: `graphRows` rows of bars, a blank row, then the labels top to bottom.
    static func bars(_ values: [Int64], labels: [String], lowest: Int64, highest: Int64) -> String {
        let levels = barTops.count * graphRows
        let span = highest == lowest ? 1 : Double(highest - lowest)
        let heights = values.map { value -> Int in
            let level = Int(Double(Int((Double(value - lowest) * Double(levels)))) / span)
            return min(max(level, 0), levels - 1)
        }
        var lines: [String] = []
        for row in 0..<graphRows {
            let floor = (graphRows - row - 1) * barTops.count
            let cells = heights.map { height -> UInt8 in
                let above = height - floor
                if above < 0 { return UInt8(ascii: " ") }
                return above < barTops.count ? barTops[above] : UInt8(ascii: "|")
            }
            lines.append(String(decoding: cells, as: UTF8.self))
        }
        lines.append(String(repeating: " ", count: values.count))
        let labelBytes = labels.map { Array($0.utf8) }
        for position in 0..<(labelBytes.map(\.count).max() ?? 0) {
            lines.append(String(decoding: labelBytes.map { position < $0.count ? $0[position] : UInt8(ascii: " ") },
                                as: UTF8.self))
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// DOCTOR: per event, its spikes, their mean and mean deviation, how often they came, and the worst; then what
    /// to look at.
    static func doctor(_ events: [(name: String, series: LatencyMonitor.Series)], thresholdMilliseconds: Int,
                       slowLogSlowerThanMicroseconds: Int, nowSeconds: Int64) -> String {
        guard thresholdMilliseconds > 0 || !events.isEmpty else {
            return "The latency monitor is off: CONFIG SET latency-monitor-threshold <milliseconds> turns it on, "
                + "and LATENCY DOCTOR then reports the events that took at least that long.\n"
        }
        guard !events.isEmpty else {
            return "No latency spike has been recorded since the server started (or since LATENCY RESET): every "
                + "monitored event took less than \(thresholdMilliseconds) ms.\n"
        }
        var text = "Latency spikes recorded (events of at least \(thresholdMilliseconds) ms):\n\n"
        for (number, event) in events.enumerated() {
            let values = event.series.samples.map { Double($0.milliseconds) }
            let mean = values.reduce(0, +) / Double(max(1, values.count))
            let deviation = values.map { abs($0 - mean) }.reduce(0, +) / Double(max(1, values.count))
            let first = event.series.samples.first?.unixSeconds ?? nowSeconds
            let period = Double(max(0, nowSeconds - first)) / Double(max(1, values.count))
            text += "\(number + 1). \(event.name): \(values.count) spikes, mean \(Int64(mean.rounded())) ms, "
                + "mean deviation \(Int64(deviation.rounded())) ms, one every \(fixedPointText(period, fractionDigits: 2)) s; "
                + "worst ever \(event.series.maxMilliseconds) ms.\n"
        }
        text += "\nWhat to look at:\n"
        if events.contains(where: { $0.name == "command" || $0.name == "fast-command" }) {
            text += "- Slow commands: SLOWLOG GET lists them"
            if slowLogSlowerThanMicroseconds < 0 || slowLogSlowerThanMicroseconds > thresholdMilliseconds * 1000 {
                text += " once slowlog-log-slower-than is at most \(thresholdMilliseconds * 1000) microseconds"
            }
            text += "; LATENCY HISTOGRAM shows each command's distribution. Long ranges (XRANGE, XREAD COUNT) and "
                + "large deletions cost time in proportion to their size.\n"
        }
        if events.contains(where: { $0.name.hasPrefix("aof-") }) {
            text += "- The append-only file: writes or fsyncs were slow. appendfsync everysec moves the fsync off the "
                + "event loop; a disk shared with other heavy writers slows both.\n"
        }
        if events.contains(where: { $0.name == "expire-cycle" }) {
            text += "- Active expiry: many keys reached their deadline at once.\n"
        }
        return text
    }
}
