import Testing
@testable import RillServer

private func append(_ text: String, to backlog: inout ReplicationBacklog) {
    Array(text.utf8).withUnsafeBytes { backlog.append($0) }
}

@Suite("ReplicationBacklog")
struct ReplicationBacklogTests {
    @Test func offsetsCountBytesFromOneAfterTheStartingOffset() {
        var backlog = ReplicationBacklog(capacity: 100, endOffset: 7)
        #expect(backlog.historyLength == 0)
        #expect(backlog.firstByteOffset == 8)
        append("abcde", to: &backlog)
        #expect(backlog.endOffset == 12)
        #expect(backlog.firstByteOffset == 8)
        #expect(backlog.bytes(from: 8).map { Array($0) } == Array("abcde".utf8))
        #expect(backlog.bytes(from: 11).map { Array($0) } == Array("de".utf8))
        // The offset right after the end: nothing is missing.
        #expect(backlog.bytes(from: 13).map { Array($0) } == [])
        #expect(backlog.bytes(from: 14) == nil)
        #expect(backlog.bytes(from: 7) == nil)
    }

    @Test func onlyTheNewestCapacityBytesCanBeResentAfterAnOverflow() {
        var backlog = ReplicationBacklog(capacity: 4, endOffset: 0)
        append("0123456789", to: &backlog)
        #expect(backlog.historyLength == 4)
        #expect(backlog.firstByteOffset == 7)
        #expect(backlog.bytes(from: 6) == nil)
        #expect(backlog.bytes(from: 7).map { Array($0) } == Array("6789".utf8))
        // Many small appends, past the point where the buffer is trimmed.
        for _ in 0..<20_000 { append("xy", to: &backlog) }
        #expect(backlog.historyLength == 4)
        #expect(backlog.endOffset == 40_010)
        #expect(backlog.bytes(from: backlog.firstByteOffset).map { Array($0) } == Array("xyxy".utf8))
    }

    @Test func shrinkingKeepsTheNewestBytes() {
        var backlog = ReplicationBacklog(capacity: 10, endOffset: 0)
        append("abcdefghij", to: &backlog)
        backlog.resize(to: 3)
        #expect(backlog.firstByteOffset == 8)
        #expect(backlog.bytes(from: 8).map { Array($0) } == Array("hij".utf8))
    }
}

@Suite("ReplicationPrimary")
struct ReplicationPrimaryTests {
    @Test func aPromotionKeepsTheOldHistoryContinuableUpToItsEnd() {
        let primary = ReplicationPrimary()
        let feed = ChangeFeed()
        primary.startFollowing(feed: feed)
        primary.adoptHistory(id: String(repeating: "a", count: 40), offset: 100, backlogSize: 1000)
        Array("*1\r\n$4\r\nPING\r\n".utf8).withUnsafeBytes { primary.receiveFromPrimary($0) }
        #expect(primary.offset == 114)
        // A replica's stream is the primary's, as received: the feed encodes nothing for it meanwhile.
        #expect(!feed.isRecording)
        primary.promote(feed: feed)
        #expect(feed.isRecording)
        #expect(primary.previousReplicationID == String(repeating: "a", count: 40))
        #expect(primary.previousIDEndOffset == 115)
        #expect(primary.replicationID != primary.previousReplicationID)
        // Another replica of the old primary, at the same offset or behind within the backlog, continues.
        #expect(primary.continuation(id: String(repeating: "a", count: 40), offset: 115).map { Array($0) } == [])
        #expect(primary.continuation(id: String(repeating: "a", count: 40), offset: 101)?.count == 14)
        // One that claims more of the old history than this server had cannot.
        #expect(primary.continuation(id: String(repeating: "a", count: 40), offset: 116) == nil)
        #expect(primary.continuation(id: String(repeating: "b", count: 40), offset: 101) == nil)
        // The new history continues past the promotion.
        #expect(primary.continuation(id: primary.replicationID, offset: 115).map { Array($0) } == [])
    }
}
