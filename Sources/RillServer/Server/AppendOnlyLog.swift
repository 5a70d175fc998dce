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
/// Under `appendfsync always` the event loop writes and a worker thread fdatasyncs (`fsyncOnWorker`) while the loop
/// serves the next requests: written bytes stay in `pending` until that fsync returns, so a failed fsync can write
/// them again after cutting the file back.
///
/// Invariants: `pending` holds whole commands only, and whole transactions (the feed hands over nothing less), so
/// a write never splits one; the file is `committedSize` bytes long plus the first `writtenPendingCount` bytes of
/// `pending` (or, between a failure and the next write, part of them); `needsSync` is set while bytes are written
/// but not yet fsynced. Used only on the event loop, except `needsSync`, `stopped` and `backgroundSyncFailure`
/// (guarded by `syncLock`), shared with the everysec thread, and the fsync worker's request (`fsyncWorker`).
final class AppendOnlyLog: ChangeFeedSubscriber {
    /// Path of the file.
    let path: String
    private let descriptor: Int32
    /// Encoded commands not yet committed to the file: not yet written, or under `always` written but not yet
    /// fsynced; empty after each successful flush.
    private var pending: [UInt8] = []
    /// How many of `pending`'s first bytes are in the file, awaiting the worker's fsync that commits them.
    private var writtenPendingCount = 0
    /// Bytes of the file whose commands are acknowledged: written, and fsynced when the flush asked for it. The
    /// file's size at opening, then grown by each successful flush or worker fsync.
    private(set) var committedSize: Int64
    /// Set when a write or fsync failed: the file may hold bytes past `committedSize` that the next flush cuts
    /// off before writing `pending` again.
    private var tailNeedsCutting = false
    /// Counts the failures that dropped written bytes (cut back to `committedSize`, to be written again): a worker
    /// fsync requested before one of them covers bytes that are no longer in the file, so its success commits
    /// nothing.
    private(set) var writeFailureCount = 0
    /// The `appendfsync always` worker thread, started on the first `fsyncOnWorker`.
    private var fsyncWorker: FsyncWorker?
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

    deinit {
        // A queued or running worker fsync holds the log, so none can use the descriptor after this.
        fsyncWorker?.stop()
        close(descriptor)
    }

    /// Takes whole commands from the change feed; they reach the file at the next `flush`.
    /// - Complexity: O(commands.count).
    func receive(_ commands: UnsafeRawBufferPointer) {
        pending.append(contentsOf: commands)
    }

    var hasPendingBytes: Bool { !pending.isEmpty }
    /// Bytes encoded but not yet committed to the file (INFO aof_buffer_length).
    var pendingByteCount: Int { pending.count }
    /// Where the file ends once everything received so far is written: the position an fsync must reach before the
    /// replies given now may leave.
    var receivedEnd: Int64 { committedSize + Int64(pending.count) }

    /// Writes the pending bytes; with `fsync` also forces them (and anything written before) to the disk.
    /// `written`, when given, runs between the write and the fsync (LATENCY times them apart).
    /// - Throws: `AppendOnlyLogError` when the write or fsync fails; the bytes stay pending and the file is cut
    ///   back before the next attempt.
    func flush(fsync forceToDisk: Bool, written: (() -> Void)? = nil) throws(AppendOnlyLogError) {
        try writeUnwrittenBytes()
        written?()
        if forceToDisk {
            // Bytes written just now are fsynced here even if the everysec thread (after a CONFIG SET) already
            // took the flag: their replies must not leave before the fsync returns. Bytes the worker is fsyncing
            // are fsynced here again: this call's caller cannot wait for the worker.
            let wanted = syncLock.withLock { () -> Bool in
                defer { needsSync = false }
                return needsSync
            }
            // fdatasync, as Redis on Linux: the data and the size that reads of it need, without other metadata.
            if (!pending.isEmpty || wanted) && fdatasync(descriptor) != 0 {
                let code = errno
                if !pending.isEmpty { dropWrittenBytes() }
                syncLock.withLock { needsSync = true }
                throw AppendOnlyLogError(systemError: code, "Error fsyncing the AOF file: \(systemErrorText(code))")
            }
        }
        committedSize += Int64(pending.count)
        pending.removeAll(keepingCapacity: pending.capacity <= 1 << 20)
        writtenPendingCount = 0
    }

    /// Writes the pending bytes not written yet, without fsyncing them (the worker's fsync or `flush` commits them).
    /// - Throws: `AppendOnlyLogError` when the write fails; the file is cut back (now or before the next write) to
    ///   `committedSize` and every pending byte is written again next time.
    func writeUnwrittenBytes() throws(AppendOnlyLogError) {
        if tailNeedsCutting {
            guard ftruncate(descriptor, off_t(committedSize)) == 0 else {
                throw AppendOnlyLogError(systemError: errno, "can't cut the append only file back to its last "
                                         + "complete write: \(lastSystemErrorText())")
            }
            tailNeedsCutting = false
        }
        guard writtenPendingCount < pending.count else { return }
        let writtenBefore = writtenPendingCount
        while writtenPendingCount < pending.count {
            let result = pending.withUnsafeBytes { bytes in
                // Non-empty: checked by the loop's condition.
                write(descriptor, bytes.baseAddress! + writtenPendingCount, bytes.count - writtenPendingCount)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                let writtenNow = writtenPendingCount - writtenBefore
                if writtenPendingCount > 0 {
                    // Cut what is past the last commit, as Redis cuts a short write, so a crash before the retry
                    // leaves no half command; if that fails too, the next write tries again first.
                    dropWrittenBytes()
                    tailNeedsCutting = ftruncate(descriptor, off_t(committedSize)) != 0
                }
                if writtenNow > 0 {
                    throw AppendOnlyLogError(
                        systemError: code,
                        "Short write while writing to the AOF file: (nwritten=\(writtenNow), expected=\(pending.count - writtenBefore))")
                }
                throw AppendOnlyLogError(systemError: code, "Error writing to the AOF file: \(systemErrorText(code))")
            }
            writtenPendingCount += result
        }
        syncLock.withLock { needsSync = true }
    }

    /// After a failed write or fsync: the bytes past `committedSize` are not trusted (Linux may drop the dirty pages
    /// of a failed writeback and report the next fsync as a success), so the next write cuts them and writes them
    /// again.
    private func dropWrittenBytes() {
        tailNeedsCutting = true
        writtenPendingCount = 0
        writeFailureCount += 1
    }

    /// `appendfsync always` off the event loop: fdatasyncs the file on the worker thread, then calls `finished` there
    /// with nil or the errno. It covers what was written (`writeUnwrittenBytes`) before the call: the caller
    /// remembers `receivedEnd` and `writeFailureCount` and hands them to `fsyncSucceeded` or `fsyncFailed`. One
    /// at a time: the caller waits for `finished` before asking again.
    func fsyncOnWorker(finished: @escaping (Int32?) -> Void) {
        let worker: FsyncWorker
        if let fsyncWorker {
            worker = fsyncWorker
        } else {
            worker = FsyncWorker()
            fsyncWorker = worker
        }
        // The job holds the log, so the descriptor stays open until the fsync returned.
        worker.run { [self] in finished(fdatasync(descriptor) == 0 ? nil : errno) }
    }

    /// The worker's fsync of everything written before `end` returned: those bytes are committed, unless a failure
    /// since (`failuresBefore` differs) cut them off or a `flush` committed them already.
    func fsyncSucceeded(coveringUpTo end: Int64, failuresBefore: Int) {
        let count = Int(end - committedSize)
        guard failuresBefore == writeFailureCount, count > 0, count <= writtenPendingCount else { return }
        pending.removeFirst(count)
        writtenPendingCount -= count
        committedSize = end
    }

    /// The worker's fsync failed: what was written is written again (after a cut) by the next attempt.
    func fsyncFailed(failuresBefore: Int) {
        guard failuresBefore == writeFailureCount else { return }
        dropWrittenBytes()
        syncLock.withLock { needsSync = true }
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
        fsyncWorker?.stop()
    }
}

/// The thread of `AppendOnlyLog.fsyncOnWorker`: runs one job at a time, handed over through a condition lock
/// (true while a job or the stop waits), and ends once stopped.
private final class FsyncWorker {
    private let requests = ConditionLock(value: false)
    private var job: (() -> Void)?
    private var stopping = false

    init() {
        startDetachedThread { [requests = self.requests, worker = self] in
            while true {
                requests.lock(whenValue: true)
                let job = worker.job
                worker.job = nil
                let stopping = worker.stopping
                requests.unlock(withValue: false)
                job?()
                if stopping { return }
            }
        }
    }

    func run(_ job: @escaping () -> Void) {
        requests.lock()
        self.job = job
        requests.unlock(withValue: true)
    }

    func stop() {
        requests.lock()
        stopping = true
        requests.unlock(withValue: true)
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
