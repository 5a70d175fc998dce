import NIOCore
import RillCore
import RillPersistence
import Testing
@testable import RillServer

private func command(_ words: String...) -> [ByteBuffer] { words.map { ByteBuffer(string: $0) } }

/// A feed with one recording subscriber.
private func recordedFeed() -> (ChangeFeed, RecordingSubscriber) {
    let feed = ChangeFeed()
    let log = RecordingSubscriber()
    feed.subscribe(log)
    return (feed, log)
}

@Suite("ChangeFeed")
struct ChangeFeedTests {
    @Test func withoutSubscribersNothingIsRecordedButChangesAreCounted() {
        let feed = ChangeFeed()
        #expect(!feed.isRecording)
        feed.recordChange()
        feed.recordChange(3)
        #expect(feed.dirty == 4)
        #expect(feed.changeCount == 4)
        feed.dirty = 0
        #expect(feed.changeCount == 4)
    }

    @Test func theRequestIsRecordedWithASelectFirst() throws {
        let (feed, log) = recordedFeed()
        #expect(feed.isRecording)
        feed.commandFinished(request: command("DEL", "a"), database: 0, recordingRequest: true)
        feed.commandFinished(request: command("DEL", "b"), database: 0, recordingRequest: true)
        feed.commandFinished(request: command("GET", "b"), database: 0, recordingRequest: false)
        feed.commandFinished(request: command("DEL", "c"), database: 2, recordingRequest: true)
        #expect(try log.commands == [["SELECT", "0"], ["DEL", "a"], ["DEL", "b"], ["SELECT", "2"], ["DEL", "c"]])
        // One hand-over per command: a subscriber never sees part of one.
        #expect(log.chunks.count == 3)
    }

    @Test func effectsReplaceTheRequestAndSeveralAreWrappedInMultiExec() throws {
        let (feed, log) = recordedFeed()
        feed.propagate(command("XADD", "s", "5-0", "f", "v"))
        feed.commandFinished(request: command("XADD", "s", "*", "f", "v"), database: 0, recordingRequest: true)
        feed.propagate(effects: [command("XCLAIM", "s", "g", "c", "0", "5-0"), command("XGROUP", "SETID", "s", "g", "5-0")])
        feed.commandFinished(request: command("XREADGROUP"), database: 0, recordingRequest: false)
        // An empty list of effects: the command changed nothing worth recording, not even its request.
        feed.propagate(effects: [])
        feed.commandFinished(request: command("XADD", "s", "*", "f", "v"), database: 0, recordingRequest: true)
        #expect(try log.commands == [
            ["SELECT", "0"], ["XADD", "s", "5-0", "f", "v"],
            ["MULTI"], ["XCLAIM", "s", "g", "c", "0", "5-0"], ["XGROUP", "SETID", "s", "g", "5-0"], ["EXEC"],
        ])
    }

    @Test func aRequestWithItsIDReplacedIsRecordedFromTheRequestForOneCommandOnly() throws {
        let (feed, log) = recordedFeed()
        feed.propagateRequest(replacingArgumentAt: 2, with: StreamID(ms: 1700000000000, seq: 7))
        feed.commandFinished(request: command("XADD", "s", "*", "f", "v"), database: 0, recordingRequest: true)
        // The next command records its own request, not a replaced one.
        feed.commandFinished(request: command("XADD", "s", "9-1", "f", "v"), database: 0, recordingRequest: true)
        feed.beginTransaction()
        feed.propagateRequest(replacingArgumentAt: 2, with: StreamID(ms: 12, seq: 0))
        feed.commandFinished(request: command("XADD", "t", "12-*", "a", "b"), database: 0, recordingRequest: true)
        feed.endTransaction()
        #expect(try log.commands == [
            ["SELECT", "0"], ["XADD", "s", "1700000000000-7", "f", "v"], ["XADD", "s", "9-1", "f", "v"],
            ["MULTI"], ["XADD", "t", "12-0", "a", "b"], ["EXEC"],
        ])
    }

    @Test func aTransactionIsHandedOverWholeAtItsEndWithOneMulti() throws {
        let (feed, log) = recordedFeed()
        feed.beginTransaction()
        feed.commandFinished(request: command("DEL", "a"), database: 1, recordingRequest: true)
        feed.propagate(effects: [command("DEL", "b"), command("DEL", "c")])
        feed.commandFinished(request: command("X"), database: 1, recordingRequest: true)
        #expect(log.chunks.isEmpty)
        feed.endTransaction()
        #expect(log.chunks.count == 1)
        #expect(try log.commands == [["MULTI"], ["SELECT", "1"], ["DEL", "a"], ["DEL", "b"], ["DEL", "c"], ["EXEC"]])
    }

    @Test func aTransactionThatRecordsNothingWritesNoMulti() {
        let (feed, log) = recordedFeed()
        feed.beginTransaction()
        feed.commandFinished(request: command("GET", "a"), database: 0, recordingRequest: false)
        feed.endTransaction()
        #expect(log.chunks.isEmpty)
    }

    @Test func everySubscriberGetsTheSameBytesAndANewOneStartsWithASelect() throws {
        let feed = ChangeFeed()
        let first = RecordingSubscriber()
        feed.subscribe(first)
        feed.commandFinished(request: command("DEL", "a"), database: 3, recordingRequest: true)
        let second = RecordingSubscriber()
        feed.subscribe(second)
        feed.commandFinished(request: command("DEL", "b"), database: 3, recordingRequest: true)
        #expect(try first.commands == [["SELECT", "3"], ["DEL", "a"], ["SELECT", "3"], ["DEL", "b"]])
        #expect(try second.commands == [["SELECT", "3"], ["DEL", "b"]])
    }

    @Test func unsubscribingInsideATransactionHandsOverItsEnd() throws {
        let (feed, log) = recordedFeed()
        feed.beginTransaction()
        feed.commandFinished(request: command("DEL", "a"), database: 0, recordingRequest: true)
        feed.unsubscribe(log)
        #expect(!feed.isRecording)
        feed.commandFinished(request: command("DEL", "b"), database: 0, recordingRequest: true)
        feed.endTransaction()
        #expect(try log.commands == [["MULTI"], ["SELECT", "0"], ["DEL", "a"], ["EXEC"]])
    }

    @Test func aRequestForReplicasOnlyReachesTheReplicasStreamAndNotTheFile() throws {
        let feed = ChangeFeed()
        let file = RecordingSubscriber()
        feed.subscribe(file)
        // Without replicas, asking costs nothing and records nothing.
        feed.sendRequestToReplicas()
        feed.commandFinished(request: command("PUBLISH", "c", "m"), database: 0, recordingRequest: false)
        #expect(file.chunks.isEmpty)
        let replica = RecordingSubscriber(audience: .replicas)
        feed.subscribe(replica)
        #expect(feed.isRecordingForReplicas)
        feed.sendRequestToReplicas()
        feed.commandFinished(request: command("PUBLISH", "c", "m"), database: 2, recordingRequest: false)
        feed.commandFinished(request: command("DEL", "k"), database: 2, recordingRequest: true)
        #expect(try file.commands == [["SELECT", "2"], ["DEL", "k"]])
        #expect(try replica.commands == [["SELECT", "2"], ["PUBLISH", "c", "m"], ["DEL", "k"]])
        // The request is forwarded once: the next command that asks nothing is not.
        feed.commandFinished(request: command("GET", "k"), database: 2, recordingRequest: false)
        #expect(try replica.commands.count == 3)
    }

    @Test func inATransactionEachStreamOpensItsOwnMultiAtItsFirstCommand() throws {
        let feed = ChangeFeed()
        let file = RecordingSubscriber()
        let replica = RecordingSubscriber(audience: .replicas)
        feed.subscribe(file)
        feed.subscribe(replica)
        feed.beginTransaction()
        feed.sendRequestToReplicas()
        feed.commandFinished(request: command("PUBLISH", "c", "m"), database: 0, recordingRequest: false)
        feed.endTransaction()
        #expect(file.chunks.isEmpty)
        #expect(try replica.commands == [["MULTI"], ["SELECT", "0"], ["PUBLISH", "c", "m"], ["EXEC"]])
        feed.beginTransaction()
        feed.sendRequestToReplicas()
        feed.commandFinished(request: command("PUBLISH", "c", "m"), database: 0, recordingRequest: false)
        feed.commandFinished(request: command("DEL", "k"), database: 0, recordingRequest: true)
        feed.endTransaction()
        #expect(try file.commands == [["MULTI"], ["SELECT", "0"], ["DEL", "k"], ["EXEC"]])
        #expect(try replica.commands.suffix(4) == [["MULTI"], ["PUBLISH", "c", "m"], ["DEL", "k"], ["EXEC"]])
    }
}
