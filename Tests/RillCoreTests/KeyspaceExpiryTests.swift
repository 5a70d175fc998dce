import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

/// A database holding "p" (no expiry) and "v" (expires in 100 s), as the EXPIRE option table was recorded with.
private func persistentAndVolatile() -> Database {
    var database = Database()
    database.store(.string(b("x")), forKey: b("p"), nowMilliseconds: now)
    database.store(.string(b("x")), forKey: b("v"), nowMilliseconds: now)
    #expect(database.setExpiry(b("v"), deadline: now + 100_000, nowMilliseconds: now) == true)
    return database
}

private func condition(_ options: String) throws -> ExpireCondition {
    try ExpireCondition(parsing: options.split(separator: " ").map { Array($0.utf8) })
}

@Suite("Keyspace expiry")
struct KeyspaceExpiryTests {
    /// (options, key, seconds, expected reply, TTL in seconds afterwards), recorded from redis-server 7.0.15 with
    /// "p" persistent and "v" at 100 s.
    static let expireOptionTable: [(String, String, Int64, Bool, Int64)] = [
        ("NX", "p", 50, true, 50), ("NX", "p", 200, true, 200),
        ("NX", "v", 50, false, 100), ("NX", "v", 200, false, 100),
        ("NX", "nokey", 50, false, -2),
        ("XX", "p", 50, false, -1), ("XX", "p", 200, false, -1),
        ("XX", "v", 50, true, 50), ("XX", "v", 200, true, 200),
        ("XX", "nokey", 50, false, -2),
        ("GT", "p", 50, false, -1), ("GT", "p", 200, false, -1),
        ("GT", "v", 50, false, 100), ("GT", "v", 200, true, 200),
        ("GT", "nokey", 200, false, -2),
        ("LT", "p", 50, true, 50), ("LT", "p", 200, true, 200),
        ("LT", "v", 50, true, 50), ("LT", "v", 200, false, 100),
        ("LT", "nokey", 50, false, -2),
        ("XX LT", "p", 50, false, -1), ("XX LT", "v", 50, true, 50), ("XX LT", "v", 200, false, 100),
        ("XX GT", "p", 200, false, -1), ("XX GT", "v", 50, false, 100), ("XX GT", "v", 200, true, 200),
        ("nx nx", "p", 10, true, 10), ("gt gt", "v", 300, true, 300),
        ("", "p", 10, true, 10), ("", "v", 10, true, 10), ("", "nokey", 10, false, -2),
    ]

    @Test("EXPIRE NX/XX/GT/LT table recorded from redis-server", arguments: expireOptionTable)
    func expireOptions(row: (String, String, Int64, Bool, Int64)) throws {
        let (options, key, seconds, expectedReply, expectedTTL) = row
        var database = persistentAndVolatile()
        let reply = try database.expire(
            b(key), at: .relativeSeconds(seconds), condition: condition(options), nowMilliseconds: now)
        #expect(reply == expectedReply)
        let ttl = database.expiry(ofKey: b(key), nowMilliseconds: now)
            .reply(inMilliseconds: false, absolute: false, nowMilliseconds: now)
        #expect(ttl == expectedTTL)
        database.validate()
    }

    @Test("GT and LT compare deadlines strictly; XX accepts an equal deadline")
    func equalDeadlines() throws {
        var database = persistentAndVolatile()
        let same = ExpireTime.unixMilliseconds(now + 100_000)
        #expect(try !database.expire(b("v"), at: same, condition: condition("GT"), nowMilliseconds: now))
        #expect(try !database.expire(b("v"), at: same, condition: condition("LT"), nowMilliseconds: now))
        #expect(try database.expire(b("v"), at: same, condition: condition("XX"), nowMilliseconds: now))
    }

    @Test("option parsing errors are checked in Redis's order")
    func optionErrors() {
        let cases: [(String, KeyspaceError)] = [
            ("NX XX", .expireNXWithOtherOptions),
            ("NX GT", .expireNXWithOtherOptions),
            ("gt lt nx", .expireNXWithOtherOptions),
            ("GT LT", .expireGTWithLT),
            ("foo", .unsupportedExpireOption(b("foo"))),
            ("NX foo", .unsupportedExpireOption(b("foo"))),
        ]
        for (options, expected) in cases {
            #expect(throws: expected, "options \(options)") { try condition(options) }
        }
    }

    /// (time, accepted by EXPIRE-family), recorded from redis-server 7.0.15 with "now" around 1.7e12 ms.
    static let expireOverflowTable: [(ExpireTime, Bool)] = [
        (.relativeSeconds(9_223_372_036_854_775_807), false),
        (.relativeSeconds(9_223_372_036_854_775), false),  // fits after *1000, but + now overflows
        (.relativeSeconds(9_223_372_036_854_776), false),
        (.relativeSeconds(-9_223_372_036_854_775_808), false),
        (.relativeSeconds(-9_223_372_036_854_776), false),
        (.relativeMilliseconds(9_223_372_036_854_775_807), false),
        (.relativeMilliseconds(9_223_372_036_854_775_000), false),
        (.unixMilliseconds(9_223_372_036_854_775_807), true),
        (.unixSeconds(9_223_372_036_854_775_807), false),
        (.unixSeconds(9_223_372_036_854_775), true),
        (.unixSeconds(-9_223_372_036_854_775), true),  // deletes the key
        (.unixMilliseconds(-9_223_372_036_854_775_808), true),
    ]

    @Test("EXPIRE-family overflow is 'invalid expire time' naming the command", arguments: expireOverflowTable)
    func expireOverflow(row: (ExpireTime, Bool)) {
        let (time, accepted) = row
        var database = persistentAndVolatile()
        do {
            #expect(try database.expire(b("p"), at: time, nowMilliseconds: now))
            #expect(accepted)
        } catch {
            #expect(!accepted)
            #expect(error == .invalidExpireTime(command: time.expireCommandName))
            // Checked before the lookup: a missing key gets the same error.
            #expect(throws: error) { try database.expire(b("nokey"), at: time, nowMilliseconds: now) }
        }
        database.validate()
    }

    @Test("a deadline at or before now deletes the key and replies 1; conditions are checked first")
    func pastDeadlineDeletes() throws {
        var database = persistentAndVolatile()
        #expect(try !database.expire(b("v"), at: .relativeSeconds(-5), condition: condition("GT"), nowMilliseconds: now))
        #expect(database.exists(b("v"), nowMilliseconds: now) == true)
        #expect(try database.expire(b("v"), at: .relativeSeconds(-5), condition: condition("LT"), nowMilliseconds: now))
        #expect(database.exists(b("v"), nowMilliseconds: now) == false)
        #expect(try !database.expire(b("p"), at: .relativeSeconds(0), condition: condition("XX"), nowMilliseconds: now))
        #expect(try database.expire(b("p"), at: .unixMilliseconds(now), nowMilliseconds: now))
        #expect(database.count == 0)
        // Deleting by EXPIRE is not an expiration in INFO's sense.
        #expect(database.statistics.expiredKeys == 0)
        database.validate()
    }

    @Test("lazy expiry: alive through its deadline millisecond, gone and reclaimed after it")
    func lazyExpiry() throws {
        var database = Database()
        database.store(.string(b("1")), forKey: b("k"), nowMilliseconds: now)
        #expect(database.setExpiry(b("k"), deadline: now + 10, nowMilliseconds: now) == true)
        #expect(database.exists(b("k"), nowMilliseconds: now + 10) == true)
        #expect(database.expiry(ofKey: b("k"), nowMilliseconds: now + 10) == .deadline(now + 10))
        #expect(database.count == 1 && database.expiresCount == 1)
        #expect(try database.stringGet(b("k"), nowMilliseconds: now + 11) == nil)
        #expect(database.count == 0 && database.expiresCount == 0)
        #expect(database.statistics.expiredKeys == 1)
        database.validate()
    }

    @Test("every kind of lookup applies lazy expiry")
    func lazyExpiryEverywhere() throws {
        let later = now + 1_000
        typealias Probe = (inout Database) throws -> Bool
        let probes: [Probe] = [
            { !$0.exists(b("k"), nowMilliseconds: later) },
            { $0.value(forKey: b("k"), nowMilliseconds: later) == nil },
            { $0.type(ofKey: b("k"), nowMilliseconds: later) == nil },
            { !$0.delete(b("k"), nowMilliseconds: later) },
            { try $0.stringIncrement(b("k"), by: 1, nowMilliseconds: later) == 1 },
            { try $0.listLength(forKey: b("k"), nowMilliseconds: later) == 0 },
            { try $0.setAdd([b("m")], forKey: b("k"), nowMilliseconds: later) == 1 },
            { $0.keys(matching: GlobPattern(b("*")), nowMilliseconds: later).isEmpty },
            { $0.scan(cursor: 0, count: 10, nowMilliseconds: later).keys.isEmpty },
            { !$0.persist(b("k"), nowMilliseconds: later) },
            { $0.expiry(ofKey: b("k"), nowMilliseconds: later) == .noSuchKey },
            { (try? $0.rename(b("k"), to: b("j"), nowMilliseconds: later)) == nil },
        ]
        for (index, probe) in probes.enumerated() {
            var database = Database()
            // A list holding a string would make the type-specific probes fail with WRONGTYPE if expiry were missed.
            database.store(.list([b("a")]), forKey: b("k"), nowMilliseconds: now)
            _ = database.setExpiry(b("k"), deadline: now + 500, nowMilliseconds: now)
            #expect(try probe(&database), "probe \(index)")
            database.validate()
        }
    }

    @Test("TTL, PTTL, EXPIRETIME, PEXPIRETIME replies")
    func ttlReplies() {
        func reply(_ expiry: KeyExpiry, _ milliseconds: Bool, _ absolute: Bool) -> Int64 {
            expiry.reply(inMilliseconds: milliseconds, absolute: absolute, nowMilliseconds: now)
        }
        #expect(reply(.noSuchKey, false, false) == -2)
        #expect(reply(.noSuchKey, true, true) == -2)
        #expect(reply(.persistent, false, true) == -1)
        #expect(reply(.deadline(now + 1_499), false, false) == 1)
        #expect(reply(.deadline(now + 1_500), false, false) == 2)
        #expect(reply(.deadline(now + 1_500), true, false) == 1_500)
        #expect(reply(.deadline(now), true, false) == 0)
        #expect(reply(.deadline(now - 5), true, false) == 0)
        #expect(reply(.deadline(now + 1_500), true, true) == now + 1_500)
        #expect(reply(.deadline(9_223_372_036_854_775_000), false, true) == 9_223_372_036_854_775)
        // redis-server replies 9223372036854776 for EXPIRETIME after PEXPIREAT 9223372036854775807.
        #expect(reply(.deadline(.max), false, true) == 9_223_372_036_854_776)
    }

    @Test("PERSIST removes a deadline; SET without KEEPTTL drops it, with KEEPTTL keeps it")
    func persistAndKeepTTL() throws {
        var database = persistentAndVolatile()
        #expect(database.persist(b("p"), nowMilliseconds: now) == false)
        #expect(database.persist(b("nokey"), nowMilliseconds: now) == false)
        #expect(database.persist(b("v"), nowMilliseconds: now) == true)
        #expect(database.expiry(ofKey: b("v"), nowMilliseconds: now) == .persistent)

        _ = database.setExpiry(b("v"), deadline: now + 100_000, nowMilliseconds: now)
        _ = try database.stringSet(b("w"), forKey: b("v"), options: .init(expiry: .keep), nowMilliseconds: now)
        #expect(database.expiry(ofKey: b("v"), nowMilliseconds: now) == .deadline(now + 100_000))
        _ = try database.stringSet(b("w"), forKey: b("v"), nowMilliseconds: now)
        #expect(database.expiry(ofKey: b("v"), nowMilliseconds: now) == .persistent)
        #expect(database.expiresCount == 0)
        database.validate()
    }

    @Test("active expiry removes only expired keys, in bounded rounds, and eventually all of them")
    func activeExpiry() {
        var database = Database()
        for index in 0..<1_000 {
            let key = b("key:\(index)")
            database.store(.string(b("v")), forKey: key, nowMilliseconds: now)
            // Every other key expires at now + 10; the rest far later; a few never.
            if index % 10 != 9 {
                _ = database.setExpiry(key, deadline: index % 2 == 0 ? now + 10 : now + 1_000_000, nowMilliseconds: now)
            }
        }
        #expect(database.expiresCount == 900)
        #expect(database.removeExpiredKeys(nowMilliseconds: now + 10, maxChecks: 1_000) == 0)

        let later = now + 11
        let first = database.removeExpiredKeys(nowMilliseconds: later, maxChecks: 45)
        #expect(first > 0 && first <= 45)
        database.validate()

        var removed = first
        var calls = 1
        while database.expiresCount > 400 {
            removed += database.removeExpiredKeys(nowMilliseconds: later, maxChecks: 200)
            calls += 1
            #expect(calls < 100)
            database.validate()
        }
        #expect(removed == 500)
        #expect(database.count == 500)
        #expect(database.statistics.expiredKeys == 500)
        for index in stride(from: 1, to: 1_000, by: 2) {
            #expect(database.exists(b("key:\(index)"), nowMilliseconds: later) == true)
        }
    }

    @Test("active expiry stops early when a round finds at most a quarter expired")
    func activeExpiryStopsWhenFewExpired() {
        var database = Database()
        for index in 0..<400 {
            let key = b("k\(index)")
            database.store(.string(b("v")), forKey: key, nowMilliseconds: now)
            // One key in twenty expired: well under the 25% that keeps a cycle going.
            _ = database.setExpiry(key, deadline: index % 20 == 0 ? now + 1 : now + 1_000_000, nowMilliseconds: now)
        }
        let removed = database.removeExpiredKeys(nowMilliseconds: now + 2, maxChecks: 400)
        // One round of 20 keys at most: it found few expired keys, so it stopped.
        #expect(removed <= 2)
        #expect(database.count == 400 - removed)
        database.validate()
    }

    @Test("RENAME moves the deadline and replaces the destination's; RENAMENX refuses an existing destination")
    func renameWithExpiry() throws {
        var database = persistentAndVolatile()
        database.store(.string(b("d")), forKey: b("dst"), nowMilliseconds: now)
        _ = database.setExpiry(b("dst"), deadline: now + 5_000, nowMilliseconds: now)

        try database.rename(b("p"), to: b("dst"), nowMilliseconds: now)
        #expect(database.expiry(ofKey: b("dst"), nowMilliseconds: now) == .persistent)
        #expect(database.exists(b("p"), nowMilliseconds: now) == false)

        try database.rename(b("v"), to: b("moved"), nowMilliseconds: now)
        #expect(database.expiry(ofKey: b("moved"), nowMilliseconds: now) == .deadline(now + 100_000))
        #expect(database.expiry(ofKey: b("v"), nowMilliseconds: now) == .noSuchKey)
        #expect(database.expiresCount == 1)

        #expect(try !database.renameIfAbsent(b("moved"), to: b("dst"), nowMilliseconds: now))
        #expect(try database.renameIfAbsent(b("moved"), to: b("fresh"), nowMilliseconds: now))
        #expect(database.value(forKey: b("fresh"), nowMilliseconds: now)?.typeName == "string")

        // Onto itself: RENAME succeeds, RENAMENX replies 0, both keep the deadline.
        try database.rename(b("fresh"), to: b("fresh"), nowMilliseconds: now)
        #expect(try !database.renameIfAbsent(b("fresh"), to: b("fresh"), nowMilliseconds: now))
        #expect(database.expiry(ofKey: b("fresh"), nowMilliseconds: now) == .deadline(now + 100_000))

        #expect(throws: KeyspaceError.noSuchKey) { try database.rename(b("nokey"), to: b("x"), nowMilliseconds: now) }
        #expect(throws: KeyspaceError.noSuchKey) { try database.rename(b("nokey"), to: b("nokey"), nowMilliseconds: now) }
        #expect(throws: KeyspaceError.noSuchKey) {
            try database.renameIfAbsent(b("nokey"), to: b("x"), nowMilliseconds: now)
        }
        // An expired destination counts as absent for RENAMENX.
        database.store(.string(b("e")), forKey: b("old"), nowMilliseconds: now)
        _ = database.setExpiry(b("old"), deadline: now + 1, nowMilliseconds: now)
        #expect(try database.renameIfAbsent(b("fresh"), to: b("old"), nowMilliseconds: now + 2))
        database.validate()
    }

    @Test("expired keys are collected in removal order only while recording, lazily and actively; SET past waits")
    func expiredKeysAreCollected() throws {
        var database = Database()
        for name in ["a", "b", "c"] {
            database.store(.string(b("x")), forKey: b(name), nowMilliseconds: now)
            #expect(database.setExpiry(b(name), deadline: now + 10, nowMilliseconds: now) == true)
        }
        let lapsed = try database.stringGet(b("a"), nowMilliseconds: now + 11)
        #expect(lapsed == nil)
        let unrecorded = database.takeExpiredKeys()
        #expect(unrecorded.isEmpty)
        database.recordsExpiredKeys = true
        let exists = database.exists(b("b"), nowMilliseconds: now + 11)
        #expect(exists == false)
        let removed = database.removeExpiredKeys(nowMilliseconds: now + 11)
        #expect(removed == 1)
        var options = SetStringOptions()
        options.expiry = .set(.unixMilliseconds(now - 5))
        let result = try database.stringSet(b("x"), forKey: b("d"), options: options, nowMilliseconds: now)
        #expect(result.written)
        let collected = database.takeExpiredKeys()
        #expect(collected == [b("b"), b("c")])
        let again = database.takeExpiredKeys()
        #expect(again.isEmpty)
        // A key SET with a deadline already past stays stored (DBSIZE counts it, as in Redis 8) until a lookup
        // reclaims it, which is when its expiration is recorded.
        #expect(database.count == 1)
        #expect(database.exists(b("d"), nowMilliseconds: now) == false)
        #expect(database.takeExpiredKeys() == [b("d")])
        #expect(database.count == 0)
        database.validate()
    }

    @Test("paused expiry (append-only file replay) keeps keys past their deadline, even ones set in the past")
    func pausedExpiry() throws {
        var database = Database()
        database.isExpiryPaused = true
        database.store(.string(b("5")), forKey: b("k"), nowMilliseconds: now)
        #expect(database.setExpiry(b("k"), deadline: now - 1, nowMilliseconds: now) == true)
        let incremented = try database.stringIncrement(b("k"), by: 1, nowMilliseconds: now)
        #expect(incremented == 6)
        var options = SetStringOptions()
        options.expiry = .set(.unixMilliseconds(1))
        _ = try database.stringSet(b("old"), forKey: b("old"), options: options, nowMilliseconds: now)
        let removedWhilePaused = database.removeExpiredKeys(nowMilliseconds: now)
        #expect(removedWhilePaused == 0)
        #expect(database.count == 2)
        database.isExpiryPaused = false
        let lapsed = try database.stringGet(b("k"), nowMilliseconds: now)
        #expect(lapsed == nil)
        let removed = database.removeExpiredKeys(nowMilliseconds: now)
        #expect(removed == 1)
        database.validate()
    }

    @Test("average TTL for INFO keyspace")
    func averageTimeToLive() {
        var database = Database()
        #expect(database.averageTimeToLive(nowMilliseconds: now) == 0)
        for (index, ttl) in [1_000, 3_000].enumerated() {
            database.store(.string(b("v")), forKey: b("k\(index)"), nowMilliseconds: now)
            _ = database.setExpiry(b("k\(index)"), deadline: now + Int64(ttl), nowMilliseconds: now)
        }
        database.store(.string(b("v")), forKey: b("forever"), nowMilliseconds: now)
        #expect(database.averageTimeToLive(nowMilliseconds: now) == 2_000)
        // Deadlines near Int64.max (PEXPIREAT 9223372036854775807) must not trap the conversion.
        _ = database.setExpiry(b("forever"), deadline: .max, nowMilliseconds: now)
        _ = database.setExpiry(b("k0"), deadline: .max, nowMilliseconds: now)
        _ = database.setExpiry(b("k1"), deadline: .max, nowMilliseconds: now)
        #expect(database.averageTimeToLive(nowMilliseconds: 0) == .max)
    }
}
