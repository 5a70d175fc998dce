#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillCore

/// A loaded snapshot.
public struct SnapshotLoadResult: Sendable {
    /// The keyspace rebuilt from the file.
    public var keyspace: Keyspace
    /// Keys stored in the file.
    public var keyCount: Int
    /// Keys of the file not loaded because their deadline had passed.
    public var expiredKeysSkipped: Int
    /// Stream entries loaded (live ones), for the start-up log.
    public var streamEntryCount: UInt64
    /// When the snapshot was written (Unix ms).
    public var createdAtMilliseconds: Int64
    /// The "producer" string of the INFO section.
    public var producer: String
    /// File size.
    public var byteCount: Int
}

/// Progress reported while loading: after every section.
public struct SnapshotLoadProgress: Sendable {
    /// Bytes of the file consumed so far.
    public var bytesRead: Int
    /// File size.
    public var totalBytes: Int
    /// Keys loaded so far.
    public var keysLoaded: Int
}

/// Loads RILLSNAP snapshots (see SnapshotFormat.swift), the format earlier Rill versions wrote (Rill now writes
/// RDB files and reads these for upgrades), checking every checksum and every structure: any damaged byte makes
/// loading fail with its offset and the reason, and nothing partial is returned.
public enum SnapshotReader {
    /// Decodes a snapshot held in memory.
    /// - Parameters:
    ///   - databaseCount: databases of the keyspace to build; a key for a database beyond it is an error.
    ///   - nowMilliseconds: when given, keys whose deadline is before it are skipped (as a Redis master does on
    ///     load); when nil every key is kept.
    /// - Complexity: O(bytes.count).
    public static func decode(
        _ bytes: [UInt8], databaseCount: Int, nowMilliseconds: Int64? = nil
    ) throws(SnapshotError) -> SnapshotLoadResult {
        var position = 0
        return try load(totalBytes: bytes.count, databaseCount: databaseCount, nowMilliseconds: nowMilliseconds,
                        progress: { _ in }) { count throws(SnapshotError) -> [UInt8] in
            let end = min(bytes.count, position + count)
            defer { position = end }
            return Array(bytes[position..<end])
        }
    }

    /// Loads the snapshot at `path`, calling `progress` after each section.
    /// - Parameter databaseCount: databases of the keyspace to build; nil to take the writer's count from the
    ///   file (checking a file without a server configuration).
    /// - Throws: `SnapshotError` (an I/O error has no offset).
    /// - Complexity: O(file size).
    public static func load(
        path: String, databaseCount: Int?, nowMilliseconds: Int64?,
        progress: (SnapshotLoadProgress) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotLoadResult {
        let file = try InputFile(path: path)
        return try load(totalBytes: file.size, databaseCount: databaseCount,
                        nowMilliseconds: nowMilliseconds, progress: progress) { count throws(SnapshotError) -> [UInt8] in
            try file.read(upTo: count)
        }
    }

    /// Largest writer database count believed when the count is taken from the file: every database is
    /// allocated up front.
    static let maxDatabasesTakenFromFile = 1 << 16

    /// The loader proper. `readUpTo(n)` returns the next n bytes, or fewer at the end of the input.
    private static func load(
        totalBytes: Int, databaseCount: Int?, nowMilliseconds: Int64?,
        progress: (SnapshotLoadProgress) -> Void,
        readUpTo: (Int) throws(SnapshotError) -> [UInt8]
    ) throws(SnapshotError) -> SnapshotLoadResult {
        var offset = 0
        var fileChecksum = CRC32C()
        func readExactly(_ count: Int, what: String) throws(SnapshotError) -> [UInt8] {
            let bytes = try readUpTo(count)
            guard bytes.count == count else {
                throw SnapshotError(offset: offset + bytes.count, reason: "file truncated inside \(what)")
            }
            return bytes
        }

        let header = try readExactly(SnapshotFormat.fileHeaderSize, what: "the file header")
        guard Array(header[0..<8]) == SnapshotFormat.magic else {
            throw SnapshotError(offset: 0, reason: "not a Rill snapshot (bad magic)")
        }
        let version = header[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
        guard version == SnapshotFormat.version else {
            throw SnapshotError(offset: 8, reason: "unsupported format version \(version) (this build reads \(SnapshotFormat.version))")
        }
        fileChecksum.update(header)
        offset = SnapshotFormat.fileHeaderSize

        var databases = databaseCount ?? 1
        var keyspace = Keyspace(databaseCount: databases)
        var createdAt: Int64 = 0
        var producer = ""
        var sawInfo = false
        var keyCount = 0
        var expiredSkipped = 0
        var streamEntries: UInt64 = 0
        while true {
            let sectionStart = offset
            let sectionHeader = try readExactly(SnapshotFormat.sectionHeaderSize, what: "a section header")
            let kindByte = sectionHeader[0]
            var length: UInt64 = 0
            for index in 0..<8 { length |= UInt64(sectionHeader[1 + index]) << (8 * UInt64(index)) }
            guard let kind = SnapshotFormat.SectionKind(rawValue: kindByte) else {
                throw SnapshotError(offset: sectionStart, reason: "unknown section kind 0x\(String(kindByte, radix: 16))")
            }
            let left = totalBytes - sectionStart - SnapshotFormat.sectionHeaderSize - SnapshotFormat.sectionChecksumSize
            guard left >= 0, length <= UInt64(left) else {
                throw SnapshotError(offset: sectionStart + 1, reason: "section length \(length) runs past the end of the file")
            }
            let payload = try readExactly(Int(length), what: "a section payload")
            let checksumBytes = try readExactly(SnapshotFormat.sectionChecksumSize, what: "a section checksum")
            let storedChecksum = checksumBytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
            var sectionChecksum = CRC32C()
            sectionChecksum.update(sectionHeader)
            sectionChecksum.update(payload)
            guard sectionChecksum.value == storedChecksum else {
                throw SnapshotError(offset: sectionStart, reason: "checksum mismatch in \(kind) section of \(length) bytes")
            }
            let payloadStart = sectionStart + SnapshotFormat.sectionHeaderSize
            offset = payloadStart + Int(length) + SnapshotFormat.sectionChecksumSize

            if kind != .info && !sawInfo {
                throw SnapshotError(offset: sectionStart, reason: "\(kind) section before the info section")
            }
            let outcome = payload.withUnsafeBytes { raw -> Result<Void, DecodeFailure> in
                Result { () throws(DecodeFailure) in
                    var source = ByteSource(raw, base: payloadStart)
                    switch kind {
                    case .info:
                        guard !sawInfo else { throw source.failure("second info section", at: 0) }
                        sawInfo = true
                        createdAt = Int64(truncatingIfNeeded: try source.varint())
                        let writerDatabasesOffset = source.offset
                        let writerDatabases = try source.varint()
                        if databaseCount == nil {
                            guard (1...UInt64(maxDatabasesTakenFromFile)).contains(writerDatabases) else {
                                throw source.failure("implausible database count \(writerDatabases)", at: writerDatabasesOffset)
                            }
                            databases = Int(writerDatabases)
                            keyspace = Keyspace(databaseCount: databases)
                        }
                        producer = String(decoding: try source.string(), as: UTF8.self)
                    case .keys:
                        let databaseOffset = source.offset
                        let database = try source.varint()
                        guard database < UInt64(databases) else {
                            throw source.failure(
                                "key for database \(database) but the server has \(databases) databases", at: databaseOffset)
                        }
                        let records = try source.count()
                        for _ in 0..<records {
                            let loaded = try decodeKeyRecord(
                                &source, into: &keyspace, database: Int(database), nowMilliseconds: nowMilliseconds)
                            keyCount += 1
                            if let loaded { streamEntries += loaded } else { expiredSkipped += 1 }
                        }
                    case .end:
                        let storedKeyCount = try source.littleEndian(UInt64.self)
                        guard storedKeyCount == UInt64(keyCount) else {
                            throw source.failure("end section counts \(storedKeyCount) keys, file holds \(keyCount)", at: 0)
                        }
                        let storedFileChecksum = try source.littleEndian(UInt32.self)
                        guard storedFileChecksum == fileChecksum.value else {
                            throw source.failure("end-of-file checksum mismatch", at: 8)
                        }
                    }
                    guard source.isAtEnd else { throw source.failure("\(source.remaining) unexpected bytes at the end of the \(kind) section") }
                }
            }
            if case .failure(let error) = outcome { throw SnapshotError(offset: error.offset, reason: error.reason) }
            // The section's checksum stands for its bytes: each byte is checksummed once.
            fileChecksum = CRC32C.appending(
                sectionChecksum, ofLength: SnapshotFormat.sectionHeaderSize + payload.count, to: fileChecksum)
            fileChecksum.update(checksumBytes)
            progress(SnapshotLoadProgress(bytesRead: offset, totalBytes: totalBytes, keysLoaded: keyCount - expiredSkipped))
            if kind == .end {
                guard offset == totalBytes else {
                    throw SnapshotError(offset: offset, reason: "\(totalBytes - offset) bytes after the end section")
                }
                break
            }
        }
        return SnapshotLoadResult(
            keyspace: keyspace, keyCount: keyCount, expiredKeysSkipped: expiredSkipped, streamEntryCount: streamEntries,
            createdAtMilliseconds: createdAt, producer: producer, byteCount: totalBytes)
    }

    /// Reads one key record into `keyspace[database]`. Returns the number of stream entries loaded (0 for other
    /// types), or nil when the key was skipped as expired.
    private static func decodeKeyRecord(
        _ source: inout ByteSource, into keyspace: inout Keyspace, database: Int, nowMilliseconds: Int64?
    ) throws(DecodeFailure) -> UInt64? {
        let recordStart = source.offset
        let typeByte = try source.byte()
        guard let type = ValueCodec.TypeCode(rawValue: typeByte) else {
            throw source.failure("unknown value type \(typeByte)", at: recordStart)
        }
        let flags = try source.byte()
        guard flags & ~SnapshotFormat.hasDeadlineFlag == 0 else { throw source.failure("unknown key flags \(flags)", at: recordStart + 1) }
        let deadline = flags & SnapshotFormat.hasDeadlineFlag != 0 ? try source.littleEndian(Int64.self) : nil
        let keyOffset = source.offset
        let key = try source.string()
        let value = try ValueCodec.decodeBody(type, from: &source)
        if let deadline, let nowMilliseconds, deadline < nowMilliseconds { return nil }
        guard keyspace[database].insertLoaded(
            value, forKey: key, deadline: deadline, lastAccess: nowMilliseconds.map(AccessClock.reading(atMilliseconds:))
        ) else {
            throw source.failure("duplicate key in database \(database)", at: keyOffset)
        }
        if case .stream(let stream) = value { return stream.length }
        return 0
    }
}
