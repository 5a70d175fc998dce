import DequeModule
import Foundation
import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

/// Random byte strings mixing short text, canonical integers (stored specially in stream blocks) and long values.
func randomBytes(_ rng: inout SeededGenerator) -> [UInt8] {
    switch Int.random(in: 0..<6, using: &rng) {
    case 0: return Array(String(Int64.random(in: -100_000...100_000, using: &rng)).utf8)
    case 1: return Array(String(Int64.random(in: .min ... .max, using: &rng)).utf8)
    case 2: return (0..<Int.random(in: 100..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    case 3: return []
    default: return (0..<Int.random(in: 1..<12, using: &rng)).map { _ in UInt8.random(in: 97...122, using: &rng) }
    }
}

func randomStream(_ rng: inout SeededGenerator) -> RillCore.Stream {
    var stream = RillCore.Stream()
    let limits = StreamNodeLimits(maxBytes: Int.random(in: 64...4096, using: &rng), maxEntries: Int.random(in: 0...20, using: &rng))
    var now: UInt64 = UInt64.random(in: 1...1_000_000, using: &rng)
    let fieldSets: [[[UInt8]]] = [[Array("a".utf8)], [Array("a".utf8), Array("b".utf8)], [Array("123".utf8)], [Array("x".utf8), Array("y".utf8), Array("z".utf8)]]
    for _ in 0..<Int.random(in: 0..<300, using: &rng) {
        let fields = fieldSets.randomElement(using: &rng)!  // the array is not empty
        var arguments: [[UInt8]] = []
        for field in fields { arguments += [field, randomBytes(&rng)] }
        now += UInt64.random(in: 0...40, using: &rng)
        let spec: StreamIDSpec = Bool.random(using: &rng) ? .automatic : .automaticSequence(milliseconds: now)
        _ = try? stream.append(spec, fieldsAndValues: arguments, nowMilliseconds: now, limits: limits)
    }
    let ids = stream.entries().map(\.id)
    if Int.random(in: 0..<3, using: &rng) != 0 { addRandomGroups(to: &stream, ids: ids, &rng) }
    for id in ids where Int.random(in: 0..<5, using: &rng) == 0 { stream.delete(id) }
    switch Int.random(in: 0..<4, using: &rng) {
    case 0:
        stream.trim(.maxLength(UInt64(stream.length / 2)), approximate: Bool.random(using: &rng))
    case 1:
        if let middle = ids.randomElement(using: &rng) { stream.trim(.minimumID(middle), approximate: false) }
    case 2:
        try? stream.setLastID(StreamID(ms: stream.lastID.ms + 100, seq: 7), entriesAdded: stream.entriesAdded + 3,
                              maxDeletedEntryID: StreamID(ms: 5, seq: 5))
    default:
        break
    }
    return stream
}

/// Groups with consumers and PELs built through the public API: deliveries, partial acknowledgements, claims with
/// past times and retry counts, consumer deletion, unknown entries-read, empty consumers and groups.
func addRandomGroups(to stream: inout RillCore.Stream, ids: [StreamID], _ rng: inout SeededGenerator) {
    var now = Int64.random(in: 1_000_000...2_000_000_000_000, using: &rng)
    let consumerNames = (0..<Int.random(in: 1...6, using: &rng)).map { _ in randomBytes(&rng) }
    for groupIndex in 0..<Int.random(in: 1...4, using: &rng) {
        let name = Array("g\(groupIndex)".utf8) + randomBytes(&rng)
        let start: StreamID? = Bool.random(using: &rng) ? .zero : ids.randomElement(using: &rng)
        let entriesRead: Int64? = Bool.random(using: &rng) ? nil : Int64.random(in: 0...50, using: &rng)
        guard (try? stream.createGroup(named: name, lastDeliveredID: start, entriesRead: entriesRead)) != nil else { continue }
        for _ in 0..<Int.random(in: 0..<12, using: &rng) {
            now += Int64.random(in: 0...5_000, using: &rng)
            // consumerNames is not empty.
            let consumer = consumerNames.randomElement(using: &rng)!
            switch Int.random(in: 0..<7, using: &rng) {
            case 0, 1, 2:
                _ = try? stream.readNewEntries(group: name, consumer: consumer, count: Int.random(in: 0...30, using: &rng),
                                               noAcknowledgement: Int.random(in: 0..<6, using: &rng) == 0, nowMilliseconds: now)
            case 3:
                let pending = stream.group(named: name)?.pendingEntries(limit: 0).map(\.id) ?? []
                _ = stream.acknowledge(group: name, ids: pending.filter { _ in Bool.random(using: &rng) })
            case 4:
                let pending = stream.group(named: name)?.pendingEntries(limit: 0).map(\.id) ?? []
                let chosen = pending.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
                let options = ClaimOptions(deliveryTime: now - Int64.random(in: 0...100_000, using: &rng),
                                           retryCount: Bool.random(using: &rng) ? Int64.random(in: 0...9, using: &rng) : nil,
                                           justID: Bool.random(using: &rng))
                _ = try? stream.claim(group: name, consumer: consumer, ids: chosen, minimumIdle: 0, options: options,
                                      nowMilliseconds: now)
            case 5:
                _ = try? stream.createConsumer(group: name, consumer: consumer, nowMilliseconds: now)
            default:
                if Bool.random(using: &rng) {
                    _ = try? stream.deleteConsumer(group: name, consumer: consumer)
                } else {
                    try? stream.setGroupLastDeliveredID(name, to: ids.randomElement(using: &rng), entriesRead: nil)
                }
            }
        }
    }
}

/// Everything the group API exposes about a stream's groups (XINFO GROUPS / CONSUMERS / STREAM FULL, XPENDING).
struct GroupFingerprint: Equatable {
    var name: [UInt8]
    var lastDeliveredID: StreamID
    var entriesRead: Int64?
    var lag: Int64?
    var consumers: [ConsumerInfo]
    var pending: [PendingEntryInfo]
    var pendingByConsumer: [[PendingEntryInfo]]
    var summary: PendingSummary

    init(_ group: ConsumerGroup, in stream: RillCore.Stream) {
        name = group.name
        lastDeliveredID = group.lastDeliveredID
        entriesRead = group.entriesRead
        lag = stream.lag(of: group)
        consumers = group.consumers
        pending = group.pendingEntries(limit: 0)
        pendingByConsumer = consumers.map { group.pendingEntries(ofConsumer: $0.name, limit: 0) }
        // The group exists: it was just listed.
        summary = try! stream.pendingSummary(group: group.name)
    }

    static func of(_ stream: RillCore.Stream) -> [GroupFingerprint] {
        stream.consumerGroups.map { GroupFingerprint($0, in: stream) }
    }
}

func randomKeyspace(seed: UInt64, databaseCount: Int = 4, keys: Int = 60) -> Keyspace {
    var rng = SeededGenerator(seed: seed)
    var keyspace = Keyspace(databaseCount: databaseCount)
    for index in 0..<keys {
        let database = Int.random(in: 0..<databaseCount, using: &rng)
        let key = Array("key:\(index):".utf8) + randomBytes(&rng)
        let value: RedisValue
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: value = .string(randomBytes(&rng))
        case 1: value = .list(Deque((0..<Int.random(in: 1..<20, using: &rng)).map { _ in randomBytes(&rng) }))
        case 2: value = .set(Set((0..<Int.random(in: 1..<20, using: &rng)).map { _ in randomBytes(&rng) }))
        default: value = .stream(randomStream(&rng))
        }
        let deadline: Int64? = Bool.random(using: &rng) ? Int64.random(in: 1_000...10_000_000_000_000, using: &rng) : nil
        _ = keyspace[database].insertLoaded(value, forKey: key, deadline: deadline)
    }
    return keyspace
}

/// Everything observable about a stream, blocks included, for exact comparisons.
struct StreamFingerprint: Equatable {
    var metadata: StreamMetadata
    var entries: [StreamEntry]
    var blocks: [[UInt8]]
    var masterIDs: [StreamID]

    init(_ stream: RillCore.Stream) {
        metadata = stream.metadata
        entries = stream.entries()
        var blocks: [[UInt8]] = []
        var masters: [StreamID] = []
        stream.forEachBlockImage { image in
            blocks.append(Array(image.bytes))
            masters.append(image.masterID)
        }
        self.blocks = blocks
        masterIDs = masters
    }
}

func expectEqualKeyspaces(_ lhs: Keyspace, _ rhs: Keyspace) {
    #expect(lhs.databaseCount == rhs.databaseCount)
    for index in 0..<min(lhs.databaseCount, rhs.databaseCount) {
        #expect(lhs[index].count == rhs[index].count, "database \(index) key count")
        lhs[index].forEachEntry { key, value, deadline in
            guard let other = rhs[index].storedEntry(forKey: key) else {
                Issue.record("key missing after load")
                return
            }
            #expect(other.deadline == deadline)
            switch (value, other.value) {
            case (.string(let a), .string(let b)): #expect(a == b)
            case (.list(let a), .list(let b)): #expect(Array(a) == Array(b))
            case (.set(let a), .set(let b)): #expect(a == b)
            case (.stream(let a), .stream(let b)):
                #expect(StreamFingerprint(a) == StreamFingerprint(b))
                #expect(GroupFingerprint.of(a) == GroupFingerprint.of(b))
                #expect(b.validate().isEmpty)
            default: Issue.record("type changed")
            }
        }
    }
}

@Suite struct SnapshotTests {
    @Test func crcMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(of: Array("123456789".utf8)) == 0xE306_9283)
        // Slicing path and byte path agree whatever the split.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var split = CRC32C()
        split.update(data, 0..<3)
        split.update(data, 3..<1000)
        #expect(split.value == CRC32C.checksum(of: data))
    }

    @Test func crcInstructionAndTableAgreeOnEveryLengthAndAlignment() {
        var rng = SeededGenerator(seed: 42)
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        data.withUnsafeBytes { raw in
            for start in 0..<9 {
                for end in start...raw.count {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                    var crc = CRC32C()
                    crc.update(slice)
                    #expect(crc.value == ~CRC32C.tableUpdate(0xFFFF_FFFF, slice), "bytes \(start)..<\(end)")
                }
            }
        }
    }

    @Test func combinedCrcEqualsTheCrcOfTheConcatenation() {
        var rng = SeededGenerator(seed: 7)
        let data = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for cut in [0, 1, 7, 8, 9, 100, 4095, 4999, 5000] {
            let first = CRC32C.checksum(of: Array(data[..<cut]))
            let second = CRC32C.checksum(of: Array(data[cut...]))
            #expect(CRC32C.combine(first, second, secondLength: data.count - cut) == CRC32C.checksum(of: data),
                    "cut at \(cut)")
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomKeyspacesRoundTrip(seed: UInt64) throws {
        let keyspace = randomKeyspace(seed: seed)
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 1234, producer: "test")
        #expect(Array(bytes.prefix(8)) == Array("RILLSNAP".utf8))
        let loaded = try SnapshotReader.decode(bytes, databaseCount: keyspace.databaseCount)
        #expect(loaded.keyCount == keyspace.keyCount)
        #expect(loaded.createdAtMilliseconds == 1234)
        #expect(loaded.producer == "test")
        expectEqualKeyspaces(keyspace, loaded.keyspace)
        // Encoding is deterministic for equal keyspaces of strings/streams; re-encoding the loaded one gives a
        // snapshot that loads to the same state again.
        let again = try SnapshotReader.decode(
            SnapshotWriter.encode(loaded.keyspace, createdAtMilliseconds: 1234, producer: "test"),
            databaseCount: keyspace.databaseCount)
        expectEqualKeyspaces(keyspace, again.keyspace)
    }

    @Test func manySectionsForALargeKeyspace() throws {
        var keyspace = Keyspace(databaseCount: 2)
        for index in 0..<3000 {
            _ = keyspace[index % 2].insertLoaded(.string([UInt8](repeating: UInt8(index & 0xFF), count: 900)),
                                                 forKey: Array("k\(index)".utf8), deadline: nil)
        }
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 1, producer: "t")
        var sections = 0
        let loaded = try SnapshotReader.decode(bytes, databaseCount: 2)
        // 2.7 MB of values: several KEYS sections.
        var offset = SnapshotFormat.fileHeaderSize
        while offset < bytes.count {
            var length = 0
            for index in 0..<8 { length |= Int(bytes[offset + 1 + index]) << (8 * index) }
            offset += 9 + length + 4
            sections += 1
        }
        #expect(sections >= 5)
        expectEqualKeyspaces(keyspace, loaded.keyspace)
    }

    @Test func everyFlippedByteIsDetected() {
        let keyspace = randomKeyspace(seed: 42, databaseCount: 2, keys: 12)
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 99, producer: "flip")
        var rng = SeededGenerator(seed: 7)
        var reasons: Set<String> = []
        for position in 0..<bytes.count {
            var damaged = bytes
            damaged[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            do {
                _ = try SnapshotReader.decode(damaged, databaseCount: 2)
                Issue.record("flip at \(position) not detected")
            } catch {
                #expect(error.offset != nil, "flip at \(position): \(error)")
                if let offset = error.offset { #expect(offset <= position || offset < bytes.count) }
                reasons.insert(String(error.reason.prefix(20)))
            }
        }
        #expect(reasons.count >= 3, "magic, version and checksum failures are told apart: \(reasons)")
    }

    /// Keys whose record alone passes the section size (a 60k-entry stream, a big list and set) are streamed as
    /// sections of their own with the length written back; small keys around them go in ordinary sections.
    @Test func keysLargerThanASectionAreStreamedAndLoadBack() throws {
        var keyspace = Keyspace(databaseCount: 2)
        var stream = RillCore.Stream()
        for index in 0..<60_000 {
            _ = try stream.append(id: StreamID(ms: UInt64(index + 1), seq: 0),
                                  fieldsAndValues: [Array("event".utf8), Array("order_placed \(index)".utf8)])
        }
        for index in 0..<300 {
            _ = keyspace[index % 2].insertLoaded(.string(Array("small \(index)".utf8)), forKey: Array("s\(index)".utf8),
                                                 deadline: nil)
        }
        _ = keyspace[0].insertLoaded(.stream(stream), forKey: Array("big stream".utf8), deadline: nil)
        let element = [UInt8](repeating: 7, count: 1000)
        _ = keyspace[1].insertLoaded(.list(Deque((0..<1100).map { element + Array(String($0).utf8) })),
                                     forKey: Array("big list".utf8), deadline: 4_000_000_000_000)
        _ = keyspace[1].insertLoaded(.set(Set((0..<1100).map { element + Array(String($0).utf8) })),
                                     forKey: Array("big set".utf8), deadline: nil)
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 1, producer: "big")
        let loaded = try SnapshotReader.decode(bytes, databaseCount: 2)
        #expect(loaded.keyCount == 303)
        expectEqualKeyspaces(keyspace, loaded.keyspace)

        // Each big key is one section holding one record; no section is much larger than a big key.
        var offset = SnapshotFormat.fileHeaderSize
        var singleRecordSections = 0
        var sectionHeaderBytes: [Int] = []
        while offset < bytes.count {
            sectionHeaderBytes += Array(offset..<offset + 11)
            var length = 0
            for index in 0..<8 { length |= Int(bytes[offset + 1 + index]) << (8 * index) }
            if bytes[offset] == SnapshotFormat.SectionKind.keys.rawValue, bytes[offset + 10] == 1,
               length > SnapshotFormat.keysSectionTargetBytes {
                singleRecordSections += 1
            }
            offset += 9 + length + 4
        }
        #expect(offset == bytes.count)
        #expect(singleRecordSections == 3)

        // Damage in a streamed section (its written-back length included) and in the end section is detected.
        var rng = SeededGenerator(seed: 5)
        let positions = sectionHeaderBytes + (0..<100).map { _ in Int.random(in: 0..<bytes.count, using: &rng) }
            + Array(bytes.count - 30..<bytes.count)
        for position in positions {
            var damaged = bytes
            damaged[position] ^= 0x04
            #expect(throws: SnapshotError.self, "flip at \(position)") {
                try SnapshotReader.decode(damaged, databaseCount: 2)
            }
        }
    }

    @Test func everyTruncationIsDetected() {
        let keyspace = randomKeyspace(seed: 3, databaseCount: 2, keys: 8)
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 99, producer: "cut")
        for length in 0..<bytes.count {
            #expect(throws: SnapshotError.self) { try SnapshotReader.decode(Array(bytes[0..<length]), databaseCount: 2) }
        }
        #expect(throws: SnapshotError.self) { try SnapshotReader.decode(bytes + [0], databaseCount: 2) }
    }

    @Test func expiredKeysAreSkippedWhenLoadingWithAClock() throws {
        var keyspace = Keyspace(databaseCount: 1)
        _ = keyspace[0].insertLoaded(.string([1]), forKey: Array("old".utf8), deadline: 1000)
        _ = keyspace[0].insertLoaded(.string([2]), forKey: Array("new".utf8), deadline: 5000)
        _ = keyspace[0].insertLoaded(.string([3]), forKey: Array("forever".utf8), deadline: nil)
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 0, producer: "")
        let loaded = try SnapshotReader.decode(bytes, databaseCount: 1, nowMilliseconds: 2000)
        #expect(loaded.expiredKeysSkipped == 1)
        #expect(loaded.keyspace[0].count == 2)
        #expect(loaded.keyspace[0].storedEntry(forKey: Array("new".utf8))?.deadline == 5000)
    }

    @Test func aDatabaseTheServerLacksIsRefused() {
        var keyspace = Keyspace(databaseCount: 8)
        _ = keyspace[7].insertLoaded(.string([1]), forKey: [1], deadline: nil)
        let bytes = SnapshotWriter.encode(keyspace, createdAtMilliseconds: 0, producer: "")
        #expect(throws: SnapshotError.self) { try SnapshotReader.decode(bytes, databaseCount: 4) }
    }

    @Test func fileWriteIsAtomicAndLoads() throws {
        let directory = NSTemporaryDirectory() + "rill-snap-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/dump.rill"
        let keyspace = randomKeyspace(seed: 11)
        let summary = try SnapshotWriter.write(keyspace, toPath: path, createdAtMilliseconds: 5, producer: "file")
        #expect(summary.keyCount == keyspace.keyCount)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["dump.rill"])
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == summary.byteCount)
        var progress: [SnapshotLoadProgress] = []
        let loaded = try SnapshotReader.load(path: path, databaseCount: 4, nowMilliseconds: nil) { progress.append($0) }
        expectEqualKeyspaces(keyspace, loaded.keyspace)
        #expect(progress.last?.bytesRead == summary.byteCount)
        // Writing into a missing directory fails and leaves nothing behind.
        #expect(throws: SnapshotError.self) {
            try SnapshotWriter.write(keyspace, toPath: directory + "/missing/dump.rill", createdAtMilliseconds: 5, producer: "")
        }
    }
}

@Suite struct DumpPayloadTests {
    @Test(arguments: [21, 22, 23, 24] as [UInt64])
    func valuesRoundTrip(seed: UInt64) throws {
        let keyspace = randomKeyspace(seed: seed, databaseCount: 1, keys: 30)
        var checked = 0
        try keyspace[0].forEachEntry { _, value, _ in
            let restored = try DumpPayload.decode(DumpPayload.encode(value))
            var original = Keyspace(databaseCount: 1)
            var copy = Keyspace(databaseCount: 1)
            _ = original[0].insertLoaded(value, forKey: [0], deadline: nil)
            _ = copy[0].insertLoaded(restored, forKey: [0], deadline: nil)
            expectEqualKeyspaces(original, copy)
            checked += 1
        }
        #expect(checked == 30)
    }

    @Test func tamperedPayloadsAreRefused() {
        var stream = RillCore.Stream()
        for index in 0..<50 {
            _ = try? stream.append(id: StreamID(ms: UInt64(index + 1), seq: 0),
                                   fieldsAndValues: [Array("f".utf8), Array("v\(index)".utf8)])
        }
        let payload = DumpPayload.encode(.stream(stream))
        for position in 0..<payload.count {
            var damaged = payload
            damaged[position] ^= 0x10
            #expect(!DumpPayload.hasValidTrailer(damaged))
            #expect(throws: SnapshotError.self) { try DumpPayload.decode(damaged) }
        }
    }

    /// Damage with a recomputed checksum (what a hostile client can send): decoding must fail cleanly or produce a
    /// stream that passes full validation; never crash or read out of bounds.
    @Test func corruptBodiesWithValidChecksumsNeverCrash() {
        var rng = SeededGenerator(seed: 99)
        let keyspace = randomKeyspace(seed: 5, databaseCount: 1, keys: 40)
        var payloads: [[UInt8]] = []
        keyspace[0].forEachEntry { _, value, _ in payloads.append(DumpPayload.encode(value)) }
        var accepted = 0
        for payload in payloads {
            for _ in 0..<200 {
                var body = Array(payload.dropLast(6))
                let flips = Int.random(in: 1...3, using: &rng)
                for _ in 0..<flips { body[Int.random(in: 0..<body.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                body += [1, 0]
                var crc = CRC32C()
                crc.update(body)
                let value = crc.value
                body += [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
                if let decoded = try? DumpPayload.decode(body) {
                    accepted += 1
                    if case .stream(let stream) = decoded { #expect(stream.validate().isEmpty) }
                }
            }
        }
        #expect(accepted < payloads.count * 200)
    }
}
