import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

/// A stream of ten entries 1-0 ... 10-0.
private func tenEntryStream() -> RillCore.Stream {
    var stream = RillCore.Stream()
    for index in 1...10 {
        _ = try? stream.append(id: StreamID(ms: UInt64(index), seq: 0), fieldsAndValues: [Array("f".utf8), Array("v".utf8)])
    }
    return stream
}

/// Two groups: one with two consumers sharing a partially acknowledged PEL (one entry claimed with a past time and a
/// retry count, one deleted from the stream), one empty with unknown entries-read.
private func streamWithGroups() throws -> RillCore.Stream {
    var stream = tenEntryStream()
    try stream.createGroup(named: Array("workers".utf8), lastDeliveredID: .zero, entriesRead: nil)
    _ = try stream.readNewEntries(group: Array("workers".utf8), consumer: Array("alice".utf8), count: 4,
                                  noAcknowledgement: false, nowMilliseconds: 1_000)
    _ = try stream.readNewEntries(group: Array("workers".utf8), consumer: Array("bob".utf8), count: 3,
                                  noAcknowledgement: false, nowMilliseconds: 2_000)
    _ = stream.acknowledge(group: Array("workers".utf8), ids: [StreamID(ms: 2, seq: 0), StreamID(ms: 6, seq: 0)])
    _ = try stream.claim(group: Array("workers".utf8), consumer: Array("bob".utf8), ids: [StreamID(ms: 3, seq: 0)],
                         minimumIdle: 0, options: ClaimOptions(deliveryTime: 500, retryCount: 7), nowMilliseconds: 3_000)
    try stream.createConsumer(group: Array("workers".utf8), consumer: Array("carol".utf8), nowMilliseconds: 4_000)
    stream.delete(StreamID(ms: 4, seq: 0))
    try stream.createGroup(named: Array("audit".utf8), lastDeliveredID: StreamID(ms: 5, seq: 0), entriesRead: nil)
    try stream.setGroupLastDeliveredID(Array("audit".utf8), to: StreamID(ms: 5, seq: 0), entriesRead: nil)
    return stream
}

/// A DUMP payload for `stream`'s entries (groups ignored) followed by a consumer-group extension of `payload` bytes.
private func payload(for stream: RillCore.Stream, groupExtension: ByteSink) -> [UInt8] {
    var withoutGroups = RillCore.Stream()
    var restorer = StreamRestorer()
    stream.forEachBlockImage { image in
        try? restorer.addBlock(masterID: image.masterID, masterFieldCount: image.masterFieldCount, bytes: image.bytes)
    }
    // The blocks come from a valid stream.
    withoutGroups = try! restorer.finish(metadata: stream.metadata)
    var sink = ByteSink()
    sink.byte(ValueCodec.TypeCode.stream.rawValue)
    ValueCodec.encodeStream(withoutGroups, to: &sink)
    #expect(sink.bytes.last == 0, "extension count 0 for a stream without groups")
    sink.bytes.removeLast()
    sink.varint(1)
    sink.byte(ValueCodec.StreamExtensionTag.consumerGroups.rawValue)
    sink.string(groupExtension.bytes)
    sink.littleEndian(UInt16(SnapshotFormat.version))
    sink.littleEndian(CRC32C.checksum(of: sink.bytes))
    return sink.bytes
}

/// One hand-written group: `consumers` as (name, declared pending count), PEL as (id ms, owner index).
private func groupExtension(groups: [(name: String, consumers: [(String, Int)], pel: [(UInt64, Int)])]) -> ByteSink {
    var sink = ByteSink()
    sink.varint(groups.count)
    for group in groups {
        sink.string(Array(group.name.utf8))
        sink.id(StreamID(ms: 10, seq: 0))
        sink.byte(1)
        sink.varint(UInt64(10))
        sink.varint(group.consumers.count)
        for (name, pending) in group.consumers {
            sink.string(Array(name.utf8))
            sink.littleEndian(Int64(100))
            sink.littleEndian(Int64(-1))
            sink.varint(pending)
        }
        sink.varint(group.pel.count)
        for (ms, owner) in group.pel {
            sink.id(StreamID(ms: ms, seq: 0))
            sink.varint(owner)
            sink.littleEndian(Int64(50))
            sink.varint(UInt64(1))
        }
    }
    return sink
}

@Suite struct ConsumerGroupPersistenceTests {
    @Test func groupsConsumersAndPendingEntriesRoundTrip() throws {
        let stream = try streamWithGroups()
        let restored = try DumpPayload.decode(DumpPayload.encode(.stream(stream)))
        guard case .stream(let copy) = restored else {
            Issue.record("type changed")
            return
        }
        #expect(copy.validate().isEmpty)
        #expect(GroupFingerprint.of(copy) == GroupFingerprint.of(stream))
        let workers = try #require(copy.group(named: Array("workers".utf8)))
        #expect(workers.pendingEntries(limit: 0).map(\.id.ms) == [1, 3, 4, 5, 7])
        #expect(workers.pendingEntries(limit: 0).map(\.deliveryCount) == [1, 7, 1, 1, 1])
        #expect(workers.pendingEntries(limit: 0)[1].deliveryTime == 500)
        #expect(workers.consumers.map { String(decoding: $0.name, as: UTF8.self) } == ["alice", "bob", "carol"])
        #expect(workers.consumers.map(\.activeTime) == [1_000, 3_000, -1])
        #expect(workers.consumers.map(\.seenTime) == [1_000, 3_000, 4_000])
        #expect(copy.group(named: Array("audit".utf8))?.entriesRead == nil)
        #expect(copy.group(named: Array("workers".utf8))?.entriesRead == stream.group(named: Array("workers".utf8))?.entriesRead)
    }

    /// The random keyspaces of the round-trip tests really exercise groups, so those tests cover them.
    @Test func randomKeyspacesContainGroups() {
        var groups = 0, consumers = 0, pending = 0, unknownEntriesRead = 0, neverActive = 0
        for seed in 1...8 as ClosedRange<UInt64> {
            randomKeyspace(seed: seed)[0].forEachEntry { _, value, _ in
                guard case .stream(let stream) = value else { return }
                for group in stream.consumerGroups {
                    groups += 1
                    consumers += group.consumerCount
                    pending += group.pendingCount
                    if group.entriesRead == nil { unknownEntriesRead += 1 }
                    neverActive += group.consumers.filter { $0.activeTime == -1 }.count
                }
            }
        }
        #expect(groups >= 10 && consumers >= 10 && pending >= 50 && unknownEntriesRead >= 1 && neverActive >= 1,
                "\(groups) groups, \(consumers) consumers, \(pending) pending, \(unknownEntriesRead) unknown, \(neverActive) idle")
    }

    @Test func everyFlippedByteOfAPayloadWithGroupsIsRefused() throws {
        let payload = DumpPayload.encode(.stream(try streamWithGroups()))
        for position in 0..<payload.count {
            for bit in 0..<8 {
                var damaged = payload
                damaged[position] ^= UInt8(1) << UInt8(bit)
                #expect(throws: DumpPayloadError.self) { try DumpPayload.decode(damaged) }
            }
        }
        for length in 0..<payload.count {
            #expect(throws: DumpPayloadError.self) { try DumpPayload.decode(Array(payload[0..<length])) }
        }
    }

    @Test func snapshotWithGroupsHasEveryFlipDetected() throws {
        var keyspace = Keyspace(databaseCount: 1)
        _ = keyspace[0].insertLoaded(.stream(try streamWithGroups()), forKey: Array("s".utf8), deadline: nil)
        let bytes = RDBFileWriter.encode(keyspace, options: RDBFileOptions(
            createdAtMilliseconds: 5, redisVersion: "8.8.0", rillVersion: "groups"))
        let loaded = try RDBFileReader.decode(bytes, databaseCount: 1)
        expectEqualKeyspaces(keyspace, loaded.keyspace)
        for position in 0..<bytes.count {
            var damaged = bytes
            damaged[position] ^= 0x04
            #expect(throws: SnapshotError.self) { try RDBFileReader.decode(damaged, databaseCount: 1) }
        }
    }

    @Test func wellFormedHandWrittenGroupsLoad() throws {
        let value = try LegacyDumpPayload.decode(payload(for: tenEntryStream(), groupExtension: groupExtension(groups: [
            (name: "g", consumers: [("a", 1), ("b", 2)], pel: [(2, 1), (3, 0), (9, 1)]),
        ])))
        guard case .stream(let stream) = value else {
            Issue.record("type changed")
            return
        }
        #expect(stream.validate().isEmpty)
        let group = try #require(stream.group(named: Array("g".utf8)))
        #expect(group.pendingEntries(ofConsumer: Array("b".utf8), limit: 0).map(\.id.ms) == [2, 9])
        #expect(group.entriesRead == 10)
    }

    @Test(arguments: [
        ("pending entry after the last ID", [(name: "g", consumers: [("a", 1)], pel: [(11, 0)])]),
        ("owner that does not exist", [(name: "g", consumers: [("a", 1)], pel: [(3, 1)])]),
        ("pending IDs out of order", [(name: "g", consumers: [("a", 2)], pel: [(3, 0), (2, 0)])]),
        ("duplicate pending ID", [(name: "g", consumers: [("a", 2)], pel: [(3, 0), (3, 0)])]),
        ("consumer PEL count too high", [(name: "g", consumers: [("a", 2), ("b", 0)], pel: [(3, 0)])]),
        ("consumer PEL count too low", [(name: "g", consumers: [("a", 0), ("b", 1)], pel: [(3, 0), (4, 1)])]),
        ("duplicate consumer", [(name: "g", consumers: [("a", 0), ("a", 0)], pel: [])]),
        ("consumers out of order", [(name: "g", consumers: [("b", 0), ("a", 0)], pel: [])]),
        ("duplicate group", [(name: "g", consumers: [], pel: []), (name: "g", consumers: [], pel: [])]),
    ] as [(String, [(name: String, consumers: [(String, Int)], pel: [(UInt64, Int)])])])
    func inconsistentGroupsAreRefused(label: String, groups: [(name: String, consumers: [(String, Int)], pel: [(UInt64, Int)])]) {
        let bytes = payload(for: tenEntryStream(), groupExtension: groupExtension(groups: groups))
        #expect(LegacyDumpPayload.hasValidTrailer(bytes), "\(label)")
        do {
            _ = try LegacyDumpPayload.decode(bytes)
            Issue.record("\(label) accepted")
        } catch {
            #expect(error.reason.contains("consumer group") || error.reason.contains("pending entry"), "\(label): \(error)")
        }
    }

    @Test func malformedExtensionsAreRefused() {
        var trailing = groupExtension(groups: [(name: "g", consumers: [], pel: [])])
        trailing.byte(0)
        #expect(throws: SnapshotError.self) { try LegacyDumpPayload.decode(payload(for: tenEntryStream(), groupExtension: trailing)) }
        var badFlag = ByteSink()
        badFlag.varint(1)
        badFlag.string(Array("g".utf8))
        badFlag.id(.zero)
        badFlag.byte(2)
        badFlag.varint(0)
        badFlag.varint(0)
        #expect(throws: SnapshotError.self) { try LegacyDumpPayload.decode(payload(for: tenEntryStream(), groupExtension: badFlag)) }
    }
}
