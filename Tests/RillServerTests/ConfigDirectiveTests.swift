import Foundation
import RillCore
import RillProtocol
import Testing
@testable import RillServer

@Suite("Configuration directives")
struct ConfigDirectiveTests {
    /// conf/rill.conf sets every directive, uncommented, to its default (its header says so), so the directive
    /// lines must be exactly the declared directives, once each, with values that parse to the defaults.
    @Test func shippedFileSetsExactlyTheDeclaredDirectivesToTheirDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("conf/rill.conf"), encoding: .utf8)
        var documented: [String] = []
        for line in text.split(separator: "\n") {
            let line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = try #require(InlineArgumentSplitter.split(Array(line.utf8)), "unbalanced quotes: \(line)")
                .map { String(decoding: $0, as: UTF8.self) }
            let name = words[0]
            documented.append(name)
            guard let directive = ConfigDirective.named(name) else {
                Issue.record("conf/rill.conf sets '\(name)', which is not a declared directive")
                continue
            }
            var configuration = ServerConfiguration()
            try directive.set(Array(words.dropFirst()), in: &configuration)
            #expect(directive.text(in: configuration) == directive.defaultText,
                    "conf/rill.conf shows '\(line)', the default is '\(directive.defaultText)'")
        }
        #expect(documented.sorted() == ConfigDirective.all.map(\.name).sorted())
    }

    @Test func directiveNamesAreUniqueAndLowerCase() {
        let names = ConfigDirective.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0 == $0.lowercased() })
    }

    @Test func everyWordOfEveryEnumeratedDirectiveParsesToItsCase() throws {
        var configuration = ServerConfiguration()
        for policy in AppendFsyncPolicy.allCases {
            try configuration.set("appendfsync", [policy.rawValue.uppercased()])
            #expect(configuration.appendFsync == policy)
            #expect(configuration["appendfsync"] == policy.rawValue)
        }
        for level in LogLevel.allCases {
            try configuration.set("loglevel", [level.rawValue])
            #expect(configuration.logLevel == level)
        }
        for policy in MaxMemoryStreamPolicy.allCases {
            try configuration.set("maxmemory-stream-policy", [policy.rawValue])
            #expect(configuration.maxMemoryStreamPolicy == policy)
        }
        try configuration.set("maxmemory-stream-policy", ["trim-acked"])
        #expect(configuration.maxMemoryStreamPolicy == .trimAcked)
        try configuration.set("maxmemory-policy", ["noeviction"])
        #expect(configuration.maxMemoryPolicy == .noeviction)
        try configuration.set("daemonize", ["no"])
        #expect(configuration.daemonize == .no)
    }

    @Test func wordsOutsideTheSetAreRejectedListingThem() {
        expectRejected("appendfsync", ["sometimes"], "argument(s) must be one of the following: always, everysec, no")
        expectRejected("loglevel", ["loud"],
                       "argument(s) must be one of the following: debug, verbose, notice, warning, nothing")
        expectRejected("maxmemory-policy", ["allkeys-lru"], "argument(s) must be one of the following: noeviction")
        expectRejected("maxmemory-stream-policy", ["trim"],
                       "argument(s) must be one of the following: reject, trim-acked")
        expectRejected("daemonize", ["yes"], "argument(s) must be one of the following: no")
    }

    @Test func valuesOutsideTheLimitsAreRejectedWithRedisWording() {
        expectRejected("port", ["65536"], "argument must be between 0 and 65535 inclusive")
        expectRejected("port", ["-1"], "argument must be between 0 and 65535 inclusive")
        expectRejected("databases", ["0"], "argument must be between 1 and 2147483647 inclusive")
        expectRejected("proto-max-bulk-len", ["1048575"],
                       "argument must be between 1048576 and 9223372036854775807 inclusive")
        expectRejected("client-query-buffer-limit", ["1000kb"],
                       "argument must be between 1048576 and 9223372036854775807 inclusive")
        expectRejected("port", ["http"], "argument couldn't be parsed into an integer")
        expectRejected("maxmemory", ["lots"], "argument must be a memory value")
        expectRejected("maxmemory", ["-1"], "argument must be a memory value")
        expectRejected("maxmemory", ["99999999999gb"], "argument must be a memory value")
        expectRejected("appendonly", ["maybe"], "argument must be 'yes' or 'no'")
        expectRejected("dbfilename", ["dir/dump.rill"], "dbfilename can't be a path, just a filename")
        expectRejected("save", ["60"], "Invalid save parameters")
        expectRejected("save", ["60 -1"], "Invalid save parameters")
        expectRejected("port", ["1", "2"], "wrong number of arguments")
        expectRejected("bind", [], "wrong number of arguments")
    }

    @Test func limitsThemselvesAreAccepted() throws {
        var configuration = ServerConfiguration()
        try configuration.set("port", ["0"])
        #expect(configuration.port == 0)
        try configuration.set("port", ["65535"])
        #expect(configuration.port == 65535)
        try configuration.set("proto-max-bulk-len", ["1mb"])
        #expect(configuration.protoMaxBulkLength == 1024 * 1024)
    }

    @Test func memorySizesTakeRedisUnits() throws {
        let sizes: [(String, Int)] = [("1gb", 1 << 30), ("1g", 1_000_000_000), ("100mb", 100 << 20),
                                      ("100m", 100_000_000), ("64kb", 64 << 10), ("64k", 64_000), ("7b", 7),
                                      ("4096", 4096), ("2GB", 2 << 30), ("0", 0)]
        var configuration = ServerConfiguration()
        for (text, bytes) in sizes {
            try configuration.set("maxmemory", [text])
            #expect(configuration.maxMemoryBytes == bytes, "\(text)")
            #expect(configuration["maxmemory"] == String(bytes), "CONFIG GET answers bytes for \(text)")
        }
    }

    @Test func listsParseIntoTypedArrays() throws {
        var configuration = ServerConfiguration()
        try configuration.set("save", ["900", "1", "300", "10"])
        #expect(configuration.savePoints == [SavePoint(seconds: 900, changes: 1), SavePoint(seconds: 300, changes: 10)])
        try configuration.set("save", ["60 5"])
        #expect(configuration.savePoints == [SavePoint(seconds: 60, changes: 5)])
        try configuration.set("save", [""])
        #expect(configuration.savePoints.isEmpty)
        #expect(configuration["save"] == "")
        try configuration.set("bind", ["127.0.0.1", "::1"])
        #expect(configuration.bindAddresses == ["127.0.0.1", "::1"])
        #expect(configuration["bind"] == "127.0.0.1 ::1")
    }

    @Test func hzIsAnsweredAsGivenAndUsedClamped() throws {
        var configuration = ServerConfiguration()
        try configuration.set("hz", ["1000"])
        #expect(configuration.hz == 500)
        #expect(configuration["hz"] == "1000")
        try configuration.set("hz", ["0"])
        #expect(configuration.hz == 1)
    }

    @Test func emptyPasswordMeansNone() throws {
        var configuration = ServerConfiguration()
        try configuration.set("requirepass", ["secret"])
        #expect(configuration.requirePass == "secret")
        try configuration.set("requirepass", [""])
        #expect(configuration.requirePass == nil)
        #expect(configuration["requirepass"] == "")
    }

    /// Whatever CONFIG GET answers (and CONFIG REWRITE will write) parses back to the same value, and a value given
    /// in canonical form is answered unchanged.
    @Test func formattedValuesParseBackToThemselves() throws {
        for directive in ConfigDirective.all {
            for sample in canonicalSamples(directive.kind) {
                var configuration = ServerConfiguration()
                try directive.set(sample, in: &configuration)
                let text = directive.text(in: configuration)
                #expect(text == sample.joined(separator: " "), "\(directive.name) \(sample)")
                var reparsed = ServerConfiguration()
                try directive.set(directive.arguments(in: configuration), in: &reparsed)
                #expect(directive.text(in: reparsed) == text, "\(directive.name) \(sample)")
            }
        }
    }

    private func canonicalSamples(_ kind: ConfigDirective.Kind) -> [[String]] {
        switch kind {
        case .integer(let range), .memory(let range):
            return [[String(range.lowerBound)], [String(range.upperBound)], [String(range.lowerBound + 1)]]
        case .boolean: return [["yes"], ["no"]]
        case .string: return [[""], ["some text"]]
        case .oneOf(let words): return words.map { [$0] }
        case .words: return [["127.0.0.1"], ["127.0.0.1", "::1"]]
        case .savePoints: return [[], ["900", "1"], ["3600", "1", "300", "100"]]
        case .fileName: return [["dump.rdb"]]
        case .percentiles: return [[], ["50"], ["50", "99", "99.9"], ["0", "100"]]
        case .memoryOrPercent: return [["0"], ["4194304"], ["10%"], ["100%"]]
        case .outputBufferLimits:
            return [["normal", "0", "0", "0", "slave", "1", "2", "3", "pubsub", "33554432", "8388608", "60"]]
        }
    }

    /// Each group changes the class it names only; a bad group changes nothing, with Redis' reasons.
    @Test func outputBufferLimitsChangeTheNamedClassesOnly() throws {
        var configuration = ServerConfiguration()
        try configuration.set("client-output-buffer-limit", ["pubsub 1mb 512kb 10"])
        try configuration.set("client-output-buffer-limit", ["replica", "1gb", "0", "0"])
        #expect(configuration["client-output-buffer-limit"]
            == "normal 0 0 0 slave 1073741824 0 0 pubsub 1048576 524288 10")
        expectRejected("client-output-buffer-limit", ["master 1 2 3"],
                       "Invalid client class specified in buffer limit configuration.")
        expectRejected("client-output-buffer-limit", ["pubsub 1 2"],
                       "Wrong number of arguments in buffer limit configuration.")
        expectRejected("client-output-buffer-limit", ["pubsub 1 2 3 normal -1 0 0"],
                       "Error in hard, soft or soft_seconds setting in buffer limit configuration.")
    }

    /// The soft limit closes a client only once it has stayed reached for longer than its seconds; the hard one at
    /// once; dropping below forgets when the soft limit was reached.
    @Test func outputBufferLimitSoftAndHard() {
        let limit = OutputBufferLimit(hardBytes: 100, softBytes: 10, softSeconds: 2)
        var since: Int64 = 0
        #expect(!limit.isExceeded(unsentBytes: 10, softSince: &since, now: 1000))
        #expect(since == 1000)
        #expect(!limit.isExceeded(unsentBytes: 50, softSince: &since, now: 1002))
        #expect(limit.isExceeded(unsentBytes: 50, softSince: &since, now: 1003))
        #expect(!limit.isExceeded(unsentBytes: 9, softSince: &since, now: 1004))
        #expect(since == 0)
        #expect(limit.isExceeded(unsentBytes: 100, softSince: &since, now: 1004))
        #expect(!OutputBufferLimit(hardBytes: 0, softBytes: 0, softSeconds: 0)
            .isExceeded(unsentBytes: Int.max, softSince: &since, now: 1))
    }

    private func expectRejected(_ name: String, _ arguments: [String], _ message: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        var configuration = ServerConfiguration()
        let before = configuration[name]
        #expect(throws: ConfigError(message: message), sourceLocation: sourceLocation) {
            try configuration.set(name, arguments)
        }
        #expect(configuration[name] == before, "a rejected value leaves the setting", sourceLocation: sourceLocation)
    }
}
