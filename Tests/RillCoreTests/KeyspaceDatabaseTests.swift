import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

@Suite("Keyspace databases")
struct KeyspaceDatabaseTests {
    @Test("store, value, type, exists, delete; counts and change counter")
    func basics() throws {
        var database = Database()
        #expect(database.isEmpty && database.count == 0 && database.changeCount == 0)
        database.store(.string(b("v")), forKey: b("s"), nowMilliseconds: now)
        database.store(.list([b("a")]), forKey: b("l"), nowMilliseconds: now)
        database.store(.set([b("m")]), forKey: b("t"), nowMilliseconds: now)
        database.store(.stream(Stream()), forKey: b("x"), nowMilliseconds: now)
        #expect(database.count == 4)
        #expect(database.changeCount == 4)
        let types = ["s", "l", "t", "x", "none"].map { database.type(ofKey: b($0), nowMilliseconds: now)?.name ?? "none" }
        #expect(types == ["string", "list", "set", "stream", "none"])
        #expect(database.value(forKey: b("l"), nowMilliseconds: now)?.typeName == "list")
        #expect(database.valueForWrite(forKey: b("nothing"), nowMilliseconds: now) == nil)
        #expect(database.exists(b("s"), nowMilliseconds: now) == true)
        #expect(database.delete(b("s"), nowMilliseconds: now) == true)
        #expect(database.delete(b("s"), nowMilliseconds: now) == false)
        #expect(database.count == 3)
        database.removeAll()
        #expect(database.isEmpty && database.expiresCount == 0)
        database.validate()
    }

    @Test("reads count keyspace hits and misses; writes do not")
    func statistics() throws {
        var database = Database()
        _ = try database.stringSet(b("v"), forKey: b("k"), nowMilliseconds: now)
        _ = try database.stringGet(b("k"), nowMilliseconds: now)
        _ = try database.stringGet(b("missing"), nowMilliseconds: now)
        _ = try database.listLength(forKey: b("missing"), nowMilliseconds: now)
        _ = try database.stringSet(b("w"), forKey: b("k"), nowMilliseconds: now)
        #expect(database.statistics.keyspaceHits == 1)
        #expect(database.statistics.keyspaceMisses == 2)
    }

    @Test("ValueType names parse case-insensitively")
    func typeNames() {
        #expect(ValueType(name: b("STREAM")) == .stream)
        #expect(ValueType(name: b("List")) == .list)
        #expect(ValueType(name: b("hash")) == nil)
        #expect(ValueType(name: b("")) == nil)
        #expect(ValueType.set.nameBytes == b("set"))
    }

    @Test("streams: read copies, modify in place, create only when the body succeeds")
    func streams() throws {
        var database = Database()
        #expect(try database.streamGet(b("x"), nowMilliseconds: now) == nil)
        let missing = try database.streamModify(b("x"), nowMilliseconds: now) { _ in 1 }
        #expect(missing == nil)
        #expect(database.count == 0)
        let created = try database.streamModify(b("x"), nowMilliseconds: now, creatingWith: { Stream() }) { _ in 2 }
        #expect(created == 2)
        #expect(database.type(ofKey: b("x"), nowMilliseconds: now) == .stream)
        let changesBefore = database.changeCount
        let modified = try database.streamModify(b("x"), nowMilliseconds: now) { _ in 3 }
        #expect(modified == 3)
        #expect(database.changeCount == changesBefore + 1)
        #expect(try database.streamGet(b("x"), nowMilliseconds: now) != nil)
        database.validate()
    }

    @Test("Keyspace: sixteen databases by default, independent, flushed together, summed for INFO")
    func keyspace() throws {
        var keyspace = Keyspace()
        #expect(keyspace.databaseCount == 16)
        #expect(Keyspace(databaseCount: 3).databaseCount == 3)
        _ = try keyspace[0].stringSet(b("v"), forKey: b("a"), nowMilliseconds: now)
        _ = try keyspace[0].stringSet(b("v"), forKey: b("b"), options: .init(expiry: .set(.relativeSeconds(10))), nowMilliseconds: now)
        _ = try keyspace[5].listPush([b("x")], at: .head, forKey: b("a"), nowMilliseconds: now)
        // Same key name, different databases, different types.
        #expect(throws: KeyspaceError.wrongType) { try keyspace[5].stringGet(b("a"), nowMilliseconds: now) }
        #expect(try keyspace[0].stringGet(b("a"), nowMilliseconds: now) == b("v"))
        #expect(keyspace[1].count == 0)
        #expect(keyspace.keyCount == 3 && keyspace.expiresCount == 1)
        #expect(keyspace.infoKeyspaceLines(nowMilliseconds: now) == [
            "db0:keys=2,expires=1,avg_ttl=10000,subexpiry=0", "db5:keys=1,expires=0,avg_ttl=0,subexpiry=0",
        ])
        #expect(keyspace.removeExpiredKeys(nowMilliseconds: now + 10_001) == 1)
        #expect(keyspace.statistics.expiredKeys == 1)
        #expect(keyspace.changeCount > 0)
        keyspace.removeAll()
        #expect(keyspace.keyCount == 0)
        #expect(keyspace.infoKeyspaceLines(nowMilliseconds: now).isEmpty)
    }
}
