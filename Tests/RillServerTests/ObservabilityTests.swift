import NIOCore
import Testing
@testable import RillServer

@Suite("Slow log, MONITOR lines and latency histograms")
struct ObservabilityTests {
    private func request(_ words: [String]) -> [ByteBuffer] { words.map { ByteBuffer(string: $0) } }

    private func text(_ arguments: [[UInt8]]) -> [String] { arguments.map { String(decoding: $0, as: UTF8.self) } }

    @Test func slowLogKeepsAtMost32ArgumentsTheLastCountingTheRest() {
        let words = (0..<42).map { "a\($0)" }
        let kept = text(SlowLog.Entry.arguments(of: request(words), redacted: .none))
        #expect(kept.count == 32)
        #expect(Array(kept.prefix(31)) == Array(words.prefix(31)))
        #expect(kept.last == "... (11 more arguments)")
        // Exactly 32 arguments are all kept.
        #expect(text(SlowLog.Entry.arguments(of: request(Array(words.prefix(32))), redacted: .none))
                == Array(words.prefix(32)))
    }

    @Test(arguments: [127, 128, 129, 200])
    func slowLogCutsArgumentsLongerThan128Bytes(length: Int) {
        let long = String(repeating: "x", count: length)
        let kept = text(SlowLog.Entry.arguments(of: request(["set", long]), redacted: .none))
        if length <= 128 {
            #expect(kept[1] == long)
        } else {
            #expect(kept[1] == String(repeating: "x", count: 128) + "... (\(length - 128) more bytes)")
        }
    }

    @Test func passwordsAreRedacted() {
        let auth = request(["AUTH", "user", "secret"])
        #expect(text(SlowLog.Entry.arguments(of: auth, redacted: .of("auth", auth))) == ["AUTH", "(redacted)", "(redacted)"])
        let hello = request(["HELLO", "3", "SETNAME", "auth", "AUTH", "default", "pw"])
        #expect(text(SlowLog.Entry.arguments(of: hello, redacted: .of("hello", hello)))
                == ["HELLO", "3", "SETNAME", "auth", "AUTH", "(redacted)", "(redacted)"])
        let set = request(["SET", "auth", "x"])
        #expect(text(SlowLog.Entry.arguments(of: set, redacted: .of("set", set))) == ["SET", "auth", "x"])
    }

    @Test func slowLogDropsTheOldestBeyondItsLength() {
        let log = SlowLog()
        for id in 0..<5 {
            log.add(arguments: [Array("c\(id)".utf8)], microseconds: 1, unixSeconds: 0, clientAddress: "a:1",
                    clientName: "", maxLength: 3)
        }
        #expect(log.entries.map(\.id) == [4, 3, 2])
        log.reset()
        log.add(arguments: [], microseconds: 1, unixSeconds: 0, clientAddress: "a:1", clientName: "", maxLength: 3)
        #expect(log.entries.map(\.id) == [5])
    }

    @Test func monitorLinesQuoteBytesAsRedisDoes() {
        let line = MonitorFeed.line([ByteBuffer(string: "SET"), ByteBuffer(bytes: [0, 1, 0x22, 0x5c, 0x0a, 0x0d, 0x09,
                                                                                    0x07, 0x08, 0xff, 0x20, 0x7e, 0x7f])],
                                    redacted: .none, database: 3, address: "127.0.0.1:5000",
                                    unixMicroseconds: 1_700_000_000_000_042)
        #expect(String(decoding: line, as: UTF8.self)
                == #"1700000000.000042 [3 127.0.0.1:5000] "SET" "\x00\x01\"\\\n\r\t\a\b\xff ~\x7f""#)
    }

    @Test func histogramStepsAreRedisPowerOfTwoBounds() {
        #expect((0..<10).map(LatencyHistogram.stepBoundMicroseconds) == [1, 2, 4, 8, 16, 33, 66, 132, 264, 528])
        #expect(LatencyHistogram.stepBoundMicroseconds(LatencyHistogram.reportingStepCount - 1) == 1_082_130)
    }

    @Test func histogramCountsEachDurationInTheFirstStepWhoseBoundHoldsIt() {
        var histogram = LatencyHistogram()
        for microseconds: Int64 in [0, 1, 2, 3, 16, 17, 33, 34, 5_000_000] { histogram.record(microseconds: microseconds) }
        let steps = histogram.reportedSteps()
        #expect(steps.map(\.microseconds) == [1, 2, 4, 16, 33, 66, 1_082_130])
        #expect(steps.map(\.cumulativeCalls) == [2, 3, 4, 5, 7, 8, 9])
        #expect(histogram.calls == 9)
        #expect(histogram.totalMicroseconds == 5_000_106)
    }

    @Test func percentilesAreTheHighestValueOfTheSlotReached() {
        var histogram = LatencyHistogram()
        // Redis answers p50=2.007 for calls of 1, 2 and 3 µs (2000 ns falls in the slot 2000...2007).
        for microseconds: Int64 in [1, 2, 3] { histogram.record(microseconds: microseconds) }
        #expect(histogram.value(atPercentile: 50) == 2007)
        #expect(histogram.value(atPercentile: 100) == 3007)
        #expect(histogram.value(atPercentile: 0) == 1000)
        #expect(LatencyHistogram().value(atPercentile: 50) == 0)
    }

    @Test func percentileSettingsParseAndPrintAsRedisDoes() throws {
        var configuration = ServerConfiguration()
        try configuration.set("latency-tracking-info-percentiles", ["50", "99.9", "100"])
        #expect(configuration["latency-tracking-info-percentiles"] == "50 99.9 100")
        #expect(throws: ConfigError.self) { try configuration.set("latency-tracking-info-percentiles", ["101"]) }
        #expect(throws: ConfigError.self) { try configuration.set("latency-tracking-info-percentiles", ["x"]) }
        try configuration.set("latency-tracking-info-percentiles", [""])
        #expect(configuration.latencyTrackingPercentiles.isEmpty)
    }

    @Test func latencyEventsKeepOneSamplePerSecondAndTheirMaximum() {
        let monitor = LatencyMonitor()
        monitor.add("command", milliseconds: 5, thresholdMilliseconds: 0, unixSeconds: 1)
        #expect(monitor.events.isEmpty)
        monitor.add("command", milliseconds: 5, thresholdMilliseconds: 10, unixSeconds: 1)
        #expect(monitor.events.isEmpty)
        monitor.add("command", milliseconds: 12, thresholdMilliseconds: 10, unixSeconds: 1)
        monitor.add("command", milliseconds: 30, thresholdMilliseconds: 10, unixSeconds: 1)
        monitor.add("command", milliseconds: 11, thresholdMilliseconds: 10, unixSeconds: 2)
        let series = monitor.series(of: "command")
        #expect(series?.samples.map(\.milliseconds) == [30, 11])
        #expect(series?.maxMilliseconds == 30)
        #expect(monitor.reset(["nosuch", "command"]) == 1)
        #expect(monitor.events.isEmpty)
    }

    /// Samples and rendering recorded from Redis 8.2.3's LATENCY GRAPH (five KEYS * spikes).
    @Test func graphDrawsBarsAndAgeLabelsAsRedisDoes() throws {
        let monitor = LatencyMonitor()
        for (seconds, milliseconds): (Int64, Int64) in [(100, 33), (101, 40), (102, 52), (110, 346), (112, 278)] {
            monitor.record("command", milliseconds: milliseconds, unixSeconds: seconds)
        }
        let series = try #require(monitor.series(of: "command"))
        let graph = LatencyReport.graph("command", series: series, nowSeconds: 114)
        #expect(graph == """
            command - high 346 ms, low 33 ms (all time high 346 ms)
            \(String(repeating: "-", count: 80))
               #_
               ||
               ||
            ___||
                 
            11142
            432ss
            sss  

            """)
        #expect(LatencyReport.graph("none", series: LatencyMonitor.Series(), nowSeconds: 0) == nil)
    }

    @Test func graphOfEqualSamplesIsABottomLineAndLongSeriesWrapAt80Columns() throws {
        let monitor = LatencyMonitor()
        for second in 0..<85 { monitor.record("aof-write", milliseconds: 7, unixSeconds: Int64(second)) }
        let series = try #require(monitor.series(of: "aof-write"))
        let graph = try #require(LatencyReport.graph("aof-write", series: series, nowSeconds: 90))
        let lines = graph.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[2] == Substring(String(repeating: " ", count: 80)))
        #expect(lines[5] == Substring(String(repeating: "_", count: 80)))
        #expect(lines.contains(Substring("_____")))  // the second block's bottom row
    }
}
