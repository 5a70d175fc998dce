import Collections

// Idempotent production (Redis 8.6): XADD ... IDMP producer-id idempotent-id (or IDMPAUTO producer-id, the
// idempotent ID derived from the entry's content) remembers which entry each (producer, iid) pair created, so a
// retried XADD answers that entry's ID and adds nothing. XCFGSET sets how long pairs are kept and how many per
// producer.

/// One remembered (iid → entry) pair of a producer.
public struct IdempotentRecord: Sendable, Hashable {
    /// The idempotent ID (binary-safe, never empty).
    public var iid: [UInt8]
    /// The ID of the entry the first XADD with this iid created (it may have been deleted since).
    public var entryID: StreamID
    /// Unix ms when it was recorded; it is forgotten `durationSeconds` later.
    public var recordedAt: Int64

    public init(iid: [UInt8], entryID: StreamID, recordedAt: Int64) {
        self.iid = iid
        self.entryID = entryID
        self.recordedAt = recordedAt
    }
}

/// The remembered pairs of one producer, oldest first.
///
/// Invariants: `recordByIID` maps exactly the iids of `records` to their records, which are distinct; `records.count <= maxSize`
/// of the owning `StreamIdempotency` after every operation.
struct ProducerHistory: Sendable {
    var records = Deque<IdempotentRecord>()
    var recordByIID: [[UInt8]: IdempotentRecord] = [:]

    mutating func removeOldest() {
        // Callers check that records is not empty.
        let oldest = records.removeFirst()
        recordByIID[oldest.iid] = nil
    }

    /// Drops the records older than `durationMilliseconds` at `now` (records are appended in time order).
    mutating func expire(durationMilliseconds: Int64, nowMilliseconds: Int64) {
        while let oldest = records.first, oldest.recordedAt &+ durationMilliseconds <= nowMilliseconds {
            removeOldest()
        }
    }
}

/// A stream's idempotency state: settings, remembered pairs per producer, lifetime counters.
///
/// Invariants: `durationSeconds` in `durationRange`, `maxSize` in `maxSizeRange`; no producer history is empty;
/// every history satisfies `ProducerHistory`'s invariants.
public struct StreamIdempotency: Sendable {
    public static let defaultDurationSeconds: Int64 = 100
    public static let defaultMaxSize: Int64 = 100
    /// XCFGSET IDMP-DURATION bounds, in seconds.
    public static let durationRange: ClosedRange<Int64> = 1...86_400
    /// XCFGSET IDMP-MAXSIZE bounds, per producer.
    public static let maxSizeRange: ClosedRange<Int64> = 1...10_000

    public internal(set) var durationSeconds = StreamIdempotency.defaultDurationSeconds
    public internal(set) var maxSize = StreamIdempotency.defaultMaxSize
    /// XADDs that recorded a pair (`iids-added`).
    public internal(set) var iidsAdded: UInt64 = 0
    /// XADDs answered from a remembered pair (`iids-duplicates`).
    public internal(set) var iidsDuplicates: UInt64 = 0
    var producers: [[UInt8]: ProducerHistory] = [:]

    public init() {}

    var durationMilliseconds: Int64 { durationSeconds * 1000 }

    /// Describes every broken invariant (empty when consistent).
    /// - Complexity: O(records).
    func validate() -> [String] {
        var problems: [String] = []
        if !Self.durationRange.contains(durationSeconds) { problems.append("idempotency duration \(durationSeconds)") }
        if !Self.maxSizeRange.contains(maxSize) { problems.append("idempotency maxsize \(maxSize)") }
        for (producer, history) in producers {
            let name = "idempotency producer \(String(decoding: producer, as: UTF8.self))"
            if history.records.isEmpty { problems.append("\(name) has no records") }
            if history.records.count > maxSize { problems.append("\(name) holds \(history.records.count) > maxsize records") }
            if history.recordByIID.count != history.records.count {
                problems.append("\(name): \(history.recordByIID.count) iids for \(history.records.count) records")
            }
            for record in history.records where history.recordByIID[record.iid] != record {
                problems.append("\(name): iid index disagrees with record \(record.entryID)")
            }
        }
        return problems
    }

    /// Every remembered record, producers in byte order, each oldest first (for persistence and tests).
    public var records: [(producer: [UInt8], record: IdempotentRecord)] {
        producers.keys.sorted { $0.lexicographicallyPrecedes($1) }.flatMap { producer in
            // The key comes from the dictionary itself.
            producers[producer]!.records.map { (producer, $0) }
        }
    }
}

/// What XINFO STREAM reports about idempotency.
public struct IdempotencyInfo: Sendable, Hashable {
    public var durationSeconds: Int64
    public var maxSize: Int64
    /// Producers with at least one unexpired pair (`pids-tracked`).
    public var producersTracked: Int
    /// Unexpired pairs over all producers (`iids-tracked`).
    public var iidsTracked: Int
    public var iidsAdded: UInt64
    public var iidsDuplicates: UInt64
}

extension Stream {
    /// The entry ID remembered for (`producer`, `iid`), unless forgotten (expired, evicted or cleared).
    /// - Complexity: O(iid length).
    public func idempotentEntryID(producer: [UInt8], iid: [UInt8], nowMilliseconds: Int64) -> StreamID? {
        guard let state = idempotency, let record = state.producers[producer]?.recordByIID[iid] else { return nil }
        // An expired pair may still be stored until the producer's next XADD purges it.
        if record.recordedAt &+ state.durationMilliseconds <= nowMilliseconds { return nil }
        return record.entryID
    }

    /// Whether some remembered pair is past IDMP-DURATION at `now` (so `forgetExpiredIdempotentRecords` frees memory).
    /// Records are stamped with the clock when they were recorded, never with their entry's ID: a stream whose IDs run
    /// ahead of the clock (an explicit future ID) must not keep its pairs forever (the bug of Redis issue #15836).
    /// - Complexity: O(producers).
    public func hasExpiredIdempotentRecords(nowMilliseconds: Int64) -> Bool {
        guard let state = idempotency else { return false }
        return state.producers.values.contains { history in
            history.records.first.map { $0.recordedAt &+ state.durationMilliseconds <= nowMilliseconds } ?? false
        }
    }

    /// Drops every pair past IDMP-DURATION, and producers left without pairs, so producers that stopped adding do
    /// not hold memory until their next XADD. Nothing observable changes: expired pairs already answer nothing.
    /// - Returns: the number of pairs dropped.
    /// - Complexity: O(producers + pairs dropped).
    @discardableResult
    public mutating func forgetExpiredIdempotentRecords(nowMilliseconds: Int64) -> Int {
        guard var state = idempotency else { return 0 }
        defer { _checkInvariants() }
        var dropped = 0
        for producer in Array(state.producers.keys) {
            // The key comes from the dictionary itself.
            var history = state.producers[producer]!
            let before = history.records.count
            history.expire(durationMilliseconds: state.durationMilliseconds, nowMilliseconds: nowMilliseconds)
            dropped += before - history.records.count
            state.producers[producer] = history.records.isEmpty ? nil : history
        }
        idempotency = state
        return dropped
    }

    /// Counts an XADD answered from a remembered pair.
    public mutating func countIdempotentDuplicate() {
        defer { _checkInvariants() }
        idempotency = idempotency ?? StreamIdempotency()
        idempotency!.iidsDuplicates &+= 1
    }

    /// Remembers that (`producer`, `iid`) created `entryID` now: the producer's expired pairs are dropped first and
    /// its oldest ones evicted beyond IDMP-MAXSIZE.
    /// - Returns: false, changing nothing, when the pair is already remembered for another entry; true otherwise
    ///   (`iids-added` counts only pairs not remembered before).
    /// - Complexity: O(expired + evicted + iid length).
    @discardableResult
    public mutating func recordIdempotentEntry(producer: [UInt8], iid: [UInt8], entryID: StreamID,
                                               nowMilliseconds: Int64) -> Bool {
        defer { _checkInvariants() }
        var state = idempotency ?? StreamIdempotency()
        var history = state.producers[producer] ?? ProducerHistory()
        history.expire(durationMilliseconds: state.durationMilliseconds, nowMilliseconds: nowMilliseconds)
        if let known = history.recordByIID[iid] {
            return known.entryID == entryID
        }
        let record = IdempotentRecord(iid: iid, entryID: entryID, recordedAt: nowMilliseconds)
        history.records.append(record)
        history.recordByIID[iid] = record
        while history.records.count > Int(state.maxSize) { history.removeOldest() }
        state.producers[producer] = history
        state.iidsAdded &+= 1
        idempotency = state
        return true
    }

    /// XCFGSET: sets IDMP-DURATION and/or IDMP-MAXSIZE (values already checked against the ranges). A setting that
    /// changes forgets every remembered pair; setting the current values keeps them.
    public mutating func configureIdempotency(durationSeconds: Int64?, maxSize: Int64?) {
        defer { _checkInvariants() }
        var state = idempotency ?? StreamIdempotency()
        let newDuration = durationSeconds ?? state.durationSeconds
        let newMaxSize = maxSize ?? state.maxSize
        if newDuration != state.durationSeconds || newMaxSize != state.maxSize {
            state.producers = [:]
        }
        state.durationSeconds = newDuration
        state.maxSize = newMaxSize
        idempotency = state
    }

    /// XINFO STREAM's idempotency fields; defaults and zero counters for a stream that never used IDMP, IDMPAUTO or
    /// XCFGSET.
    /// - Complexity: O(pairs).
    public func idempotencyInfo(nowMilliseconds: Int64) -> IdempotencyInfo {
        guard let state = idempotency else {
            // A stream that never used IDMP reports the settings it would use and zero counters.
            return IdempotencyInfo(durationSeconds: StreamIdempotency.defaultDurationSeconds,
                                   maxSize: StreamIdempotency.defaultMaxSize, producersTracked: 0, iidsTracked: 0,
                                   iidsAdded: 0, iidsDuplicates: 0)
        }
        var producers = 0
        var iids = 0
        for history in state.producers.values {
            let live = history.records.reduce(0) { count, record in
                record.recordedAt &+ state.durationMilliseconds > nowMilliseconds ? count + 1 : count
            }
            if live > 0 { producers += 1 }
            iids += live
        }
        return IdempotencyInfo(durationSeconds: state.durationSeconds, maxSize: state.maxSize,
                               producersTracked: producers, iidsTracked: iids, iidsAdded: state.iidsAdded,
                               iidsDuplicates: state.iidsDuplicates)
    }

    /// Restores persisted idempotency state: settings and counters as saved, then the records in saved order.
    /// - Throws: a description of the first invalid piece (out-of-range settings, empty producer or iid, a record
    ///   after the stream's last ID, an iid repeated for a producer).
    public mutating func restoreIdempotency(durationSeconds: Int64, maxSize: Int64, iidsAdded: UInt64,
                                            iidsDuplicates: UInt64,
                                            records: [(producer: [UInt8], record: IdempotentRecord)]) throws(ConsumerGroupRestoreError) {
        guard StreamIdempotency.durationRange.contains(durationSeconds) else {
            throw ConsumerGroupRestoreError("IDMP duration \(durationSeconds) out of range")
        }
        guard StreamIdempotency.maxSizeRange.contains(maxSize) else {
            throw ConsumerGroupRestoreError("IDMP maxsize \(maxSize) out of range")
        }
        var state = StreamIdempotency()
        state.durationSeconds = durationSeconds
        state.maxSize = maxSize
        state.iidsAdded = iidsAdded
        state.iidsDuplicates = iidsDuplicates
        for (producer, record) in records {
            guard !producer.isEmpty, !record.iid.isEmpty else { throw ConsumerGroupRestoreError("empty IDMP producer or iid") }
            guard record.entryID <= lastID else {
                throw ConsumerGroupRestoreError("IDMP entry \(record.entryID) after the stream's last ID \(lastID)")
            }
            var history = state.producers[producer] ?? ProducerHistory()
            guard history.recordByIID.updateValue(record, forKey: record.iid) == nil else {
                throw ConsumerGroupRestoreError("IDMP iid repeated for a producer")
            }
            history.records.append(record)
            guard history.records.count <= Int(maxSize) else {
                throw ConsumerGroupRestoreError("more IDMP records for a producer than maxsize \(maxSize)")
            }
            state.producers[producer] = history
        }
        idempotency = state
        _checkInvariants()
    }

    /// IDMPAUTO's idempotent ID: a 128-bit digest of the entry's field-value pairs taken as a set, so the same
    /// content in another pair order yields the same iid (a repeated pair still counts twice). Stable across runs and
    /// machines, since it is persisted.
    public static func automaticIdempotentID(fieldsAndValues: [[UInt8]]) -> [UInt8] {
        var pairs: [([UInt8], [UInt8])] = stride(from: 0, to: fieldsAndValues.count - 1, by: 2).map {
            (fieldsAndValues[$0], fieldsAndValues[$0 + 1])
        }
        pairs.sort { $0.0 != $1.0 ? $0.0.lexicographicallyPrecedes($1.0) : $0.1.lexicographicallyPrecedes($1.1) }
        // Two independent FNV-1a passes over a length-prefixed encoding (unambiguous: no two pair lists encode alike).
        var low: UInt64 = 0xcbf2_9ce4_8422_2325
        var high: UInt64 = 0x6c62_272e_07bb_0142
        func mix(_ byte: UInt8) {
            low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            high = (high ^ UInt64(byte ^ 0x5a)) &* 0x0000_0100_0000_01b3
        }
        func mixLength(_ count: Int) {
            var value = UInt64(count)
            for _ in 0..<8 {
                mix(UInt8(truncatingIfNeeded: value))
                value >>= 8
            }
        }
        for (field, value) in pairs {
            mixLength(field.count)
            field.forEach(mix)
            mixLength(value.count)
            value.forEach(mix)
        }
        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        for word in [high, low] {
            for shift in stride(from: 56, through: 0, by: -8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return digest
    }
}
