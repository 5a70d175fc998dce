#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import Logging
import RillCore
import RillPersistence

/// Snapshot bookkeeping, as INFO persistence and LASTSAVE report it.
struct SnapshotState {
    /// Unix seconds of the last successful save, or of start-up before any (LASTSAVE, rdb_last_save_time).
    var lastSaveSeconds: Int64 = 0
    /// Unix milliseconds at which the running background save copied the keyspace; nil when none runs.
    var backgroundSaveStartedAt: Int64?
    /// BGSAVE SCHEDULE (or BGSAVE inside EXEC) while another background job ran: the cron starts it later.
    var backgroundSaveScheduled = false
    /// `dirty` when the running background save copied the keyspace: changes after it still need saving.
    var dirtyAtBackgroundSaveStart: Int64 = 0
    /// Whether the latest background save succeeded (rdb_last_bgsave_status); true before any, and after a
    /// successful SAVE. False refuses writes with MISCONF under `stop-writes-on-bgsave-error`.
    var lastSaveSucceeded = true
    /// Whole seconds the latest background save took; -1 before any (rdb_last_bgsave_time_sec).
    var lastBackgroundSaveSeconds: Int64 = -1
    /// Unix milliseconds of the latest failed save attempt, 0 if none: automatic saves wait
    /// `retryDelayMilliseconds` after a failure, as Redis does.
    var lastFailedAttemptAt: Int64 = 0
    /// Microseconds the event loop was paused copying the keyspace for the latest background save (Redis'
    /// latest_fork_usec, the equivalent pause); 0 before any.
    var lastCopyPauseMicroseconds: Int64 = 0
    /// Background saves completed successfully since start-up (rdb_saves).
    var savesCompleted: Int64 = 0
    /// Keys loaded, and keys skipped as expired, by the last snapshot load (INFO rdb_last_load_keys_loaded,
    /// rdb_last_load_keys_expired); 0 before any.
    var lastLoadKeysLoaded: Int64 = 0
    var lastLoadKeysExpired: Int64 = 0
    /// Entered while a background save runs, left when it finishes: SHUTDOWN waits on it so that an older
    /// snapshot never replaces the final one.
    let backgroundSaveGroup = DispatchGroup()

    /// Redis' CONFIG_BGSAVE_RETRY_DELAY.
    static let retryDelayMilliseconds: Int64 = 5000

    var backgroundSaveInProgress: Bool { backgroundSaveStartedAt != nil }
}

extension PersistenceCoordinator {
    /// SAVE (and SHUTDOWN): writes the snapshot on the event loop. Returns whether it succeeded; failures are
    /// logged.
    func saveSynchronously() -> Bool {
        let started = Clock.monotonicNanoseconds()
        do {
            let summary = try RDBFileWriter.write(
                keyspace, toPath: configuration.snapshotPath, options: snapshotOptions(createdAt: Clock.milliseconds()))
            changes.dirty = 0
            snapshots.lastSaveSeconds = Clock.milliseconds() / 1000
            snapshots.lastSaveSucceeded = true
            let milliseconds = (Clock.monotonicNanoseconds() - started) / 1_000_000
            logger.notice("DB saved on disk (\(summary.keyCount) keys, \(summary.byteCount) bytes, \(milliseconds) ms)")
            return true
        } catch {
            // As in Redis, only background saves set rdb_last_bgsave_status (and so stop writes) when they fail.
            logger.warning("Failed saving the DB: \(error)")
            return false
        }
    }

    /// BGSAVE: copies the keyspace value and serialises the copy on a background thread (`runOnKeyspaceCopy`).
    /// Returns false when a background save is already running.
    @discardableResult
    func startBackgroundSave() -> Bool {
        guard !snapshots.backgroundSaveInProgress else { return false }
        snapshots.backgroundSaveScheduled = false
        let startedAt = Clock.milliseconds()
        snapshots.backgroundSaveStartedAt = startedAt
        snapshots.dirtyAtBackgroundSaveStart = changes.dirty
        let path = configuration.snapshotPath
        let options = snapshotOptions(createdAt: startedAt)
        let pause = runOnKeyspaceCopy(group: snapshots.backgroundSaveGroup, { copy in
            Result { () throws(SnapshotError) -> SnapshotSummary in
                try RDBFileWriter.write(copy, toPath: path, options: options)
            }
        }, finished: { coordinator, result in coordinator.backgroundSaveFinished(result, startedAt: startedAt) })
        snapshots.lastCopyPauseMicroseconds = pause
        logger.notice("Background saving started (keyspace copied in \(pause) microseconds)")
        return true
    }

    /// What a snapshot file taken at `createdAt` (Unix ms) holds besides the keys, and how it is encoded
    /// (`rdbcompression`, `rdbchecksum`).
    func snapshotOptions(createdAt: Int64, isAppendOnlyBase: Bool = false) -> RDBFileOptions {
        RDBFileOptions(
            compress: configuration.snapshotCompression, checksum: configuration.snapshotChecksum,
            createdAtMilliseconds: createdAt, usedMemoryBytes: Allocator.statistics().allocated,
            isAppendOnlyBase: isAppendOnlyBase, redisVersion: announcedRedisVersion, rillVersion: rillVersion)
    }

    /// The background half of BGSAVE and BGREWRITEAOF: copies the keyspace value on the event loop (copy-on-write:
    /// O(databases) now, with each database's tables copied by the first later write to it), runs `work` on the
    /// copy on a new thread, then `finished` with its outcome back on the event loop. `group`, when given, is
    /// entered now and left as soon as `work` returns. Returns the microseconds the copy held the event loop.
    func runOnKeyspaceCopy<Outcome>(
        group: DispatchGroup? = nil, _ work: @escaping (Keyspace) -> Outcome,
        finished: @escaping (PersistenceCoordinator, Outcome) -> Void
    ) -> Int64 {
        let copyStarted = Clock.monotonicNanoseconds()
        let copy = keyspace
        let pause = Int64(Clock.monotonicNanoseconds() - copyStarted) / 1000
        group?.enter()
        let eventLoop = self.eventLoop
        startDetachedThread { [weak self] in
            let outcome = work(copy)
            // Left here, not on the event loop: SHUTDOWN blocks the event loop waiting for the file to be complete.
            group?.leave()
            eventLoop.execute {
                guard let self else { return }
                finished(self, outcome)
            }
        }
        return pause
    }

    private func backgroundSaveFinished(_ result: Result<SnapshotSummary, SnapshotError>, startedAt: Int64) {
        let now = Clock.milliseconds()
        snapshots.backgroundSaveStartedAt = nil
        snapshots.lastBackgroundSaveSeconds = (now - startedAt) / 1000
        switch result {
        case .success(let summary):
            changes.dirty -= snapshots.dirtyAtBackgroundSaveStart
            snapshots.lastSaveSeconds = now / 1000
            snapshots.lastSaveSucceeded = true
            snapshots.savesCompleted += 1
            logger.notice("DB saved on disk (\(summary.keyCount) keys, \(summary.byteCount) bytes, \(now - startedAt) ms)")
            logger.notice("Background saving terminated with success")
        case .failure(let error):
            snapshots.lastSaveSucceeded = false
            snapshots.lastFailedAttemptAt = now
            logger.warning("Background saving error: \(error)")
        }
    }

    /// Called by the cron: starts a background save when a `save` point is reached (strictly more seconds than the
    /// point's, as Redis compares).
    func checkSavePoints(now: Int64) {
        guard !backgroundJobInProgress, changes.dirty > 0 else { return }
        let sinceLastSave = now / 1000 - snapshots.lastSaveSeconds
        let mayRetry = snapshots.lastSaveSucceeded
            || now - snapshots.lastFailedAttemptAt > SnapshotState.retryDelayMilliseconds
        guard mayRetry else { return }
        for point in configuration.savePoints where changes.dirty >= Int64(point.changes) && sinceLastSave > Int64(point.seconds) {
            logger.notice("\(point.changes) changes in \(point.seconds) seconds. Saving...")
            startBackgroundSave()
            return
        }
    }

    /// The snapshot SHUTDOWN (and SIGTERM) takes: with `save` true always, with nil when save points exist, with
    /// false never. Waits for a running background save first. Returns false when a required save failed.
    func saveBeforeShutdown(_ save: Bool?) -> Bool {
        if snapshots.backgroundSaveInProgress {
            logger.warning("There is a background save in progress: waiting for it before saving the final snapshot")
            // Only the file write is awaited: its bookkeeping is queued on this (blocked) event loop and is
            // irrelevant at exit.
            snapshots.backgroundSaveGroup.wait()
        }
        let wanted = save ?? !configuration.savePoints.isEmpty
        guard wanted else { return true }
        logger.notice("Saving the final RDB snapshot before exiting.")
        return saveSynchronously()
    }

    /// Loads `dir/dbfilename` if it exists, logging progress. Returns false (after logging why) when the file
    /// exists but cannot be loaded: the server must not start with partial data.
    func loadSnapshotAtStartup() -> Bool {
        let path = configuration.snapshotPath
        guard FileManager.default.fileExists(atPath: path) else { return true }
        guard loadSnapshotFile(path: path, skippingExpiredKeys: true) else { return false }
        snapshots.lastSaveSeconds = Clock.milliseconds() / 1000
        return true
    }

    /// Replaces the keyspace with the snapshot at `path`, logging progress. Keys past their deadline are dropped
    /// when `skippingExpiredKeys`; an append-only base keeps them, since the commands replayed after it run at
    /// their recorded times and may still see them. Returns false (after logging why) when it cannot be loaded.
    func loadSnapshotFile(path: String, skippingExpiredKeys: Bool) -> Bool {
        let started = Clock.monotonicNanoseconds()
        var lastReport = started
        do {
            let result = try SnapshotLoader.load(
                path: path, databaseCount: configuration.databases,
                nowMilliseconds: skippingExpiredKeys ? Clock.milliseconds() : nil
            ) { progress in
                let now = Clock.monotonicNanoseconds()
                guard now - lastReport >= 1_000_000_000 else { return }
                lastReport = now
                let percent = progress.totalBytes > 0 ? progress.bytesRead * 100 / progress.totalBytes : 100
                logger.notice("Loading \(path): \(percent)% (\(progress.keysLoaded) keys)")
            }
            keyspace = result.keyspace
            snapshots.lastLoadKeysLoaded = Int64(result.keyCount - result.expiredKeysSkipped)
            snapshots.lastLoadKeysExpired = Int64(result.expiredKeysSkipped)
            let seconds = Double(Clock.monotonicNanoseconds() - started) / 1e9
            let megabytesPerSecond = seconds > 0 ? Double(result.byteCount) / 1_048_576 / seconds : 0
            let age = max(0, Clock.milliseconds() - result.createdAtMilliseconds) / 1000
            logger.notice("Loading snapshot produced by \(result.producer), created at \(result.createdAtMilliseconds / 1000) (RDB age \(age) seconds)")
            logger.notice("Done loading RDB, keys loaded: \(result.keyCount - result.expiredKeysSkipped), keys expired: \(result.expiredKeysSkipped), stream entries: \(result.streamEntryCount).")
            logger.notice("DB loaded from disk (\(path)): \(fixedPointText(seconds, fractionDigits: 3)) seconds (\(fixedPointText(megabytesPerSecond, fractionDigits: 1)) MB/s)")
            return true
        } catch {
            logger.warning("Fatal error loading the DB (\(path)): \(error). Exiting.")
            return false
        }
    }
}
