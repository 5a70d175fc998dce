#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillCore

/// What writing a snapshot produced.
public struct SnapshotSummary: Sendable, Hashable {
    /// Keys written.
    public var keyCount: Int
    /// Size of the file (or encoded bytes).
    public var byteCount: Int
}

/// Serialises a `Keyspace` in the RILLSNAP format (see SnapshotFormat.swift). Pure computation over a value, so it
/// may run on any thread with a copy of the keyspace taken on the event loop.
public enum SnapshotWriter {
    /// The whole snapshot in memory (tests, small keyspaces).
    /// - Complexity: O(size of the keyspace).
    public static func encode(_ keyspace: Keyspace, createdAtMilliseconds: Int64, producer: String) -> [UInt8] {
        var output: [UInt8] = []
        _ = encode(keyspace, createdAtMilliseconds: createdAtMilliseconds, producer: producer) { output += $0 }
        return output
    }

    /// Writes a snapshot of `keyspace` to `path` atomically: a temporary file in the same directory is written,
    /// fsynced and renamed over `path`, then the directory is fsynced. On failure the temporary file is removed and
    /// `path` is untouched.
    /// - Throws: `SnapshotError` with the failing system call and errno text.
    /// - Complexity: O(size of the keyspace).
    /// - Parameter progress: called with the bytes written so far after each section (about every MiB).
    public static func write(
        _ keyspace: Keyspace, toPath path: String, createdAtMilliseconds: Int64, producer: String,
        progress: (_ bytesWritten: Int) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotSummary {
        var summary = SnapshotSummary(keyCount: 0, byteCount: 0)
        var written = 0
        try SnapshotFiles.writeAtomically(toPath: path) { emit in
            summary = encode(keyspace, createdAtMilliseconds: createdAtMilliseconds, producer: producer) { chunk in
                emit(chunk)
                written += chunk.count
                progress(written)
            }
        }
        return summary
    }

    /// Produces the snapshot as consecutive chunks handed to `emit` (each a whole section, or the file header).
    static func encode(
        _ keyspace: Keyspace, createdAtMilliseconds: Int64, producer: String, emit: ([UInt8]) -> Void
    ) -> SnapshotSummary {
        var fileChecksum = CRC32C()
        var byteCount = 0
        func output(_ bytes: [UInt8]) {
            fileChecksum.update(bytes)
            byteCount += bytes.count
            emit(bytes)
        }
        var header = ByteSink()
        header.bytes = SnapshotFormat.magic
        header.littleEndian(SnapshotFormat.version)
        output(header.bytes)

        var info = ByteSink()
        info.varint(UInt64(max(0, createdAtMilliseconds)))
        info.varint(keyspace.databaseCount)
        info.string(Array(producer.utf8))
        output(section(.info, info.bytes))

        var keyCount = 0
        for index in 0..<keyspace.databaseCount {
            let database = keyspace[index]
            guard !database.isEmpty else { continue }
            var records = ByteSink()
            var recordCount = 0
            func flush() {
                guard recordCount > 0 else { return }
                var payload = ByteSink()
                payload.varint(index)
                payload.varint(recordCount)
                payload.bytes += records.bytes
                output(section(.keys, payload.bytes))
                records.bytes.removeAll(keepingCapacity: true)
                recordCount = 0
            }
            database.forEachEntry { key, value, deadline in
                records.byte(ValueCodec.typeCode(of: value).rawValue)
                records.byte(deadline == nil ? 0 : SnapshotFormat.hasDeadlineFlag)
                if let deadline { records.littleEndian(deadline) }
                records.string(key)
                ValueCodec.encodeBody(value, to: &records)
                recordCount += 1
                keyCount += 1
                if records.bytes.count >= SnapshotFormat.keysSectionTargetBytes { flush() }
            }
            flush()
        }

        var end = ByteSink()
        end.littleEndian(UInt64(keyCount))
        end.littleEndian(fileChecksum.value)
        let endSection = section(.end, end.bytes)
        byteCount += endSection.count
        emit(endSection)
        return SnapshotSummary(keyCount: keyCount, byteCount: byteCount)
    }

    /// A framed section: kind, length, payload, CRC-32C of the three.
    static func section(_ kind: SnapshotFormat.SectionKind, _ payload: [UInt8]) -> [UInt8] {
        var sink = ByteSink()
        sink.bytes.reserveCapacity(payload.count + SnapshotFormat.sectionHeaderSize + SnapshotFormat.sectionChecksumSize)
        sink.byte(kind.rawValue)
        sink.littleEndian(UInt64(payload.count))
        sink.bytes += payload
        sink.littleEndian(CRC32C.checksum(of: sink.bytes))
        return sink.bytes
    }
}

/// File-system helpers shared by snapshot writing and loading.
public enum SnapshotFiles {
    /// Distinguishes temporary files of concurrent writers within one process.
    nonisolated(unsafe) private static var temporaryCounter = 0
    private static let counterLock = NSLockLite()

    static func temporaryPath(in directory: String) -> String {
        let number = counterLock.withLock { () -> Int in
            temporaryCounter += 1
            return temporaryCounter
        }
        return (directory == "" ? "" : directory + "/") + "temp-\(getpid())-\(number).rill"
    }

    /// Writes the chunks `produce` hands to its argument to `path` atomically: a temporary file in the same
    /// directory is written, fsynced and renamed over `path`, then the directory is fsynced. On failure the
    /// temporary file is removed and `path` is untouched.
    /// - Throws: `SnapshotError` with the failing system call and errno text.
    public static func writeAtomically(
        toPath path: String, _ produce: (_ emit: ([UInt8]) -> Void) -> Void
    ) throws(SnapshotError) {
        let folder = directory(of: path)
        let temporary = temporaryPath(in: folder)
        let file = try OutputFile(creating: temporary)
        var writeError: SnapshotError?
        produce { chunk in
            if writeError == nil {
                do throws(SnapshotError) { try file.write(chunk) } catch { writeError = error }
            }
        }
        do throws(SnapshotError) {
            if let writeError { throw writeError }
            try file.synchronise()
            try file.close()
            guard rename(temporary, path) == 0 else { throw systemError("rename \(temporary) to \(path)") }
            try synchroniseDirectory(folder)
        } catch {
            file.closeQuietly()
            unlink(temporary)
            throw error
        }
    }

    /// Creates `path` empty (truncating it if it exists) and makes its directory entry durable.
    public static func createEmptyFile(atPath path: String) throws(SnapshotError) {
        let file = try OutputFile(creating: path)
        do throws(SnapshotError) {
            try file.synchronise()
            try file.close()
            try synchroniseDirectory(directory(of: path))
        } catch {
            file.closeQuietly()
            throw error
        }
    }

    /// Whether `name` is a temporary file left in a directory by an interrupted atomic write.
    public static func isTemporaryFileName(_ name: String) -> Bool {
        name.hasPrefix("temp-") && name.hasSuffix(".rill")
    }

    /// The directory part of `path` ("." when it has none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// fsync of a directory, so a rename inside it is durable.
    public static func synchroniseDirectory(_ directory: String) throws(SnapshotError) {
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { throw systemError("open directory \(directory)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw systemError("fsync directory \(directory)") }
    }

    static func systemError(_ operation: String) -> SnapshotError {
        SnapshotError(offset: nil, reason: "\(operation): \(String(cString: strerror(errno)))")
    }
}

/// A tiny mutex over pthread, so this module needs no Foundation.
final class NSLockLite: @unchecked Sendable {
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func withLock<Result>(_ body: () -> Result) -> Result {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// A file opened for writing, with EINTR-safe full writes.
final class OutputFile {
    private var descriptor: Int32
    private let path: String

    init(creating path: String) throws(SnapshotError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw SnapshotFiles.systemError("open \(path)") }
    }

    func write(_ bytes: [UInt8]) throws(SnapshotError) {
        var written = 0
        var failure: SnapshotError?
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                // A non-empty buffer has a base address.
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = SnapshotFiles.systemError("write \(path)")
                    return
                }
                written += result
            }
        }
        if let failure { throw failure }
    }

    func synchronise() throws(SnapshotError) {
        guard fsync(descriptor) == 0 else { throw SnapshotFiles.systemError("fsync \(path)") }
    }

    func close() throws(SnapshotError) {
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else { throw SnapshotFiles.systemError("close \(path)") }
    }

    func closeQuietly() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { closeQuietly() }
}
