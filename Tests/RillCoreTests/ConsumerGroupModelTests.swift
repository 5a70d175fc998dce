import RillTestSupport
import Testing
@testable import RillCore

/// Random operations on a stream with one consumer group, checked after every step against a
/// plain dictionary model of the same rules (what XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XDEL and
/// XGROUP do to the PEL and the consumers), plus the structural invariants.
struct ConsumerGroupModelTests {
    struct ModelEntry: Equatable {
        var consumer: String
        var time: Int64
        var count: UInt64
    }

    struct ModelConsumer: Equatable {
        var seen: Int64
        var active: Int64
    }

    /// The reference: sorted keys are recomputed when needed, everything is O(n) and obvious.
    struct Model {
        var live: [StreamID] = []
        var lastDelivered = StreamID.zero
        var pending: [StreamID: ModelEntry] = [:]
        var consumers: [String: ModelConsumer] = [:]

        mutating func touch(_ name: String, _ now: Int64) {
            if consumers[name] == nil { consumers[name] = ModelConsumer(seen: now, active: -1) }
            consumers[name]!.seen = now
        }

        mutating func readNew(_ name: String, count: Int, noAck: Bool, now: Int64) -> [StreamID]? {
            touch(name, now)
            let new = live.filter { $0 > lastDelivered }.prefix(count == 0 ? .max : count)
            if new.isEmpty { return nil }
            for id in new {
                lastDelivered = id
                if !noAck {
                    pending[id] = ModelEntry(consumer: name, time: now, count: 1)
                    consumers[name]!.active = now
                }
            }
            return Array(new)
        }

        mutating func history(_ name: String, after: StreamID, count: Int, now: Int64) -> [StreamID] {
            touch(name, now)
            let ids = pending.filter { $0.value.consumer == name && $0.key > after }.keys.sorted()
                .prefix(count == 0 ? .max : count)
            for id in ids where live.contains(id) {
                pending[id]!.time = now
                pending[id]!.count += 1
            }
            return Array(ids)
        }

        mutating func claim(_ name: String, ids: [StreamID], minIdle: Int64, options: ClaimOptions, now: Int64) -> [StreamID] {
            if let lastID = options.lastID, lastID > lastDelivered { lastDelivered = lastID }
            var time = options.deliveryTime ?? now
            if time < 0 || time > now { time = now }
            touch(name, now)
            var claimed: [StreamID] = []
            for id in ids {
                guard live.contains(id) else {
                    pending[id] = nil
                    continue
                }
                var forced = false
                if pending[id] == nil {
                    guard options.force else { continue }
                    pending[id] = ModelEntry(consumer: name, time: now, count: 1)
                    forced = true
                }
                if !forced && minIdle > 0 && now - pending[id]!.time < minIdle { continue }
                pending[id]!.consumer = name
                pending[id]!.time = time
                if let retry = options.retryCount, retry >= 0 {
                    pending[id]!.count = UInt64(retry)
                } else if !options.justID {
                    pending[id]!.count += 1
                }
                consumers[name]!.active = now
                claimed.append(id)
            }
            return claimed
        }

        mutating func autoClaim(_ name: String, minIdle: Int64, start: StreamID, count: Int, justID: Bool,
                                now: Int64) -> AutoClaimResult {
            touch(name, now)
            var result = AutoClaimResult(nextStart: .zero, claimed: [], deleted: [])
            var attempts = count * 10
            var remaining = count
            var cursor = start
            while attempts > 0 && remaining > 0, let id = pending.keys.filter({ $0 >= cursor }).min() {
                attempts -= 1
                cursor = id.next ?? .max
                if !live.contains(id) {
                    pending[id] = nil
                    result.deleted.append(id)
                    remaining -= 1
                    continue
                }
                if minIdle > 0 && now - pending[id]!.time < minIdle { continue }
                pending[id]!.consumer = name
                pending[id]!.time = now
                if !justID { pending[id]!.count += 1 }
                consumers[name]!.active = now
                result.claimed.append(id)
                remaining -= 1
            }
            result.nextStart = pending.keys.filter { $0 >= cursor }.min() ?? .zero
            return result
        }
    }

    static func check(_ stream: Stream, _ model: Model, step: Int, seed: UInt64) throws {
        let context = "seed \(seed) step \(step)"
        #expect(stream.validate() == [], "\(context)")
        let group = try #require(stream.group(named: Array("g".utf8)))
        #expect(group.lastDeliveredID == model.lastDelivered, "\(context)")
        let actual = group.pendingEntries(limit: 0).map {
            ($0.id, ModelEntry(consumer: String(decoding: $0.consumer, as: UTF8.self), time: $0.deliveryTime, count: $0.deliveryCount))
        }
        let expected = model.pending.keys.sorted().map { ($0, model.pending[$0]!) }
        #expect(actual.map(\.0) == expected.map(\.0), "\(context)")
        #expect(actual.map(\.1) == expected.map(\.1), "\(context)")
        let consumers = group.consumers
        #expect(consumers.map { String(decoding: $0.name, as: UTF8.self) } == model.consumers.keys.sorted(), "\(context)")
        for consumer in consumers {
            let name = String(decoding: consumer.name, as: UTF8.self)
            #expect(consumer.pendingCount == model.pending.values.filter { $0.consumer == name }.count, "\(context) \(name)")
            #expect(ModelConsumer(seen: consumer.seenTime, active: consumer.activeTime) == model.consumers[name], "\(context) \(name)")
            let owned = group.pendingEntries(ofConsumer: consumer.name, limit: 0).map(\.id)
            #expect(owned == model.pending.filter { $0.value.consumer == name }.keys.sorted(), "\(context) \(name)")
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomOperationsMatchTheModel(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var stream = Stream()
        var model = Model()
        let group = Array("g".utf8)
        let names = ["ann", "bob", "cy", "dee"]
        try stream.createGroup(named: group, lastDeliveredID: .zero, entriesRead: nil)
        var now: Int64 = 1000
        var nextMs: UInt64 = 1
        func randomID() -> StreamID { StreamID(ms: UInt64.random(in: 0...(nextMs + 1), using: &random), seq: 0) }
        for step in 0..<1500 {
            now += Int64.random(in: 0...40, using: &random)
            let name = names.randomElement(using: &random)!
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<25:
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let id = StreamID(ms: nextMs, seq: 0)
                    nextMs += 1
                    try stream.append(id: id, fieldsAndValues: [Array("f".utf8), Array("v".utf8)])
                    model.live.append(id)
                }
            case 25..<45:
                let count = Int.random(in: 0...3, using: &random)
                let noAck = Int.random(in: 0..<10, using: &random) == 0
                let got = try stream.readNewEntries(group: group, consumer: Array(name.utf8), count: count,
                                                    noAcknowledgement: noAck, nowMilliseconds: now)
                #expect(got == model.readNew(name, count: count, noAck: noAck, now: now), "seed \(seed) step \(step)")
            case 45..<52:
                let after = randomID()
                let count = Int.random(in: 0...3, using: &random)
                let got = try stream.readPendingHistory(group: group, consumer: Array(name.utf8), after: after,
                                                        count: count, nowMilliseconds: now)
                #expect(got == model.history(name, after: after, count: count, now: now), "seed \(seed) step \(step)")
            case 52..<70:
                let ids = (0..<Int.random(in: 1...4, using: &random)).map { _ in randomID() }
                let expected = Set(ids).filter { model.pending[$0] != nil }.count
                for id in ids { model.pending[id] = nil }
                #expect(stream.acknowledge(group: group, ids: ids) == expected, "seed \(seed) step \(step)")
            case 70..<80:
                let ids = (0..<Int.random(in: 1...3, using: &random)).map { _ in randomID() }
                let minIdle = Int64.random(in: -5...100, using: &random)
                var options = ClaimOptions()
                if Bool.random(using: &random) { options.deliveryTime = now - Int64.random(in: -50...200, using: &random) }
                if Int.random(in: 0..<4, using: &random) == 0 { options.retryCount = Int64.random(in: -1...5, using: &random) }
                options.force = Int.random(in: 0..<3, using: &random) == 0
                options.justID = Bool.random(using: &random)
                if Int.random(in: 0..<4, using: &random) == 0 { options.lastID = randomID() }
                let got = try stream.claim(group: group, consumer: Array(name.utf8), ids: ids, minimumIdle: max(0, minIdle),
                                           options: options, nowMilliseconds: now)
                #expect(got == model.claim(name, ids: ids, minIdle: max(0, minIdle), options: options, now: now),
                        "seed \(seed) step \(step)")
            case 80..<88:
                let start = randomID()
                let count = Int.random(in: 1...4, using: &random)
                let minIdle = Int64.random(in: 0...100, using: &random)
                let justID = Bool.random(using: &random)
                let got = try stream.autoClaim(group: group, consumer: Array(name.utf8), minimumIdle: minIdle, start: start,
                                               count: count, justID: justID, nowMilliseconds: now)
                #expect(got == model.autoClaim(name, minIdle: minIdle, start: start, count: count, justID: justID, now: now),
                        "seed \(seed) step \(step)")
            case 88..<94:
                let id = randomID()
                #expect(stream.delete(id) == model.live.contains(id), "seed \(seed) step \(step)")
                model.live.removeAll { $0 == id }
            case 94..<96:
                let owned = model.pending.filter { $0.value.consumer == name }.count
                let existed = model.consumers[name] != nil
                let dropped = try stream.deleteConsumer(group: group, consumer: Array(name.utf8))
                #expect(dropped == (existed ? owned : nil), "seed \(seed) step \(step)")
                model.pending = model.pending.filter { $0.value.consumer != name }
                model.consumers[name] = nil
            case 96..<98:
                let created = try stream.createConsumer(group: group, consumer: Array(name.utf8), nowMilliseconds: now)
                #expect(created == (model.consumers[name] == nil), "seed \(seed) step \(step)")
                if created { model.consumers[name] = ModelConsumer(seen: now, active: -1) }
            default:
                let id = randomID()
                try stream.setGroupLastDeliveredID(group, to: id, entriesRead: nil)
                model.lastDelivered = id
            }
            try Self.check(stream, model, step: step, seed: seed)
        }
    }
}

/// The chunked sorted list behind every PEL, against a sorted array, with chunk splits and merges.
struct SortedIDListTests {
    /// A worker that acknowledges all it read empties the list every round: the emptied chunk's storage is kept
    /// (and counted) and the next round's appends reuse it.
    @Test func anEmptiedChunkIsKeptForTheNextAppends() {
        var list = SortedIDList<StreamID>()
        let emptyFootprint = list.memoryFootprint
        var filledFootprint = 0
        for round in 0..<3 {
            let ids = (1...10).map { StreamID(ms: UInt64(round * 100 + $0), seq: 0) }
            for id in ids {
                let inserted = list.insert(id)
                #expect(inserted)
            }
            if round == 0 { filledFootprint = list.memoryFootprint }
            #expect(list.memoryFootprint == filledFootprint, "round \(round)")
            #expect(list.elements == ids)
            for id in ids {
                let removed = list.remove(id)
                #expect(removed == id)
            }
            #expect(list.isEmpty)
            #expect(list.validate() == [])
            // The kept storage is memory the list holds.
            #expect(list.memoryFootprint > emptyFootprint)
        }
        list.removeAll()
        #expect(list.memoryFootprint == emptyFootprint)
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func randomOperationsMatchASortedArray(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var list = SortedIDList<StreamID>()
        var model: [StreamID] = []
        for step in 0..<20_000 {
            let id = StreamID(ms: UInt64.random(in: 0..<3000, using: &random), seq: UInt64.random(in: 0..<2, using: &random))
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let inserted = list.insert(id)
                #expect(inserted == !model.contains(id), "step \(step)")
                if inserted { model.insert(id, at: model.firstIndex { $0 > id } ?? model.count) }
            case 4..<5:
                // In-order appends take the fast path.
                let next = StreamID(ms: (model.last?.ms ?? 0) + 1, seq: 0)
                #expect(list.insert(next) == true)
                model.append(next)
            case 5..<8:
                let removed = list.remove(id)
                #expect(removed == (model.contains(id) ? id : nil), "step \(step)")
                model.removeAll { $0 == id }
            case 8:
                if let first = model.first {
                    #expect(list.remove(first) == first)
                    model.removeFirst()
                }
            default:
                var seen: [StreamID] = []
                list.forEach(from: id) { element in
                    seen.append(element)
                    return seen.count < 5
                }
                #expect(seen == Array(model.filter { $0 >= id }.prefix(5)), "step \(step)")
                #expect(list.contains(id) == model.contains(id))
            }
            if step % 500 == 0 || step == 19_999 {
                #expect(list.validate() == [], "step \(step)")
                #expect(list.elements == model, "step \(step)")
                #expect(list.first == model.first && list.last == model.last && list.count == model.count)
            }
        }
    }
}
