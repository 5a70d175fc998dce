import NIOCore
import Testing
@testable import RillServer

/// The server's parts working together, driven through real connection handlers in process (InProcessServer.swift).
@Suite("In-process server")
struct InProcessServerTests {
    /// A server whose change feed is recorded, and one connection to it.
    private func recordedServer() throws -> (InProcessServer, InProcessClient, RecordingSubscriber) {
        let harness = try InProcessServer()
        let feed = RecordingSubscriber()
        harness.server.changes.subscribe(feed)
        return (harness, try harness.connect(), feed)
    }

    @Test func eachWriteIsRecordedAsItsDeterministicEffect() throws {
        let (_, client, feed) = try recordedServer()
        guard case .bulk(let id) = try client.call("XADD", "s", "*", "f", "v") else {
            Issue.record("XADD did not answer an ID")
            return
        }
        #expect(try client.call("XADD", "s", "MAXLEN", "~", "1", "9999999999999-0", "f", "w").text == "9999999999999-0")
        #expect(try client.call("GET", "nothing") == .null)
        #expect(try client.call("SET", "k", "v", "EX", "100") == .status("OK"))
        // A write that fails without changing anything is not recorded.
        #expect(try client.call("XADD", "k", "*", "f", "v") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        let commands = try feed.commands
        try #require(commands.count == 4)
        #expect(commands[0] == ["SELECT", "0"])
        #expect(commands[1] == ["XADD", "s", id, "f", "v"])
        // Approximate trimming is recorded as the exact trim it made (nothing: the first block is not full).
        #expect(commands[2] == ["XADD", "s", "MAXLEN", "=", "2", "9999999999999-0", "f", "w"])
        #expect(Array(commands[3].prefix(4)) == ["SET", "k", "v", "PXAT"])
        let deadline = try #require(Int64(commands[3][4]))
        #expect(abs(deadline - (Clock.milliseconds() + 100_000)) < 10_000)
    }

    /// PUBLISH reaches the subscribers and the replicas' stream of the change feed, never the append-only file's.
    @Test func publishGoesToSubscribersAndReplicasButNotToTheFile() throws {
        let harness = try InProcessServer()
        let file = RecordingSubscriber()
        let replicas = RecordingSubscriber(audience: .replicas)
        harness.server.changes.subscribe(file)
        harness.server.changes.subscribe(replicas)
        let (subscriber, publisher) = (try harness.connect(), try harness.connect())
        #expect(try subscriber.call("SUBSCRIBE", "c") == .array([.bulk("subscribe"), .bulk("c"), .integer(1)]))
        #expect(try publisher.call("PUBLISH", "c", "m") == .integer(1))
        #expect(try subscriber.replies() == [.array([.bulk("message"), .bulk("c"), .bulk("m")])])
        for request in [["MULTI"], ["PUBLISH", "c", "n"], ["SET", "k", "v"]] { _ = try publisher.call(request) }
        #expect(try publisher.call("EXEC") == .array([.integer(1), .status("OK")]))
        #expect(try file.commands == [["MULTI"], ["SELECT", "0"], ["SET", "k", "v"], ["EXEC"]])
        #expect(try replicas.commands == [["SELECT", "0"], ["PUBLISH", "c", "m"],
                                          ["MULTI"], ["PUBLISH", "c", "n"], ["SET", "k", "v"], ["EXEC"]])
    }

    @Test func aDeliveryIsRecordedAsClaimAndGroupPositionInOneTransaction() throws {
        let (_, client, feed) = try recordedServer()
        #expect(try client.call("XADD", "s", "1-1", "f", "v") == .bulk("1-1"))
        #expect(try client.call("XGROUP", "CREATE", "s", "g", "0") == .status("OK"))
        feed.chunks.removeAll()
        let reply = try client.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
        #expect(reply == .array([.array([.bulk("s"), .array([.array([.bulk("1-1"), .array([.bulk("f"), .bulk("v")])])])])]))
        let commands = try feed.commands
        #expect(feed.chunks.count == 1)
        #expect(commands.map { $0.prefix(2) } == [["MULTI"], ["XGROUP", "CREATECONSUMER"], ["XCLAIM", "s"], ["XGROUP", "SETID"], ["EXEC"]])
        #expect(commands[3] == ["XGROUP", "SETID", "s", "g", "1-1", "ENTRIESREAD", "1"])
    }

    @Test func execRunsTheQueueAndRecordsItAsOneTransaction() throws {
        let (_, client, feed) = try recordedServer()
        #expect(try client.call("MULTI") == .status("OK"))
        #expect(try client.call("XADD", "s", "1-1", "f", "v") == .status("QUEUED"))
        #expect(try client.call("XLEN", "s") == .status("QUEUED"))
        #expect(try client.call("XADD", "s", "2-1", "f", "v") == .status("QUEUED"))
        #expect(feed.chunks.isEmpty)
        #expect(try client.call("EXEC") == .array([.bulk("1-1"), .integer(1), .bulk("2-1")]))
        #expect(feed.chunks.count == 1)
        #expect(try feed.commands == [["MULTI"], ["SELECT", "0"], ["XADD", "s", "1-1", "f", "v"], ["XADD", "s", "2-1", "f", "v"], ["EXEC"]])
    }

    @Test func aWatchedKeyWrittenByAnotherClientAbortsExec() throws {
        let harness = try InProcessServer()
        let (watcher, writer) = (try harness.connect(), try harness.connect())
        #expect(try watcher.call("WATCH", "s") == .status("OK"))
        #expect(try watcher.call("MULTI") == .status("OK"))
        #expect(try watcher.call("XADD", "s", "1-1", "f", "v") == .status("QUEUED"))
        #expect(try writer.call("XADD", "s", "5-1", "f", "v") == .bulk("5-1"))
        #expect(try watcher.call("EXEC") == .null)
        #expect(try writer.call("XLEN", "s") == .integer(1))
    }

    @Test func blockedReadersAreServedOldestFirstOneEntryEach() throws {
        let harness = try InProcessServer()
        let (first, second, producer) = (try harness.connect(), try harness.connect(), try harness.connect())
        #expect(try producer.call("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM") == .status("OK"))
        try first.send("XREADGROUP", "GROUP", "workers", "a", "COUNT", "1", "BLOCK", "0", "STREAMS", "jobs", ">")
        try second.send("XREADGROUP", "GROUP", "workers", "b", "COUNT", "1", "BLOCK", "0", "STREAMS", "jobs", ">")
        #expect(try first.replies().isEmpty)
        #expect(harness.server.clients.blockedCount == 2)
        #expect(try producer.call("XADD", "jobs", "1-1", "n", "1") == .bulk("1-1"))
        let firstReplies = try first.replies()
        #expect(firstReplies.count == 1)
        #expect(firstReplies.first.map { "\($0)" }?.contains("1-1") == true)
        #expect(try second.replies().isEmpty)
        #expect(harness.server.clients.blockedCount == 1)
        #expect(try producer.call("XADD", "jobs", "2-1", "n", "2") == .bulk("2-1"))
        #expect(try second.replies().first.map { "\($0)" }?.contains("2-1") == true)
        #expect(harness.server.clients.blockedCount == 0)
        #expect(harness.server.blocking.keyCount == 0)
    }

    @Test func aBlockedReadTimesOutWithANullReply() throws {
        let harness = try InProcessServer()
        let reader = try harness.connect()
        try reader.send("XREAD", "BLOCK", "100", "STREAMS", "s", "$")
        harness.advance(milliseconds: 99)
        #expect(try reader.replies().isEmpty)
        harness.advance(milliseconds: 1)
        #expect(try reader.replies() == [.null])
        #expect(harness.server.blocking.keyCount == 0)
        // The connection reads its next request again.
        #expect(try reader.call("PING") == .status("PONG"))
    }

    @Test func clientKillOfABlockedClientClosesItAndFreesItsKeys() throws {
        let harness = try InProcessServer()
        let (blocked, killer) = (try harness.connect(), try harness.connect())
        guard case .integer(let id) = try blocked.call("CLIENT", "ID") else {
            Issue.record("CLIENT ID did not answer an integer")
            return
        }
        try blocked.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        #expect(harness.server.blocking.keyCount == 1)
        #expect(try killer.call("CLIENT", "KILL", "ID", String(id)) == .integer(1))
        #expect(!blocked.isOpen)
        #expect(harness.server.clients.blockedCount == 0)
        #expect(harness.server.blocking.keyCount == 0)
        #expect(try killer.call("XADD", "s", "1-1", "f", "v") == .bulk("1-1"))
        #expect(harness.server.clients.count == 1)
    }

    /// A blocked client that hangs up leaves nothing behind while the server runs on: its session, its command
    /// context (which the blocked request's closures and its timeout reach) and its timeout go.
    @Test func aBlockedClientThatDisconnectsIsFreed() throws {
        let harness = try InProcessServer()
        let producer = try harness.connect()
        #expect(try producer.call("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM") == .status("OK"))
        weak var session: ClientSession?
        weak var context: CommandContext?
        do {
            let reader = try harness.connect()
            try reader.send("XREADGROUP", "GROUP", "workers", "a", "BLOCK", "60000", "STREAMS", "jobs", ">")
            let blocked = harness.server.clients.values.first { $0.blocked != nil }
            #expect(blocked?.context != nil)
            session = blocked
            context = blocked?.context
            reader.disconnect()
        }
        #expect(harness.server.blocking.keyCount == 0)
        #expect(session == nil)
        #expect(context == nil)
        #expect(try producer.call("XADD", "jobs", "1-1", "n", "1") == .bulk("1-1"))
    }

    /// Once its connections close and its loop stops, a server is freed whole, keyspace and blocked clients with
    /// it: nothing in it holds itself (LeakSanitizer's report of test servers' keyspaces came from connections
    /// the harness never closed).
    @Test func aServerWithABlockedClientIsFreedOnceItsConnectionsCloseAndItsLoopStops() throws {
        weak var server: ServerState?
        weak var session: ClientSession?
        try {
            let harness = try InProcessServer()
            let (producer, reader) = (try harness.connect(), try harness.connect())
            #expect(try producer.call("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM") == .status("OK"))
            try reader.send("XREADGROUP", "GROUP", "workers", "a", "BLOCK", "60000", "STREAMS", "jobs", ">")
            #expect(harness.server.clients.blockedCount == 1)
            server = harness.server
            session = harness.server.clients.values.first { $0.blocked != nil }
        }()
        #expect(server == nil)
        #expect(session == nil)
    }
}
