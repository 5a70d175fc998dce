import RillCore
import RillPersistence

extension FuzzTargets {
    /// Fixed so that writing the same keyspace twice gives the same bytes.
    static let fixedFileOptions = RDBFileOptions(createdAtMilliseconds: 0, redisVersion: "fuzz", rillVersion: "fuzz")

    static let dumpPayloads = FuzzTarget(
        name: "dump-payloads",
        summary: """
            RESTORE's payload decoder (Redis RDB objects and Rill's older format). The input is tried as it is and \
            with a valid CRC-64 footer appended (its last two bytes then name the RDB version), so mutations get \
            past the checksum. A payload that decodes must encode to a payload that decodes, and encoding is then \
            stable (encode(decode(encode(v))) == encode(v)).
            """
    ) { input in
        var footed = input
        let checksum = CRC64.checksum(of: input)
        for index in 0..<8 { footed.append(UInt8(truncatingIfNeeded: checksum >> (8 * UInt64(index)))) }
        for payload in [input, footed] {
            guard let value = try? DumpPayload.decode(payload) else { continue }
            let encoded = DumpPayload.encode(value)
            let again: RedisValue
            do {
                again = try DumpPayload.decode(encoded)
            } catch {
                preconditionFailure("a decoded value encodes to a payload that does not decode: \(error)")
            }
            precondition(DumpPayload.encode(again) == encoded, "encoding a value is not stable")
        }
    }

    static let rdbFiles = FuzzTarget(
        name: "rdb-files",
        summary: """
            RDB file loading (what Rill and Redis 6.2 to 8.2 write). The input is tried as it is and with its last \
            8 bytes zeroed, a checksum that is not checked (as in Redis), so mutations get past the checksum. A \
            file that loads must write back to a file that loads, and writing is then stable.
            """
    ) { input in
        var unchecked = input
        for index in unchecked.indices.suffix(8) { unchecked[index] = 0 }
        for file in [input, unchecked] {
            guard let loaded = try? RDBFileReader.decode(file, databaseCount: 16) else { continue }
            assertRewritable(loaded.keyspace)
        }
    }

    static let legacySnapshots = FuzzTarget(
        name: "legacy-snapshots",
        summary: """
            Loading snapshots in the format earlier Rill versions wrote (RILLSNAP); a snapshot that loads must \
            write as an RDB file that loads back the same.
            """
    ) { input in
        guard let loaded = try? SnapshotReader.decode(input, databaseCount: 16) else { return }
        assertRewritable(loaded.keyspace)
    }

    /// `keyspace` written as an RDB file loads back with the same keys, deadlines and values (compared as DUMP
    /// payloads, key by key: the file's key order follows hash order, which differs between equal keyspaces).
    private static func assertRewritable(_ keyspace: Keyspace) {
        let written = RDBFileWriter.encode(keyspace, options: fixedFileOptions)
        let reloaded: SnapshotLoadResult
        do {
            reloaded = try RDBFileReader.decode(written, databaseCount: 16)
        } catch {
            preconditionFailure("a loaded keyspace writes an RDB file that does not load: \(error)")
        }
        precondition(contents(of: reloaded.keyspace) == contents(of: keyspace), "a keyspace changed through an RDB file")
    }

    /// Every key of every database in order, with its deadline and its value's DUMP payload.
    private static func contents(of keyspace: Keyspace) -> [String] {
        var lines: [String] = []
        for index in 0..<keyspace.databaseCount {
            var database = keyspace[index]
            for key in database.keys(matching: GlobPattern(Array("*".utf8)), nowMilliseconds: 0).sorted(by: {
                $0.lexicographicallyPrecedes($1)
            }) {
                let payload = database.value(forKey: key, nowMilliseconds: 0).map { DumpPayload.encode($0) }
                lines.append("\(index) \(key) \(String(describing: database.deadline(of: key))) \(String(describing: payload))")
            }
        }
        return lines
    }

    static let appendOnlyFiles = FuzzTarget(
        name: "append-only-files",
        summary: """
            The append-only file reader, allowing a truncated tail as `aof-load-truncated yes` does. The commands \
            it reads, written again, must read back identical with no truncation allowed.
            """
    ) { input in
        guard let parsed = try? AppendOnlyFileReader.parse(input, allowTruncatedTail: true) else { return }
        var writer = AppendOnlyFileWriter()
        for command in parsed.commands {
            precondition(!command.arguments.isEmpty, "a command without arguments")
            writer.appendArrayHeader(command.arguments.count)
            for argument in command.arguments { argument.withUnsafeBytes { writer.appendArgument($0) } }
        }
        let reread: AppendOnlyFileParseResult
        do {
            reread = try AppendOnlyFileReader.parse(writer.bytes, allowTruncatedTail: false)
        } catch {
            preconditionFailure("commands read from a file do not read back once written: \(error)")
        }
        precondition(reread.commands.map(\.arguments) == parsed.commands.map(\.arguments),
                     "commands written again read back differently")
    }

    static let appendOnlyManifests = FuzzTarget(
        name: "append-only-manifests",
        summary: "The manifest parser; an accepted manifest, encoded, must parse to the same encoding."
    ) { input in
        guard let manifest = try? AppendOnlyManifest.parse(input) else { return }
        let encoded = manifest.encoded()
        let again: AppendOnlyManifest
        do {
            again = try AppendOnlyManifest.parse(encoded)
        } catch {
            preconditionFailure("an encoded manifest does not parse: \(error)")
        }
        precondition(again.encoded() == encoded, "a manifest encodes differently after a round trip")
    }
}
