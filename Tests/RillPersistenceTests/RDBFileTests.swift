import DequeModule
import Foundation
import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

private func options(createdAt: Int64 = 1_234_000, compress: Bool = true, checksum: Bool = true,
                     base: Bool = false) -> RDBFileOptions {
    RDBFileOptions(compress: compress, checksum: checksum, createdAtMilliseconds: createdAt, usedMemoryBytes: 4096,
                   isAppendOnlyBase: base, redisVersion: "8.8.0", rillVersion: "test")
}

private func encode(_ keyspace: Keyspace, compress: Bool = true, checksum: Bool = true) -> [UInt8] {
    RDBFileWriter.encode(keyspace, options: options(compress: compress, checksum: checksum))
}

private func temporaryDirectory() throws -> String {
    let directory = NSTemporaryDirectory() + "rill-rdb-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}

/// A hand-made file: header of `version`, then `body` (opcodes and records), EOF and the right CRC-64.
private func craftedFile(version: UInt16 = 10, _ body: (inout RDBOutput) -> Void) -> [UInt8] {
    var output = RDBOutput()
    output.raw(RDBFileFormat.header(version: version))
    body(&output)
    output.byte(RDBOpcode.eof)
    output.littleEndian(CRC64.checksum(of: output.bytes))
    return output.bytes
}

@Suite struct RDBFileTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomKeyspacesRoundTrip(seed: UInt64) throws {
        let keyspace = randomKeyspace(seed: seed)
        let bytes = encode(keyspace)
        #expect(Array(bytes.prefix(5)) == Array("REDIS".utf8))
        let loaded = try RDBFileReader.decode(bytes, databaseCount: keyspace.databaseCount)
        #expect(loaded.keyCount == keyspace.keyCount)
        #expect(loaded.createdAtMilliseconds == 1_234_000)
        #expect(loaded.producer.hasPrefix("rill test (RDB "))
        expectEqualKeyspaces(keyspace, loaded.keyspace)
        // Encoding the loaded keyspace again gives a file that loads to the same state.
        let again = try RDBFileReader.decode(encode(loaded.keyspace), databaseCount: keyspace.databaseCount)
        expectEqualKeyspaces(keyspace, again.keyspace)
    }

    @Test func theFileStartsWithRedisAuxiliaryFieldsAndEndsWithItsChecksum() throws {
        var keyspace = Keyspace(databaseCount: 2)
        _ = keyspace[1].insertLoaded(.string(Array("v".utf8)), forKey: Array("k".utf8), deadline: 9_000_000_000_000)
        let bytes = encode(keyspace)
        #expect(String(decoding: bytes[5..<9], as: UTF8.self) == String(format: "%04d", RDBFileWriter.fileVersion(of: keyspace)))
        var input = RDBInput(bytes)
        input.offset = 9
        var fields: [String: [UInt8]] = [:]
        while bytes[input.offset] == RDBOpcode.aux {
            _ = try input.byte()
            let name = String(decoding: try input.string(), as: UTF8.self)
            fields[name] = try input.string()
        }
        #expect(Set(fields.keys) == ["redis-ver", "redis-bits", "ctime", "used-mem", "aof-base", "rill-ver"])
        #expect(fields["redis-bits"] == Array("64".utf8) && fields["ctime"] == Array("1234".utf8))
        #expect(fields["aof-base"] == Array("0".utf8) && fields["redis-ver"] == Array("8.8.0".utf8))
        #expect(try input.byte() == RDBOpcode.selectDB && input.length() == 1)
        #expect(try input.byte() == RDBOpcode.resizeDB && input.length() == 1 && input.length() == 1)
        #expect(try input.byte() == RDBOpcode.expireTimeMilliseconds && input.millisecondTime() == 9_000_000_000_000)
        let stored = bytes[bytes.count - 8..<bytes.count].enumerated()
            .reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect(stored == CRC64.checksum(of: Array(bytes.dropLast(8))))
        #expect(bytes[bytes.count - 9] == RDBOpcode.eof)
    }

    @Test func withoutChecksumTheTrailerIsZeroAndStillLoads() throws {
        let keyspace = randomKeyspace(seed: 9)
        let bytes = encode(keyspace, compress: false, checksum: false)
        #expect(bytes.suffix(8).allSatisfy { $0 == 0 })
        expectEqualKeyspaces(keyspace, try RDBFileReader.decode(bytes, databaseCount: 4).keyspace)
    }

    @Test func compressionShrinksRepetitiveStringsAndBothFormsLoad() throws {
        var keyspace = Keyspace(databaseCount: 1)
        for index in 0..<50 {
            _ = keyspace[0].insertLoaded(.string(Array(String(repeating: "order placed \(index % 3) ", count: 20).utf8)),
                                         forKey: Array("k\(index)".utf8), deadline: nil)
        }
        let compressed = encode(keyspace, compress: true)
        let plain = encode(keyspace, compress: false)
        #expect(compressed.count * 3 < plain.count)
        expectEqualKeyspaces(keyspace, try RDBFileReader.decode(compressed, databaseCount: 1).keyspace)
        expectEqualKeyspaces(keyspace, try RDBFileReader.decode(plain, databaseCount: 1).keyspace)
    }

    @Test func flippedBytesAreDetected() {
        let keyspace = randomKeyspace(seed: 42, databaseCount: 2, keys: 10)
        let bytes = encode(keyspace)
        var rng = SeededGenerator(seed: 7)
        var reasons: Set<String> = []
        // Every byte of the header, the AUX fields, the first records and the trailer, and a sample of the rest
        // (each decode reads the whole file; every position would take minutes in a debug build).
        let sampled = (0..<600).map { _ in Int.random(in: 0..<bytes.count, using: &rng) }
        for position in Set(Array(0..<min(400, bytes.count)) + Array(max(0, bytes.count - 100)..<bytes.count) + sampled)
            .sorted() {
            var damaged = bytes
            damaged[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            do {
                _ = try RDBFileReader.decode(damaged, databaseCount: 2)
                Issue.record("flip at \(position) not detected")
            } catch {
                #expect(error.offset != nil, "flip at \(position): \(error)")
                reasons.insert(String(error.reason.prefix(12)))
            }
        }
        #expect(reasons.count >= 3, "magic, structure and checksum failures are told apart: \(reasons)")
    }

    /// Damage in a file written without checksum (`rdbchecksum no`), so only the structure checks stand between it
    /// and the keyspace: loading fails or yields a valid keyspace, and never traps.
    @Test func corruptionWithoutAChecksumNeverTraps() {
        let keyspace = randomKeyspace(seed: 5, databaseCount: 2, keys: 6)
        let bytes = encode(keyspace, checksum: false)
        var rng = SeededGenerator(seed: 99)
        var refused = 0
        for _ in 0..<1500 {
            var damaged = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let position = Int.random(in: 9..<(bytes.count - 9), using: &rng)
                damaged[position] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng)
                    : damaged[position] ^ (1 << UInt8.random(in: 0..<8, using: &rng))
            }
            do {
                let loaded = try RDBFileReader.decode(damaged, databaseCount: 2)
                for index in 0..<2 {
                    loaded.keyspace[index].forEachEntry { _, value, _ in
                        if case .stream(let stream) = value { #expect(stream.validate().isEmpty) }
                    }
                }
            } catch {
                refused += 1
            }
        }
        // Most damage lands in keys and values, which only the checksum would catch.
        #expect(refused > 50)
    }

    @Test func truncationsAreDetectedAtTheEndOfWhatIsLeft() {
        let keyspace = randomKeyspace(seed: 3, databaseCount: 2, keys: 8)
        let bytes = encode(keyspace)
        var rng = SeededGenerator(seed: 8)
        let sampled = (0..<600).map { _ in Int.random(in: 0..<bytes.count, using: &rng) }
        for length in Set(Array(0..<min(400, bytes.count)) + Array(max(0, bytes.count - 100)..<bytes.count) + sampled)
            .sorted() {
            do {
                _ = try RDBFileReader.decode(Array(bytes[0..<length]), databaseCount: 2)
                Issue.record("a file cut to \(length) bytes loaded")
            } catch {
                #expect((error.offset ?? -1) <= length, "cut at \(length): \(error)")
            }
        }
    }

    /// A file larger than the reading window, with keys larger than it, read from disk: the window slides and
    /// grows, the checksum covers every byte, and progress reaches the end.
    @Test func bigFilesAndBigKeysLoadThroughTheWindow() throws {
        var keyspace = Keyspace(databaseCount: 2)
        var stream = RillCore.Stream()
        for index in 0..<30_000 {
            _ = try stream.append(id: StreamID(ms: UInt64(index + 1), seq: 0),
                                  fieldsAndValues: [Array("event".utf8), Array("order_placed \(index)".utf8)])
        }
        var rng = SeededGenerator(seed: 17)
        for index in 0..<3000 {
            // Random bytes: LZF cannot shrink them, so the file is larger than a few windows.
            _ = keyspace[index % 2].insertLoaded(.string((0..<1200).map { _ in UInt8.random(in: 0...255, using: &rng) }),
                                                 forKey: Array("s\(index)".utf8), deadline: nil)
        }
        _ = keyspace[0].insertLoaded(.stream(stream), forKey: Array("big stream".utf8), deadline: nil)
        let element = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = keyspace[1].insertLoaded(.list(Deque((0..<1500).map { element + Array(String($0).utf8) })),
                                     forKey: Array("big list".utf8), deadline: 4_000_000_000_000)
        _ = keyspace[1].insertLoaded(.set(Set((0..<1500).map { element + Array(String($0).utf8) })),
                                     forKey: Array("big set".utf8), deadline: nil)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/dump.rdb"
        var written: [Int] = []
        let summary = try RDBFileWriter.write(keyspace, toPath: path, options: options()) { written.append($0) }
        #expect(summary.keyCount == 3003)
        #expect(summary.byteCount > 3 * WindowedSource.minimumRead)
        #expect(written.count > 3 && written.last == summary.byteCount)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["dump.rdb"])
        // The window slides and grows (no rest of the file is read in one go) ...
        var progress: [SnapshotLoadProgress] = []
        let loaded = try RDBFileReader.load(path: path, databaseCount: 2, nowMilliseconds: nil, wholeRestLimit: 0) {
            progress.append($0)
        }
        expectEqualKeyspaces(keyspace, loaded.keyspace)
        #expect(progress.count > 2 && progress.last?.bytesRead == summary.byteCount)
        // ... or takes the rest of this small file when the first item does not fit, as it does by default.
        let loadedWhole = try RDBFileReader.load(path: path, databaseCount: 2, nowMilliseconds: nil)
        expectEqualKeyspaces(keyspace, loadedWhole.keyspace)
        // Damage deep in the file is found by the CRC-64 or the structure, with an offset.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count * 2 / 3] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: SnapshotError.self) { try RDBFileReader.load(path: path, databaseCount: 2, nowMilliseconds: nil) }
    }

    @Test func expiredKeysAreSkippedWhenLoadingWithAClock() throws {
        var keyspace = Keyspace(databaseCount: 1)
        _ = keyspace[0].insertLoaded(.string([1]), forKey: Array("old".utf8), deadline: 1000)
        _ = keyspace[0].insertLoaded(.string([2]), forKey: Array("new".utf8), deadline: 5000)
        _ = keyspace[0].insertLoaded(.string([3]), forKey: Array("forever".utf8), deadline: nil)
        let bytes = encode(keyspace)
        let loaded = try RDBFileReader.decode(bytes, databaseCount: 1, nowMilliseconds: 2000)
        #expect(loaded.expiredKeysSkipped == 1)
        #expect(loaded.keyspace[0].count == 2)
        #expect(loaded.keyspace[0].storedEntry(forKey: Array("new".utf8))?.deadline == 5000)
        // An append-only base keeps them: the commands after it run at their own times.
        #expect(try RDBFileReader.decode(bytes, databaseCount: 1).keyspace[0].count == 3)
    }

    @Test func aDatabaseTheServerLacksIsRefused() {
        var keyspace = Keyspace(databaseCount: 8)
        _ = keyspace[7].insertLoaded(.string([1]), forKey: [1], deadline: nil)
        let bytes = encode(keyspace)
        #expect {
            try RDBFileReader.decode(bytes, databaseCount: 4)
        } throws: { error in
            (error as? SnapshotError)?.reason.contains("database 7 but the server has 4") == true
        }
    }

    @Test func fileWriteIsAtomic() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keyspace = randomKeyspace(seed: 11)
        #expect(throws: SnapshotError.self) {
            try RDBFileWriter.write(keyspace, toPath: directory + "/missing/dump.rdb", options: options())
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
        let summary = try RDBFileWriter.write(keyspace, toPath: directory + "/dump.rdb", options: options(base: true))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["dump.rdb"])
        #expect((try FileManager.default.attributesOfItem(atPath: directory + "/dump.rdb")[.size] as? Int) == summary.byteCount)
    }

    /// The opcodes Redis 6.2 to 8.2 write besides keys load: unknown AUX fields, RESIZEDB, SLOT_INFO, IDLE, FREQ,
    /// EXPIRETIME in seconds; keys without SELECTDB go to database 0.
    @Test func redisOpcodesAreAccepted() throws {
        let bytes = craftedFile { output in
            output.byte(RDBOpcode.aux)
            output.string(Array("repl-id".utf8), compress: false)
            output.string(Array("0123456789012345678901234567890123456789".utf8), compress: false)
            output.byte(RDBOpcode.resizeDB)
            output.length(3)
            output.length(1)
            output.byte(RDBOpcode.slotInfo)
            output.length(12)
            output.length(3)
            output.length(0)
            output.byte(RDBOpcode.idle)
            output.length(100)
            output.byte(RDBType.string.rawValue)
            output.string(Array("idle".utf8), compress: false)
            output.string(Array("a".utf8), compress: false)
            output.byte(RDBOpcode.freq)
            output.byte(5)
            output.byte(RDBType.string.rawValue)
            output.string(Array("freq".utf8), compress: false)
            output.string(Array("b".utf8), compress: false)
            output.byte(RDBOpcode.expireTime)
            output.littleEndian(Int32(4_000_000))
            output.byte(RDBType.string.rawValue)
            output.string(Array("seconds".utf8), compress: false)
            output.string(Array("c".utf8), compress: false)
        }
        let loaded = try RDBFileReader.decode(bytes, databaseCount: 1, nowMilliseconds: 3_000_000_000)
        #expect(loaded.keyCount == 3 && loaded.producer.hasPrefix("redis "))
        #expect(loaded.keyspace[0].storedEntry(forKey: Array("seconds".utf8))?.deadline == 4_000_000_000)
        var idle = loaded.keyspace[0]
        let access = idle.inspect(Array("idle".utf8), nowMilliseconds: 3_000_000_000)?.lastAccess
        #expect(access.map { AccessClock.idleMilliseconds(since: $0, nowMilliseconds: 3_000_000_000) } == 100_000)
    }

    @Test func whatRillCannotHoldIsRefusedNamingTheKeyOrOpcode() {
        func refusal(_ body: (inout RDBOutput) -> Void) -> String {
            do {
                _ = try RDBFileReader.decode(craftedFile(body), databaseCount: 16)
                return "loaded"
            } catch {
                return error.reason
            }
        }
        let hash = refusal { output in
            output.byte(RDBType.hashListpack.rawValue)
            output.string(Array("user:1".utf8), compress: false)
            output.string([0, 0, 0, 0, 0, 0, 0xFF], compress: false)
        }
        #expect(hash.contains("key 'user:1' holds a hash"))
        let zset = refusal { output in
            output.byte(RDBType.zsetListpack.rawValue)
            output.string(Array("board".utf8), compress: false)
        }
        #expect(zset.contains("key 'board' holds a zset"))
        let function = refusal { output in
            output.byte(RDBOpcode.function2)
            output.string(Array("#!lua name=lib\nredis.register_function('f', function() return 1 end)".utf8), compress: false)
        }
        #expect(function.contains("function library"))
        let module = refusal { output in
            output.byte(RDBOpcode.moduleAux)
            output.length(12345)
        }
        #expect(module.contains("module"))
        let newer = (try? RDBFileReader.decode(craftedFile(version: 13) { _ in }, databaseCount: 1)) == nil
        #expect(newer)
    }

    @Test func rillStreamStateMustFollowItsStream() {
        func load(_ body: (inout RDBOutput) -> Void) -> String? {
            do {
                _ = try RDBFileReader.decode(craftedFile(body), databaseCount: 1)
                return nil
            } catch {
                return error.reason
            }
        }
        let afterString = load { output in
            output.byte(RDBType.string.rawValue)
            output.string(Array("k".utf8), compress: false)
            output.string(Array("v".utf8), compress: false)
            output.byte(RDBOpcode.aux)
            output.string(RDBFileFormat.rillStreamStateField, compress: false)
            output.string([1, UInt8(ascii: "k")], compress: false)
        }
        #expect(afterString?.contains("follows no stream") == true)
    }

    @Test func legacyRillSnapshotsStillLoad() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rillsnap-v1.rill").path
        let loaded = try SnapshotLoader.load(path: fixture, databaseCount: 16, nowMilliseconds: nil)
        #expect(loaded.producer == "rill 0.3.0")
        #expect(loaded.keyspace[0].storedEntry(forKey: Array("str".utf8))?.value.typeName == "string")
        #expect(loaded.keyspace[3].storedEntry(forKey: Array("db3".utf8)) != nil)
        guard case .stream(let stream)? = loaded.keyspace[0].storedEntry(forKey: Array("stream".utf8))?.value else {
            Issue.record("the fixture's stream is missing")
            return
        }
        #expect(stream.length == 5 && stream.consumerGroups.count == 1)
        // Written again, it is an RDB file with the same content.
        let rewritten = try RDBFileReader.decode(encode(loaded.keyspace), databaseCount: 16)
        expectEqualKeyspaces(loaded.keyspace, rewritten.keyspace)
    }
}
