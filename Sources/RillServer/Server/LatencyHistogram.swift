/// One command's latency distribution, the single record behind INFO latencystats (percentiles), LATENCY HISTOGRAM
/// (cumulative counts at powers of two) and the Prometheus `rill_command_duration_seconds` histogram.
///
/// Redis keeps an HdrHistogram per command (1 ns to 1 s, two significant digits) and answers both of its views from
/// it; clients compare the figures, so the same bucket layout is kept here: a value v (nanoseconds) falls in the
/// power-of-two range `b = max(0, bitWidth(v | 255) - 8)`, split into 128 sub-buckets of width 2^b (the first range
/// has 256 of width 1). Counting is one index computation and one increment, with no allocation after the first call.
///
/// Invariants: `counts` is empty (nothing recorded) or holds `Self.countsLength` slots whose sum is `calls`.
struct LatencyHistogram {
    /// Calls recorded per sub-bucket; empty until the first call, so commands never used cost no memory.
    private var counts: [UInt64] = []
    /// Calls recorded; 0 when none.
    private(set) var calls: UInt64 = 0
    /// Sum of the recorded durations in microseconds (the Prometheus `_sum`), before clamping.
    private(set) var totalMicroseconds: UInt64 = 0

    /// Redis' bounds: durations are clamped into 1 ns ... 1 s before counting.
    static let lowestNanoseconds: UInt64 = 1
    static let highestNanoseconds: UInt64 = 1_000_000_000
    /// Sub-buckets per half range (two significant digits need 200 distinct values: 256, half of which per range).
    private static let halfSubBucketCount = 128
    private static let halfSubBucketMagnitude = 7
    /// Ranges needed so that 256 << (ranges - 1) exceeds `highestNanoseconds`.
    private static let rangeCount = 23
    private static let countsLength = (rangeCount + 1) * halfSubBucketCount

    /// Power-of-two reporting steps of LATENCY HISTOGRAM: 1024 ns << k, up to the first above `highestNanoseconds`.
    static let reportingStepCount = 21

    var isEmpty: Bool { calls == 0 }

    /// Records one call that took `microseconds`.
    @inline(__always)
    mutating func record(microseconds: Int64) {
        let duration = UInt64(max(0, microseconds))
        if counts.isEmpty { counts = Array(repeating: 0, count: Self.countsLength) }
        let nanoseconds = min(max(duration &* 1000, Self.lowestNanoseconds), Self.highestNanoseconds)
        counts[Self.index(of: nanoseconds)] &+= 1
        calls &+= 1
        totalMicroseconds &+= duration
    }

    mutating func reset() { self = LatencyHistogram() }

    // MARK: Layout

    static func range(of nanoseconds: UInt64) -> Int {
        max(0, (UInt64.bitWidth - (nanoseconds | 255).leadingZeroBitCount) - (halfSubBucketMagnitude + 1))
    }

    static func index(of nanoseconds: UInt64) -> Int {
        let range = range(of: nanoseconds)
        let subBucket = Int(truncatingIfNeeded: nanoseconds >> UInt64(range))
        return ((range + 1) << halfSubBucketMagnitude) + (subBucket - halfSubBucketCount)
    }

    /// The lowest value counted in slot `index`.
    static func lowestValue(atIndex index: Int) -> UInt64 {
        var range = (index >> halfSubBucketMagnitude) - 1
        var subBucket = (index & (halfSubBucketCount - 1)) + halfSubBucketCount
        if range < 0 {
            subBucket -= halfSubBucketCount
            range = 0
        }
        return UInt64(subBucket) << UInt64(range)
    }

    /// The highest value counted in the same slot as `nanoseconds`.
    static func highestEquivalent(of nanoseconds: UInt64) -> UInt64 {
        let range = range(of: nanoseconds)
        let subBucket = nanoseconds >> UInt64(range)
        let lowest = subBucket << UInt64(range)
        let width: UInt64 = subBucket >= UInt64(2 * halfSubBucketCount) ? 1 << UInt64(range + 1) : 1 << UInt64(range)
        return lowest + width - 1
    }

    // MARK: Views

    /// The duration in nanoseconds under which `percentile` percent of the calls fall, as HdrHistogram reports it
    /// (the highest value of the slot reached; for 0, its lowest); 0 when nothing is recorded.
    func value(atPercentile percentile: Double) -> UInt64 {
        guard calls > 0 else { return 0 }
        let wanted = max(1, UInt64((min(percentile, 100) / 100 * Double(calls)) + 0.5))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= wanted {
                let value = Self.lowestValue(atIndex: index)
                return percentile == 0 ? value : Self.highestEquivalent(of: value)
            }
        }
        return 0
    }

    /// The upper bound in whole microseconds of reporting step `step` (1, 2, 4, 8, 16, 33, 66, ...): the highest
    /// value of the slot starting at 1024 ns << step. Durations are whole microseconds, so a call of d µs is at or
    /// under this bound exactly when it falls in the step.
    static func stepBoundMicroseconds(_ step: Int) -> Int64 {
        Int64(highestEquivalent(of: UInt64(1024) << UInt64(step)) / 1000)
    }

    /// Cumulative calls at or under each reporting step's bound, `reportingStepCount` of them.
    func cumulativeStepCounts() -> [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(Self.reportingStepCount)
        var seen: UInt64 = 0
        var index = 0
        for step in 0..<Self.reportingStepCount {
            let lastIndex = Self.index(of: UInt64(1024) << UInt64(step))
            while index <= lastIndex && index < counts.count {
                seen += counts[index]
                index += 1
            }
            result.append(seen)
        }
        return result
    }

    /// LATENCY HISTOGRAM's pairs: (step bound in µs, cumulative calls), only the steps that add calls.
    func reportedSteps() -> [(microseconds: Int64, cumulativeCalls: UInt64)] {
        var previous: UInt64 = 0
        var steps: [(microseconds: Int64, cumulativeCalls: UInt64)] = []
        for (step, cumulative) in cumulativeStepCounts().enumerated() where cumulative > previous {
            steps.append((Self.stepBoundMicroseconds(step), cumulative))
            previous = cumulative
        }
        return steps
    }
}

/// `value` as printf's "%f" writes it, less trailing zeros and a trailing point: 50 → "50", 99.9 → "99.9" (how
/// Redis shows percentiles in CONFIG GET and INFO latencystats).
func trimmedDecimalText(_ value: Double) -> String {
    var text = fixedPointText(value, fractionDigits: 6)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}
