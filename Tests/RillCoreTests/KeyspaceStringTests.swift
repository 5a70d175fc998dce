import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

@Suite("Keyspace strings and integers")
struct KeyspaceStringTests {
    /// (text, parsed value or nil), as redis-server 7.0.15 accepted or rejected each as INCRBY's increment and as a
    /// stored value under INCRBY 0.
    static let integerTable: [(String, Int64?)] = [
        ("0", 0), ("-0", nil), ("+1", nil), (" 1", nil), ("1 ", nil), ("007", nil), ("01", nil), ("-01", nil),
        ("9223372036854775807", .max), ("9223372036854775808", nil),
        ("-9223372036854775808", .min), ("-9223372036854775809", nil),
        ("", nil), ("1.0", nil), ("1e3", nil), ("00", nil), ("-", nil), ("+", nil),
        ("18446744073709551616", nil), ("123456789012345678901", nil),
        ("42", 42), ("-42", -42), ("10", 10), ("1a", nil), ("\u{0}1", nil),
    ]

    @Test("strict integer parsing matches redis-server", arguments: integerTable)
    func parseInteger(row: (String, Int64?)) {
        #expect(RedisInteger.parse(Array(row.0.utf8)) == row.1)
        #expect(RedisInteger.parse(row.0.utf8) == row.1)
    }

    @Test("integer formatting round-trips", arguments: [Int64.min, -1_000, -1, 0, 7, 10, 9_999, .max])
    func formatInteger(value: Int64) {
        #expect(RedisInteger.format(value) == Array(String(value).utf8))
        #expect(RedisInteger.parse(RedisInteger.format(value)) == value)
    }

    @Test("INCRBY on stored strings: values, overflow, not-an-integer")
    func increment() throws {
        var database = Database()
        #expect(try database.stringIncrement(b("n"), by: 5, nowMilliseconds: now) == 5)
        #expect(try database.stringIncrement(b("n"), by: -7, nowMilliseconds: now) == -2)
        #expect(try database.stringGet(b("n"), nowMilliseconds: now) == b("-2"))
        #expect(try database.stringDecrement(b("n"), by: 3, nowMilliseconds: now) == -5)

        for (stored, valid) in KeyspaceStringTests.integerTable.map({ ($0.0, $0.1 != nil) }) {
            _ = try database.stringSet(b(stored), forKey: b("k"), nowMilliseconds: now)
            if valid {
                #expect(try database.stringIncrement(b("k"), by: 0, nowMilliseconds: now) == RedisInteger.parse(b(stored)))
            } else {
                #expect(throws: KeyspaceError.notAnInteger) {
                    try database.stringIncrement(b("k"), by: 0, nowMilliseconds: now)
                }
            }
        }

        _ = try database.stringSet(b("9223372036854775807"), forKey: b("k"), nowMilliseconds: now)
        #expect(throws: KeyspaceError.incrementOverflow) { try database.stringIncrement(b("k"), by: 1, nowMilliseconds: now) }
        #expect(try database.stringIncrement(b("k"), by: -1, nowMilliseconds: now) == .max - 1)
        _ = try database.stringSet(b("-9223372036854775808"), forKey: b("k"), nowMilliseconds: now)
        #expect(throws: KeyspaceError.incrementOverflow) { try database.stringDecrement(b("k"), by: 1, nowMilliseconds: now) }
        // DECRBY's own check comes first, even for a missing key.
        #expect(throws: KeyspaceError.decrementOverflow) {
            try database.stringDecrement(b("missing"), by: .min, nowMilliseconds: now)
        }
        _ = try database.stringSet(b("5"), forKey: b("k"), nowMilliseconds: now)
        #expect(try database.stringDecrement(b("k"), by: .max, nowMilliseconds: now) == -9_223_372_036_854_775_802)
        database.validate()
    }

    @Test("INCR keeps the deadline; a new counter has none")
    func incrementKeepsExpiry() throws {
        var database = Database()
        _ = try database.stringSet(b("1"), forKey: b("k"), options: .init(expiry: .set(.relativeSeconds(100))), nowMilliseconds: now)
        _ = try database.stringIncrement(b("k"), by: 1, nowMilliseconds: now)
        #expect(database.expiry(ofKey: b("k"), nowMilliseconds: now) == .deadline(now + 100_000))
        _ = try database.stringIncrement(b("fresh"), by: 1, nowMilliseconds: now)
        #expect(database.expiry(ofKey: b("fresh"), nowMilliseconds: now) == .persistent)
    }

    @Test("SET NX/XX/GET as redis-server replies")
    func setConditions() throws {
        var database = Database()
        func set(_ value: String, _ options: SetStringOptions) throws -> SetStringResult {
            try database.stringSet(b(value), forKey: b("k"), options: options, nowMilliseconds: now)
        }
        // SET k v NX GET on a missing key: nil, written.
        #expect(try set("v", .init(condition: .ifAbsent, returnPrevious: true)) == .init(written: true, previous: nil))
        // SET k v2 NX GET: the old value, not written.
        #expect(try set("v2", .init(condition: .ifAbsent, returnPrevious: true)) == .init(written: false, previous: b("v")))
        #expect(try database.stringGet(b("k"), nowMilliseconds: now) == b("v"))
        #expect(try set("v3", .init(condition: .ifPresent, returnPrevious: true)) == .init(written: true, previous: b("v")))
        #expect(try set("v4", .init(condition: .ifPresent)) == .init(written: true, previous: nil))
        #expect(try database.stringGet(b("k"), nowMilliseconds: now) == b("v4"))

        #expect(
            try database.stringSet(b("x"), forKey: b("nk"), options: .init(condition: .ifPresent, returnPrevious: true),
                nowMilliseconds: now) == .init(written: false, previous: nil))
        #expect(database.exists(b("nk"), nowMilliseconds: now) == false)

        // NX does not overwrite and leaves the deadline alone.
        _ = try set("t", .init(expiry: .set(.relativeSeconds(100))))
        #expect(try set("u", .init(condition: .ifAbsent)).written == false)
        #expect(database.expiry(ofKey: b("k"), nowMilliseconds: now) == .deadline(now + 100_000))
        database.validate()
    }

    @Test("SET on another type: overwrites without GET, WRONGTYPE with GET")
    func setOverOtherTypes() throws {
        var database = Database()
        _ = try database.listPush([b("a")], at: .head, forKey: b("l"), nowMilliseconds: now)
        for condition in [SetStringOptions.Condition.always, .ifAbsent, .ifPresent] {
            #expect(throws: KeyspaceError.wrongType) {
                try database.stringSet(b("v"), forKey: b("l"), options: .init(condition: condition, returnPrevious: true),
                    nowMilliseconds: now)
            }
        }
        #expect(database.type(ofKey: b("l"), nowMilliseconds: now) == .list)
        _ = try database.stringSet(b("v"), forKey: b("l"), nowMilliseconds: now)
        #expect(database.type(ofKey: b("l"), nowMilliseconds: now) == .string)
        #expect(throws: KeyspaceError.wrongType) { try database.listLength(forKey: b("l"), nowMilliseconds: now) }
    }

    /// (expire time, accepted by SET), recorded from redis-server 7.0.15.
    static let setExpiryTable: [(ExpireTime, Bool)] = [
        (.relativeSeconds(0), false), (.relativeSeconds(-1), false), (.relativeMilliseconds(0), false),
        (.unixSeconds(0), false), (.unixMilliseconds(1), true),
        (.relativeSeconds(9_223_372_036_854_775), false), (.relativeMilliseconds(9_223_372_036_854_775_000), false),
        (.unixSeconds(9_223_372_036_854_775), true), (.unixSeconds(9_223_372_036_854_776), false),
        (.unixMilliseconds(.max), true), (.relativeSeconds(100), true),
    ]

    @Test("SET expiry validation", arguments: setExpiryTable)
    func setExpiryValidation(row: (ExpireTime, Bool)) throws {
        var database = Database()
        _ = try database.stringSet(b("old"), forKey: b("k"), nowMilliseconds: now)
        do {
            let result = try database.stringSet(b("v"), forKey: b("k"), options: .init(expiry: .set(row.0)), nowMilliseconds: now)
            #expect(row.1)
            #expect(result.written)
        } catch {
            #expect(!row.1)
            #expect(error == .invalidExpireTime(command: "set"))
            // Nothing changed.
            #expect(try database.stringGet(b("k"), nowMilliseconds: now) == b("old"))
        }
        database.validate()
    }

    @Test("SET with a positive deadline in the past writes a key that is immediately gone")
    func setInThePast() throws {
        var database = Database()
        _ = try database.stringSet(b("old"), forKey: b("k"), nowMilliseconds: now)
        let result = try database.stringSet(
            b("v"), forKey: b("k"), options: .init(expiry: .set(.unixMilliseconds(1)), returnPrevious: true),
            nowMilliseconds: now)
        #expect(result == .init(written: true, previous: b("old")))
        #expect(database.exists(b("k"), nowMilliseconds: now) == false)
        #expect(database.count == 0)
        // At exactly its deadline, a key is still alive (Redis expires strictly after).
        _ = try database.stringSet(b("v"), forKey: b("k"), options: .init(expiry: .set(.unixMilliseconds(now))), nowMilliseconds: now)
        #expect(try database.stringGet(b("k"), nowMilliseconds: now) == b("v"))
        database.validate()
    }

    @Test("GET on other types is WRONGTYPE; empty strings are values")
    func getTypes() throws {
        var database = Database()
        _ = try database.setAdd([b("m")], forKey: b("s"), nowMilliseconds: now)
        #expect(throws: KeyspaceError.wrongType) { try database.stringGet(b("s"), nowMilliseconds: now) }
        #expect(throws: KeyspaceError.wrongType) { try database.stringIncrement(b("s"), by: 1, nowMilliseconds: now) }
        _ = try database.stringSet([], forKey: b("e"), nowMilliseconds: now)
        #expect(try database.stringGet(b("e"), nowMilliseconds: now) == [])
        #expect(throws: KeyspaceError.notAnInteger) { try database.stringIncrement(b("e"), by: 1, nowMilliseconds: now) }
    }
}
