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
        let output = MemoryOutput()
        _ = encode(keyspace, createdAtMilliseconds: createdAtMilliseconds, producer: producer, to: output)
        return output.bytes
    }

    /// Writes a snapshot of `keyspace` to `path` atomically: a temporary file in the same directory is written,
    /// fsynced and renamed over `path`, then the directory is fsynced. On failure the temporary file is removed and
    /// `path` is untouched.
    /// - Throws: `SnapshotError` with the failing system call and errno text.
    /// - Complexity: O(size of the keyspace); memory O(1 MiB) beyond the keyspace, whatever the size of a key.
    /// - Parameter progress: called with the bytes written so far after each section (about every MiB).
    public static func write(
        _ keyspace: Keyspace, toPath path: String, createdAtMilliseconds: Int64, producer: String,
        progress: (_ bytesWritten: Int) -> Void = { _ in }
    ) throws(SnapshotError) -> SnapshotSummary {
        var summary = SnapshotSummary(keyCount: 0, byteCount: 0)
        try SnapshotFiles.writeAtomically(toPath: path) { (file: OutputFile) in
            summary = withoutActuallyEscaping(progress) { progress in
                encode(keyspace, createdAtMilliseconds: createdAtMilliseconds, producer: producer, to: file,
                       progress: progress)
            }
        }
        return summary
    }

    /// Produces the snapshot into `output`.
    static func encode(
        _ keyspace: Keyspace, createdAtMilliseconds: Int64, producer: String, to output: SnapshotOutput,
        progress: @escaping (_ bytesWritten: Int) -> Void = { _ in }
    ) -> SnapshotSummary {
        let encoder = SectionEncoder(output: output, progress: progress)
        var header = ByteSink()
        header.bytes = SnapshotFormat.magic
        header.littleEndian(SnapshotFormat.version)
        encoder.writeFileHeader(header.bytes)

        var info = ByteSink()
        info.varint(UInt64(max(0, createdAtMilliseconds)))
        info.varint(keyspace.databaseCount)
        info.string(Array(producer.utf8))
        info.bytes.withUnsafeBytes { encoder.writeSection(.info, prefix: [], body: $0) }

        var keyCount = 0
        var records = ByteSink()
        records.spill = { [unowned encoder] bytes in encoder.spillIfLarge(&bytes) }
        for index in 0..<keyspace.databaseCount {
            let database = keyspace[index]
            guard !database.isEmpty else { continue }
            encoder.database = index
            database.forEachEntry { key, value, deadline in
                encoder.recordStart = records.bytes.count
                records.byte(ValueCodec.typeCode(of: value).rawValue)
                records.byte(deadline == nil ? 0 : SnapshotFormat.hasDeadlineFlag)
                if let deadline { records.littleEndian(deadline) }
                records.string(key)
                ValueCodec.encodeBody(value, to: &records)
                keyCount += 1
                encoder.endRecord(&records.bytes)
            }
            encoder.closeKeysSection(&records.bytes)
        }

        var end = ByteSink()
        end.littleEndian(UInt64(keyCount))
        end.littleEndian(encoder.fileChecksum.value)
        end.bytes.withUnsafeBytes { encoder.writeSection(.end, prefix: [], body: $0) }
        return SnapshotSummary(keyCount: keyCount, byteCount: output.count)
    }
}

/// Frames sections and hands them to the output, keeping the whole-file checksum. Key records collect in a
/// caller-owned buffer until it holds about `keysSectionTargetBytes`, then go out as one KEYS section. A record
/// that alone outgrows that size (a big stream, list or set) is streamed instead, as a section of its own: its
/// header goes out with a zero length, the record follows as it is encoded, and the length is written back at
/// the end, so the writer's memory stays bounded whatever the size of a key.
///
/// Each byte is checksummed once: a section's CRC stands for its bytes in the file CRC (`CRC32C.appending`).
final class SectionEncoder {
    private let output: SnapshotOutput
    private let progress: (_ bytesWritten: Int) -> Void
    /// CRC of every byte handed to the output so far.
    private(set) var fileChecksum = CRC32C()
    /// Database of the KEYS sections being written.
    var database = 0
    /// Complete records in the buffer, not yet written.
    private var recordCount = 0
    /// Where the record being encoded starts in the buffer.
    var recordStart = 0
    /// The KEYS section being streamed, if any: where it starts in the output, the CRC and length of the payload
    /// written so far.
    private var streamed: (sectionStart: Int, payloadChecksum: CRC32C, payloadLength: Int)?

    init(output: SnapshotOutput, progress: @escaping (_ bytesWritten: Int) -> Void) {
        self.output = output
        self.progress = progress
    }

    func writeFileHeader(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            fileChecksum.update(raw)
            output.append(raw)
        }
    }

    /// A whole section: kind, length, `prefix` then `body` as the payload, CRC-32C.
    func writeSection(_ kind: SnapshotFormat.SectionKind, prefix: [UInt8], body: UnsafeRawBufferPointer) {
        var header = ByteSink()
        header.byte(kind.rawValue)
        header.littleEndian(UInt64(prefix.count + body.count))
        header.bytes += prefix
        var sectionChecksum = CRC32C()
        sectionChecksum.update(header.bytes)
        sectionChecksum.update(body)
        header.bytes.withUnsafeBytes { output.append($0) }
        output.append(body)
        finishSection(sectionChecksum, length: header.bytes.count + body.count)
    }

    /// Folds a section's CRC into the file's and writes it after the section.
    private func finishSection(_ sectionChecksum: CRC32C, length: Int) {
        fileChecksum = CRC32C.appending(sectionChecksum, ofLength: length, to: fileChecksum)
        withUnsafeBytes(of: sectionChecksum.value.littleEndian) { raw in
            fileChecksum.update(raw)
            output.append(raw)
        }
        progress(output.count)
    }

    private func keysPrefix(recordCount: Int) -> [UInt8] {
        var prefix = ByteSink()
        prefix.varint(database)
        prefix.varint(recordCount)
        return prefix.bytes
    }

    /// Writes the complete records of `buffer` as a KEYS section and empties it.
    func closeKeysSection(_ buffer: inout [UInt8]) {
        guard recordCount > 0 else { return }
        buffer.withUnsafeBytes { writeSection(.keys, prefix: keysPrefix(recordCount: recordCount), body: $0) }
        buffer.removeAll(keepingCapacity: true)
        recordCount = 0
    }

    /// The record that started at `recordStart` is complete.
    func endRecord(_ buffer: inout [UInt8]) {
        if let section = streamed {
            streamed = nil
            var payloadChecksum = section.payloadChecksum
            buffer.withUnsafeBytes { raw in
                payloadChecksum.update(raw)
                output.append(raw)
            }
            let payloadLength = section.payloadLength + buffer.count
            buffer.removeAll(keepingCapacity: true)
            var header = ByteSink()
            header.byte(SnapshotFormat.SectionKind.keys.rawValue)
            header.littleEndian(UInt64(payloadLength))
            header.bytes.withUnsafeBytes { output.overwrite(at: section.sectionStart, with: $0) }
            var sectionChecksum = CRC32C()
            sectionChecksum.update(header.bytes)
            sectionChecksum = CRC32C.appending(payloadChecksum, ofLength: payloadLength, to: sectionChecksum)
            finishSection(sectionChecksum, length: header.bytes.count + payloadLength)
            return
        }
        recordCount += 1
        if buffer.count >= SnapshotFormat.keysSectionTargetBytes { closeKeysSection(&buffer) }
    }

    /// Called while a value is encoded (after each stream block, list element or set member): once the record
    /// being encoded reaches `keysSectionTargetBytes`, writes the records before it as their own section and
    /// starts streaming this one; while streaming, writes out what the buffer holds past that size.
    func spillIfLarge(_ buffer: inout [UInt8]) {
        guard buffer.count - recordStart >= SnapshotFormat.keysSectionTargetBytes else { return }
        if var section = streamed {
            buffer.withUnsafeBytes { raw in
                section.payloadChecksum.update(raw)
                output.append(raw)
            }
            section.payloadLength += buffer.count
            streamed = section
            buffer.removeAll(keepingCapacity: true)
            return
        }
        if recordCount > 0 {
            buffer.withUnsafeBytes { raw in
                writeSection(.keys, prefix: keysPrefix(recordCount: recordCount),
                             body: UnsafeRawBufferPointer(rebasing: raw[..<recordStart]))
            }
            recordCount = 0
        }
        let sectionStart = output.count
        // The length is written back by endRecord.
        var header = ByteSink()
        header.byte(SnapshotFormat.SectionKind.keys.rawValue)
        header.littleEndian(UInt64(0))
        header.bytes.withUnsafeBytes { output.append($0) }
        let prefix = keysPrefix(recordCount: 1)
        var payloadChecksum = CRC32C()
        payloadChecksum.update(prefix)
        prefix.withUnsafeBytes { output.append($0) }
        buffer.withUnsafeBytes { raw in
            let record = UnsafeRawBufferPointer(rebasing: raw[recordStart...])
            payloadChecksum.update(record)
            output.append(record)
        }
        streamed = (sectionStart, payloadChecksum, prefix.count + buffer.count - recordStart)
        buffer.removeAll(keepingCapacity: true)
        recordStart = 0
    }
}

/// Where an encoded snapshot goes: bytes appended in order, and a streamed section's length written back.
protocol SnapshotOutput: AnyObject {
    /// Bytes appended so far.
    var count: Int { get }
    func append(_ bytes: UnsafeRawBufferPointer)
    /// Replaces already appended bytes.
    func overwrite(at offset: Int, with bytes: UnsafeRawBufferPointer)
}

/// A snapshot built in memory.
final class MemoryOutput: SnapshotOutput {
    var bytes: [UInt8] = []
    var count: Int { bytes.count }

    func append(_ chunk: UnsafeRawBufferPointer) { bytes.append(contentsOf: chunk) }

    func overwrite(at offset: Int, with chunk: UnsafeRawBufferPointer) {
        bytes.withUnsafeMutableBytes { raw in
            UnsafeMutableRawBufferPointer(rebasing: raw[offset..<offset + chunk.count]).copyMemory(from: chunk)
        }
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
        try writeAtomically(toPath: path) { (file: OutputFile) in
            produce { chunk in chunk.withUnsafeBytes { file.append($0) } }
        }
    }

    /// `writeAtomically` handing the open temporary file to `produce`; its first write error fails the whole.
    static func writeAtomically(toPath path: String, _ produce: (OutputFile) -> Void) throws(SnapshotError) {
        let folder = directory(of: path)
        let temporary = temporaryPath(in: folder)
        let file = try OutputFile(creating: temporary)
        produce(file)
        do throws(SnapshotError) {
            if let writeError = file.firstError { throw writeError }
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

/// A file opened for writing, with EINTR-safe full writes. Writes after a failure are skipped; the first failure
/// is kept for the caller to throw.
final class OutputFile: SnapshotOutput {
    private var descriptor: Int32
    private let path: String
    private(set) var count = 0
    private(set) var firstError: SnapshotError?

    init(creating path: String) throws(SnapshotError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw SnapshotFiles.systemError("open \(path)") }
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        if writeFully(bytes, at: nil) { count += bytes.count }
    }

    func overwrite(at offset: Int, with bytes: UnsafeRawBufferPointer) {
        _ = writeFully(bytes, at: offset)
    }

    /// write(2) at the end, or pwrite(2) at `offset`, until every byte is written.
    private func writeFully(_ bytes: UnsafeRawBufferPointer, at offset: Int?) -> Bool {
        guard firstError == nil else { return false }
        var written = 0
        while written < bytes.count {
            // A non-empty buffer has a base address.
            let start = bytes.baseAddress! + written
            let result = offset.map { pwrite(descriptor, start, bytes.count - written, off_t($0 + written)) }
                ?? Glibc.write(descriptor, start, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                firstError = SnapshotFiles.systemError("write \(path)")
                return false
            }
            written += result
        }
        return true
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
