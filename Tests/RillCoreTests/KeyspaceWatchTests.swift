import RillTestSupport
import Testing

@testable import RillCore

private let b = bytes
private let now: Int64 = 1_700_000_000_000

/// Whether EXEC would abort: `action` runs between WATCH and EXEC of key "x", after `setup`.
private func aborts(
    setup: (inout Database) throws -> Void = { _ in }, _ action: (inout Database) throws -> Void
) throws -> Bool {
    var database = Database()
    try setup(&database)
    let watched = database.watch(b("x"), nowMilliseconds: now)
    try action(&database)
    let aborted = database.version(of: b("x"), nowMilliseconds: now) != watched
    database.unwatch(b("x"))
    #expect(database.watchedKeyCount == 0)
    database.validate()
    return aborted
}

@Suite("Keyspace WATCH versions")
struct KeyspaceWatchTests {
    @Test("outcomes recorded from redis-server 7.0.15 (WATCH x, another client acts, EXEC)")
    func recordedOutcomes() throws {
        #expect(try aborts { _ in } == false)
        #expect(try aborts { database in
            _ = try! database.stringSet(b("1"), forKey: b("x"), nowMilliseconds: now)
            database.delete(b("x"), nowMilliseconds: now)
        })
        #expect(try aborts(setup: { _ = try $0.setAdd([b("a")], forKey: b("x"), nowMilliseconds: now) }) {
            _ = try $0.setAdd([b("a")], forKey: b("x"), nowMilliseconds: now)
        } == false)
        #expect(try aborts(setup: { _ = try $0.setAdd([b("a")], forKey: b("x"), nowMilliseconds: now) }) {
            _ = try $0.setRemove([b("b")], forKey: b("x"), nowMilliseconds: now)
        } == false)
        let withTTL: (inout Database) throws -> Void = {
            _ = try $0.stringSet(b("1"), forKey: b("x"), options: .init(expiry: .set(.relativeSeconds(100))), nowMilliseconds: now)
        }
        #expect(try aborts(setup: withTTL) {
            _ = try $0.expire(b("x"), at: .relativeSeconds(10), condition: ExpireCondition(parsing: [b("NX")]), nowMilliseconds: now)
        } == false)
        let plain: (inout Database) throws -> Void = { _ = try $0.stringSet(b("1"), forKey: b("x"), nowMilliseconds: now) }
        #expect(try aborts(setup: plain) { _ = $0.persist(b("x"), nowMilliseconds: now) } == false)
        #expect(try aborts(setup: { _ = try $0.stringSet(b("1"), forKey: b("y"), nowMilliseconds: now) }) { $0.removeAll() } == false)
        #expect(try aborts(setup: plain) { $0.removeAll() })
        #expect(try aborts(setup: plain) { try $0.rename(b("x"), to: b("x"), nowMilliseconds: now) } == false)
        #expect(try aborts(setup: plain) { _ = try $0.stringSet(b("1"), forKey: b("x"), nowMilliseconds: now) })
        #expect(try aborts(setup: plain) { $0.delete(b("y"), nowMilliseconds: now) } == false)
        #expect(try aborts(setup: { _ = try $0.listPush([b("a")], at: .tail, forKey: b("x"), nowMilliseconds: now) }) {
            _ = try $0.listPop(at: .head, forKey: b("x"), count: 0, nowMilliseconds: now)
        } == false)
        #expect(try aborts(setup: plain) { _ = try $0.stringIncrement(b("x"), by: 0, nowMilliseconds: now) })
    }

    @Test("every real change of the key changes its version")
    func changesAbort() throws {
        let plain: (inout Database) throws -> Void = { _ = try $0.stringSet(b("1"), forKey: b("x"), nowMilliseconds: now) }
        let list: (inout Database) throws -> Void = {
            _ = try $0.listPush([b("a"), b("b")], at: .tail, forKey: b("x"), nowMilliseconds: now)
        }
        let set: (inout Database) throws -> Void = { _ = try $0.setAdd([b("a")], forKey: b("x"), nowMilliseconds: now) }
        let cases: [((inout Database) throws -> Void, (inout Database) throws -> Void)] = [
            (plain, { _ = try $0.expire(b("x"), at: .relativeSeconds(10), nowMilliseconds: now) }),
            (plain, { _ = try $0.expire(b("x"), at: .relativeSeconds(-1), nowMilliseconds: now) }),
            (plain, { try $0.rename(b("x"), to: b("y"), nowMilliseconds: now) }),
            (plain, { _ = try $0.stringSet(b("1"), forKey: b("y"), nowMilliseconds: now); try $0.rename(b("y"), to: b("x"), nowMilliseconds: now) }),
            (plain, { $0.store(.string(b("2")), forKey: b("x"), nowMilliseconds: now) }),
            (list, { _ = try $0.listPush([b("c")], at: .head, forKey: b("x"), nowMilliseconds: now) }),
            (list, { _ = try $0.listPop(at: .tail, forKey: b("x"), nowMilliseconds: now) }),
            (set, { _ = try $0.setAdd([b("b")], forKey: b("x"), nowMilliseconds: now) }),
            (set, { _ = try $0.setRemove([b("a")], forKey: b("x"), nowMilliseconds: now) }),
            ({ _ in }, { _ = try $0.streamModify(b("x"), nowMilliseconds: now, creatingWith: { Stream() }) { _ in } }),
        ]
        for (index, (setup, action)) in cases.enumerated() {
            #expect(try aborts(setup: setup, action), "case \(index)")
        }
        let withTTL: (inout Database) throws -> Void = {
            _ = try $0.stringSet(b("1"), forKey: b("x"), options: .init(expiry: .set(.relativeSeconds(100))), nowMilliseconds: now)
        }
        #expect(try aborts(setup: withTTL) { _ = $0.persist(b("x"), nowMilliseconds: now) })
    }

    @Test("failed operations do not change the version")
    func failuresDoNotAbort() throws {
        let plain: (inout Database) throws -> Void = { _ = try $0.stringSet(b("1"), forKey: b("x"), nowMilliseconds: now) }
        #expect(try aborts(setup: plain) { database in
            #expect(throws: KeyspaceError.wrongType) { try database.listPush([b("a")], at: .head, forKey: b("x"), nowMilliseconds: now) }
        } == false)
        #expect(try aborts(setup: plain) { database in
            struct Rejected: Error {}
            _ = try? database.streamModify(b("x"), nowMilliseconds: now) { _ in throw Rejected() }
        } == false)
        var created = true
        let abortedByFailedCreation = try aborts { database in
            struct Rejected: Error {}
            _ = try? database.streamModify(b("x"), nowMilliseconds: now, creatingWith: { Stream() }) { _ in throw Rejected() }
            created = database.exists(b("x"), nowMilliseconds: now)
        }
        #expect(!abortedByFailedCreation)
        #expect(!created)
    }

    @Test("a key expiring after WATCH changes the version; one already expired at WATCH does not")
    func expiryAndWatch() throws {
        var database = Database()
        _ = try database.stringSet(b("1"), forKey: b("x"), options: .init(expiry: .set(.unixMilliseconds(now + 10))), nowMilliseconds: now)
        let watched = database.watch(b("x"), nowMilliseconds: now)
        #expect(database.version(of: b("x"), nowMilliseconds: now + 10) == watched)
        #expect(database.version(of: b("x"), nowMilliseconds: now + 11) != watched)
        database.unwatch(b("x"))

        _ = try database.stringSet(b("1"), forKey: b("y"), options: .init(expiry: .set(.unixMilliseconds(now + 10))), nowMilliseconds: now)
        let watchedExpired = database.watch(b("y"), nowMilliseconds: now + 20)
        #expect(database.removeExpiredKeys(nowMilliseconds: now + 30) == 0)
        #expect(database.version(of: b("y"), nowMilliseconds: now + 30) == watchedExpired)

        // Active expiry of a watched key counts as a change too.
        _ = try database.stringSet(b("1"), forKey: b("z"), options: .init(expiry: .set(.unixMilliseconds(now + 10))), nowMilliseconds: now)
        let watchedLive = database.watch(b("z"), nowMilliseconds: now)
        #expect(database.removeExpiredKeys(nowMilliseconds: now + 30) == 1)
        #expect(database.version(of: b("z"), nowMilliseconds: now + 30) != watchedLive)
        database.validate()
    }

    @Test("several watchers share a record; it disappears with the last unwatch; unwatched keys have no version")
    func registry() throws {
        var database = Database()
        let first = database.watch(b("x"), nowMilliseconds: now)
        let second = database.watch(b("x"), nowMilliseconds: now)
        #expect(first == second)
        #expect(database.watchedKeyCount == 1)
        database.unwatch(b("x"))
        _ = try database.stringSet(b("v"), forKey: b("x"), nowMilliseconds: now)
        #expect(database.version(of: b("x"), nowMilliseconds: now) != first)
        database.unwatch(b("x"))
        #expect(database.watchedKeyCount == 0)
        #expect(database.version(of: b("x"), nowMilliseconds: now) == nil)
        // A fresh watch after changes gets a version that later changes still move.
        let third = database.watch(b("x"), nowMilliseconds: now)
        #expect(database.version(of: b("x"), nowMilliseconds: now) == third)
        _ = try database.stringIncrement(b("n"), by: 1, nowMilliseconds: now)
        #expect(database.version(of: b("x"), nowMilliseconds: now) == third)
        database.validate()
    }
}
