import RillTestSupport
import Testing
import RillCore

/// A deliberately simple stream: a sorted array of entries plus metadata, following Redis's rules.
struct StreamModel {
    var entries: [StreamEntry] = []
    var lastID = StreamID.zero
    var maxDeletedEntryID = StreamID.zero
    var entriesAdded: UInt64 = 0

    var firstID: StreamID { entries.first?.id ?? .zero }

    func nextID(_ spec: StreamIDSpec, now: UInt64) -> Result<StreamID, StreamError> {
        if spec.isExplicitZero { return .failure(.idZero) }
        if lastID == .max { return .failure(.exhausted) }
        let id: StreamID
        switch spec {
        case .automatic:
            id = now > lastID.ms ? StreamID(ms: now, seq: 0)
                : (lastID.seq == .max ? StreamID(ms: lastID.ms + 1, seq: 0) : StreamID(ms: lastID.ms, seq: lastID.seq + 1))
        case .automaticSequence(let ms):
            if ms == lastID.ms {
                if lastID.seq == .max { return .failure(.idNotGreaterThanTop) }
                id = StreamID(ms: ms, seq: lastID.seq + 1)
            } else {
                id = StreamID(ms: ms, seq: 0)
            }
        case .explicit(let explicit):
            id = explicit
        }
        return id > lastID ? .success(id) : .failure(.idNotGreaterThanTop)
    }

    func range(_ start: StreamID, _ end: StreamID, reverse: Bool, limit: Int) -> [StreamEntry] {
        guard limit > 0 else { return [] }
        let selected = entries.filter { $0.id >= start && $0.id <= end }
        return Array((reverse ? selected.reversed() : selected).prefix(limit))
    }
}

struct StreamModelTests {

    static func randomFields(_ rng: inout SeededGenerator) -> [[UInt8]] {
        StreamNodeCuttingTests.randomFields(&rng)
    }

    static func randomID(near model: StreamModel, _ rng: inout SeededGenerator) -> StreamID {
        switch rng.next() % 6 {
        case 0: return .zero
        case 1: return .max
        case 2 where !model.entries.isEmpty:
            return model.entries[Int(rng.next() % UInt64(model.entries.count))].id
        default:
            let top = min(max(model.lastID.ms, 1), 1 << 50)
            return StreamID(ms: rng.next() % (top + 3), seq: rng.next() % 4)
        }
    }

    static func compare(_ stream: Stream, _ model: StreamModel, _ context: String) {
        #expect(stream.validate() == [], "\(context)")
        #expect(stream.length == UInt64(model.entries.count), "\(context)")
        #expect(stream.lastID == model.lastID, "\(context)")
        #expect(stream.maxDeletedEntryID == model.maxDeletedEntryID, "\(context)")
        #expect(stream.entriesAdded == model.entriesAdded, "\(context)")
        #expect(stream.recordedFirstEntryID == model.firstID, "\(context)")
        #expect(stream.entries() == model.entries, "\(context)")
        #expect(stream.firstEntry == model.entries.first, "\(context)")
        #expect(stream.lastEntry == model.entries.last, "\(context)")
        #expect(stream.firstEntryID == model.entries.first?.id, "\(context)")
        #expect(stream.lastEntryID == model.entries.last?.id, "\(context)")
    }

    @Test(arguments: [(11 as UInt64, 4096, 100), (12, 300, 5), (13, 100, 0), (14, 4096, 3), (15, 0, 0), (16, 1500, 17)])
    func randomOperationsMatchTheModel(seed: UInt64, maxBytes: Int, maxEntries: Int) throws {
        var rng = SeededGenerator(seed: seed)
        let limits = StreamNodeLimits(maxBytes: maxBytes, maxEntries: maxEntries)
        var stream = Stream()
        var model = StreamModel()
        var snapshots: [(Stream, StreamModel)] = []
        var now: UInt64 = 1_700_000_000_000
        for step in 0..<2500 {
            let context = "seed \(seed) step \(step)"
            let operation = rng.next() % 100
            if operation < 60 {
                // Append with every ID form, including ones that must fail.
                now = rng.next() % 4 == 0 ? now - min(now, rng.next() % 3) : now + rng.next() % 3
                let spec: StreamIDSpec
                switch rng.next() % 10 {
                case 0..<5: spec = .automatic
                case 5, 6: spec = .automaticSequence(milliseconds: model.lastID.ms &+ rng.next() % 3 &- min(model.lastID.ms, 1))
                case 7: spec = .explicit(StreamID(ms: model.lastID.ms, seq: model.lastID.seq &+ rng.next() % 3))
                case 8: spec = .explicit(StreamID(ms: model.lastID.ms &+ 1 &+ rng.next() % 1000, seq: rng.next() % 5))
                default: spec = .explicit(rng.next() % 20 == 0 ? .zero : StreamID(ms: rng.next() % (min(model.lastID.ms, 1 << 50) + 2), seq: 0))
                }
                let fields = Self.randomFields(&rng)
                let expected = model.nextID(spec, now: now)
                do {
                    let id = try stream.append(spec, fieldsAndValues: fields, nowMilliseconds: now, limits: limits)
                    #expect(expected == .success(id), "\(context)")
                    model.entries.append(StreamEntry(id: id, fieldsAndValues: fields))
                    model.lastID = id
                    model.entriesAdded += 1
                } catch {
                    #expect(expected == .failure(error), "\(context)")
                }
            } else if operation < 75 {
                var ids: [StreamID] = []
                for _ in 0..<(1 + rng.next() % 4) { ids.append(Self.randomID(near: model, &rng)) }
                var expectedCount = 0
                for id in ids {
                    if let index = model.entries.firstIndex(where: { $0.id == id }) {
                        model.entries.remove(at: index)
                        expectedCount += 1
                        model.maxDeletedEntryID = max(model.maxDeletedEntryID, id)
                    }
                }
                #expect(stream.delete(ids) == expectedCount, "\(context)")
            } else if operation < 82 {
                let approximate = rng.next() % 2 == 0
                let strategy: StreamTrimStrategy
                let exactRemoval: Int
                if rng.next() % 2 == 0 {
                    let maximum = UInt64(max(0, model.entries.count - Int(rng.next() % 40)))
                    strategy = .maxLength(maximum)
                    exactRemoval = model.entries.count - min(model.entries.count, Int(maximum))
                } else {
                    let minimum = Self.randomID(near: model, &rng)
                    strategy = .minimumID(minimum)
                    exactRemoval = model.entries.prefix { $0.id < minimum }.count
                }
                let limit = approximate ? Int(rng.next() % 3) * 50 : 0
                let removed = stream.trim(strategy, approximate: approximate, limit: limit)
                if approximate {
                    #expect(removed <= exactRemoval, "\(context)")
                    if limit != 0 { #expect(removed <= limit, "\(context)") }
                } else {
                    #expect(removed == exactRemoval, "\(context)")
                }
                // Trimming always removes the oldest entries.
                model.entries.removeFirst(min(removed, model.entries.count))
            } else if operation < 85 {
                var id = rng.next() % 3 == 0 ? Self.randomID(near: model, &rng) : StreamID(ms: model.lastID.ms &+ rng.next() % 2, seq: rng.next() % 3)
                // Setting the maximum ID would exhaust the stream for the rest of the run.
                if id == .max { id = model.lastID }
                let entriesAdded: UInt64? = rng.next() % 2 == 0 ? nil : UInt64(model.entries.count) + rng.next() % 3 - min(UInt64(model.entries.count), 1)
                let maxDeleted: StreamID? = rng.next() % 3 == 0 ? Self.randomID(near: model, &rng) : nil
                var expectedError: StreamError?
                if let maxDeleted, id < maxDeleted {
                    expectedError = .setIDSmallerThanMaxDeletedID
                } else if id < model.maxDeletedEntryID {
                    expectedError = .setIDSmallerThanCurrentMaxDeletedID
                } else if let top = model.entries.last?.id, id < top {
                    expectedError = .setIDSmallerThanTopItem
                } else if !model.entries.isEmpty, let entriesAdded, UInt64(model.entries.count) > entriesAdded {
                    expectedError = .setIDEntriesAddedSmallerThanLength
                }
                do {
                    try stream.setLastID(id, entriesAdded: entriesAdded, maxDeletedEntryID: maxDeleted)
                    #expect(expectedError == nil, "\(context)")
                    model.lastID = id
                    if let entriesAdded { model.entriesAdded = entriesAdded }
                    if let maxDeleted, maxDeleted != .zero { model.maxDeletedEntryID = maxDeleted }
                } catch {
                    #expect(expectedError == error, "\(context)")
                }
            } else if operation < 97 {
                // Reads.
                let start = Self.randomID(near: model, &rng)
                let end = Self.randomID(near: model, &rng)
                let reverse = rng.next() % 2 == 0
                let limit = rng.next() % 4 == 0 ? Int.max : Int(rng.next() % 5)
                #expect(stream.entries(from: start, to: end, reverse: reverse, limit: limit)
                    == model.range(start, end, reverse: reverse, limit: limit), "\(context)")
                var visited: [StreamID] = []
                let count = stream.forEachEntry(after: start, limit: 3) { id, _ in visited.append(id) }
                let expectedAfter = model.entries.filter { $0.id > start }.prefix(3).map(\.id)
                #expect(visited == expectedAfter && count == expectedAfter.count, "\(context)")
                #expect(stream.firstEntryID(after: start) == expectedAfter.first, "\(context)")
                let present = model.entries.first { $0.id == start }
                #expect(stream.entry(withID: start) == present, "\(context)")
                #expect(stream.containsEntry(withID: start) == (present != nil), "\(context)")
            } else if operation < 99 {
                snapshots.append((stream, model))
                if snapshots.count > 4 { snapshots.removeFirst() }
            } else {
                Self.compare(stream, model, context)
                for (snapshot, snapshotModel) in snapshots { Self.compare(snapshot, snapshotModel, context + " snapshot") }
            }
            let problems = stream.validate()
            #expect(problems == [], "\(context)")
            if !problems.isEmpty { return }
        }
        Self.compare(stream, model, "seed \(seed) end")
        for (snapshot, snapshotModel) in snapshots { Self.compare(snapshot, snapshotModel, "seed \(seed) end snapshot") }
    }

    @Test func copiesAreIndependent() throws {
        var original = Stream()
        for index in 1...250 {
            try original.append(id: StreamID(ms: UInt64(index), seq: 0), fieldsAndValues: [Array("f".utf8), Array("value \(index)".utf8)])
        }
        let before = original.entries()
        var copy = original
        try copy.append(id: StreamID(ms: 1000, seq: 0), fieldsAndValues: [Array("g".utf8), Array("new".utf8)])
        copy.delete([StreamID(ms: 5, seq: 0), StreamID(ms: 250, seq: 0)])
        copy.trim(.maxLength(120), approximate: false)
        try copy.setLastID(StreamID(ms: 2000, seq: 0))
        #expect(original.entries() == before)
        #expect(original.length == 250 && original.lastID == StreamID(ms: 250, seq: 0))
        #expect(original.validate() == [])
        #expect(copy.length == 120 && copy.lastID == StreamID(ms: 2000, seq: 0))
        #expect(copy.validate() == [])
        // And the other way round: mutating the original leaves the copy alone.
        let copyEntries = copy.entries()
        original.delete([StreamID(ms: 200, seq: 0)])
        original.trim(.minimumID(StreamID(ms: 240, seq: 0)), approximate: false)
        #expect(copy.entries() == copyEntries)
        #expect(original.length == 11)
    }

    @Test func idGenerationEdges() throws {
        var stream = Stream()
        let fields: [[UInt8]] = [Array("f".utf8), Array("v".utf8)]
        // Observed: on a new stream "0-*" gives 0-1, "*" the current time.
        #expect(try stream.append(.automaticSequence(milliseconds: 0), fieldsAndValues: fields, nowMilliseconds: 5) == StreamID(ms: 0, seq: 1))
        #expect(try stream.append(.automatic, fieldsAndValues: fields, nowMilliseconds: 5) == StreamID(ms: 5, seq: 0))
        // Clock behind: sequence increments.
        #expect(try stream.append(.automatic, fieldsAndValues: fields, nowMilliseconds: 3) == StreamID(ms: 5, seq: 1))
        #expect(try stream.append(.automaticSequence(milliseconds: 5), fieldsAndValues: fields, nowMilliseconds: 0) == StreamID(ms: 5, seq: 2))
        #expect(throws: StreamError.idNotGreaterThanTop) { try stream.append(.automaticSequence(milliseconds: 4), fieldsAndValues: fields, nowMilliseconds: 0) }
        #expect(throws: StreamError.idNotGreaterThanTop) { try stream.append(.explicit(StreamID(ms: 5, seq: 2)), fieldsAndValues: fields, nowMilliseconds: 0) }
        #expect(throws: StreamError.idZero) { try stream.append(.explicit(.zero), fieldsAndValues: fields, nowMilliseconds: 0) }
        // Sequence exhausted within a millisecond: "*" carries into the next ms.
        try stream.append(id: StreamID(ms: 5, seq: .max), fieldsAndValues: fields)
        #expect(throws: StreamError.idNotGreaterThanTop) { try stream.append(.automaticSequence(milliseconds: 5), fieldsAndValues: fields, nowMilliseconds: 0) }
        #expect(try stream.append(.automatic, fieldsAndValues: fields, nowMilliseconds: 0) == StreamID(ms: 6, seq: 0))
        // The last possible ID: everything is "exhausted", even explicit IDs.
        try stream.append(id: .max, fieldsAndValues: fields)
        #expect(throws: StreamError.exhausted) { try stream.append(.automatic, fieldsAndValues: fields, nowMilliseconds: 0) }
        #expect(throws: StreamError.exhausted) { try stream.append(.explicit(StreamID(ms: 0, seq: 1)), fieldsAndValues: fields, nowMilliseconds: 0) }
        #expect(throws: StreamError.idZero) { try stream.append(.explicit(.zero), fieldsAndValues: fields, nowMilliseconds: 0) }
        #expect(stream.length == 7 && stream.entriesAdded == 7)
        #expect(stream.validate() == [])
        // Explicit IDs far apart exercise wide ID deltas.
        var wide = Stream()
        try wide.append(id: StreamID(ms: 1, seq: .max), fieldsAndValues: fields)
        try wide.append(id: StreamID(ms: .max - 1, seq: 0), fieldsAndValues: fields)
        try wide.append(id: StreamID(ms: .max - 1, seq: .max - 7), fieldsAndValues: fields)
        try wide.append(id: StreamID(ms: .max, seq: 3), fieldsAndValues: fields)
        #expect(wide.entries().map(\.id) == [StreamID(ms: 1, seq: .max), StreamID(ms: .max - 1, seq: 0),
                                            StreamID(ms: .max - 1, seq: .max - 7), StreamID(ms: .max, seq: 3)])
        #expect(wide.validate() == [])
    }

    @Test func setLastIDFollowsRedis() throws {
        // Observed on Redis 8.2: XADD 1-1 2-2 3-3, XDEL 3-3; XSETID 2-5 -> current max_deleted error
        // (2-5 MAXDELETEDID 1-0 too: a given one does not lower the bar); 1-5 -> the same error,
        // checked before the top item; 5-0 MAXDELETEDID 6-0 -> provided max_deleted error; 3-4
        // ENTRIESADDED 1 -> entries_added error; MAXDELETEDID 0-0 leaves it unchanged.
        var stream = Stream()
        let fields: [[UInt8]] = [Array("a".utf8), Array("1".utf8)]
        for n in 1...3 { try stream.append(id: StreamID(ms: UInt64(n), seq: UInt64(n)), fieldsAndValues: fields) }
        stream.delete([StreamID(ms: 3, seq: 3)])
        #expect(throws: StreamError.setIDSmallerThanCurrentMaxDeletedID) { try stream.setLastID(StreamID(ms: 2, seq: 5)) }
        #expect(throws: StreamError.setIDSmallerThanCurrentMaxDeletedID) {
            try stream.setLastID(StreamID(ms: 2, seq: 5), maxDeletedEntryID: StreamID(ms: 1, seq: 0))
        }
        #expect(throws: StreamError.setIDSmallerThanCurrentMaxDeletedID) { try stream.setLastID(StreamID(ms: 1, seq: 5)) }
        #expect(stream.lastID == StreamID(ms: 3, seq: 3) && stream.maxDeletedEntryID == StreamID(ms: 3, seq: 3))
        #expect(throws: StreamError.setIDSmallerThanMaxDeletedID) {
            try stream.setLastID(StreamID(ms: 5, seq: 0), maxDeletedEntryID: StreamID(ms: 6, seq: 0))
        }
        #expect(throws: StreamError.setIDSmallerThanMaxDeletedID) {
            try Stream.validateSetLastIDArguments(StreamID(ms: 1, seq: 0), maxDeletedEntryID: StreamID(ms: 6, seq: 0))
        }
        #expect(throws: StreamError.setIDEntriesAddedSmallerThanLength) { try stream.setLastID(StreamID(ms: 3, seq: 4), entriesAdded: 1) }
        try stream.setLastID(StreamID(ms: 3, seq: 4), entriesAdded: 2, maxDeletedEntryID: StreamID(ms: 3, seq: 3))
        try stream.setLastID(StreamID(ms: 3, seq: 3))
        try stream.setLastID(StreamID(ms: 3, seq: 4), maxDeletedEntryID: .zero)
        #expect(stream.lastID == StreamID(ms: 3, seq: 4) && stream.entriesAdded == 2 && stream.maxDeletedEntryID == StreamID(ms: 3, seq: 3))
        // An emptied stream has no top item, but still its largest deleted ID (observed: XSETID e 0-0 after deleting
        // its only entry 1-0 is refused; 1-0 is accepted).
        var empty = Stream()
        try empty.append(id: StreamID(ms: 1, seq: 0), fieldsAndValues: fields)
        empty.delete([StreamID(ms: 1, seq: 0)])
        #expect(throws: StreamError.setIDSmallerThanCurrentMaxDeletedID) { try empty.setLastID(.zero) }
        try empty.setLastID(StreamID(ms: 1, seq: 0))
        #expect(empty.lastID == StreamID(ms: 1, seq: 0) && empty.nodeCount == 0 && empty.recordedFirstEntryID == .zero)
        // A stream that never had a deletion accepts any ID once empty.
        var fresh = Stream()
        try fresh.setLastID(.zero)
        #expect(fresh.lastID == .zero)
        #expect(stream.validate() == [] && empty.validate() == [])
    }

    @Test func deletionUpdatesMetadata() throws {
        var stream = Stream()
        let fields: [[UInt8]] = [Array("f".utf8), Array("v".utf8)]
        for n in 1...5 { try stream.append(id: StreamID(ms: UInt64(n), seq: 0), fieldsAndValues: fields) }
        #expect(stream.delete([StreamID(ms: 3, seq: 0), StreamID(ms: 3, seq: 0), StreamID(ms: 9, seq: 0)]) == 1)
        #expect(stream.maxDeletedEntryID == StreamID(ms: 3, seq: 0))
        #expect(stream.delete([StreamID(ms: 1, seq: 0)]) == 1)
        #expect(stream.maxDeletedEntryID == StreamID(ms: 3, seq: 0))
        #expect(stream.recordedFirstEntryID == StreamID(ms: 2, seq: 0))
        // Trimming leaves max-deleted-entry-id alone (observed: 0-0 after XTRIM MAXLEN).
        stream.trim(.maxLength(1), approximate: false)
        #expect(stream.maxDeletedEntryID == StreamID(ms: 3, seq: 0))
        #expect(stream.recordedFirstEntryID == StreamID(ms: 5, seq: 0))
        #expect(stream.delete([StreamID(ms: 5, seq: 0)]) == 1)
        #expect(stream.length == 0 && stream.nodeCount == 0 && stream.recordedFirstEntryID == .zero)
        #expect(stream.lastID == StreamID(ms: 5, seq: 0) && stream.entriesAdded == 5)
        #expect(stream.validate() == [])
    }

    @Test func visitorExposesFieldsInPlace() throws {
        var stream = Stream()
        try stream.append(id: StreamID(ms: 1, seq: 0), fieldsAndValues: ["event", "order_placed", "order_id", "42", "amount", "-7"].map { Array($0.utf8) })
        try stream.append(id: StreamID(ms: 2, seq: 0), fieldsAndValues: ["event", "x", "order_id", "007", "amount", ""].map { Array($0.utf8) })
        try stream.append(id: StreamID(ms: 3, seq: 0), fieldsAndValues: ["other", String(repeating: "z", count: 300)].map { Array($0.utf8) })
        var seen: [String] = []
        stream.forEachEntry { id, fields in
            var parts = ["\(id) \(fields.count)"]
            for (field, value) in fields {
                parts.append(String(decoding: field.bytes, as: UTF8.self) + "=" + String(decoding: value.bytes, as: UTF8.self))
            }
            let second = fields.count > 1 ? fields.pair(at: 1).value.bytes : []
            parts.append(String(decoding: second, as: UTF8.self))
            seen.append(parts.joined(separator: " "))
        }
        #expect(seen == [
            "1-0 3 event=order_placed order_id=42 amount=-7 42",
            "2-0 3 event=x order_id=007 amount= 007",
            "3-0 1 other=" + String(repeating: "z", count: 300) + " ",
        ])
        var sizes: [Int] = []
        stream.forEachEntry(reverse: true, limit: 2) { _, fields in
            fields.forEachPair { field, value in sizes.append(field.byteCount + value.byteCount) }
        }
        #expect(sizes == [305, 6, 11, 6])
        #expect(stream.memoryFootprint > stream.usedBlockBytes)
    }
}
