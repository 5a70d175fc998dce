/// Loads a snapshot file whatever its format: an RDB file (what Rill writes, and Redis' `dump.rdb`), or a RILLSNAP
/// file written by Rill before 0.4, so an upgrade starts on the old `dump.rill` or append-only base.
public enum SnapshotLoader {
    /// Loads `path`, telling the format from its first bytes. Parameters as `RDBFileReader.load`.
    /// - Throws: `SnapshotError` with the offset of the first bad byte and the reason.
    public static func load(
        path: String, databaseCount: Int?, nowMilliseconds: Int64?,
        progress: (SnapshotLoadProgress) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotLoadResult {
        if try isLegacySnapshot(path: path) {
            return try SnapshotReader.load(path: path, databaseCount: databaseCount, nowMilliseconds: nowMilliseconds,
                                           progress: progress)
        }
        return try RDBFileReader.load(path: path, databaseCount: databaseCount, nowMilliseconds: nowMilliseconds,
                                      progress: progress)
    }

    /// Whether the file starts with RILLSNAP's magic.
    public static func isLegacySnapshot(path: String) throws(SnapshotError) -> Bool {
        let file = try InputFile(path: path)
        return try file.read(upTo: SnapshotFormat.magic.count) == SnapshotFormat.magic
    }
}
