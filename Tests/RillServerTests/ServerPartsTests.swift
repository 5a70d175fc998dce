import NIOCore
import NIOEmbedded
import Testing
@testable import RillServer

private func session(_ registry: ClientRegistry) -> ClientSession {
    registry.register(remoteAddress: "127.0.0.1:1", localAddress: "127.0.0.1:6379", now: 0, authenticated: true)
}

private func request(_ keys: [String]) -> BlockRequest {
    BlockRequest(keys: keys.map { Array($0.utf8) }, timeoutMilliseconds: 0, retry: { _ in true }, onTimeout: { _ in }, onDenied: { _ in })
}

/// The row of XREAD, the command a blocked client of these tests waits in.
private let xread = CommandTable(CommandCatalog.all).lookup("xread")!  // the catalog has XREAD

@Suite("ClientRegistry")
struct ClientRegistryTests {
    @Test func idsIncreaseFromOneAndAreNeverReused() {
        let registry = ClientRegistry()
        let first = session(registry)
        let second = session(registry)
        #expect((first.id, second.id) == (1, 2))
        registry.remove(first)
        #expect(registry.count == 1)
        #expect(registry[1] == nil)
        #expect(registry[2] === second)
        #expect(session(registry).id == 3)
    }

    @Test func blockedClientsAreCounted() {
        let registry = ClientRegistry()
        let client = session(registry)
        _ = session(registry)
        #expect(registry.blockedCount == 0)
        client.blocked = BlockedClient(request: request(["k"]), database: 0, command: xread, timeout: nil)
        #expect(registry.blockedCount == 1)
    }
}

@Suite("BlockingRegistry")
struct BlockingRegistryTests {
    private func block(_ client: ClientSession, on keys: [String], in registry: BlockingRegistry, database: Int = 0) {
        let blockRequest = request(keys)
        registry.add(client, keys: blockRequest.keys, database: database)
        client.blocked = BlockedClient(request: blockRequest, database: database, command: xread, timeout: nil)
    }

    @Test func waitersAreServedOldestFirstAndOnlyForKeysTheyWaitOn() {
        let clients = ClientRegistry()
        let registry = BlockingRegistry()
        let (a, b, c) = (session(clients), session(clients), session(clients))
        block(a, on: ["x"], in: registry)
        block(b, on: ["y", "x"], in: registry)
        block(c, on: ["x"], in: registry, database: 1)
        #expect(registry.keyCount == 3)
        registry.keyWritten(Array("z".utf8), database: 0)
        #expect(!registry.hasReadyKeys)
        registry.keyWritten(Array("x".utf8), database: 0)
        let ready = registry.takeReadyKeys()
        #expect(ready == [BlockingKey(database: 0, key: Array("x".utf8))])
        #expect(registry.waiters(of: ready[0]).map(\.id) == [a.id, b.id])
        #expect(!registry.hasReadyKeys)
    }

    @Test func removingAClientTakesItOutOfEveryQueueAndDropsEmptyOnes() {
        let clients = ClientRegistry()
        let registry = BlockingRegistry()
        let (a, b) = (session(clients), session(clients))
        block(a, on: ["x", "y"], in: registry)
        block(b, on: ["x"], in: registry)
        registry.remove(a)
        #expect(a.blocked == nil)
        #expect(registry.keyCount == 1)
        #expect(registry.waiters(of: BlockingKey(database: 0, key: Array("x".utf8))).map(\.id) == [b.id])
        registry.keyWritten(Array("y".utf8), database: 0)
        #expect(!registry.hasReadyKeys)
    }

    @Test func aKeyNamedTwiceQueuesItsClientOnce() {
        let clients = ClientRegistry()
        let registry = BlockingRegistry()
        let (a, b) = (session(clients), session(clients))
        block(a, on: ["x", "y", "x"], in: registry)
        block(b, on: ["x"], in: registry)
        let x = BlockingKey(database: 0, key: Array("x".utf8))
        #expect(registry.waiters(of: x).map(\.id) == [a.id, b.id])
        registry.remove(a)
        #expect(registry.waiters(of: x).map(\.id) == [b.id])
        #expect(registry.keyCount == 1)
    }

    @Test func flushingADatabaseReadiesOnlyItsKeys() {
        let clients = ClientRegistry()
        let registry = BlockingRegistry()
        block(session(clients), on: ["x"], in: registry, database: 0)
        block(session(clients), on: ["y"], in: registry, database: 5)
        registry.allKeysWritten(database: 5)
        #expect(registry.takeReadyKeys() == [BlockingKey(database: 5, key: Array("y".utf8))])
        registry.allKeysWritten(database: nil)
        #expect(Set(registry.takeReadyKeys()).count == 2)
    }
}

@Suite("PeriodicJobs")
struct PeriodicJobsTests {
    @Test func eachJobRunsWhenItsIntervalHasPassedInRegistrationOrder() {
        let jobs = PeriodicJobs()
        var runs: [String] = []
        jobs.add("every tick") { now in runs.append("tick@\(now)") }
        jobs.add("every second", everyMilliseconds: 1000) { now in runs.append("second@\(now)") }
        #expect(jobs.names == ["every tick", "every second"])
        jobs.tick(now: 1000)
        jobs.tick(now: 1100)
        jobs.tick(now: 1999)
        jobs.tick(now: 2000)
        #expect(runs == ["tick@1000", "second@1000", "tick@1100", "tick@1999", "tick@2000", "second@2000"])
    }

    @Test func startedJobsTickOnTheEventLoopUntilStopped() {
        let loop = EmbeddedEventLoop()
        let jobs = PeriodicJobs()
        var now: Int64 = 10_000
        var ticks = 0
        jobs.add("count") { _ in ticks += 1 }
        jobs.start(on: loop, hz: 10, clock: { now })
        loop.advanceTime(by: .milliseconds(100))
        now += 100
        loop.advanceTime(by: .milliseconds(100))
        #expect(ticks == 2)
        jobs.stop()
        loop.advanceTime(by: .milliseconds(500))
        #expect(ticks == 2)
    }
}
