#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillCore

/// Loads RDB files written by Rill or by Redis 6.2 to 8.2 (see RDBFileFormat.swift). Every length is checked
/// before use and every object validated by `RDBObjectCodec`; any damage makes loading fail with the file offset
/// and the reason, and nothing partial is returned. What Rill cannot hold (hashes, sorted sets, modules, function
/// libraries) is refused with the key or opcode named, never dropped.
public enum RDBFileReader {
    /// Decodes a file held in memory.
    /// - Parameters:
    ///   - databaseCount: databases of the keyspace to build; a file selecting a database beyond it is refused.
    ///   - nowMilliseconds: when given, keys whose deadline is before it are skipped (as a Redis primary does);
    ///     when nil every key is kept (an append-only base, whose later commands run at their recorded times).
    /// - Complexity: O(bytes.count).
    public static func decode(
        _ bytes: [UInt8], databaseCount: Int, nowMilliseconds: Int64? = nil
    ) throws(SnapshotError) -> SnapshotLoadResult {
        // The whole file is the window: no copy, and an item is never parsed twice.
        let source = WindowedSource(wholeFile: bytes)
        return try load(source, databaseCount: databaseCount, nowMilliseconds: nowMilliseconds, progress: { _ in })
    }

    /// Loads the file at `path`, reading it through a window of about a MiB (more while one key needs more).
    /// - Parameter databaseCount: databases of the keyspace to build; nil only checks the file (rill-check): any
    ///   database index is accepted and the values are validated, then dropped.
    /// - Throws: `SnapshotError` (an I/O error has no offset).
    /// - Complexity: O(file size).
    public static func load(
        path: String, databaseCount: Int?, nowMilliseconds: Int64?,
        progress: (SnapshotLoadProgress) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotLoadResult {
        try load(path: path, databaseCount: databaseCount, nowMilliseconds: nowMilliseconds,
                 wholeRestLimit: WindowedSource.defaultWholeRestLimit, progress: progress)
    }

    /// `load(path:...)` with the window's `wholeRestLimit` chosen (tests make the window slide through small files).
    static func load(
        path: String, databaseCount: Int?, nowMilliseconds: Int64?, wholeRestLimit: Int,
        progress: (SnapshotLoadProgress) -> Void
    ) throws(SnapshotError) -> SnapshotLoadResult {
        let file = try InputFile(path: path)
        let source = WindowedSource(totalBytes: file.size, wholeRestLimit: wholeRestLimit) {
            count throws(SnapshotError) -> [UInt8] in try file.read(upTo: count)
        }
        return try load(source, databaseCount: databaseCount, nowMilliseconds: nowMilliseconds, progress: progress)
    }

    /// One thing read from the file: an opcode's content or a key with its value.
    private enum Item {
        case auxiliary(name: [UInt8], value: [UInt8], offset: Int)
        case selectDatabase(UInt64, offset: Int)
        case deadline(Int64)
        case idleSeconds(UInt64)
        case key([UInt8], RedisValue, offset: Int)
        case nothing
        case endOfFile
        /// Content Rill refuses (not damage: the file may be sound); loading stops with this error.
        case refused(SnapshotError)
    }

    /// A key read but not yet stored: a Rill-only AUX field may follow it and complete its stream.
    private struct PendingKey {
        var database: Int
        var key: [UInt8]
        var value: RedisValue
        var deadline: Int64?
        var idleSeconds: UInt64?
        var offset: Int
    }

    private static func load(
        _ source: WindowedSource, databaseCount: Int?, nowMilliseconds: Int64?,
        progress: (SnapshotLoadProgress) -> Void
    ) throws(SnapshotError) -> SnapshotLoadResult {
        let checking = databaseCount == nil
        let version = try source.parse { input throws(RDBError) -> UInt16 in
            let header = Array(try input.take(RDBFileFormat.headerSize))
            guard header.starts(with: RDBFileFormat.magic) else {
                throw input.failure("not an RDB file (no REDIS magic)", at: 0)
            }
            let digits = header[RDBFileFormat.magic.count...]
            guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let version = UInt16(String(decoding: digits, as: UTF8.self))
            else { throw input.failure("bad RDB version digits", at: RDBFileFormat.magic.count) }
            return version
        }
        guard version <= RDBVersion.newest else {
            throw SnapshotError(offset: RDBFileFormat.magic.count, reason:
                "RDB format version \(version) is newer than this build reads (\(RDBVersion.newest), Redis 8.2)")
        }
        guard version >= RDBVersion.oldestRead else {
            throw SnapshotError(offset: RDBFileFormat.magic.count, reason:
                "RDB format version \(version) is older than this build reads (\(RDBVersion.oldestRead), Redis 6.2)")
        }

        var keyspace = Keyspace(databaseCount: databaseCount ?? 1)
        var database = 0
        var pending: PendingKey?
        var nextDeadline: Int64?
        var nextIdleSeconds: UInt64?
        var keyCount = 0
        var expiredSkipped = 0
        var emptySkipped = 0
        var streamEntries: UInt64 = 0
        var createdAt: Int64 = 0
        var redisVersion = ""
        var rillVersion: String?
        let accessClock = nowMilliseconds.map(AccessClock.reading(atMilliseconds:))

        func commit() throws(SnapshotError) {
            guard let record = pending else { return }
            pending = nil
            keyCount += 1
            if keyCount % 1024 == 0 {
                progress(SnapshotLoadProgress(bytesRead: source.offset, totalBytes: source.totalBytes,
                                              keysLoaded: keyCount - expiredSkipped - emptySkipped))
            }
            if case .stream(let stream) = record.value { streamEntries += stream.length }
            guard !checking else { return }
            if let deadline = record.deadline, let nowMilliseconds, deadline < nowMilliseconds {
                expiredSkipped += 1
                return
            }
            guard !isEmptyCollection(record.value) else {
                // Redis skips such keys too ("empty keys skipped"): Rill never stores an empty list or set.
                emptySkipped += 1
                return
            }
            var lastAccess = accessClock
            if let idle = record.idleSeconds, let nowMilliseconds {
                lastAccess = AccessClock.reading(idleSeconds: Int64(clamping: idle), nowMilliseconds: nowMilliseconds)
            }
            guard keyspace[record.database].insertLoaded(
                record.value, forKey: record.key, deadline: record.deadline, lastAccess: lastAccess)
            else {
                throw SnapshotError(offset: record.offset, reason:
                    "duplicate key '\(printable(record.key))' in database \(record.database)")
            }
        }

        while true {
            let item = try source.parse { input throws(RDBError) -> Item in
                try readItem(&input)
            }
            switch item {
            case .refused(let error):
                throw error
            case .nothing:
                continue
            case .deadline(let milliseconds):
                try commit()
                nextDeadline = milliseconds
            case .idleSeconds(let seconds):
                try commit()
                nextIdleSeconds = seconds
            case .selectDatabase(let index, let offset):
                try commit()
                if let databaseCount {
                    guard index < UInt64(databaseCount) else {
                        throw SnapshotError(offset: offset, reason:
                            "the file selects database \(index) but the server has \(databaseCount) databases (raise `databases`)")
                    }
                }
                database = Int(clamping: index)
            case .auxiliary(let name, let value, let offset):
                if name == RDBFileFormat.rillStreamStateField {
                    guard var record = pending, case .stream(var stream) = record.value else {
                        throw SnapshotError(offset: offset, reason: "Rill stream state that follows no stream")
                    }
                    // The stream's only reference, so applying the state does not copy its groups.
                    pending = nil
                    record.value = .string([])
                    try applyRillStreamState(value, key: record.key, to: &stream, offset: offset)
                    record.value = .stream(stream)
                    pending = record
                    continue
                }
                try commit()
                switch String(decoding: name, as: UTF8.self) {
                case "ctime":
                    createdAt = (RedisInteger.parse(value) ?? 0).multipliedReportingOverflow(by: 1000).partialValue
                case "redis-ver": redisVersion = String(decoding: value, as: UTF8.self)
                case "rill-ver": rillVersion = String(decoding: value, as: UTF8.self)
                default: break  // redis-bits, used-mem, aof-base, repl-*, lua...: nothing to restore
                }
            case .key(let key, let value, let offset):
                try commit()
                pending = PendingKey(database: database, key: key, value: value, deadline: nextDeadline,
                                     idleSeconds: nextIdleSeconds, offset: offset)
                nextDeadline = nil
                nextIdleSeconds = nil
            case .endOfFile:
                try commit()
                try source.verifyChecksum()
                progress(SnapshotLoadProgress(bytesRead: source.offset, totalBytes: source.totalBytes,
                                              keysLoaded: keyCount - expiredSkipped - emptySkipped))
                let producer = rillVersion.map { "rill \($0) (RDB \(version))" }
                    ?? "redis \(redisVersion.isEmpty ? "(unknown version)" : redisVersion) (RDB \(version))"
                return SnapshotLoadResult(
                    keyspace: keyspace, keyCount: keyCount - emptySkipped, expiredKeysSkipped: expiredSkipped,
                    streamEntryCount: streamEntries, createdAtMilliseconds: createdAt, producer: producer,
                    byteCount: source.totalBytes)
            }
        }
    }

    /// Reads one opcode with its content, or one key record.
    private static func readItem(_ input: inout RDBInput) throws(RDBError) -> Item {
        let start = input.offset
        let fileOffset = input.base + start
        let opcode = try input.byte()
        switch opcode {
        case RDBOpcode.eof:
            return .endOfFile
        case RDBOpcode.aux:
            let name = try input.string()
            return .auxiliary(name: name, value: try input.string(), offset: fileOffset)
        case RDBOpcode.selectDB:
            return .selectDatabase(try input.length(), offset: fileOffset)
        case RDBOpcode.resizeDB:
            // Size hints only: tables grow as keys arrive.
            _ = try input.length()
            _ = try input.length()
            return .nothing
        case RDBOpcode.expireTimeMilliseconds:
            return .deadline(try input.millisecondTime())
        case RDBOpcode.expireTime:
            return .deadline(Int64(try input.littleEndian(Int32.self)) * 1000)
        case RDBOpcode.idle:
            return .idleSeconds(try input.length())
        case RDBOpcode.freq:
            // LFU counters mean nothing without an LFU policy; Rill never evicts.
            _ = try input.byte()
            return .nothing
        case RDBOpcode.slotInfo:
            // Cluster sizing hints (slot, keys, keys with a deadline).
            _ = try input.length()
            _ = try input.length()
            _ = try input.length()
            return .nothing
        case RDBOpcode.function2, RDBOpcode.functionPreGA:
            return .refused(SnapshotError(offset: fileOffset, reason:
                "the file holds a function library (FUNCTION LOAD), which Rill cannot run; "
                    + "delete the functions (FUNCTION FLUSH) and save again"))
        case RDBOpcode.moduleAux:
            return .refused(SnapshotError(offset: fileOffset, reason:
                "the file holds data of a Redis module, which Rill cannot load"))
        default:
            let key = try input.string()
            if let typeName = RDBFileFormat.unsupportedTypeName(opcode) {
                return .refused(SnapshotError(offset: fileOffset, reason:
                    "key '\(printable(key))' holds a \(typeName) (RDB type \(opcode)), which Rill cannot store; "
                        + "remove or convert it before moving the file to Rill"))
            }
            let value = try RDBFileObjects.read(type: opcode, from: &input)
            return .key(key, value, offset: fileOffset)
        }
    }

    /// Applies a `rill-stream` AUX field (RDB length of the key, the key, the state) to the stream just loaded.
    private static func applyRillStreamState(
        _ field: [UInt8], key: [UInt8], to stream: inout Stream, offset: Int
    ) throws(SnapshotError) {
        var input = RDBInput(field)
        do throws(RDBError) {
            let keyLength = try input.count()
            let named = Array(try input.take(keyLength))
            guard named == key else {
                throw input.failure("Rill stream state names key '\(printable(named))', not '\(printable(key))'")
            }
            try RDBFileObjects.applyRillState(from: &input, to: &stream)
        } catch {
            throw SnapshotError(offset: offset, reason: "bad Rill stream state for key '\(printable(key))': \(error.reason)")
        }
    }

    private static func isEmptyCollection(_ value: RedisValue) -> Bool {
        switch value {
        case .list(let list): return list.isEmpty
        case .set(let set): return set.isEmpty
        case .string, .stream: return false
        }
    }

    /// A key for a log line: printable ASCII as is, other bytes as \xhh, cut after 128 bytes.
    static func printable(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes.prefix(128) {
            if (0x20...0x7E).contains(byte) && byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return bytes.count > 128 ? text + "..." : text
    }
}

/// The bytes of a file seen through a window that slides forward: an item is parsed from the window and, when
/// it does not fit, the window grows and the parse starts over. Consumed bytes go through the CRC-64 when they
/// leave the window. A parse that runs out of window is wasted work (a 1M-entry stream is one item of about
/// 30 MB), so the window grows to take the whole rest of the file when that is at most `wholeRestLimit`, and
/// otherwise by four times its size (a big key is parsed a logarithmic number of times, the wasted parses adding
/// up to a third of the final one). Memory: about a MiB, the rest of a file of at most `wholeRestLimit`, or four
/// times the largest item.
final class WindowedSource {
    /// Size of the file.
    let totalBytes: Int
    /// The next `count` bytes of the file (fewer only at its end).
    private let readMore: (Int) throws(SnapshotError) -> [UInt8]
    private var window: [UInt8] = []
    /// File offset of `window[0]`.
    private var windowStart = 0
    /// Index in `window` of the next unread byte.
    private var position = 0
    /// CRC-64 of the file bytes before `window[0]`.
    private var checksum = CRC64()

    /// Rests of the file up to this size are read in one go when an item does not fit the window.
    private let wholeRestLimit: Int

    static let minimumRead = 1 << 20
    static let defaultWholeRestLimit = 64 << 20

    init(totalBytes: Int, wholeRestLimit: Int, readMore: @escaping (Int) throws(SnapshotError) -> [UInt8]) {
        self.totalBytes = totalBytes
        self.wholeRestLimit = wholeRestLimit
        self.readMore = readMore
    }

    /// A source whose window is all of `bytes` from the start (a file held in memory: SYNC's payload).
    init(wholeFile bytes: [UInt8]) {
        totalBytes = bytes.count
        wholeRestLimit = 0
        window = bytes
        readMore = { _ throws(SnapshotError) in [] }  // never called: the window reaches the end
    }

    /// File offset of the next unread byte.
    var offset: Int { windowStart + position }

    private var windowReachesEnd: Bool { windowStart + window.count >= totalBytes }

    /// Runs `body` on the unread bytes; if it fails while the file holds bytes beyond the window, grows the window
    /// and runs it again, so only a failure with the whole rest of the file at hand is reported.
    func parse<Value>(_ body: (inout RDBInput) throws(RDBError) -> Value) throws(SnapshotError) -> Value {
        while true {
            var failure: RDBError
            do {
                var input = RDBInput(window, base: windowStart)
                input.offset = position
                let value = try body(&input)
                position = input.offset
                return value
            } catch {
                failure = error
            }
            guard !windowReachesEnd else { throw SnapshotError(offset: failure.offset, reason: failure.reason) }
            try grow()
        }
    }

    private func grow() throws(SnapshotError) {
        checksum.update(window, 0..<position)
        window.removeFirst(position)
        windowStart += position
        position = 0
        let rest = totalBytes - windowStart - window.count
        let wanted = rest <= wholeRestLimit ? rest : min(max(Self.minimumRead, 3 * window.count), rest)
        let more = try readMore(wanted)
        guard more.count == wanted else {
            throw SnapshotError(offset: windowStart + window.count + more.count,
                                reason: "the file is shorter than its size (changed while read?)")
        }
        window += more
    }

    /// After the EOF opcode: the 8-byte CRC-64 that follows matches the bytes before it, or is 0 (`rdbchecksum
    /// no`, not checked, as Redis does).
    func verifyChecksum() throws(SnapshotError) {
        let checksumOffset = offset
        var computed = checksum
        computed.update(window, 0..<position)
        let stored = try parse { input throws(RDBError) -> UInt64 in
            guard input.remaining >= RDBFileFormat.checksumSize else {
                throw input.failure("the file ends before its checksum")
            }
            return try input.littleEndian(UInt64.self)
        }
        guard stored == 0 || stored == computed.value else {
            throw SnapshotError(offset: checksumOffset, reason:
                "checksum mismatch: the file says \(hex(stored)), its bytes give \(hex(computed.value))")
        }
    }

    private func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// A file opened for reading with EINTR-safe reads.
final class InputFile {
    private let descriptor: Int32
    private let path: String
    let size: Int

    init(path: String) throws(SnapshotError) {
        self.path = path
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw SnapshotFiles.systemError("open \(path)") }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = SnapshotFiles.systemError("fstat \(path)")
            close(descriptor)
            throw error
        }
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// The next `count` bytes, or fewer at the end of the file.
    func read(upTo count: Int) throws(SnapshotError) -> [UInt8] {
        guard count > 0 else { return [] }
        var failure: SnapshotError?
        // Filled by read(2) straight away: no zeroing first.
        let buffer = [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
            var filled = 0
            while filled < count {
                // count > 0, so the buffer has a base address.
                let result = Glibc.read(descriptor, raw.baseAddress! + filled, count - filled)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = SnapshotFiles.systemError("read \(path)")
                    break
                }
                if result == 0 { break }
                filled += result
            }
            initialized = filled
        }
        if let failure { throw failure }
        return buffer
    }
}
