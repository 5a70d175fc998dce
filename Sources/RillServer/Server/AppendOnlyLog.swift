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

/// The append-only file being written, the change feed's first subscriber: it receives each command's deterministic
/// effects already encoded (RillPersistence's AppendOnlyFileWriter; plain RESP that `redis-cli --pipe` can feed to
/// Redis), so replaying the file at any later time rebuilds the same state, and owns writing and fsyncing them.
///
/// Invariants: `pending` holds whole commands only, and whole transactions (the feed hands over nothing less), so
/// a write never splits one; `needsSync` is set while bytes are written but not yet fsynced. Used only on the event
/// loop, except `needsSync` and `stopped` (guarded by `syncLock`), shared with the everysec thread.
final class AppendOnlyLog: ChangeFeedSubscriber {
    /// Path of the file.
    let path: String
    private let descriptor: Int32
    /// Encoded commands not yet written to the file; empty after each flush.
    private var pending: [UInt8] = []
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
            throw AppendOnlyLogError("can't open the append only file \(path): \(lastSystemErrorText())")
        }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Takes whole commands from the change feed; they reach the file at the next `flush`.
    /// - Complexity: O(commands.count).
    func receive(_ commands: UnsafeRawBufferPointer) {
        pending.append(contentsOf: commands)
    }

    var hasPendingBytes: Bool { !pending.isEmpty }
    /// Bytes encoded but not yet written (INFO aof_buffer_length).
    var pendingByteCount: Int { pending.count }

    /// Writes the pending bytes; with `fsync` also forces them (and anything written before) to the disk.
    /// - Throws: `AppendOnlyLogError` when the write or fsync fails; unwritten bytes stay pending.
    func flush(fsync forceToDisk: Bool) throws {
        let writing = !pending.isEmpty
        if writing {
            var written = 0
            while written < pending.count {
                let result = pending.withUnsafeBytes { bytes in
                    write(descriptor, bytes.baseAddress! + written, bytes.count - written)  // non-empty: checked above
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    let reason = lastSystemErrorText()
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
                throw AppendOnlyLogError("error fsyncing the append only file: \(lastSystemErrorText())")
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
                    logger.warning("Error fsyncing the append only file: \(lastSystemErrorText())")
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
