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
/// A failed write or fsync (a full disk, an I/O error) loses nothing: the bytes stay pending and the file is cut
/// back to `committedSize`, so the next flush writes them again whole, as if the failed attempt never happened.
/// Cutting back after a failed fsync matters too: Linux may drop the dirty pages after a writeback error and
/// report the next fsync as a success, so only bytes written again after the failure are trusted.
///
/// Invariants: `pending` holds whole commands only, and whole transactions (the feed hands over nothing less), so
/// a write never splits one; the file is `committedSize` bytes long plus, between a failure and the next flush,
/// part of `pending`; `needsSync` is set while bytes are written but not yet fsynced. Used only on the event
/// loop, except `needsSync`, `stopped` and `backgroundSyncFailure` (guarded by `syncLock`), shared with the
/// everysec thread.
final class AppendOnlyLog: ChangeFeedSubscriber {
    /// Path of the file.
    let path: String
    private let descriptor: Int32
    /// Encoded commands not yet committed to the file: not yet written, or under `always` written but not yet
    /// fsynced; empty after each successful flush.
    private var pending: [UInt8] = []
    /// Bytes of the file whose commands are acknowledged: written, and fsynced when the flush asked for it. The
    /// file's size at opening, then grown by each successful flush.
    private var committedSize: Int64
    /// Set when a write or fsync failed: the file may hold bytes past `committedSize` that the next flush cuts
    /// off before writing `pending` again.
    private var tailNeedsCutting = false
    /// Set by the event loop when bytes were written; cleared by whoever fsyncs them.
    private let syncLock = NIOLock()
    private var needsSync = false
    private var stopped = false
    /// The errno of the everysec thread's latest fsync when it failed; nil when it succeeded (or before any).
    private var backgroundSyncFailure: Int32?
    /// Whether the everysec thread runs (started once, on first need; it stops with the log).
    private var backgroundSyncStarted = false

    /// Opens (creating the directory and file if needed) the log for appending.
    init(path: String, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AppendOnlyLogError("can't open the append only file \(path): \(lastSystemErrorText())")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = lastSystemErrorText()
            close(descriptor)
            throw AppendOnlyLogError("can't read the size of the append only file \(path): \(reason)")
        }
        self.path = path
        self.descriptor = descriptor
        self.committedSize = Int64(status.st_size)
    }

    deinit { close(descriptor) }

    /// Takes whole commands from the change feed; they reach the file at the next `flush`.
    /// - Complexity: O(commands.count).
    func receive(_ commands: UnsafeRawBufferPointer) {
        pending.append(contentsOf: commands)
    }

    var hasPendingBytes: Bool { !pending.isEmpty }
    /// Bytes encoded but not yet committed to the file (INFO aof_buffer_length).
    var pendingByteCount: Int { pending.count }

    /// Writes the pending bytes; with `fsync` also forces them (and anything written before) to the disk.
    /// `written`, when given, runs between the write and the fsync (LATENCY times them apart).
    /// - Throws: `AppendOnlyLogError` when the write or fsync fails; the bytes stay pending and the file is cut
    ///   back before the next attempt.
    func flush(fsync forceToDisk: Bool, written: (() -> Void)? = nil) throws(AppendOnlyLogError) {
        if tailNeedsCutting {
            guard ftruncate(descriptor, off_t(committedSize)) == 0 else {
                throw AppendOnlyLogError(systemError: errno, "can't cut the append only file back to its last "
                                         + "complete write: \(lastSystemErrorText())")
            }
            tailNeedsCutting = false
        }
        let writing = !pending.isEmpty
        if writing {
            var count = 0
            while count < pending.count {
                let result = pending.withUnsafeBytes { bytes in
                    write(descriptor, bytes.baseAddress! + count, bytes.count - count)  // non-empty: checked above
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    if count > 0 {
                        // Cut the part written now, as Redis does, so a crash before the retry leaves no half
                        // command; if that fails too, the next flush tries again first.
                        tailNeedsCutting = ftruncate(descriptor, off_t(committedSize)) != 0
                        throw AppendOnlyLogError(
                            systemError: code,
                            "Short write while writing to the AOF file: (nwritten=\(count), expected=\(pending.count))")
                    }
                    throw AppendOnlyLogError(systemError: code, "Error writing to the AOF file: \(systemErrorText(code))")
                }
                count += result
            }
            syncLock.withLock { needsSync = true }
        }
        written?()
        if forceToDisk {
            // Bytes written just now are fsynced here even if the everysec thread (after a CONFIG SET) already
            // took the flag: their replies must not leave before the fsync returns.
            let wanted = syncLock.withLock { () -> Bool in
                defer { needsSync = false }
                return needsSync
            }
            // fdatasync, as Redis on Linux: the data and the size that reads of it need, without other metadata.
            if (writing || wanted) && fdatasync(descriptor) != 0 {
                let code = errno
                tailNeedsCutting = writing
                syncLock.withLock { needsSync = true }
                throw AppendOnlyLogError(systemError: code, "Error fsyncing the AOF file: \(systemErrorText(code))")
            }
        }
        if writing {
            committedSize += Int64(pending.count)
            pending.removeAll(keepingCapacity: pending.capacity <= 1 << 20)
        }
    }

    /// `appendfsync everysec`: a thread that fsyncs written bytes about once a second, off the event loop. A failed
    /// fsync is retried the next second; `failureChanged` hears (on this thread) when fsyncs start failing, with
    /// the errno, and when one succeeds again, with nil.
    func startBackgroundSync(failureChanged: @escaping (Int32?) -> Void) {
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
                guard wanted else { continue }
                let failure: Int32? = fdatasync(descriptor) == 0 ? nil : errno
                let changed = self.syncLock.withLock { () -> Bool in
                    if failure != nil { self.needsSync = true }
                    defer { self.backgroundSyncFailure = failure }
                    return self.backgroundSyncFailure != failure
                }
                if changed { failureChanged(failure) }
            }
        }
    }

    func stopBackgroundSync() {
        syncLock.withLock { stopped = true }
    }
}

/// A failed operation on the append-only file: the log line, and the errno when the system refused (MISCONF
/// names its text).
struct AppendOnlyLogError: Error, CustomStringConvertible {
    let description: String
    let systemError: Int32?
    init(_ description: String) {
        self.description = description
        self.systemError = nil
    }
    init(systemError: Int32, _ description: String) {
        self.description = description
        self.systemError = systemError
    }
}
