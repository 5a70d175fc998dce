import DequeModule
import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

/// A stream of `count` entries (IDs 1-0, 2-0, ...), field sets alternating so nodes hold both record forms.
private func sampleStream(count: Int, limits: StreamNodeLimits = StreamNodeLimits(maxBytes: 4096, maxEntries: 100))
    throws -> RillCore.Stream
{
    var stream = RillCore.Stream()
    for index in 1...count {
        let fields = index % 5 == 0 ? [bytes("other"), bytes("x\(index)")] : [bytes("a"), bytes("\(index)"), bytes("b"), bytes("text")]
        _ = try stream.append(.explicit(StreamID(ms: UInt64(index), seq: 0)), fieldsAndValues: fields,
                              nowMilliseconds: 0, limits: limits)
    }
    return stream
}

private func encode(_ value: RedisValue, version: RDBVersionPolicy = .lowest) -> (type: UInt8, body: [UInt8]) {
    var output = RDBOutput()
    let type = RDBObjectCodec.write(value, to: &output, compress: true, version: version)
    return (type, output.bytes)
}

private func decode(type: UInt8, _ body: [UInt8]) throws(RDBObjectError) -> RedisValue {
    var input = RDBInput(body)
    return try RDBObjectCodec.read(type: type, from: &input)
}

private func isCorrupt(type: UInt8, _ body: [UInt8]) -> Bool {
    do {
        _ = try decode(type: type, body)
        return false
    } catch {
        if case .corrupt = error { return true }
        return false
    }
}

@Suite struct RDBObjectCodecTests {
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomStreamsKeepTheirNodesThroughTheRedisEncoding(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let stream = randomStream(&rng)
        let (type, body) = encode(.stream(stream), version: .newest)
        #expect(type == RDBType.streamListpacks3.rawValue)
        guard case .stream(let restored) = try decode(type: type, body) else {
            Issue.record("type changed")
            return
        }
        #expect(StreamFingerprint(stream) == StreamFingerprint(restored))
        #expect(GroupFingerprint.of(stream) == GroupFingerprint.of(restored))
        #expect(restored.nodeCount == stream.nodeCount)
        #expect(restored.validate().isEmpty)
        // Same nodes, same records, same flags: encoding again gives the same bytes.
        #expect(encode(.stream(restored), version: .newest).body == body)
    }

    @Test func streamNodesAreRedisListpacks() throws {
        let stream = try sampleStream(count: 3)
        var writer = ListpackWriter()
        stream.writeListpackNode(at: 0, to: &writer)
        let elements = try ListpackReader.elements(of: writer.finish()).map(\.bytes)
        // count 3, deleted 0, master fields a and b, terminator; entry 1 and 2 share the master fields (flag 2,
        // values only, lp-count 2 + 3); entry 3 too.
        let expected: [[UInt8]] = [bytes("3"), bytes("0"), bytes("2"), bytes("a"), bytes("b"), bytes("0"),
                                   bytes("2"), bytes("0"), bytes("0"), bytes("1"), bytes("text"), bytes("5"),
                                   bytes("2"), bytes("1"), bytes("0"), bytes("2"), bytes("text"), bytes("5"),
                                   bytes("2"), bytes("2"), bytes("0"), bytes("3"), bytes("text"), bytes("5")]
        #expect(elements == expected)
    }

    @Test func listsAndSetsUsePlainTypesAndStringsTheirEncodings() throws {
        #expect(encode(.list(Deque([bytes("a"), bytes("12")]))).type == RDBType.list.rawValue)
        #expect(encode(.list(Deque([bytes("a"), bytes("12")]))).body == [2, 1, 0x61, 0xC0, 12])
        #expect(encode(.set([bytes("x")])).body == [1, 1, 0x78])
        #expect(encode(.string(bytes("-5"))).body == [0xC0, 0xFB])
        for value in [RedisValue.list(Deque([bytes("a"), [], bytes("ccc")])), .set([bytes("1"), bytes("two")]),
                      .string(bytes(String(repeating: "z", count: 500)))] {
            let (type, body) = encode(value)
            let restored = try decode(type: type, body)
            switch (value, restored) {
            case (.list(let a), .list(let b)): #expect(Array(a) == Array(b))
            case (.set(let a), .set(let b)): #expect(a == b)
            case (.string(let a), .string(let b)): #expect(a == b)
            default: Issue.record("type changed")
            }
        }
    }

    @Test func versionsFollowWhatTheValueNeeds() throws {
        var stream = try sampleStream(count: 3)
        #expect(RDBObjectCodec.minimumVersion(of: .string(bytes("a")), version: .lowest) == 9)
        #expect(RDBObjectCodec.minimumVersion(of: .stream(stream), version: .lowest) == 10)
        try stream.createGroup(named: bytes("g"), lastDeliveredID: .zero, entriesRead: 0)
        _ = try stream.createConsumer(group: bytes("g"), consumer: bytes("idle"), nowMilliseconds: 5)
        // The consumer was seen (created) but never served: its active time (-1) needs type 21.
        #expect(RDBObjectCodec.minimumVersion(of: .stream(stream), version: .lowest) == 11)
        #expect(RDBObjectCodec.minimumVersion(of: .stream(stream), version: .newest) == 11)
    }

    @Test func typesRillDoesNotHoldAreNamed() {
        for (type, name) in [(UInt8(4), "hash"), (16, "hash"), (3, "sorted set"), (17, "sorted set"), (7, "module")] {
            #expect(throws: RDBObjectError.unsupportedType(type, name: name)) { try decode(type: type, [0]) }
        }
        #expect(isCorrupt(type: 8, [0]))
        #expect(isCorrupt(type: 200, [0]))
    }

    // MARK: Bounds: every count is checked against the bytes left before anything is reserved or read.

    @Test func collectionCountsBeyondTheInputAreRefused() {
        let huge: [UInt8] = [0x81, 0, 0, 0, 1, 0, 0, 0, 0]  // 2^32 elements
        #expect(isCorrupt(type: RDBType.list.rawValue, huge + [1, 0x61]))
        #expect(isCorrupt(type: RDBType.set.rawValue, huge + [1, 0x61]))
        #expect(isCorrupt(type: RDBType.listQuicklist.rawValue, huge))
        #expect(isCorrupt(type: RDBType.listQuicklist2.rawValue, huge))
        #expect(isCorrupt(type: RDBType.streamListpacks2.rawValue, huge))
        // Empty collections do not exist in Redis.
        #expect(isCorrupt(type: RDBType.list.rawValue, [0]))
        #expect(isCorrupt(type: RDBType.set.rawValue, [0]))
        // A duplicate set member.
        #expect(isCorrupt(type: RDBType.set.rawValue, [2, 1, 0x61, 1, 0x61]))
    }

    @Test func everyTruncationOfAStreamWithGroupsIsRefused() throws {
        var stream = try sampleStream(count: 250)
        try stream.createGroup(named: bytes("g"), lastDeliveredID: .zero, entriesRead: 0)
        let (type, body) = encode(.stream(stream))
        for length in 0..<body.count {
            #expect(isCorrupt(type: type, Array(body[0..<length])), "truncated at \(length)")
        }
    }

    @Test func damagedStreamsNeverCrashAndWhatLoadsIsValid() throws {
        var rng = SeededGenerator(seed: 77)
        let stream = randomStream(&rng)
        let (type, body) = encode(.stream(stream), version: .newest)
        for _ in 0..<1500 {
            var damaged = body
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if case .stream(let loaded) = try? decode(type: type, damaged) { #expect(loaded.validate().isEmpty) }
        }
    }

    // MARK: Stream nodes, groups

    @Test func malformedNodesAreRefused() throws {
        let good: [ListpackElement] = [.integer(2), .integer(0), .integer(1), .string(ArraySlice(bytes("f"))), .integer(0),
                                       .integer(2), .integer(0), .integer(0), .string(ArraySlice(bytes("v"))), .integer(4),
                                       .integer(2), .integer(1), .integer(0), .integer(7), .integer(4)]
        var restorer = StreamRestorer()
        try restorer.addListpackNode(masterID: StreamID(ms: 5, seq: 0), elements: good)
        _ = try restorer.finish(metadata: StreamMetadata(length: 2, lastID: StreamID(ms: 6, seq: 0), maxDeletedEntryID: .zero,
                                                         entriesAdded: 2, recordedFirstEntryID: StreamID(ms: 5, seq: 0)))
        func replacing(_ index: Int, with element: ListpackElement) -> [ListpackElement] {
            var copy = good
            copy[index] = element
            return copy
        }
        let bad: [(String, [ListpackElement])] = [
            ("live count", replacing(0, with: .integer(3))),
            ("deleted count", replacing(1, with: .integer(1))),
            ("no master fields", replacing(2, with: .integer(0))),
            ("terminator", replacing(4, with: .integer(1))),
            ("unknown flag", replacing(5, with: .integer(4))),
            ("first entry not the master", replacing(6, with: .integer(1))),
            ("lp-count", replacing(9, with: .integer(5))),
            ("IDs not ascending", replacing(11, with: .integer(0))),
            ("cut short", Array(good.dropLast())),
            ("flags not an integer", replacing(5, with: .string(ArraySlice(bytes("x"))))),
        ]
        for (label, elements) in bad {
            var other = StreamRestorer()
            #expect(throws: StreamRestoreError.self, "\(label)") {
                try other.addListpackNode(masterID: StreamID(ms: 5, seq: 0), elements: elements)
            }
        }
    }

    @Test func groupsWithInconsistentPendingEntriesAreRefused() throws {
        var stream = try sampleStream(count: 3)
        try stream.createGroup(named: bytes("g"), lastDeliveredID: .zero, entriesRead: 0)
        let (type, body) = encode(.stream(stream))
        // The stream part is everything before the group: rebuild the group by hand after it.
        let groupless = Array(body.dropLast(body.count - streamPartLength(body)))
        func group(pel: [(UInt64, Int64, UInt64)], consumers: [(String, [UInt64])]) -> [UInt8] {
            var output = RDBOutput()
            output.raw(groupless)
            output.length(1)
            output.string(bytes("g"), compress: false)
            output.length(3)
            output.length(0)
            output.length(3)
            output.length(pel.count)
            for (ms, time, count) in pel {
                RDBObjectCodec.writeID(StreamID(ms: ms, seq: 0), to: &output)
                output.millisecondTime(time)
                output.length(count)
            }
            output.length(consumers.count)
            for (name, ids) in consumers {
                output.string(bytes(name), compress: false)
                output.millisecondTime(1)
                output.length(ids.count)
                for ms in ids { RDBObjectCodec.writeID(StreamID(ms: ms, seq: 0), to: &output) }
            }
            return output.bytes
        }
        #expect(!isCorrupt(type: type, group(pel: [(1, 9, 1), (2, 9, 1)], consumers: [("b", [2]), ("a", [1])])))
        #expect(isCorrupt(type: type, group(pel: [(1, 9, 1)], consumers: [])), "PEL entry without consumer")
        #expect(isCorrupt(type: type, group(pel: [(1, 9, 1)], consumers: [("a", [1]), ("b", [1])])), "two owners")
        #expect(isCorrupt(type: type, group(pel: [(1, 9, 1)], consumers: [("a", [2])])), "owned entry not in PEL")
        #expect(isCorrupt(type: type, group(pel: [(1, 9, 1), (1, 9, 1)], consumers: [("a", [1])])), "duplicate PEL entry")
        #expect(isCorrupt(type: type, group(pel: [(9, 9, 1)], consumers: [("a", [9])])), "PEL entry after the last ID")
        #expect(isCorrupt(type: type, group(pel: [], consumers: [("a", []), ("a", [])])), "duplicate consumer")
    }

    /// Bytes of a type-19 stream encoding up to (not including) its group count.
    private func streamPartLength(_ body: [UInt8]) -> Int {
        var input = RDBInput(body)
        // The error cases of this helper cannot happen on a body the codec just wrote.
        let nodes = Int(try! input.length())
        for _ in 0..<(2 * nodes) { _ = try! input.string() }
        for _ in 0..<8 { _ = try! input.length() }
        return input.offset
    }
}

@Suite struct ZiplistAndIntsetTests {
    /// Ziplist ["ab", 5, -300] as Redis writes it.
    static let ziplist: [UInt8] = [
        21, 0, 0, 0, 16, 0, 0, 0, 3, 0,
        0x00, 0x02, 0x61, 0x62,  // previous 0, 6-bit string of 2
        0x04, 0xF6,  // previous 4, immediate 5
        0x02, 0xC0, 0xD4, 0xFE,  // previous 2, int16 -300
        0xFF,
    ]

    @Test func readsEveryEncoding() throws {
        #expect(try ZiplistReader.elements(of: Self.ziplist).map(\.bytes) == [bytes("ab"), bytes("5"), bytes("-300")])
    }

    @Test func refusesDamagedZiplists() {
        var cases: [[UInt8]] = []
        for (index, value) in [(0, UInt8(22)), (4, 14), (8, 2), (14, 3), (17, 0xC5), (11, 0x30), (20, 0)] {
            var damaged = Self.ziplist
            damaged[index] = value
            cases.append(damaged)
        }
        cases.append(Array(Self.ziplist.prefix(9)))
        for damaged in cases {
            #expect(throws: RDBError.self) { try ZiplistReader.elements(of: damaged) }
        }
    }

    @Test func readsAndChecksIntsets() throws {
        let good: [UInt8] = [2, 0, 0, 0, 3, 0, 0, 0, 0xFE, 0xFF, 0x01, 0x00, 0x2C, 0x01]
        #expect(try IntsetReader.members(of: good) == [-2, 1, 300])
        var unsorted = good
        unsorted.swapAt(8, 10)
        unsorted.swapAt(9, 11)
        var badWidth = good
        badWidth[0] = 3
        var wrongCount = good
        wrongCount[4] = 4
        for damaged in [unsorted, badWidth, wrongCount, Array(good.dropLast()), [2, 0, 0, 0, 0, 0, 0, 0]] {
            #expect(throws: RDBError.self) { try IntsetReader.members(of: damaged) }
        }
    }
}

@Suite struct QuicklistTests {
    @Test func quicklist2ReadsPlainAndPackedNodesAndSkipsEmptyOnes() throws {
        var packed = ListpackWriter()
        packed.append(bytes("a"))
        packed.append(bytes("42"))
        var output = RDBOutput()
        output.length(3)
        output.length(2)  // packed
        output.string(packed.finish(), compress: true)
        output.length(1)  // plain: one element as is
        output.string(bytes("big element"), compress: false)
        output.length(2)
        output.string(ListpackWriter().finish(), compress: false)
        guard case .list(let list) = try decode(type: RDBType.listQuicklist2.rawValue, output.bytes) else {
            Issue.record("not a list")
            return
        }
        #expect(Array(list) == [bytes("a"), bytes("42"), bytes("big element")])
        // An unknown container kind is refused.
        var unknown = RDBOutput()
        unknown.length(1)
        unknown.length(3)
        unknown.string(bytes("x"), compress: false)
        #expect(isCorrupt(type: RDBType.listQuicklist2.rawValue, unknown.bytes))
    }
}

@Suite struct StreamNodeConversionTests {
    /// Master fields that are long integers take more room as block bytes than as listpack elements: the conversion
    /// buffer must be sized for them.
    @Test func manyLongIntegerMasterFieldsConvert() throws {
        let fieldCount = 300
        var elements: [ListpackElement] = [.integer(1), .integer(0), .integer(Int64(fieldCount))]
        for index in 0..<fieldCount { elements.append(.integer(Int64.min + Int64(index))) }
        elements += [.integer(0), .integer(2), .integer(0), .integer(0)]
        elements += Array(repeating: .integer(7), count: fieldCount)
        elements.append(.integer(Int64(fieldCount + 3)))
        var restorer = StreamRestorer()
        try restorer.addListpackNode(masterID: StreamID(ms: 9, seq: 0), elements: elements)
        let stream = try restorer.finish(metadata: StreamMetadata(length: 1, lastID: StreamID(ms: 9, seq: 0),
                                                                   maxDeletedEntryID: .zero, entriesAdded: 1,
                                                                   recordedFirstEntryID: StreamID(ms: 9, seq: 0)))
        var writer = ListpackWriter()
        stream.writeListpackNode(at: 0, to: &writer)
        #expect(try ListpackReader.elements(of: writer.finish()) == elements)
    }

    /// Random element sequences (mostly malformed): conversion refuses or builds a valid stream, never writes out of
    /// its buffer.
    @Test func randomElementSequencesNeverCrash() {
        var rng = SeededGenerator(seed: 31)
        var built = 0
        for _ in 0..<3000 {
            var elements: [ListpackElement] = []
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: elements.append(.integer(Int64.random(in: -2...6, using: &rng)))
                case 1: elements.append(.integer(Int64.random(in: .min ... .max, using: &rng)))
                case 2: elements.append(.string(ArraySlice(repeating: 0x61, count: Int.random(in: 0...300, using: &rng))))
                default: elements.append(.integer(Int64.random(in: 0...3, using: &rng)))
                }
            }
            var restorer = StreamRestorer()
            if (try? restorer.addListpackNode(masterID: StreamID(ms: 100, seq: 5), elements: elements)) != nil { built += 1 }
        }
        #expect(built < 3000)
    }
}

@Suite struct FormerDumpPayloadTests {
    /// Append-only files written before DUMP spoke Redis' format log RESTORE with Rill's former payloads: they
    /// must still restore.
    @Test func formerPayloadsStillRestore() throws {
        var stream = try sampleStream(count: 120)
        try stream.createGroup(named: bytes("g"), lastDeliveredID: StreamID(ms: 3, seq: 0), entriesRead: 3)
        var sink = ByteSink()
        sink.byte(ValueCodec.TypeCode.stream.rawValue)
        ValueCodec.encodeBody(.stream(stream), to: &sink)
        sink.littleEndian(UInt16(SnapshotFormat.version))
        sink.littleEndian(CRC32C.checksum(of: sink.bytes))
        #expect(DumpPayload.hasValidFooter(sink.bytes))
        guard case .stream(let restored) = try DumpPayload.decode(sink.bytes) else {
            Issue.record("type changed")
            return
        }
        #expect(StreamFingerprint(restored) == StreamFingerprint(stream))
        #expect(GroupFingerprint.of(restored) == GroupFingerprint.of(stream))
        var damaged = sink.bytes
        damaged[3] ^= 1
        #expect(throws: DumpPayloadError.badFooter) { try DumpPayload.decode(damaged) }
    }
}
