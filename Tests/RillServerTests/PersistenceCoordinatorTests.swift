import FoundationEssentials
import Logging
import NIOCore
import NIOEmbedded
import RillCore
import RillPersistence
import Testing
@testable import RillServer

/// A host with a keyspace and a configuration and nothing else: the coordinator on its own.
private final class KeyspaceOnlyHost: PersistenceHost {
    var configuration: ServerConfiguration
    var keyspace = Keyspace()
    var executingTransaction = false
    let latencyEvents = LatencyMonitor()
    var expiredKeyRecords = 0

    init(directory: String) {
        configuration = ServerConfiguration()
        configuration.directory = directory
    }

    func makeReplayContext() -> CommandContext {
        preconditionFailure("these tests replay no append-only file")
    }

    func knowsCommand(_ name: [UInt8]) -> Bool { false }
    func replay(_ context: CommandContext) {}
    func recordExpiredKeys(database: Int) { expiredKeyRecords += 1 }
}

/// A fresh folder under the system's temporary one, removed by the caller.
private func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.path + "/rill-coordinator-\(UInt64.random(in: 0...UInt64.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func coordinator(for host: KeyspaceOnlyHost, changes: ChangeFeed = ChangeFeed()) -> PersistenceCoordinator {
    PersistenceCoordinator(host: host, changes: changes, logger: Logger(label: "test"), eventLoop: EmbeddedEventLoop(),
                           startedAtMilliseconds: 0)
}

@Suite("PersistenceCoordinator")
struct PersistenceCoordinatorTests {
    @Test func aSavedSnapshotLoadsIntoAnotherHostAndResetsTheChangeCounter() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = KeyspaceOnlyHost(directory: directory)
        _ = try source.keyspace[0].stringSet(Array("v".utf8), forKey: Array("k".utf8), nowMilliseconds: 1)
        let changes = ChangeFeed()
        changes.recordChange(5)
        let saving = coordinator(for: source, changes: changes)
        #expect(saving.saveSynchronously())
        #expect(changes.dirty == 0)
        #expect(changes.changeCount == 5)
        #expect(saving.snapshots.lastSaveSucceeded)
        #expect(FileManager.default.fileExists(atPath: source.configuration.snapshotPath))

        let target = KeyspaceOnlyHost(directory: directory)
        #expect(coordinator(for: target).loadSnapshotAtStartup())
        #expect(try target.keyspace[0].stringGet(Array("k".utf8), nowMilliseconds: 2) == Array("v".utf8))
    }

    @Test func aSaveThatCannotWriteFailsWithoutStoppingWrites() throws {
        let host = KeyspaceOnlyHost(directory: "/nonexistent-rill-directory/below")
        let saving = coordinator(for: host)
        #expect(!saving.saveSynchronously())
        // As in Redis, only a failed background save sets rdb_last_bgsave_status to err (and refuses writes).
        #expect(saving.snapshots.lastSaveSucceeded)
        #expect(saving.diskErrorDenyingWrites == nil)
    }

    @Test func theAppendOnlyFileSubscribesToTheFeedAndReceivesWhatItCarries() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = KeyspaceOnlyHost(directory: directory)
        let changes = ChangeFeed()
        let persistence = coordinator(for: host, changes: changes)
        #expect(!changes.isRecording)
        #expect(persistence.startAppendOnlyFile())
        #expect(changes.isRecording)
        changes.emit([ByteBuffer(string: "DEL"), ByteBuffer(string: "gone")], database: 0)
        #expect(persistence.appendOnlyLog?.hasPendingBytes == true)
        persistence.writeAppendOnlyFile()
        #expect(persistence.appendOnlyLog?.hasPendingBytes == false)
        let path = try #require(persistence.appendOnlyLog?.path)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        let commands = try AppendOnlyFileReader.parse([UInt8](bytes), allowTruncatedTail: false).commands
        #expect(commands.map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } } == [["SELECT", "0"], ["DEL", "gone"]])

        persistence.turnAppendOnlyFileOff()
        #expect(!changes.isRecording)
        #expect(persistence.appendOnlyLog == nil)
        // Turning the file off records the keys found expired until then, in every database.
        #expect(host.expiredKeyRecords == host.keyspace.databaseCount)
    }
}
