import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

private func strings(_ elements: [[UInt8]]?) -> [String]? {
    elements?.map { String(decoding: $0, as: UTF8.self) }
}

/// A database holding list `l` = `elements` and string `s`.
private func database(_ elements: [String] = ["a", "b", "c", "a", "b", "c", "a"]) throws -> Database {
    var database = Database()
    _ = try database.listPush(elements.map(b), at: .tail, forKey: b("l"), nowMilliseconds: now)
    _ = try database.stringSet(b("x"), forKey: b("s"), nowMilliseconds: now)
    return database
}

private func contents(_ database: inout Database, _ key: String = "l") throws -> [String] {
    try strings(database.listRange(forKey: b(key), start: 0, stop: -1, nowMilliseconds: now)) ?? []
}

@Suite("Keyspace list edits, moves and searches")
struct KeyspaceListEditTests {
    @Test("LINDEX: negative indices, out of range, missing key, wrong type")
    func index() throws {
        var db = try database()
        #expect(try db.listElement(at: 0, forKey: b("l"), nowMilliseconds: now) == b("a"))
        #expect(try db.listElement(at: -1, forKey: b("l"), nowMilliseconds: now) == b("a"))
        #expect(try db.listElement(at: -6, forKey: b("l"), nowMilliseconds: now) == b("b"))
        #expect(try db.listElement(at: 7, forKey: b("l"), nowMilliseconds: now) == nil)
        #expect(try db.listElement(at: -8, forKey: b("l"), nowMilliseconds: now) == nil)
        #expect(try db.listElement(at: .min, forKey: b("l"), nowMilliseconds: now) == nil)
        #expect(try db.listElement(at: 0, forKey: b("none"), nowMilliseconds: now) == nil)
        #expect(throws: KeyspaceError.wrongType) { try db.listElement(at: 0, forKey: b("s"), nowMilliseconds: now) }
    }

    @Test("LSET replaces in place; no such key, wrong type, then index out of range")
    func set() throws {
        var db = try database(["a", "b", "c"])
        try db.listSet(b("Z"), at: -1, forKey: b("l"), nowMilliseconds: now)
        try db.listSet(b("A"), at: 0, forKey: b("l"), nowMilliseconds: now)
        #expect(try contents(&db) == ["A", "b", "Z"])
        #expect(throws: KeyspaceError.noSuchKey) { try db.listSet(b("x"), at: 0, forKey: b("none"), nowMilliseconds: now) }
        #expect(throws: KeyspaceError.wrongType) { try db.listSet(b("x"), at: 0, forKey: b("s"), nowMilliseconds: now) }
        #expect(throws: KeyspaceError.indexOutOfRange) { try db.listSet(b("x"), at: 3, forKey: b("l"), nowMilliseconds: now) }
        #expect(throws: KeyspaceError.indexOutOfRange) { try db.listSet(b("x"), at: -4, forKey: b("l"), nowMilliseconds: now) }
        db.validate()
    }

    @Test("LINSERT before and after the first match; -1 without a match, 0 without a key")
    func insert() throws {
        var db = try database(["a", "b", "a"])
        #expect(try db.listInsert(b("x"), .before, pivot: b("a"), forKey: b("l"), nowMilliseconds: now) == 4)
        #expect(try db.listInsert(b("y"), .after, pivot: b("a"), forKey: b("l"), nowMilliseconds: now) == 5)
        #expect(try db.listInsert(b("z"), .after, pivot: b("a"), forKey: b("l"), nowMilliseconds: now) == 6)
        #expect(try contents(&db) == ["x", "a", "z", "y", "b", "a"])
        #expect(try db.listInsert(b("q"), .before, pivot: b("nope"), forKey: b("l"), nowMilliseconds: now) == -1)
        #expect(try db.listInsert(b("q"), .before, pivot: b("a"), forKey: b("none"), nowMilliseconds: now) == 0)
        #expect(db.exists(b("none"), nowMilliseconds: now) == false)
        #expect(throws: KeyspaceError.wrongType) {
            try db.listInsert(b("q"), .before, pivot: b("a"), forKey: b("s"), nowMilliseconds: now)
        }
        db.validate()
    }

    /// (count, expected list, removed) for LREM of "a" from [a b c a b c a].
    static let removeTable: [(Int64, [String], Int)] = [
        (1, ["b", "c", "a", "b", "c", "a"], 1), (2, ["b", "c", "b", "c", "a"], 2), (-1, ["a", "b", "c", "a", "b", "c"], 1),
        (-2, ["a", "b", "c", "b", "c"], 2), (0, ["b", "c", "b", "c"], 3), (10, ["b", "c", "b", "c"], 3),
        (-9_223_372_036_854_775_807, ["b", "c", "b", "c"], 3),
    ]

    @Test("LREM from the head, from the tail, all", arguments: removeTable)
    func remove(row: (Int64, [String], Int)) throws {
        var db = try database()
        #expect(try db.listRemove(b("a"), count: row.0, forKey: b("l"), nowMilliseconds: now) == row.2)
        #expect(try contents(&db) == row.1)
        db.validate()
    }

    @Test("LREM of every element deletes the key; nothing found changes nothing")
    func removeAll() throws {
        var db = try database(["a", "a"])
        let version = db.watch(b("l"), nowMilliseconds: now)
        #expect(try db.listRemove(b("b"), count: 0, forKey: b("l"), nowMilliseconds: now) == 0)
        #expect(db.version(of: b("l"), nowMilliseconds: now) == version)
        #expect(try db.listRemove(b("a"), count: 0, forKey: b("l"), nowMilliseconds: now) == 2)
        #expect(db.exists(b("l"), nowMilliseconds: now) == false)
        #expect(db.version(of: b("l"), nowMilliseconds: now) != version)
        #expect(try db.listRemove(b("a"), count: 0, forKey: b("none"), nowMilliseconds: now) == 0)
        #expect(throws: KeyspaceError.wrongType) { try db.listRemove(b("a"), count: 0, forKey: b("s"), nowMilliseconds: now) }
        db.validate()
    }

    /// (start, stop, kept, removed) on [a b c d e], as Redis 8.2 trims.
    static let trimTable: [(Int64, Int64, [String], Int)] = [
        (1, -2, ["b", "c", "d"], 2), (0, -1, ["a", "b", "c", "d", "e"], 0), (-100, 100, ["a", "b", "c", "d", "e"], 0),
        (3, 1, [], 5), (5, 10, [], 5), (-2, -1, ["d", "e"], 3), (.min, .max, ["a", "b", "c", "d", "e"], 0),
        (.max, .min, [], 5), (0, 0, ["a"], 4),
    ]

    @Test("LTRIM clamping, and an empty range deletes the key", arguments: trimTable)
    func trim(row: (Int64, Int64, [String], Int)) throws {
        var db = try database(["a", "b", "c", "d", "e"])
        let version = db.watch(b("l"), nowMilliseconds: now)
        #expect(try db.listTrim(forKey: b("l"), start: row.0, stop: row.1, nowMilliseconds: now) == row.3)
        #expect(try contents(&db) == row.2)
        #expect(db.exists(b("l"), nowMilliseconds: now) == !row.2.isEmpty)
        // Even a trim that removes nothing touches the key, as Redis signals it.
        #expect(db.version(of: b("l"), nowMilliseconds: now) != version)
        db.validate()
    }

    /// (rank, count, maximum length, positions) of "a" in [a b c a b c a] (offsets 0, 3, 6).
    static let positionTable: [(Int64, Int?, Int, [Int])] = [
        (1, nil, 0, [0]), (2, nil, 0, [3]), (-1, nil, 0, [6]), (-3, nil, 0, [0]), (4, nil, 0, []),
        (1, 0, 0, [0, 3, 6]), (1, 2, 0, [0, 3]), (-1, 2, 0, [6, 3]), (2, 0, 0, [3, 6]), (1, 0, 3, [0]),
        (1, 0, 4, [0, 3]), (-1, 0, 3, [6]), (-2, nil, 1, []), (.max, 0, 0, []), (-.max, nil, 0, []),
    ]

    @Test("LPOS with RANK, COUNT and MAXLEN", arguments: positionTable)
    func positions(row: (Int64, Int?, Int, [Int])) throws {
        var db = try database()
        let query = ListPositionQuery(rank: row.0, count: row.1, maximumLength: row.2)
        #expect(try db.listPositions(of: b("a"), forKey: b("l"), query: query, nowMilliseconds: now) == row.3)
        #expect(try db.listPositions(of: b("a"), forKey: b("none"), query: query, nowMilliseconds: now) == nil)
        #expect(throws: KeyspaceError.wrongType) {
            try db.listPositions(of: b("a"), forKey: b("s"), query: query, nowMilliseconds: now)
        }
    }

    @Test("LMOVE between lists, creating and deleting keys; source checked before destination")
    func move() throws {
        var db = try database(["a", "b"])
        #expect(try db.listMove(from: b("l"), .head, to: b("d"), .tail, nowMilliseconds: now) == b("a"))
        #expect(try db.listMove(from: b("l"), .tail, to: b("d"), .head, nowMilliseconds: now) == b("b"))
        #expect(db.exists(b("l"), nowMilliseconds: now) == false)
        #expect(try contents(&db, "d") == ["b", "a"])
        #expect(try db.listMove(from: b("none"), .head, to: b("s"), .tail, nowMilliseconds: now) == nil)
        #expect(throws: KeyspaceError.wrongType) { try db.listMove(from: b("s"), .head, to: b("d"), .tail, nowMilliseconds: now) }
        #expect(throws: KeyspaceError.wrongType) { try db.listMove(from: b("d"), .head, to: b("s"), .tail, nowMilliseconds: now) }
        #expect(try contents(&db, "d") == ["b", "a"])
        db.validate()
    }

    @Test("LMOVE onto the same key rotates it and keeps its deadline, even with one element")
    func rotate() throws {
        var db = try database(["only"])
        #expect(db.setExpiry(b("l"), deadline: now + 100_000, nowMilliseconds: now) == true)
        #expect(try db.listMove(from: b("l"), .head, to: b("l"), .tail, nowMilliseconds: now) == b("only"))
        #expect(db.expiry(ofKey: b("l"), nowMilliseconds: now) == .deadline(now + 100_000))
        _ = try db.listPush([b("x"), b("y")], at: .tail, forKey: b("l"), nowMilliseconds: now)
        #expect(try db.listMove(from: b("l"), .tail, to: b("l"), .head, nowMilliseconds: now) == b("y"))
        #expect(try contents(&db) == ["y", "only", "x"])
        db.validate()
    }

    @Test("LMPOP takes the first key holding a list; another type before it fails")
    func popFirst() throws {
        var db = try database(["a", "b", "c"])
        let popped = try db.listPopFirst(of: [b("none"), b("l"), b("s")], at: .tail, count: 2, nowMilliseconds: now)
        #expect(popped?.key == b("l") && strings(popped?.elements) == ["c", "b"])
        #expect(try db.listPopFirst(of: [b("none")], at: .head, count: 1, nowMilliseconds: now) == nil)
        #expect(throws: KeyspaceError.wrongType) {
            try db.listPopFirst(of: [b("s"), b("l")], at: .head, count: 1, nowMilliseconds: now)
        }
        #expect(try strings(db.listPopFirst(of: [b("l")], at: .head, count: 5, nowMilliseconds: now)?.elements) == ["a"])
        #expect(db.exists(b("l"), nowMilliseconds: now) == false)
        #expect(db.holdsList(b("l"), nowMilliseconds: now) == false && db.holdsList(b("s"), nowMilliseconds: now) == false)
        db.validate()
    }

    @Test("Seeded random list operations against an array model", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomAgainstModel(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var db = Database()
        var model: [String: [String]] = [:]
        let keys = ["p", "q"]
        let values = ["a", "b", "c"]
        for _ in 0..<2_000 {
            let key = keys.randomElement(using: &generator)!  // non-empty literal
            let other = keys.randomElement(using: &generator)!
            let value = values.randomElement(using: &generator)!
            var list = model[key] ?? []
            switch Int.random(in: 0..<8, using: &generator) {
            case 0:
                let length = try db.listPush([b(value)], at: .head, forKey: b(key), nowMilliseconds: now)
                list.insert(value, at: 0)
                #expect(length == list.count)
            case 1:
                _ = try db.listPush([b(value), b(value)], at: .tail, forKey: b(key), nowMilliseconds: now)
                list += [value, value]
            case 2:
                let popped = try db.listPop(at: .tail, forKey: b(key), nowMilliseconds: now)
                #expect(popped.map { String(decoding: $0, as: UTF8.self) } == list.popLast())
            case 3:
                let count = Int64.random(in: -2...2, using: &generator)
                let removed = try db.listRemove(b(value), count: count, forKey: b(key), nowMilliseconds: now)
                var remaining = list
                var offsets = Array(list.indices.filter { list[$0] == value })
                if count < 0 { offsets.reverse() }
                let doomed = offsets.prefix(count == 0 ? offsets.count : Int(count.magnitude))
                for offset in doomed.sorted(by: >) { remaining.remove(at: offset) }
                #expect(removed == doomed.count)
                list = remaining
            case 4:
                let start = Int64.random(in: -4...4, using: &generator)
                let stop = Int64.random(in: -4...4, using: &generator)
                _ = try db.listTrim(forKey: b(key), start: start, stop: stop, nowMilliseconds: now)
                let length = Int64(list.count)
                let first = max(0, start < 0 ? start + length : start)
                let last = min(length - 1, stop < 0 ? stop + length : stop)
                list = first <= last ? Array(list[Int(first)...Int(last)]) : []
            case 5:
                let inserted = try db.listInsert(b("i"), .after, pivot: b(value), forKey: b(key), nowMilliseconds: now)
                if let found = list.firstIndex(of: value) { list.insert("i", at: found + 1) }
                #expect(inserted == (list.isEmpty ? 0 : list.contains(value) ? list.count : -1))
            case 6:
                let moved = try db.listMove(from: b(key), .head, to: b(other), .tail, nowMilliseconds: now)
                #expect(moved.map { String(decoding: $0, as: UTF8.self) } == list.first)
                if !list.isEmpty {
                    let element = list.removeFirst()
                    if other == key { list.append(element) } else { model[other, default: []].append(element) }
                }
            default:
                let positions = try db.listPositions(of: b(value), forKey: b(key),
                                                     query: ListPositionQuery(rank: -1, count: 0), nowMilliseconds: now)
                let expected = list.indices.filter { list[$0] == value }.reversed()
                #expect((positions ?? []) == Array(expected))
            }
            model[key] = list.isEmpty ? nil : list
            for name in keys {
                #expect(try contents(&db, name) == (model[name] ?? []))
            }
        }
        db.validate()
    }
}
