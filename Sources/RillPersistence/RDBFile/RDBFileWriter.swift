import RillCore

/// Serialises a `Keyspace` as an RDB file (see RDBFileFormat.swift). Pure computation over a value, so it may run
/// on any thread with a copy of the keyspace taken on the event loop.
///
/// Records are encoded into a buffer that goes to the output (and through the running CRC-64) whenever it holds
/// about a MiB, so the writer's memory is that buffer plus the encoding of the largest single key.
public enum RDBFileWriter {
    /// The whole file in memory (SYNC's payload, tests).
    /// - Complexity: O(size of the keyspace).
    public static func encode(_ keyspace: Keyspace, options: RDBFileOptions) -> [UInt8] {
        let output = MemoryOutput()
        _ = encode(keyspace, options: options, to: output)
        return output.bytes
    }

    /// Writes the file for `keyspace` to `path` atomically: a temporary file in the same directory is written,
    /// fsynced and renamed over `path`, then the directory is fsynced. On failure the temporary file is removed and
    /// `path` is untouched.
    /// - Throws: `SnapshotError` with the failing system call and errno text.
    /// - Parameter progress: called with the bytes written so far, about every MiB.
    /// - Complexity: O(size of the keyspace).
    public static func write(
        _ keyspace: Keyspace, toPath path: String, options: RDBFileOptions,
        progress: (_ bytesWritten: Int) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotSummary {
        var summary = SnapshotSummary(keyCount: 0, byteCount: 0)
        try SnapshotFiles.writeAtomically(toPath: path) { (file: OutputFile) in
            summary = encode(keyspace, options: options, to: file, progress: progress)
        }
        return summary
    }

    /// The RDB version of a file holding `keyspace`: the highest of the versions its objects need, at least 9
    /// (streams with consumer groups as Redis 6.2 writes them); 10 (Redis 7.0) in practice, see
    /// RDBFileFormat.swift.
    /// - Complexity: O(keys), plus O(groups) per stream.
    public static func fileVersion(of keyspace: Keyspace) -> UInt16 {
        var version = RDBFileObjects.versionFloor
        for index in 0..<keyspace.databaseCount {
            keyspace[index].forEachEntry { _, value, _ in
                version = max(version, RDBFileObjects.minimumVersion(of: value))
            }
        }
        return version
    }

    /// Produces the file into `output`.
    static func encode(
        _ keyspace: Keyspace, options: RDBFileOptions, to output: SnapshotOutput,
        progress: (_ bytesWritten: Int) -> Void = { _ in }
    ) -> SnapshotSummary {
        let version = fileVersion(of: keyspace)
        var checksum = CRC64()
        var records = RDBOutput(reservingCapacity: RDBFileFormat.flushThreshold + 64 * 1024)
        func flush() {
            guard !records.bytes.isEmpty else { return }
            records.bytes.withUnsafeBytes { raw in
                if options.checksum { checksum.update(raw) }
                output.append(raw)
            }
            records.bytes.removeAll(keepingCapacity: records.bytes.capacity <= 4 * RDBFileFormat.flushThreshold)
            progress(output.count)
        }

        records.raw(RDBFileFormat.header(version: version))
        auxiliary(&records, "redis-ver", Array(options.redisVersion.utf8))
        auxiliary(&records, "redis-bits", decimal: 64)
        auxiliary(&records, "ctime", decimal: max(0, options.createdAtMilliseconds) / 1000)
        auxiliary(&records, "used-mem", decimal: Int64(options.usedMemoryBytes))
        auxiliary(&records, "aof-base", decimal: options.isAppendOnlyBase ? 1 : 0)
        auxiliary(&records, RDBFileFormat.rillVersionField, Array(options.rillVersion.utf8))

        var keyCount = 0
        for index in 0..<keyspace.databaseCount {
            let database = keyspace[index]
            guard !database.isEmpty else { continue }
            records.byte(RDBOpcode.selectDB)
            records.length(index)
            records.byte(RDBOpcode.resizeDB)
            records.length(database.count)
            records.length(database.expiresCount)
            database.forEachEntry { key, value, deadline in
                if let deadline {
                    records.byte(RDBOpcode.expireTimeMilliseconds)
                    records.millisecondTime(deadline)
                }
                RDBFileObjects.writeRecord(key: key, value: value, to: &records, compress: options.compress)
                if case .stream(let stream) = value, let state = RDBFileObjects.rillState(of: stream) {
                    var field = RDBOutput(reservingCapacity: key.count + state.count + 9)
                    field.length(key.count)
                    field.raw(key)
                    field.raw(state)
                    auxiliary(&records, RDBFileFormat.rillStreamStateField, field.bytes, compress: options.compress)
                }
                keyCount += 1
                if records.bytes.count >= RDBFileFormat.flushThreshold { flush() }
            }
        }
        records.byte(RDBOpcode.eof)
        flush()
        var trailer = RDBOutput()
        trailer.littleEndian(options.checksum ? checksum.value : 0)
        trailer.bytes.withUnsafeBytes { output.append($0) }
        progress(output.count)
        return SnapshotSummary(keyCount: keyCount, byteCount: output.count)
    }

    /// An AUX field: opcode, name, value (strings as Redis writes them, a number in its integer encoding).
    private static func auxiliary(_ output: inout RDBOutput, _ name: [UInt8], _ value: [UInt8], compress: Bool = false) {
        output.byte(RDBOpcode.aux)
        output.string(name, compress: false)
        output.string(value, compress: compress)
    }

    private static func auxiliary(_ output: inout RDBOutput, _ name: String, _ value: [UInt8]) {
        auxiliary(&output, Array(name.utf8), value)
    }

    private static func auxiliary(_ output: inout RDBOutput, _ name: String, decimal value: Int64) {
        output.byte(RDBOpcode.aux)
        output.string(Array(name.utf8), compress: false)
        output.decimalString(value)
    }
}
