#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import RillCore
import RillPersistence

/// The multi-part append-only file (see AppendOnlyManifest.swift) and its rewriting, as INFO persistence reports
/// it.
struct AppendOnlyRewriteState {
    /// The manifest on disk; nil before one was read or written.
    var manifest: AppendOnlyManifest?
    /// Unix milliseconds at which the running rewrite copied the keyspace; nil when none runs.
    var startedAt: Int64?
    /// BGREWRITEAOF arrived while a background save ran (or inside EXEC): the cron starts it later.
    var scheduled = false
    /// Whole seconds the latest rewrite took; -1 before any (aof_last_rewrite_time_sec).
    var lastRewriteSeconds: Int64 = -1
    /// Whether the latest rewrite succeeded (aof_last_bgrewrite_status); true before any.
    var lastSucceeded = true
    /// Rewrites started since start-up (aof_rewrites).
    var rewritesStarted: Int64 = 0
    /// Failed rewrites since the last successful one (aof_rewrites_consecutive_failures).
    var consecutiveFailures: Int64 = 0
    /// Microseconds the event loop was paused copying the keyspace for the latest rewrite.
    var lastCopyPauseMicroseconds: Int64 = 0
    /// Bytes of the base and of every incremental file except the one being written.
    var closedFilesSize: Int64 = 0
    /// Total size when the last rewrite finished, or after loading at start-up (aof_base_size): automatic
    /// rewrites measure growth against it.
    var sizeAtLastRewrite: Int64 = 0
    /// Unix milliseconds before which automatic rewrites wait after failures.
    var automaticRetryNotBefore: Int64 = 0
    /// `CONFIG SET appendonly yes` turned the file on and its first base is not installed yet: the incremental
    /// file being written stays out of the manifest on disk (the files listed there are older than the keyspace,
    /// so a crash must load them alone, not followed by it), and a failed rewrite is retried.
    var awaitingFirstBase = false

    var inProgress: Bool { startedAt != nil }

    /// First wait of automatic rewrites after a failure, doubled per consecutive failure up to an hour, so a full
    /// disk does not get a new incremental file every cron tick.
    static let firstRetryDelayMilliseconds: Int64 = 60_000
    static let longestRetryDelayMilliseconds: Int64 = 3_600_000
}

/// What BGREWRITEAOF got.
enum AppendOnlyRewriteRequest {
    case started, scheduled, alreadyInProgress, failed
}

extension PersistenceCoordinator {
    private var appendOnlyDirectory: String { configuration.appendOnlyDirectory }

    private func appendOnlyFilePath(_ name: String) -> String { appendOnlyDirectory + "/" + name }

    // MARK: Start-up

    /// Start-up with `appendonly yes`: loads the files the manifest lists (the snapshot is then ignored, as in
    /// Redis). Without a manifest, a single append-only file of an older Rill is loaded and listed as the first
    /// incremental file; with neither, the snapshot is loaded and becomes the first base. Then opens the last
    /// incremental file for appending. Returns false (after logging why) when the server must not start.
    func startAppendOnlyFile() -> Bool {
        do {
            try FileManager.default.createDirectory(atPath: appendOnlyDirectory, withIntermediateDirectories: true)
        } catch {
            logger.warning("Can't create the append only directory \(appendOnlyDirectory): \(error). Exiting.")
            return false
        }
        removeLeftoverTemporaryFiles()
        let manifestPath = configuration.appendOnlyManifestPath
        let fileName = configuration.appendOnlyFileName
        var manifest: AppendOnlyManifest
        if FileManager.default.fileExists(atPath: manifestPath) {
            guard let read = readManifest() else {
                logger.warning("Can't load the append only files without their manifest. Exiting.")
                return false
            }
            manifest = read
            appendOnlyRewrite.manifest = manifest
            deleteHistoryFiles()
            manifest = appendOnlyRewrite.manifest ?? manifest
            guard loadAppendOnlyFiles(manifest) else { return false }
        } else if FileManager.default.fileExists(atPath: configuration.appendOnlyPath) {
            logger.notice("No manifest: loading \(configuration.appendOnlyPath) as the only incremental file")
            guard replayAppendOnlyFile(path: configuration.appendOnlyPath, isLastFile: true) else { return false }
            manifest = AppendOnlyManifest(incrementals: [.init(name: fileName, sequence: 1, type: .incremental)])
            guard installManifest(manifest) else { return false }
        } else {
            guard loadSnapshotAtStartup() else { return false }
            let base = nextBaseEntry(sequence: 1)
            logger.notice("Creating AOF base file \(base.name) on server start")
            do {
                _ = try baseWriter()(keyspace, appendOnlyFilePath(base.name), { _ in })
            } catch {
                logger.warning("Can't write the AOF base file \(base.name): \(error). Exiting.")
                return false
            }
            manifest = AppendOnlyManifest(base: base)
        }
        if manifest.incrementals.isEmpty {
            // A manifest left by BGREWRITEAOF under `appendonly no`, or the base just created: writes need a file.
            guard let (entry, log) = openNewIncrementalFile(after: manifest) else { return false }
            manifest.incrementals.append(entry)
            guard installManifest(manifest) else { return false }
            logger.notice("Creating AOF incr file \(entry.name) on server start")
            appendOnlyLog = log
        } else {
            // Only the last incremental file is ever written; a crash cannot have left bytes in the others.
            let last = manifest.incrementals[manifest.incrementals.count - 1]
            do {
                appendOnlyLog = try AppendOnlyLog(path: appendOnlyFilePath(last.name), directory: appendOnlyDirectory)
            } catch {
                logger.warning("\(error). Exiting.")
                return false
            }
        }
        appendOnlyRewrite.manifest = manifest
        appendOnlyRewrite.closedFilesSize = closedFilesSize(of: manifest)
        appendOnlyRewrite.sizeAtLastRewrite = appendOnlyCurrentSize
        // From now on keys found expired are written to the file as DEL (the replay itself pauses expiry).
        keyspace.setRecordsExpiredKeys(true)
        if configuration.appendFsync == .everysec, let appendOnlyLog { startBackgroundSync(of: appendOnlyLog) }
        return true
    }

    /// The base, then every incremental file in manifest order; only the last may end mid-command.
    private func loadAppendOnlyFiles(_ manifest: AppendOnlyManifest) -> Bool {
        let started = Clock.monotonicNanoseconds()
        if let base = manifest.base {
            let path = appendOnlyFilePath(base.name)
            // Told apart by content, as Redis does: an RDB (or an earlier Rill's RILLSNAP) file, else commands.
            if AppendOnlyCommandBase.isSnapshot(path: path) {
                guard loadSnapshotFile(path: path, skippingExpiredKeys: false) else { return false }
            } else {
                guard replayAppendOnlyFile(path: path, isLastFile: false) else { return false }
            }
            logger.notice("DB loaded from base file \(base.name)")
        }
        for (index, entry) in manifest.incrementals.enumerated() {
            let isLast = index == manifest.incrementals.count - 1
            guard replayAppendOnlyFile(path: appendOnlyFilePath(entry.name), isLastFile: isLast) else { return false }
        }
        let seconds = Double(Clock.monotonicNanoseconds() - started) / 1e9
        logger.notice("DB loaded from append only file: \(manifest.loadOrder.count) files, \(fixedPointText(seconds, fractionDigits: 3)) seconds")
        return true
    }

    /// The manifest entry of a new base: `.base.rdb` with `aof-use-rdb-preamble yes`, else `.base.aof`, as Redis
    /// names them.
    private func nextBaseEntry(sequence: Int64) -> AppendOnlyManifest.Entry {
        AppendOnlyManifest.Entry(
            name: AppendOnlyManifest.baseFileName(appendFileName: configuration.appendOnlyFileName, sequence: sequence,
                                                  rdbPreamble: configuration.appendOnlyRDBPreamble),
            sequence: sequence, type: .base)
    }

    /// What writes a new base, chosen now on the event loop (the settings may change while a rewrite runs on
    /// another thread): an RDB file marked `aof-base`, or with `aof-use-rdb-preamble no` the commands that rebuild
    /// the keyspace (AppendOnlyCommandBase.swift).
    private func baseWriter(createdAt: Int64 = Clock.milliseconds())
        -> (Keyspace, String, (Int) -> Void) throws(SnapshotError) -> SnapshotSummary
    {
        if configuration.appendOnlyRDBPreamble {
            let options = snapshotOptions(createdAt: createdAt, isAppendOnlyBase: true)
            return { keyspace, path, progress throws(SnapshotError) in
                try RDBFileWriter.write(keyspace, toPath: path, options: options, progress: progress)
            }
        }
        let compress = configuration.snapshotCompression
        return { keyspace, path, progress throws(SnapshotError) in
            try AppendOnlyCommandBase.write(keyspace, toPath: path, compress: compress, progress: progress)
        }
    }

    private func readManifest() -> AppendOnlyManifest? {
        let path = configuration.appendOnlyManifestPath
        guard let data = FileManager.default.contents(atPath: path) else {
            logger.warning("Can't read the AOF manifest \(path)")
            return nil
        }
        do {
            return try AppendOnlyManifest.parse([UInt8](data))
        } catch {
            logger.warning("Invalid AOF manifest \(path) at \(error)")
            return nil
        }
    }

    /// Temporary files of atomic writes interrupted by a crash (a rewrite's base, a manifest) are garbage.
    private func removeLeftoverTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: appendOnlyDirectory)) ?? []
        for name in names where SnapshotFiles.isTemporaryFileName(name) {
            logger.notice("Removing the leftover temporary file \(name) from an interrupted rewrite")
            removeFile(atPath: appendOnlyFilePath(name))
        }
    }

    // MARK: Switching at runtime

    /// `CONFIG SET appendonly yes`: a rewrite writes the base from a copy of the keyspace and opens the new
    /// incremental file at the same event-loop step, so every later write is in it. While a background job runs
    /// or inside EXEC the rewrite is scheduled; writes until it starts are in the copy it takes then. Returns false
    /// (after logging why) when the rewrite could not start; nothing changed then.
    func turnAppendOnlyFileOn() -> Bool {
        appendOnlyRewrite.awaitingFirstBase = true
        appendOnlyRewrite.closedFilesSize = 0
        if backgroundJobInProgress || host.executingTransaction {
            appendOnlyRewrite.scheduled = true
            return true
        }
        guard startAppendOnlyRewrite() else {
            appendOnlyRewrite.awaitingFirstBase = false
            return false
        }
        return true
    }

    /// `CONFIG SET appendonly no`: what was logged reaches the disk and the files stay as they are. A rewrite
    /// already running still installs its base, which with the incremental file closed here is the state as of
    /// now.
    func turnAppendOnlyFileOff() {
        if let log = appendOnlyLog {
            for database in 0..<keyspace.databaseCount { host.recordExpiredKeys(database: database) }
            // Unsubscribing hands the log the end of an open transaction (inside EXEC): what it holds is complete.
            appendOnlyLog = nil
            close(log)
        }
        // Without the file, writes are acknowledged once in memory: held replies leave and writes are accepted.
        appendOnlyHealth = AppendOnlyWriteHealth()
        releaseHeldReplies()
        releaseRepliesCoveredByFsync()
        // Replicas, when attached, still need their DELs.
        keyspace.setRecordsExpiredKeys(changes.isRecording)
        appendOnlyRewrite.scheduled = false
        appendOnlyRewrite.awaitingFirstBase = false
    }

    // MARK: Rewrite

    /// BGREWRITEAOF: started at once, or scheduled when a background save runs or inside EXEC (whose later
    /// commands must land in the same file as its earlier ones), as Redis does.
    func requestAppendOnlyRewrite() -> AppendOnlyRewriteRequest {
        if appendOnlyRewrite.inProgress { return .alreadyInProgress }
        if snapshots.backgroundSaveInProgress || host.executingTransaction {
            appendOnlyRewrite.scheduled = true
            return .scheduled
        }
        return startAppendOnlyRewrite() ? .started : .failed
    }

    /// Switches writes to a new incremental file (listed in the manifest before anything else happens, so a crash
    /// during the rewrite still loads the old base and every incremental file; not while `awaitingFirstBase`), copies the keyspace and writes
    /// the new base from the copy on a background thread. `appendOnlyRewriteFinished` installs it. Returns false
    /// (after logging why) when it could not start; nothing changed then.
    @discardableResult
    func startAppendOnlyRewrite() -> Bool {
        appendOnlyRewrite.scheduled = false
        guard beginAppendOnlyRewrite() else {
            appendOnlyRewrite.lastSucceeded = false
            return false
        }
        return true
    }

    private func beginAppendOnlyRewrite() -> Bool {
        var manifest: AppendOnlyManifest
        if let current = appendOnlyRewrite.manifest {
            manifest = current
        } else {
            // `appendonly no`: a base for a later start with `appendonly yes`, replacing whatever files are there.
            do {
                try FileManager.default.createDirectory(atPath: appendOnlyDirectory, withIntermediateDirectories: true)
            } catch {
                logger.warning("Can't rewrite the append only file: can't create \(appendOnlyDirectory): \(error)")
                return false
            }
            if FileManager.default.fileExists(atPath: configuration.appendOnlyManifestPath) {
                guard let read = readManifest() else { return false }
                manifest = read
            } else {
                manifest = AppendOnlyManifest()
            }
            appendOnlyRewrite.manifest = manifest
        }
        var firstKeptSequence: Int64?
        if appendOnlyLog != nil {
            // The bytes a failed write left pending must reach this file before writes switch to the next one.
            guard writeAppendOnlyFile(fsync: true) else {
                logger.warning("Can't rewrite the append only file: its last writes are not on disk yet")
                return false
            }
            // Fsynced just now: an earlier failure of the everysec thread on this file is over.
            appendOnlyHealth.backgroundSyncFailure = nil
        }
        if appendOnlyLog != nil || appendOnlyRewrite.awaitingFirstBase {
            guard let (entry, newLog) = openNewIncrementalFile(after: manifest) else { return false }
            var switched = manifest
            switched.incrementals.append(entry)
            guard appendOnlyRewrite.awaitingFirstBase || installManifest(switched) else {
                removeFile(atPath: newLog.path)
                return false
            }
            logger.notice("Creating AOF incr file \(entry.name) on background rewrite")
            if let log = appendOnlyLog {
                appendOnlyRewrite.closedFilesSize += fileSize(atPath: log.path)
                log.stopBackgroundSync()
            }
            appendOnlyLog = newLog
            // Keys found expired from now on are written as DEL (turned on here, not before: recorded while no
            // file is open, they would be deleted after the copy of a keyspace that may hold them again).
            keyspace.setRecordsExpiredKeys(true)
            if configuration.appendFsync == .everysec { startBackgroundSync(of: newLog) }
            manifest = switched
            appendOnlyRewrite.manifest = switched
            firstKeptSequence = entry.sequence
        }
        let base = nextBaseEntry(sequence: manifest.nextBaseSequence)
        let basePath = appendOnlyFilePath(base.name)
        let startedAt = Clock.milliseconds()
        let writeBase = baseWriter(createdAt: startedAt)
        appendOnlyRewrite.startedAt = startedAt
        appendOnlyRewrite.rewritesStarted += 1
        let logger = self.logger
        let pause = runOnKeyspaceCopy({ copy in
            var lastReport = Clock.monotonicNanoseconds()
            return Result { () throws(SnapshotError) -> SnapshotSummary in
                try writeBase(copy, basePath) { written in
                    let now = Clock.monotonicNanoseconds()
                    guard now - lastReport >= 1_000_000_000 else { return }
                    lastReport = now
                    logger.notice("Background AOF rewrite: \(written / 1_048_576) MB of \(base.name) written")
                }
            }
        }, finished: { coordinator, result in
            coordinator.appendOnlyRewriteFinished(result, base: base, firstKeptSequence: firstKeptSequence, startedAt: startedAt)
        })
        appendOnlyRewrite.lastCopyPauseMicroseconds = pause
        logger.notice("Background append only file rewriting started (keyspace copied in \(pause) microseconds)")
        return true
    }

    /// Installs the new base with the incremental files written since the rewrite started (the manifest's
    /// rename is the commit point), then deletes the files it replaced.
    private func appendOnlyRewriteFinished(
        _ result: Result<SnapshotSummary, SnapshotError>, base: AppendOnlyManifest.Entry, firstKeptSequence: Int64?,
        startedAt: Int64
    ) {
        let now = Clock.milliseconds()
        appendOnlyRewrite.startedAt = nil
        appendOnlyRewrite.lastRewriteSeconds = (now - startedAt) / 1000
        let summary: SnapshotSummary
        switch result {
        case .success(let written):
            summary = written
        case .failure(let error):
            appendOnlyRewriteFailed("Background AOF rewrite failed writing \(base.name): \(error)", now: now)
            return
        }
        let current = appendOnlyRewrite.manifest ?? AppendOnlyManifest()
        let kept = current.incrementals.filter { entry in firstKeptSequence.map { entry.sequence >= $0 } ?? false }
        let replaced = (current.base.map { [$0] } ?? []) + current.incrementals.filter { !kept.contains($0) }
        let installed = AppendOnlyManifest(
            base: base, incrementals: kept,
            history: current.history + replaced.map { .init(name: $0.name, sequence: $0.sequence, type: .history) })
        guard installManifest(installed) else {
            removeFile(atPath: appendOnlyFilePath(base.name))
            appendOnlyRewriteFailed("Background AOF rewrite could not install the new manifest", now: now)
            return
        }
        appendOnlyRewrite.awaitingFirstBase = false
        logger.notice("Background AOF rewrite terminated with success: base \(base.name) (\(summary.keyCount) keys, \(summary.byteCount) bytes, \(now - startedAt) ms)")
        appendOnlyRewrite.manifest = installed
        deleteHistoryFiles()
        appendOnlyRewrite.closedFilesSize = closedFilesSize(of: installed)
        appendOnlyRewrite.sizeAtLastRewrite = appendOnlyCurrentSize
        appendOnlyRewrite.lastSucceeded = true
        appendOnlyRewrite.consecutiveFailures = 0
        appendOnlyRewrite.automaticRetryNotBefore = 0
        logger.notice("Background AOF rewrite finished successfully")
    }

    private func appendOnlyRewriteFailed(_ message: String, now: Int64) {
        logger.warning("\(message)")
        // Turning the file on has no usable base yet: the cron tries again after the delay below.
        if appendOnlyRewrite.awaitingFirstBase { appendOnlyRewrite.scheduled = true }
        appendOnlyRewrite.lastSucceeded = false
        appendOnlyRewrite.consecutiveFailures += 1
        let doublings = min(appendOnlyRewrite.consecutiveFailures - 1, 6)
        let delay = min(AppendOnlyRewriteState.firstRetryDelayMilliseconds << doublings,
                        AppendOnlyRewriteState.longestRetryDelayMilliseconds)
        appendOnlyRewrite.automaticRetryNotBefore = now + delay
    }

    /// Deletes the files the manifest lists as history, then drops them from it. A failure only leaves garbage
    /// that the next start-up or rewrite retries.
    private func deleteHistoryFiles() {
        guard var manifest = appendOnlyRewrite.manifest, !manifest.history.isEmpty else { return }
        for entry in manifest.history {
            logger.notice("Removing the history file \(entry.name)")
            if let failure = removeFile(atPath: appendOnlyFilePath(entry.name)) {
                logger.warning("Can't remove \(entry.name): \(failure)")
                return
            }
        }
        manifest.history = []
        if installManifest(manifest) { appendOnlyRewrite.manifest = manifest }
    }

    /// Creates the next incremental file empty and durable and opens it for appending.
    private func openNewIncrementalFile(after manifest: AppendOnlyManifest) -> (AppendOnlyManifest.Entry, AppendOnlyLog)? {
        let sequence = manifest.nextIncrementalSequence
        let entry = AppendOnlyManifest.Entry(
            name: AppendOnlyManifest.incrementalFileName(appendFileName: configuration.appendOnlyFileName,
                                                         sequence: sequence),
            sequence: sequence, type: .incremental)
        let path = appendOnlyFilePath(entry.name)
        do {
            try SnapshotFiles.createEmptyFile(atPath: path)
            return (entry, try AppendOnlyLog(path: path, directory: appendOnlyDirectory))
        } catch {
            logger.warning("Can't create the AOF incr file \(path): \(error)")
            removeFile(atPath: path)
            return nil
        }
    }

    private func installManifest(_ manifest: AppendOnlyManifest) -> Bool {
        do {
            try manifest.write(toPath: configuration.appendOnlyManifestPath)
            return true
        } catch {
            logger.warning("Can't write the AOF manifest \(configuration.appendOnlyManifestPath): \(error)")
            return false
        }
    }

    // MARK: Sizes and the cron

    private func closedFilesSize(of manifest: AppendOnlyManifest) -> Int64 {
        manifest.loadOrder.dropLast(manifest.incrementals.isEmpty ? 0 : 1)
            .reduce(0) { $0 + fileSize(atPath: appendOnlyFilePath($1.name)) }
    }

    /// Bytes of the base and every incremental file (aof_current_size).
    var appendOnlyCurrentSize: Int64 {
        appendOnlyRewrite.closedFilesSize + (appendOnlyLog.map { fileSize(atPath: $0.path) } ?? 0)
    }

    /// Called by the cron: starts a scheduled rewrite or save once no background job runs, or an automatic
    /// rewrite when the files grew by `auto-aof-rewrite-percentage` over their size after the last rewrite.
    func startBackgroundJobsIfDue(now: Int64) {
        guard !backgroundJobInProgress else { return }
        if appendOnlyRewrite.scheduled
            && !(appendOnlyRewrite.awaitingFirstBase && now < appendOnlyRewrite.automaticRetryNotBefore) {
            startAppendOnlyRewrite()
            return
        }
        if snapshots.backgroundSaveScheduled {
            startBackgroundSave()
            return
        }
        let percentage = Int64(configuration.autoRewritePercentage)
        guard appendOnlyLog != nil, percentage > 0, now >= appendOnlyRewrite.automaticRetryNotBefore else { return }
        let size = appendOnlyCurrentSize
        guard size > Int64(configuration.autoRewriteMinimumSize) else { return }
        let base = max(1, appendOnlyRewrite.sizeAtLastRewrite)
        let growth = size * 100 / base - 100
        guard growth >= percentage else { return }
        logger.notice("Starting automatic rewriting of AOF on \(growth)% growth")
        startAppendOnlyRewrite()
    }
}
