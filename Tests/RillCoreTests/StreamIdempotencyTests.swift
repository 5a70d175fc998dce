import RillTestSupport
import Testing
@testable import RillCore

/// Idempotent production on the model (Redis 8.6 XADD IDMP/IDMPAUTO, XCFGSET), following Redis' idempotency page:
/// pairs are per producer, forgotten after IDMP-DURATION or beyond IDMP-MAXSIZE (oldest first), cleared by a
/// changed setting, and a pair keeps answering its entry's ID even after the entry is deleted.
struct StreamIdempotencyTests {
    static func id(_ ms: UInt64) -> StreamID { StreamID(ms: ms, seq: 0) }
    static let p1 = bytes("p1")

    static func stream(entries: Int) throws -> Stream {
        try ConsumerGroupTests.stream(entries: entries)
    }

    @Test func remembersPairsPerProducerAndCounts() throws {
        var stream = try Self.stream(entries: 2)
        // Before any IDMP use: the default settings and zero counters.
        #expect(stream.idempotencyInfo(nowMilliseconds: 0) == IdempotencyInfo(
            durationSeconds: 100, maxSize: 100, producersTracked: 0, iidsTracked: 0, iidsAdded: 0, iidsDuplicates: 0))
        let recorded = stream.recordIdempotentEntry(producer: Self.p1, iid: bytes("a"), entryID: Self.id(1), nowMilliseconds: 0)
        #expect(recorded)
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("a"), nowMilliseconds: 10) == Self.id(1))
        #expect(stream.idempotentEntryID(producer: bytes("p2"), iid: bytes("a"), nowMilliseconds: 10) == nil)
        // The same pair for another entry is refused; for the same entry it is accepted without counting.
        let conflicting = stream.recordIdempotentEntry(producer: Self.p1, iid: bytes("a"), entryID: Self.id(2), nowMilliseconds: 0)
        let repeated = stream.recordIdempotentEntry(producer: Self.p1, iid: bytes("a"), entryID: Self.id(1), nowMilliseconds: 0)
        #expect(!conflicting)
        #expect(repeated)
        stream.countIdempotentDuplicate()
        _ = stream.delete([Self.id(1)])
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("a"), nowMilliseconds: 10) == Self.id(1))
        #expect(stream.idempotencyInfo(nowMilliseconds: 10) == IdempotencyInfo(
            durationSeconds: 100, maxSize: 100, producersTracked: 1, iidsTracked: 1, iidsAdded: 1, iidsDuplicates: 1))
    }

    @Test func pairsExpireAfterTheDurationAndAreEvictedBeyondMaxSize() throws {
        var stream = try Self.stream(entries: 4)
        stream.configureIdempotency(durationSeconds: 2, maxSize: 2)
        for ms in 1...3 {
            stream.recordIdempotentEntry(producer: Self.p1, iid: bytes("i\(ms)"), entryID: Self.id(UInt64(ms)),
                                         nowMilliseconds: Int64(ms) * 1000)
        }
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("i1"), nowMilliseconds: 3000) == nil)
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("i2"), nowMilliseconds: 3000) == Self.id(2))
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("i2"), nowMilliseconds: 4000) == nil)
        #expect(stream.idempotencyInfo(nowMilliseconds: 4000).iidsTracked == 1)
        #expect(stream.idempotencyInfo(nowMilliseconds: 5000).producersTracked == 0)
    }

    @Test func changingASettingClearsThePairsButNotTheCounters() throws {
        var stream = try Self.stream(entries: 1)
        stream.recordIdempotentEntry(producer: Self.p1, iid: bytes("a"), entryID: Self.id(1), nowMilliseconds: 0)
        stream.configureIdempotency(durationSeconds: 100, maxSize: nil)
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("a"), nowMilliseconds: 0) == Self.id(1))
        stream.configureIdempotency(durationSeconds: nil, maxSize: 5)
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("a"), nowMilliseconds: 0) == nil)
        #expect(stream.idempotencyInfo(nowMilliseconds: 0).iidsAdded == 1)
        #expect(stream.idempotencyInfo(nowMilliseconds: 0).maxSize == 5)
    }

    @Test func automaticIDIgnoresPairOrderButNotContent() {
        let a = Stream.automaticIdempotentID(fieldsAndValues: [bytes("a"), bytes("1"), bytes("b"), bytes("2")])
        let b = Stream.automaticIdempotentID(fieldsAndValues: [bytes("b"), bytes("2"), bytes("a"), bytes("1")])
        let c = Stream.automaticIdempotentID(fieldsAndValues: [bytes("a"), bytes("12"), bytes("b"), bytes("")])
        let d = Stream.automaticIdempotentID(fieldsAndValues: [bytes("a"), bytes("1"), bytes("a"), bytes("1")])
        let e = Stream.automaticIdempotentID(fieldsAndValues: [bytes("a"), bytes("1")])
        #expect(a == b)
        #expect(a.count == 16)
        #expect(Set([a, c, d, e]).count == 4)
    }

    @Test func restoreRejectsInvalidState() throws {
        var stream = try Self.stream(entries: 1)
        let record = IdempotentRecord(iid: bytes("a"), entryID: Self.id(1), recordedAt: 5)
        #expect(throws: ConsumerGroupRestoreError.self) {
            var copy = stream
            try copy.restoreIdempotency(durationSeconds: 0, maxSize: 1, iidsAdded: 0, iidsDuplicates: 0, records: [])
        }
        #expect(throws: ConsumerGroupRestoreError.self) {
            var copy = stream
            try copy.restoreIdempotency(durationSeconds: 1, maxSize: 1, iidsAdded: 0, iidsDuplicates: 0,
                                          records: [(Self.p1, record), (Self.p1, record)])
        }
        #expect(throws: ConsumerGroupRestoreError.self) {
            var copy = stream
            try copy.restoreIdempotency(durationSeconds: 1, maxSize: 5, iidsAdded: 0, iidsDuplicates: 0,
                                          records: [(Self.p1, IdempotentRecord(iid: bytes("b"), entryID: Self.id(9), recordedAt: 0))])
        }
        try stream.restoreIdempotency(durationSeconds: 1, maxSize: 5, iidsAdded: 3, iidsDuplicates: 4, records: [(Self.p1, record)])
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("a"), nowMilliseconds: 1000) == Self.id(1))
        #expect(stream.idempotency?.records.map(\.record) == [record])
    }

    /// Redis issue #15836: pairs are stamped with the clock, not their entry's ID, so entries whose IDs run ahead of
    /// the clock (an explicit future ID earlier in the stream) still expire, and the sweep frees them and their
    /// producer even if that producer never adds again.
    @Test func pairsOfEntriesAheadOfTheClockExpireAndTheSweepFreesThem() throws {
        var stream = try Self.stream(entries: 1)
        stream.configureIdempotency(durationSeconds: 1, maxSize: 10)
        let future = StreamID(ms: 4_102_444_800_000, seq: 5)  // year 2100
        stream.recordIdempotentEntry(producer: Self.p1, iid: bytes("a"), entryID: future, nowMilliseconds: 1000)
        stream.recordIdempotentEntry(producer: bytes("p2"), iid: bytes("b"), entryID: future, nowMilliseconds: 1500)
        #expect(!stream.hasExpiredIdempotentRecords(nowMilliseconds: 1999))
        #expect(stream.forgetExpiredIdempotentRecords(nowMilliseconds: 1999) == 0)
        #expect(stream.hasExpiredIdempotentRecords(nowMilliseconds: 2000))
        #expect(stream.idempotentEntryID(producer: Self.p1, iid: bytes("a"), nowMilliseconds: 2000) == nil)
        #expect(stream.forgetExpiredIdempotentRecords(nowMilliseconds: 2000) == 1)
        #expect(stream.idempotency?.records.map(\.producer) == [bytes("p2")])
        #expect(stream.forgetExpiredIdempotentRecords(nowMilliseconds: 2500) == 1)
        #expect(stream.idempotency?.records.isEmpty == true)
        #expect(!stream.hasExpiredIdempotentRecords(nowMilliseconds: 10_000))
        // Counters and settings stay: only memory is released.
        #expect(stream.idempotencyInfo(nowMilliseconds: 2500) == IdempotencyInfo(
            durationSeconds: 1, maxSize: 10, producersTracked: 0, iidsTracked: 0, iidsAdded: 2, iidsDuplicates: 0))
    }
}
