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
            #expect(!DumpPayload.hasValidFooter(damaged))
            #expect(throws: DumpPayloadError.self) { try DumpPayload.decode(damaged) }
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
                // Keep the version, damage the object, recompute the CRC-64.
                var body = Array(payload.dropLast(8))
                let flips = Int.random(in: 1...3, using: &rng)
                for _ in 0..<flips {
                    body[Int.random(in: 0..<(body.count - 2), using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                let checksum = CRC64.checksum(of: body)
                for index in 0..<8 { body.append(UInt8(truncatingIfNeeded: checksum >> (8 * UInt64(index)))) }
                if let decoded = try? DumpPayload.decode(body) {
                    accepted += 1
                    if case .stream(let stream) = decoded { #expect(stream.validate().isEmpty) }
                }
            }
        }
        #expect(accepted < payloads.count * 200)
    }
}
