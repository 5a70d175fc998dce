import RillCore

/// The append-only base of `aof-use-rdb-preamble no` (`appendonly.aof.<n>.base.aof`): RESP commands that rebuild
/// the keyspace, which Rill and redis-server replay like any append-only file. Each database is a `SELECT`, then one
/// `RESTORE key <deadline or 0> <DUMP payload> ABSTTL` per key: the payload carries every part of a stream
/// (consumer groups, pending entries, Rill-only state) that no sequence of ordinary commands recreates exactly.
public enum AppendOnlyCommandBase {
    /// Writes the commands for `keyspace` to `path` atomically (temporary file, fsync, rename, directory fsync),
    /// handing them to the file about every MiB.
    /// - Throws: `SnapshotError` naming the failing system call.
    /// - Complexity: O(size of the keyspace); memory: a MiB plus the largest key's command.
    public static func write(
        _ keyspace: Keyspace, toPath path: String, compress: Bool, progress: (_ bytesWritten: Int) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotSummary {
        var keyCount = 0
        var byteCount = 0
        try SnapshotFiles.writeAtomically(toPath: path) { (file: OutputFile) in
            var commands = AppendOnlyFileWriter()
            func flush() {
                commands.bytes.withUnsafeBytes { file.append($0) }
                commands.removeAll()
                progress(file.count)
            }
            for index in 0..<keyspace.databaseCount where !keyspace[index].isEmpty {
                commands.appendCommand(["SELECT", String(index)])
                keyspace[index].forEachEntry { key, value, deadline in
                    let payload = DumpPayload.encode(value, compress: compress)
                    commands.appendArrayHeader(5)
                    for argument in [Array("RESTORE".utf8), key, Array(String(deadline ?? 0).utf8), payload,
                                     Array("ABSTTL".utf8)] {
                        argument.withUnsafeBytes { commands.appendArgument($0) }
                    }
                    keyCount += 1
                    if commands.bytes.count >= RDBFileFormat.flushThreshold { flush() }
                }
            }
            flush()
            byteCount = file.count
        }
        return SnapshotSummary(keyCount: keyCount, byteCount: byteCount)
    }

    /// Whether the base at `path` is a snapshot file (RDB, or RILLSNAP from an earlier Rill) rather than commands;
    /// false when it cannot be read (replaying it then reports why).
    public static func isSnapshot(path: String) -> Bool {
        guard let file = try? InputFile(path: path),
              let leading = try? file.read(upTo: SnapshotFormat.magic.count)
        else { return false }
        return leading.starts(with: RDBFileFormat.magic) || leading == SnapshotFormat.magic
    }
}
