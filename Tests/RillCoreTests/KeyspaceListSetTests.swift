import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

private func strings(_ elements: [[UInt8]]?) -> [String]? {
    elements?.map { String(decoding: $0, as: UTF8.self) }
}

@Suite("Keyspace lists and sets")
struct KeyspaceListSetTests {
    @Test("LPUSH/RPUSH order and lengths; LPUSHX on a missing key")
    func push() throws {
        var database = Database()
        #expect(try database.listPush([b("a"), b("b"), b("c")], at: .head, forKey: b("l"), nowMilliseconds: now) == 3)
        #expect(try database.listPush([b("x"), b("y")], at: .tail, forKey: b("l"), nowMilliseconds: now) == 5)
        #expect(try strings(database.listRange(forKey: b("l"), start: 0, stop: -1, nowMilliseconds: now)) == ["c", "b", "a", "x", "y"])
        #expect(try database.listPush([b("z")], at: .head, forKey: b("nol"), onlyIfExists: true, nowMilliseconds: now) == 0)
        #expect(database.exists(b("nol"), nowMilliseconds: now) == false)
        #expect(try database.listPush([b("z")], at: .head, forKey: b("l"), onlyIfExists: true, nowMilliseconds: now) == 6)
        database.validate()
    }

    @Test("LPOP/RPOP with and without count, Redis 7 reply shapes; empty lists are deleted")
    func pop() throws {
        var database = Database()
        _ = try database.listPush([b("a"), b("b"), b("c")], at: .tail, forKey: b("l"), nowMilliseconds: now)
        #expect(try database.listPop(at: .head, forKey: b("l"), count: 0, nowMilliseconds: now) == [])
        #expect(try database.listPop(at: .head, forKey: b("nol"), count: 0, nowMilliseconds: now) == nil)
        #expect(try database.listPop(at: .head, forKey: b("nol"), nowMilliseconds: now) == nil)
        #expect(throws: KeyspaceError.notPositive) { try database.listPop(at: .head, forKey: b("l"), count: -1, nowMilliseconds: now) }
        #expect(throws: KeyspaceError.notPositive) { try database.listPop(at: .head, forKey: b("nol"), count: -1, nowMilliseconds: now) }
        #expect(try strings(database.listPop(at: .tail, forKey: b("l"), count: 2, nowMilliseconds: now)) == ["c", "b"])
        #expect(try database.listPop(at: .head, forKey: b("l"), nowMilliseconds: now) == b("a"))
        #expect(database.exists(b("l"), nowMilliseconds: now) == false)

        _ = try database.listPush([b("a"), b("b"), b("c")], at: .tail, forKey: b("l"), nowMilliseconds: now)
        #expect(try strings(database.listPop(at: .head, forKey: b("l"), count: 10, nowMilliseconds: now)) == ["a", "b", "c"])
        #expect(database.count == 0)
        database.validate()
    }

    /// (start, stop, expected) on [a b c d e], recorded from redis-server 7.0.15.
    static let rangeTable: [(Int64, Int64, [String])] = [
        (-100, 100, ["a", "b", "c", "d", "e"]), (3, 1, []), (-2, -1, ["d", "e"]), (5, 10, []), (1, -10, []),
        (0, 0, ["a"]), (-1, -1, ["e"]), (4, 4, ["e"]), (0, -6, []), (.min, .max, ["a", "b", "c", "d", "e"]),
        (.max, .min, []), (2, .max, ["c", "d", "e"]), (.min, -5, ["a"]),
    ]

    @Test("LRANGE clamping and negative indices", arguments: rangeTable)
    func range(row: (Int64, Int64, [String])) throws {
        var database = Database()
        _ = try database.listPush(["a", "b", "c", "d", "e"].map(b), at: .tail, forKey: b("m"), nowMilliseconds: now)
        #expect(try strings(database.listRange(forKey: b("m"), start: row.0, stop: row.1, nowMilliseconds: now)) == row.2)
        #expect(try database.listRange(forKey: b("nom"), start: 0, stop: -1, nowMilliseconds: now) == [])
        #expect(try database.listLength(forKey: b("m"), nowMilliseconds: now) == 5)
        #expect(try database.listLength(forKey: b("nom"), nowMilliseconds: now) == 0)
    }

    @Test("SADD/SREM/SCARD/SISMEMBER/SMEMBERS; the last SREM deletes the set")
    func sets() throws {
        var database = Database()
        #expect(try database.setAdd([b("a"), b("b"), b("a")], forKey: b("s"), nowMilliseconds: now) == 2)
        #expect(try database.setAdd([b("b"), b("c")], forKey: b("s"), nowMilliseconds: now) == 1)
        #expect(try database.setCardinality(forKey: b("s"), nowMilliseconds: now) == 3)
        #expect(try database.setIsMember(b("c"), forKey: b("s"), nowMilliseconds: now))
        #expect(try !database.setIsMember(b("z"), forKey: b("s"), nowMilliseconds: now))
        #expect(try Set(strings(database.setMembers(forKey: b("s"), nowMilliseconds: now))!) == ["a", "b", "c"])
        #expect(try database.setRemove([b("a"), b("zz")], forKey: b("s"), nowMilliseconds: now) == 1)
        #expect(try database.setRemove([b("b"), b("c")], forKey: b("s"), nowMilliseconds: now) == 2)
        #expect(database.exists(b("s"), nowMilliseconds: now) == false)
        #expect(try database.setMembers(forKey: b("nos"), nowMilliseconds: now) == [])
        #expect(try database.setCardinality(forKey: b("nos"), nowMilliseconds: now) == 0)
        #expect(try !database.setIsMember(b("a"), forKey: b("nos"), nowMilliseconds: now))
        #expect(try database.setRemove([b("a")], forKey: b("nos"), nowMilliseconds: now) == 0)
        database.validate()
    }

    @Test("every list and set operation on a string is WRONGTYPE and changes nothing")
    func wrongType() throws {
        var database = Database()
        _ = try database.stringSet(b("x"), forKey: b("str"), nowMilliseconds: now)
        let before = database.changeCount
        let operations: [(inout Database) throws -> Void] = [
            { _ = try $0.listPush([b("a")], at: .head, forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.listPush([b("a")], at: .tail, forKey: b("str"), onlyIfExists: true, nowMilliseconds: now) },
            { _ = try $0.listPop(at: .head, forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.listPop(at: .tail, forKey: b("str"), count: 0, nowMilliseconds: now) },
            { _ = try $0.listRange(forKey: b("str"), start: 0, stop: 1, nowMilliseconds: now) },
            { _ = try $0.listLength(forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.setAdd([b("a")], forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.setRemove([b("a")], forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.setMembers(forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.setCardinality(forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.setIsMember(b("a"), forKey: b("str"), nowMilliseconds: now) },
            { _ = try $0.streamGet(b("str"), nowMilliseconds: now) },
            { _ = try $0.streamModify(b("str"), nowMilliseconds: now) { _ in 1 } },
        ]
        for (index, operation) in operations.enumerated() {
            #expect(throws: KeyspaceError.wrongType, "operation \(index)") { try operation(&database) }
        }
        #expect(database.changeCount == before)
        #expect(try database.stringGet(b("str"), nowMilliseconds: now) == b("x"))
        database.validate()
    }
}
