import DequeModule
import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let start: Int64 = 1_700_000_000_000

@Suite("Key access times (OBJECT IDLETIME)")
struct KeyspaceAccessTimeTests {
    /// Seconds `key` has been idle at `now`, through the lookup OBJECT IDLETIME makes.
    private func idleSeconds(_ database: inout Database, _ key: String, at now: Int64) -> Int64? {
        database.inspect(b(key), nowMilliseconds: now).map {
            AccessClock.idleMilliseconds(since: $0.lastAccess, nowMilliseconds: now) / 1000
        }
    }

    @Test("a write sets the access time, reads and writes refresh it, inspection and EXISTS/TYPE/TTL do not")
    func touchedByReadsAndWrites() throws {
        var database = Database()
        _ = try database.stringSet(b("v"), forKey: b("k"), nowMilliseconds: start)
        #expect(idleSeconds(&database, "k", at: start + 10_000) == 10)
        // Looking without touching leaves it idle.
        _ = database.exists(b("k"), nowMilliseconds: start + 20_000)
        _ = database.type(ofKey: b("k"), nowMilliseconds: start + 20_000)
        _ = database.expiry(ofKey: b("k"), nowMilliseconds: start + 20_000)
        _ = database.scan(cursor: 0, count: 10, nowMilliseconds: start + 20_000)
        #expect(idleSeconds(&database, "k", at: start + 20_000) == 20)
        // A read touches.
        _ = try database.stringGet(b("k"), nowMilliseconds: start + 25_000)
        #expect(idleSeconds(&database, "k", at: start + 30_000) == 5)
        // A write in place touches.
        _ = try database.listPush([b("a")], at: .tail, forKey: b("l"), nowMilliseconds: start)
        _ = try database.listPush([b("b")], at: .tail, forKey: b("l"), nowMilliseconds: start + 40_000)
        #expect(idleSeconds(&database, "l", at: start + 41_000) == 1)
        #expect(idleSeconds(&database, "missing", at: start) == nil)
    }

    @Test("with touchesKeys off lookups leave access times alone, but TOUCH still touches and counts a hit")
    func noTouch() throws {
        var database = Database()
        _ = try database.stringSet(b("v"), forKey: b("k"), nowMilliseconds: start)
        database.touchesKeys = false
        _ = try database.stringGet(b("k"), nowMilliseconds: start + 7_000)
        #expect(idleSeconds(&database, "k", at: start + 7_000) == 7)
        let hits = database.statistics.keyspaceHits
        let touchedExisting = database.touch(b("k"), nowMilliseconds: start + 8_000)
        let touchedMissing = database.touch(b("nothing"), nowMilliseconds: start + 8_000)
        #expect(touchedExisting && !touchedMissing)
        #expect(database.statistics.keyspaceHits == hits + 1)
        #expect(idleSeconds(&database, "k", at: start + 9_000) == 1)
    }

    @Test("insertLoaded records the given access time; RESTORE IDLETIME readings count back from now")
    func loadedAccessTime() {
        var database = Database()
        let clock = AccessClock.reading(idleSeconds: 100, nowMilliseconds: start)
        let inserted = database.insertLoaded(.string(b("v")), forKey: b("k"), deadline: nil, lastAccess: clock)
        #expect(inserted)
        #expect(idleSeconds(&database, "k", at: start) == 100)
        database.validate()
    }

    @Test("the clock is 24 bits of Unix seconds and idle time survives its wrap")
    func clockWraps() {
        let period = Int64(AccessClock.maximum) + 1
        #expect(AccessClock.reading(atMilliseconds: period * 1000) == 0)
        #expect(AccessClock.reading(atMilliseconds: 1_500) == 1)
        let beforeWrap = AccessClock.reading(atMilliseconds: (period - 5) * 1000)
        #expect(AccessClock.idleMilliseconds(since: beforeWrap, nowMilliseconds: (period + 5) * 1000) == 9_000)
        // An idle time longer than the clock's reading lands half a cycle ahead, as Redis places it.
        let odd = AccessClock.reading(idleSeconds: 100, nowMilliseconds: 50_000)
        #expect(odd == UInt32((50 + Int64(AccessClock.maximum / 2)) % Int64(AccessClock.maximum)))
    }

    @Test("an entry's access time costs at most one word beside the value")
    func entrySize() {
        #expect(MemoryLayout<KeyTable.Entry>.stride <= MemoryLayout<RedisValue>.stride + 8)
    }
}

@Suite("Value encodings and memory usage")
struct ValueIntrospectionTests {
    @Test("encodings follow Redis 8.2's defaults")
    func encodings() {
        func encoding(_ value: RedisValue, keyLength: Int = 1, deadline: Bool = false) -> String {
            value.encoding(keyLength: keyLength, hasDeadline: deadline).rawValue
        }
        #expect(encoding(.string(b("12345"))) == "int")
        #expect(encoding(.string(b("007"))) == "embstr")
        #expect(encoding(.string(Array(repeating: 120, count: 40))) == "embstr")
        #expect(encoding(.string(Array(repeating: 120, count: 41))) == "raw")
        #expect(encoding(.string(Array(repeating: 120, count: 32)), deadline: true) == "embstr")
        #expect(encoding(.string(Array(repeating: 120, count: 33)), deadline: true) == "raw")
        #expect(encoding(.list(Deque([b("a"), b("1")]))) == "listpack")
        #expect(encoding(.list(Deque((0..<300).map { _ in Array(repeating: 120, count: 30) }))) == "quicklist")
        #expect(encoding(.set(Set((0..<512).map { b(String($0)) }))) == "intset")
        #expect(encoding(.set(Set((0..<513).map { b(String($0)) }))) == "hashtable")
        #expect(encoding(.set(Set((0..<128).map { b("m\($0)") }))) == "listpack")
        #expect(encoding(.set(Set((0..<129).map { b("m\($0)") }))) == "hashtable")
        #expect(encoding(.set([Array(repeating: 120, count: 65)])) == "hashtable")
        #expect(encoding(.stream(Stream())) == "stream")
    }

    @Test("memory usage grows with the value and sampling extrapolates from the measured elements")
    func usage() {
        let small = MemoryUsage.bytes(ofKey: b("k"), value: .string(b("v")), samples: 5)
        let large = MemoryUsage.bytes(ofKey: b("k"), value: .string(Array(repeating: 1, count: 1000)), samples: 5)
        #expect(small > 0 && large >= small + 1000)
        // Equal elements: sampling five gives the exact total.
        let list = RedisValue.list(Deque((0..<100).map { _ in Array(repeating: 120, count: 50) }))
        #expect(MemoryUsage.bytes(of: list, samples: 5) == MemoryUsage.bytes(of: list, samples: nil))
        // Elements of growing size: the first five under-estimate the whole.
        let growing = RedisValue.list(Deque((0..<100).map { Array(repeating: 120, count: $0 * 10) }))
        #expect(MemoryUsage.bytes(of: growing, samples: 5) < MemoryUsage.bytes(of: growing, samples: nil))
        #expect(MemoryUsage.allocationSize(1) == 8 && MemoryUsage.allocationSize(17) == 32)
        #expect(MemoryUsage.allocationSize(129) == 160 && MemoryUsage.allocationSize(1025) == 1280)
    }
}
