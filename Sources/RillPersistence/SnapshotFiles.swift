#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What writing a snapshot produced.
public struct SnapshotSummary: Sendable, Hashable {
    /// Keys written.
    public var keyCount: Int
    /// Size of the file (or encoded bytes).
    public var byteCount: Int
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
        return (directory == "" ? "" : directory + "/") + "temp-\(getpid())-\(number).rdb"
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

    /// Whether `name` is a temporary file left in a directory by an interrupted atomic write (`.rill` ones come
    /// from Rill versions that wrote RILLSNAP files).
    public static func isTemporaryFileName(_ name: String) -> Bool {
        name.hasPrefix("temp-") && (name.hasSuffix(".rdb") || name.hasSuffix(".rill"))
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
