import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

/// Runs a full SCAN iteration, calling `between` before every step after the first; returns the keys in order.
private func fullScan(
    _ database: inout Database, count: (inout SeededGenerator) -> Int, random: inout SeededGenerator,
    pattern: GlobPattern? = nil, typeName: [UInt8]? = nil, between: (inout Database, inout SeededGenerator) -> Void
) -> [[UInt8]] {
    var cursor: UInt64 = 0
    var returned: [[UInt8]] = []
    var steps = 0
    repeat {
        if steps > 0 { between(&database, &random) }
        let step = database.scan(
            cursor: cursor, count: count(&random), pattern: pattern, typeName: typeName, nowMilliseconds: now)
        returned += step.keys
        cursor = step.next
        steps += 1
        precondition(steps < 1_000_000, "SCAN does not terminate")
    } while cursor != 0
    return returned
}

@Suite("Keyspace SCAN")
struct KeyspaceScanTests {
    @Test(
        "every key present throughout is returned, exactly once, under concurrent inserts, deletes and resizes",
        arguments: [(1, true), (2, true), (3, false), (4, false)])
    func contractUnderChurn(seed: UInt64, growing: Bool) {
        var random = SeededGenerator(seed: seed)
        var database = Database()
        var stable: Set<[UInt8]> = []
        var churn: [[UInt8]] = []
        // Growing runs start mid-sized and mostly insert; shrinking runs start with few stable keys and mostly
        // delete, so the index both doubles and halves while the iteration is under way.
        let stableCount = growing ? 1_500 : 200
        for index in 0..<stableCount {
            let key = b("stable:\(index)")
            stable.insert(key)
            database.store(.string(b("v")), forKey: key, nowMilliseconds: now)
        }
        for index in 0..<3_000 - stableCount {
            let key = b("churn:\(index)")
            churn.append(key)
            database.store(.string(b("v")), forKey: key, nowMilliseconds: now)
        }
        var everPresent = stable.union(churn)
        var nextChurn = churn.count
        let initialBuckets = database.scanIndex.buckets.count
        var largestBuckets = initialBuckets
        let returned = fullScan(&database, count: { Int.random(in: 1...40, using: &$0) }, random: &random) { database, random in
            for _ in 0..<Int.random(in: 0...(growing ? 120 : 400), using: &random) {
                let roll = Int.random(in: 0..<4, using: &random)
                if (growing ? roll < 3 : roll == 0) || churn.isEmpty {
                    let key = b("churn:\(nextChurn)")
                    nextChurn += 1
                    churn.append(key)
                    everPresent.insert(key)
                    database.store(.string(b("v")), forKey: key, nowMilliseconds: now)
                } else {
                    let victim = churn.remove(at: Int.random(in: 0..<churn.count, using: &random))
                    #expect(database.delete(victim, nowMilliseconds: now) == true)
                }
            }
            largestBuckets = max(largestBuckets, database.scanIndex.buckets.count)
        }
        database.validate()
        let returnedSet = Set(returned)
        // Counts rather than sets in the expectations keep a failure report readable.
        #expect(returned.count - returnedSet.count == 0, "keys returned twice")
        #expect(stable.subtracting(returnedSet).count == 0, "keys present throughout but missed")
        #expect(returnedSet.subtracting(everPresent).count == 0, "keys returned that never existed")
        if growing {
            #expect(database.scanIndex.buckets.count > initialBuckets)
        } else {
            #expect(database.scanIndex.buckets.count < largestBuckets, "\(database.count) keys left")
        }
    }

    @Test("an unchanged database is returned exactly, for any COUNT")
    func unchangedDatabase() {
        var database = Database()
        var all: Set<[UInt8]> = []
        for index in 0..<777 {
            all.insert(b("k\(index)"))
            database.store(.string(b("v")), forKey: b("k\(index)"), nowMilliseconds: now)
        }
        var random = SeededGenerator(seed: 9)
        for count in [1, 10, 100, 10_000] {
            let returned = fullScan(&database, count: { _ in count }, random: &random) { _, _ in }
            #expect(returned.count == all.count)
            #expect(Set(returned) == all)
        }
        // An empty database ends at once.
        var empty = Database()
        #expect(empty.scan(cursor: 0, count: 10, nowMilliseconds: now) == (0, []))
    }

    @Test("COUNT is a hint: steps return about COUNT keys before filtering")
    func countHint() {
        var database = Database()
        for index in 0..<5_000 { database.store(.string(b("v")), forKey: b("k\(index)"), nowMilliseconds: now) }
        var cursor: UInt64 = 0
        var steps = 0
        repeat {
            let step = database.scan(cursor: cursor, count: 50, nowMilliseconds: now)
            cursor = step.next
            steps += 1
            // Whole buckets are taken, each holding at most two keys on average; a step stops once it has 50.
            if cursor != 0 { #expect(step.keys.count >= 50 && step.keys.count < 80) }
        } while cursor != 0
        #expect(steps >= 5_000 / 80 && steps <= 5_000 / 50 + 1)
    }

    @Test("MATCH and TYPE filter after sampling; TYPE is case-insensitive and an unknown type matches nothing")
    func filters() throws {
        var database = Database()
        for index in 0..<300 {
            database.store(.string(b("v")), forKey: b("str:\(index)"), nowMilliseconds: now)
            _ = try database.listPush([b("x")], at: .tail, forKey: b("list:\(index)"), nowMilliseconds: now)
            _ = try database.setAdd([b("x")], forKey: b("set:\(index)"), nowMilliseconds: now)
        }
        var random = SeededGenerator(seed: 3)
        let lists = fullScan(&database, count: { _ in 10 }, random: &random, typeName: b("LIST")) { _, _ in }
        #expect(lists.count == 300 && lists.allSatisfy { $0.starts(with: b("list:")) })
        let matched = fullScan(&database, count: { _ in 10 }, random: &random, pattern: GlobPattern(b("s*:1?"))) { _, _ in }
        #expect(Set(matched) == Set((10..<20).flatMap { [b("str:\($0)"), b("set:\($0)")] }))
        let both = fullScan(&database, count: { _ in 10 }, random: &random, pattern: GlobPattern(b("s*:1?")), typeName: b("set")) { _, _ in }
        #expect(Set(both) == Set((10..<20).map { b("set:\($0)") }))
        let unknown = fullScan(&database, count: { _ in 10 }, random: &random, typeName: b("hash")) { _, _ in }
        #expect(unknown.isEmpty)
    }

    @Test("any cursor value is accepted; keys past their deadline are deleted, not returned")
    func cursorsAndExpiry() {
        var database = Database()
        for index in 0..<100 { database.store(.string(b("v")), forKey: b("k\(index)"), nowMilliseconds: now) }
        for index in 0..<50 { _ = database.setExpiry(b("k\(index)"), deadline: now - 1_000 + 1, nowMilliseconds: now - 1_000) }
        let last = database.scan(cursor: .max, count: 10, nowMilliseconds: now)
        #expect(last.next == 0)
        var random = SeededGenerator(seed: 1)
        let returned = fullScan(&database, count: { _ in 7 }, random: &random) { _, _ in }
        #expect(Set(returned) == Set((50..<100).map { b("k\($0)") }))
        #expect(database.count == 50)
        #expect(database.statistics.expiredKeys == 50)
        database.validate()
    }

    @Test("KEYS returns live matching keys and does not delete expired ones")
    func keys() {
        var database = Database()
        for name in ["one", "two", "three", "four"] { database.store(.string(b("v")), forKey: b(name), nowMilliseconds: now) }
        _ = database.setExpiry(b("two"), deadline: now + 1, nowMilliseconds: now)
        let later = now + 2
        #expect(Set(database.keys(matching: GlobPattern(b("t*")), nowMilliseconds: later)) == [b("three")])
        #expect(Set(database.keys(matching: GlobPattern(b("*")), nowMilliseconds: later)) == Set(["one", "three", "four"].map(b)))
        #expect(database.count == 4)
    }
}
