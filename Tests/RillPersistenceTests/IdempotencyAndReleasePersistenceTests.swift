import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

/// The Redis 8 stream extensions (tag 2: idempotency, tag 3: entries released by XNACK) round-trip through DUMP
/// payloads, are absent for streams that never used the features, and are checked on load.
struct IdempotencyAndReleasePersistenceTests {
    static func id(_ ms: UInt64) -> StreamID { StreamID(ms: ms, seq: 0) }

    static func streamUsingEverything() throws -> RillCore.Stream {
        var stream = RillCore.Stream()
        for ms in 1...5 { try stream.append(id: id(UInt64(ms)), fieldsAndValues: [bytes("f"), bytes("\(ms)")]) }
        stream.configureIdempotency(durationSeconds: 600, maxSize: 3)
        stream.recordIdempotentEntry(producer: bytes("p1"), iid: bytes("a"), entryID: id(1), nowMilliseconds: 10)
        stream.recordIdempotentEntry(producer: bytes("p1"), iid: bytes("b"), entryID: id(2), nowMilliseconds: 20)
        stream.recordIdempotentEntry(producer: bytes("p2"), iid: bytes("a"), entryID: id(3), nowMilliseconds: 30)
        stream.countIdempotentDuplicate()
        try stream.createGroup(named: bytes("g"), lastDeliveredID: .zero, entriesRead: 0)
        _ = try stream.readNewEntries(group: bytes("g"), consumer: bytes("c"), count: 4, noAcknowledgement: false,
                                      nowMilliseconds: 100)
        _ = try stream.release(group: bytes("g"), ids: [id(2), id(4)], mode: .fatal, retryCount: nil, force: false)
        _ = try stream.release(group: bytes("g"), ids: [id(5)], mode: .fail, retryCount: 3, force: true)
        return stream
    }

    static func roundTrip(_ stream: RillCore.Stream) throws -> RillCore.Stream {
        guard case .stream(let copy) = try DumpPayload.decode(DumpPayload.encode(.stream(stream))) else {
            throw SnapshotError(offset: 0, reason: "type changed")
        }
        return copy
    }

    @Test func idempotencyAndReleasedEntriesRoundTrip() throws {
        let stream = try Self.streamUsingEverything()
        let copy = try Self.roundTrip(stream)
        #expect(copy.validate().isEmpty)
        #expect(copy.idempotencyInfo(nowMilliseconds: 40) == stream.idempotencyInfo(nowMilliseconds: 40))
        #expect(copy.idempotency?.records.map(\.record) == stream.idempotency?.records.map(\.record))
        #expect(copy.idempotentEntryID(producer: bytes("p1"), iid: bytes("b"), nowMilliseconds: 40) == Self.id(2))
        let group = try #require(copy.group(named: bytes("g")))
        #expect(group.pendingEntries(limit: 0) == stream.group(named: bytes("g"))!.pendingEntries(limit: 0))
        #expect(group.pendingEntries(limit: 0).map(\.isReleased) == [false, true, false, true, true])
        #expect(copy.releasedPendingEntries(ofGroup: bytes("g")).map(\.deliveryCount) == [UInt64(Int64.max), UInt64(Int64.max), 3])
    }

    @Test func streamsWithoutTheFeaturesEncodeAsBefore() throws {
        var stream = RillCore.Stream()
        try stream.append(id: Self.id(1), fieldsAndValues: [bytes("f"), bytes("v")])
        var sink = ByteSink()
        ValueCodec.encodeStream(stream, to: &sink)
        #expect(sink.bytes.last == 0, "no extension")
        #expect(try Self.roundTrip(stream).idempotency == nil)
    }

    @Test func everyFlippedByteOfAPayloadWithIdempotencyOrReleasedEntriesIsRefused() throws {
        let payload = DumpPayload.encode(.stream(try Self.streamUsingEverything()))
        for index in payload.indices {
            var damaged = payload
            damaged[index] ^= 0x41
            #expect(throws: DumpPayloadError.self) { try DumpPayload.decode(damaged) }
        }
    }
}
