import Foundation
import Testing
@testable import RillPersistence
import RillCore

@Suite("Append-only manifest")
struct AppendOnlyManifestTests {
    private func parse(_ text: String) throws(AppendOnlyManifestError) -> AppendOnlyManifest {
        try AppendOnlyManifest.parse(Array(text.utf8))
    }

    private func rejection(_ text: String) -> AppendOnlyManifestError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsRedisSevenLinesInAnyKeyOrder() throws {
        let manifest = try parse("""
            # written by hand
            file appendonly.aof.3.base.rill seq 3 type b
            seq 3 type i file appendonly.aof.3.incr.aof
            file appendonly.aof.2.incr.aof seq 2 type h
            file appendonly.aof.4.incr.aof type i seq 4

            """)
        #expect(manifest.base == .init(name: "appendonly.aof.3.base.rill", sequence: 3, type: .base))
        #expect(manifest.incrementals.map(\.name) == ["appendonly.aof.3.incr.aof", "appendonly.aof.4.incr.aof"])
        #expect(manifest.history.map(\.name) == ["appendonly.aof.2.incr.aof"])
        #expect(manifest.loadOrder.map(\.sequence) == [3, 3, 4])
        #expect(manifest.nextBaseSequence == 4)
        #expect(manifest.nextIncrementalSequence == 5)
    }

    @Test func encodingRoundTripsIncludingNamesThatNeedQuotes() throws {
        let manifest = AppendOnlyManifest(
            base: .init(name: "my file \"x\"\\.1.base.rill", sequence: 1, type: .base),
            incrementals: [.init(name: "plain.1.incr.aof", sequence: 1, type: .incremental),
                           .init(name: "tab\there\u{7}.2.incr.aof", sequence: 2, type: .incremental)],
            history: [.init(name: "old.1.base.rill", sequence: 7, type: .history)])
        let text = String(decoding: manifest.encoded(), as: UTF8.self)
        #expect(text.hasPrefix("file \"my file \\\"x\\\"\\\\.1.base.rill\" seq 1 type b\n"))
        #expect(text.contains("file plain.1.incr.aof seq 1 type i\n"))
        #expect(text.contains("\"tab\\there\\x07.2.incr.aof\""))
        #expect(try AppendOnlyManifest.parse(manifest.encoded()) == manifest)
    }

    @Test func writesAtomicallyAndReadsBack() throws {
        let directory = NSTemporaryDirectory() + "rill-manifest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/appendonly.aof.manifest"
        let first = AppendOnlyManifest(incrementals: [.init(name: "a.1.incr.aof", sequence: 1, type: .incremental)])
        try first.write(toPath: path)
        var second = first
        second.base = .init(name: "a.1.base.rill", sequence: 1, type: .base)
        try second.write(toPath: path)
        let read = try AppendOnlyManifest.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(read == second)
        // Only the manifest is left: the temporary file was renamed over it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["appendonly.aof.manifest"])
    }

    @Test(arguments: [
        ("file a.1.incr.aof seq 1 type\n", "expected key value pairs"),
        ("file a.1.incr.aof seq 1\n", "no file type"),
        ("file a.1.incr.aof seq 1 type x\n", "unknown file type"),
        ("file a.1.incr.aof seq one type i\n", "invalid sequence number"),
        ("file a.1.incr.aof seq 0 type i\n", "invalid sequence number"),
        ("file a.1.incr.aof seq -1 type i\n", "invalid sequence number"),
        ("file a.1.incr.aof seq 99999999999999999999 type i\n", "invalid sequence number"),
        ("file a.1.incr.aof seq 1 type i size 3\n", "unknown key 'size'"),
        ("file a.1.incr.aof seq 1 seq 2 type i\n", "seq given twice"),
        ("seq 1 type i\n", "no file name"),
        ("file a.1.incr.aof type i\n", "no sequence number"),
        ("file a.1.incr.aof seq 1\u{20}\u{20}type i\n", "unexpected space"),
        ("file ../a.1.incr.aof seq 1 type i\n", "invalid file name"),
        ("file .. seq 1 type i\n", "invalid file name"),
        ("file \"\" seq 1 type i\n", "invalid file name"),
        ("file \"a.aof seq 1 type i\n", "unbalanced quotes"),
        ("file \"a\"b seq 1 type i\n", "closing quote not followed by a space"),
        ("file a\"b seq 1 type i\n", "quote inside a word"),
        ("file a.1.incr.aof seq 1 type i", "does not end with a newline"),
        ("file a.1.base.rill seq 1 type b\nfile b.2.base.rill seq 2 type b\n", "a second base file"),
        ("file a.2.incr.aof seq 2 type i\nfile a.1.incr.aof seq 1 type i\n", "does not follow 2"),
        ("file a.1.incr.aof seq 1 type i\nfile a.1.incr.aof seq 2 type i\n", "listed twice"),
        ("", "names no base and no incremental file"),
        ("# only a comment\nfile h.1.incr.aof seq 1 type h\n", "names no base and no incremental file"),
        ("\n", "empty line"),
    ])
    func badManifestsAreRejectedWithTheReason(text: String, reason: String) {
        let error = rejection(text)
        #expect(error != nil, "accepted: \(text.debugDescription)")
        #expect(error?.reason.contains(reason) == true, "\(text.debugDescription): \(String(describing: error))")
    }

    @Test func overlongLineIsRejectedWithItsNumber() {
        let long = "file " + String(repeating: "x", count: AppendOnlyManifest.maxLineLength) + " seq 2 type i\n"
        let error = rejection("file a.1.incr.aof seq 1 type i\n" + long)
        #expect(error?.line == 2)
        #expect(error?.reason.contains("longer than") == true)
    }

    @Test func fileNamesFollowTheAppendFileName() {
        #expect(AppendOnlyManifest.manifestFileName(appendFileName: "appendonly.aof") == "appendonly.aof.manifest")
        #expect(AppendOnlyManifest.baseFileName(appendFileName: "appendonly.aof", sequence: 3, rdbPreamble: true)
                == "appendonly.aof.3.base.rdb")
        #expect(AppendOnlyManifest.baseFileName(appendFileName: "appendonly.aof", sequence: 3, rdbPreamble: false)
                == "appendonly.aof.3.base.aof")
        #expect(AppendOnlyManifest.incrementalFileName(appendFileName: "x", sequence: 12) == "x.12.incr.aof")
    }
}

@Suite("Append-only file check")
struct AppendOnlyFileCheckTests {
    private func command(_ words: String...) -> [UInt8] {
        var bytes = Array("*\(words.count)\r\n".utf8)
        for word in words { bytes += Array("$\(word.utf8.count)\r\n\(word)\r\n".utf8) }
        return bytes
    }

    @Test func soundFileHasNoProblem() {
        let bytes = command("SET", "a", "1") + command("MULTI") + command("SET", "b", "2") + command("EXEC")
        let check = AppendOnlyFileReader.check(bytes)
        #expect(check.problem == nil)
        #expect(check.commandCount == 4)
        #expect(check.validLength == bytes.count)
    }

    @Test func truncatedTailIsRepairedAtTheLastCompleteCommand() {
        let kept = command("SET", "a", "1") + command("SET", "b", "2")
        let check = AppendOnlyFileReader.check(kept + Array(command("SET", "c", "3").dropLast(4)))
        #expect(check.problem?.kind == .truncated)
        #expect(check.problem?.offset == kept.count)
        #expect(check.validLength == kept.count)
        #expect(check.commandCount == 2)
    }

    @Test func unfinishedTransactionIsCutAtItsMulti() {
        let kept = command("SET", "a", "1")
        let check = AppendOnlyFileReader.check(kept + command("MULTI") + command("SET", "b", "2"))
        #expect(check.problem == AppendOnlyFileError(offset: kept.count, reason: "MULTI without EXEC", kind: .truncated))
        #expect(check.validLength == kept.count)
    }

    @Test func corruptionReportsTheBadByteAndTheStartOfItsCommand() {
        let kept = command("SET", "a", "1")
        var bytes = kept + command("SET", "b", "2")
        bytes[kept.count + 4] = UInt8(ascii: "#")  // the '$' of the second command's first argument
        let check = AppendOnlyFileReader.check(bytes)
        #expect(check.problem?.kind == .corrupt)
        #expect(check.problem?.offset == kept.count + 4)
        #expect(check.validLength == kept.count)
        #expect(check.commandCount == 1)
    }

    @Test func unpairedExecAndNestedMultiAreCorrupt() {
        let exec = AppendOnlyFileReader.check(command("SET", "a", "1") + command("EXEC"))
        #expect(exec.problem?.reason == "EXEC without MULTI")
        let nested = AppendOnlyFileReader.check(command("MULTI") + command("MULTI") + command("EXEC"))
        #expect(nested.problem?.reason == "MULTI inside a MULTI")
        #expect(nested.validLength == 0)
    }

    @Test func kindIsDetectedFromContentOrName() {
        #expect(PersistenceFileKind.detect(leadingBytes: Array("RILLSNAP".utf8), fileName: "x.aof") == .snapshot)
        #expect(PersistenceFileKind.detect(leadingBytes: Array("REDIS001".utf8), fileName: "x.rdb") == .snapshot)
        #expect(PersistenceFileKind.detect(leadingBytes: Array("*1\r\n$4".utf8), fileName: "a.aof") == .appendOnlyFile)
        #expect(PersistenceFileKind.detect(leadingBytes: [], fileName: "a.incr.aof") == .appendOnlyFile)
        #expect(PersistenceFileKind.detect(leadingBytes: Array("file a.1".utf8), fileName: "m") == .manifest)
        #expect(PersistenceFileKind.detect(leadingBytes: Array("garbage".utf8), fileName: "a.manifest") == .manifest)
    }
}

@Suite("Snapshot check without a server configuration")
struct SnapshotCheckTests {
    @Test func anyDatabaseIsAcceptedAndEveryKeyCounted() throws {
        var keyspace = Keyspace(databaseCount: 30)
        let inserted = keyspace[29].insertLoaded(.string(Array("v".utf8)), forKey: Array("k".utf8), deadline: 1)
        #expect(inserted)
        let path = NSTemporaryDirectory() + "rill-check-\(UUID().uuidString).rdb"
        defer { unlink(path) }
        _ = try RDBFileWriter.write(keyspace, toPath: path, options: RDBFileOptions(
            createdAtMilliseconds: 5, redisVersion: "8.8.0", rillVersion: "test"))
        // A deadline long past is counted: checking (and loading an append-only base) must not drop keys.
        let result = try SnapshotLoader.load(path: path, databaseCount: nil, nowMilliseconds: nil)
        #expect(result.keyCount == 1 && result.expiredKeysSkipped == 0)
        #expect(throws: SnapshotError.self) { try SnapshotLoader.load(path: path, databaseCount: 16, nowMilliseconds: nil) }
    }

    @Test func startAndEndOffsetsOfRedis8ManifestsAreAccepted() throws {
        let manifest = try AppendOnlyManifest.parse(Array(
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i startoffset 1 endoffset 90\n".utf8))
        #expect(manifest.base?.name == "appendonly.aof.2.base.rdb" && manifest.incrementals.count == 1)
        #expect(throws: AppendOnlyManifestError.self) {
            try AppendOnlyManifest.parse(Array("file a.1.incr.aof seq 1 type i startoffset x\n".utf8))
        }
    }
}
