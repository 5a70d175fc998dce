#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import Logging
import NIOCore
import RillCore
import RillPersistence

/// The append-only file being written: plain RESP that `redis-cli --pipe` can feed to Redis. Each command that
/// ran is recorded as its deterministic effect (see Commands/Propagation.swift for what is rewritten and what is
/// recorded as sent), so replaying the file at any later time rebuilds the same state.
///
/// Invariants: `pending` holds whole commands only (a batch is never split between two writes); `unsyncedBytes`
/// counts bytes written but not yet fsynced. Used only on the event loop, except `syncState` (guarded by
/// `syncLock`) shared with the everysec thread.
final class AppendOnlyLog {
    /// Path of the file.
    let path: String
    private let descriptor: Int32
    /// Encoded commands not yet written to the file; empty after each flush.
    private var pending: [UInt8] = []
    /// Database selected by the last SELECT in the file; -1 before the first, so the first command gets one.
    private var selectedDatabase = -1
    /// Inside EXEC: MULTI is written before the transaction's first logged command, EXEC after its last.
    private var inTransaction = false
    private var transactionOpened = false
    /// Set by the event loop when bytes were written; cleared by whoever fsyncs them.
    private let syncLock = NIOLock()
    private var needsSync = false
    private var stopped = false
    /// Whether the everysec thread runs (started once, on first need; it stops with the log).
    private var backgroundSyncStarted = false

    /// Opens (creating the directory and file if needed) the log for appending.
    init(path: String, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AppendOnlyLogError("can't open the append only file \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Appends one command run by a client of `database`.
    /// - Complexity: O(bytes of the arguments).
    func append(_ arguments: [ByteBuffer], database: Int) {
        if inTransaction && !transactionOpened {
            transactionOpened = true
            encodeArray([Array("MULTI".utf8)])
        }
        if database != selectedDatabase {
            selectedDatabase = database
            encodeArray([Array("SELECT".utf8), Array(String(database).utf8)])
        }
        encodeArrayHeader(arguments.count)
        for argument in arguments { argument.withUnsafeReadableBytes { encodeBulkString($0) } }
    }

    func beginTransaction() {
        inTransaction = true
        transactionOpened = false
    }

    func endTransaction() {
        if transactionOpened { encodeArray([Array("EXEC".utf8)]) }
        inTransaction = false
        transactionOpened = false
    }

    private func encodeArray(_ arguments: [[UInt8]]) {
        encodeArrayHeader(arguments.count)
        for argument in arguments { argument.withUnsafeBytes { encodeBulkString($0) } }
    }

    private func encodeArrayHeader(_ count: Int) {
        pending.append(UInt8(ascii: "*"))
        pending.append(contentsOf: String(count).utf8)
        pending.append(contentsOf: [13, 10])
    }

    private func encodeBulkString(_ bytes: UnsafeRawBufferPointer) {
        pending.append(UInt8(ascii: "$"))
        pending.append(contentsOf: String(bytes.count).utf8)
        pending.append(contentsOf: [13, 10])
        pending.append(contentsOf: bytes)
        pending.append(contentsOf: [13, 10])
    }

    var hasPendingBytes: Bool { !pending.isEmpty }
    /// Bytes encoded but not yet written (INFO aof_buffer_length).
    var pendingByteCount: Int { pending.count }

    /// Writes the pending bytes; with `fsync` also forces them (and anything written before) to the disk.
    /// A transaction in progress is never cut: its bytes wait for EXEC's end.
    /// - Throws: `AppendOnlyLogError` when the write or fsync fails; unwritten bytes stay pending.
    func flush(fsync forceToDisk: Bool) throws {
        if inTransaction { return }
        let writing = !pending.isEmpty
        if writing {
            var written = 0
            while written < pending.count {
                let result = pending.withUnsafeBytes { bytes in
                    write(descriptor, bytes.baseAddress! + written, bytes.count - written)  // non-empty: checked above
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    pending.removeFirst(written)
                    throw AppendOnlyLogError("error writing to the append only file: \(reason)")
                }
                written += result
            }
            pending.removeAll(keepingCapacity: pending.capacity <= 1 << 20)
            syncLock.withLock { needsSync = true }
        }
        if forceToDisk {
            // Bytes written just now are fsynced here even if the everysec thread (after a CONFIG SET) already
            // took the flag: their replies must not leave before the fsync returns.
            let wanted = syncLock.withLock { () -> Bool in
                defer { needsSync = false }
                return needsSync
            }
            // fdatasync, as Redis on Linux: the data and the size that reads of it need, without other metadata.
            if (writing || wanted) && fdatasync(descriptor) != 0 {
                throw AppendOnlyLogError("error fsyncing the append only file: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// `appendfsync everysec`: a thread that fsyncs written bytes about once a second, off the event loop.
    func startBackgroundSync(logger: Logger) {
        guard !backgroundSyncStarted else { return }
        backgroundSyncStarted = true
        let descriptor = self.descriptor
        startDetachedThread { [weak self] in
            while true {
                sleep(1)
                guard let self else { return }
                let wanted = self.syncLock.withLock { () -> Bool? in
                    if self.stopped { return nil }
                    defer { self.needsSync = false }
                    return self.needsSync
                }
                guard let wanted else { return }
                if wanted && fdatasync(descriptor) != 0 {
                    logger.warning("Error fsyncing the append only file: \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    func stopBackgroundSync() {
        syncLock.withLock { stopped = true }
    }
}

struct AppendOnlyLogError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
