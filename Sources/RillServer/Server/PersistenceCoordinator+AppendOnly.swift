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
import Logging
import NIOCore
import RillCore
import RillPersistence

/// Failures writing or fsyncing the append-only file, as Redis' aof_last_write_status and aof_bio_fsync_status:
/// while one lasts, write commands are refused with MISCONF and the write is retried every second.
struct AppendOnlyWriteHealth {
    /// errno of the latest failed write (or `always` fsync) on the event loop; nil once one succeeds.
    var writeFailure: Int32?
    /// errno of the everysec thread's latest failed fsync; nil once one succeeds.
    var backgroundSyncFailure: Int32?
    /// Unix milliseconds at which a failure was last logged, 0 before any: a failing write is retried every
    /// second but logged at most every `failureLogIntervalMilliseconds`, as Redis does.
    var failureLoggedAt: Int64 = 0

    static let failureLogIntervalMilliseconds: Int64 = 30_000

    /// The errno MISCONF names while writes are refused; nil while the file is healthy.
    var failure: Int32? { writeFailure ?? backgroundSyncFailure }
}

extension PersistenceCoordinator {
    /// Writes the logged commands before replies are sent (every connection flush calls it): fsynced at once with
    /// `appendfsync always` (or `fsync`), by the background thread with `everysec`, by the kernel with `no`.
    ///
    /// A failure keeps the bytes for the next attempt (the cron retries every second) and refuses writes with
    /// MISCONF until one succeeds; the replies of the writes it left out wait for that (see
    /// `writeRepliesAtTickEnd`). Redis exits on a failure under `always` instead; Rill keeps serving
    /// reads and recovers by itself once the disk has room again, without acknowledging anything early.
    /// - Returns: whether everything logged is in the file (and fsynced when asked).
    @discardableResult
    func writeAppendOnlyFile(fsync: Bool? = nil) -> Bool {
        guard let log = appendOnlyLog else { return true }
        let policy = configuration.appendFsync
        if policy == .everysec { startBackgroundSync(of: log) }
        let forceToDisk = fsync ?? (policy == .always)
        do {
            let threshold = configuration.latencyMonitorThresholdMilliseconds
            if threshold > 0 && log.hasPendingBytes {
                // Timed apart for LATENCY, as Redis reports them: the write, then the fsync of `always`.
                let started = Clock.microseconds()
                var written = started
                try log.flush(fsync: forceToDisk) {
                    written = Clock.microseconds()
                    self.host.latencyEvents.add("aof-write", milliseconds: (written - started) / 1000,
                                                thresholdMilliseconds: threshold, unixSeconds: written / 1_000_000)
                }
                if forceToDisk {
                    let synced = Clock.microseconds()
                    host.latencyEvents.add("aof-fsync-always", milliseconds: (synced - written) / 1000,
                                           thresholdMilliseconds: threshold, unixSeconds: synced / 1_000_000)
                }
            } else {
                try log.flush(fsync: forceToDisk)
            }
        } catch {
            appendOnlyWriteFailed(error)
            return false
        }
        if appendOnlyHealth.writeFailure != nil {
            appendOnlyHealth.writeFailure = nil
            logger.notice("AOF write error looks solved, Rill can write again.")
            releaseHeldReplies()
        }
        releaseRepliesCoveredByFsync()
        return true
    }

    func appendOnlyWriteFailed(_ error: AppendOnlyLogError) {
        let now = Clock.milliseconds()
        let firstFailure = appendOnlyHealth.writeFailure == nil
        appendOnlyHealth.writeFailure = error.systemError ?? EIO
        if firstFailure || now - appendOnlyHealth.failureLoggedAt > AppendOnlyWriteHealth.failureLogIntervalMilliseconds {
            appendOnlyHealth.failureLoggedAt = now
            logger.warning("\(error). Write commands are refused (MISCONF) and the write is retried every second.")
        }
    }

    /// Called by the cron every second: tries a failed write again (with `always`, its fsync too).
    func retryFailedAppendOnlyWrite() {
        guard appendOnlyHealth.writeFailure != nil else { return }
        writeAppendOnlyFile()
    }

    /// Starts `log`'s everysec thread (once), whose fsync failures refuse writes until one succeeds, as Redis'
    /// aof_bio_fsync_status does. The thread's replies already left (everysec acknowledges written bytes).
    func startBackgroundSync(of log: AppendOnlyLog) {
        let eventLoop = self.eventLoop
        log.startBackgroundSync { [weak self, weak log] failure in
            eventLoop.execute {
                guard let self, let log, log === self.appendOnlyLog else { return }
                self.backgroundSyncChanged(failure)
            }
        }
    }

    private func backgroundSyncChanged(_ failure: Int32?) {
        appendOnlyHealth.backgroundSyncFailure = failure
        if let failure {
            appendOnlyHealth.failureLoggedAt = Clock.milliseconds()
            logger.warning("Error fsyncing the AOF file in the background: \(systemErrorText(failure)). Write commands are refused (MISCONF) until an fsync succeeds.")
        } else {
            logger.notice("AOF fsync error looks solved, Rill can write again.")
        }
    }

    /// Why write commands are refused, as Redis' writeCommandsDeniedByDiskError: the latest background save failed
    /// while save points exist and `stop-writes-on-bgsave-error yes`, or the append-only file cannot be written or
    /// fsynced. nil while writes are allowed.
    var diskErrorDenyingWrites: RedisError? {
        if !snapshots.lastSaveSucceeded && configuration.stopWritesOnBackgroundSaveError
            && !configuration.savePoints.isEmpty {
            return .snapshotWritesDenied
        }
        if appendOnlyLog != nil, let failure = appendOnlyHealth.failure {
            return .appendOnlyWritesDenied(systemErrorText(failure))
        }
        return nil
    }

    /// Whether replies written now must wait for the append-only file's next write: while it holds commands not
    /// yet written they may acknowledge (or show) them. Not while a failed write awaits its retry: writes are
    /// refused then, so new replies acknowledge nothing unwritten and reads keep being served.
    var repliesWaitForAppendOnlyFile: Bool {
        appendOnlyLog?.hasPendingBytes == true && appendOnlyHealth.writeFailure == nil
    }

    /// Queues `connection`'s replies for the end of this event-loop tick, after the append-only file's one write
    /// of the tick: the first connection of a tick schedules it. NIO runs tasks after the tick's reads, so every
    /// connection read in this tick is in the list by then, as Redis writes its file once before replying.
    ///
    /// Under `appendfsync always` the fsync runs on the log's worker thread while the loop serves the next ticks
    /// (`holdUntilFsynced`); with the other policies the write is done here and the replies leave. When that write
    /// fails, the replies that acknowledge changes are held until a retry succeeds. While a failed write awaits its
    /// retry (the cron's, once a second) writes are refused, so replies then acknowledge nothing unwritten and
    /// leave at once.
    func writeRepliesAtTickEnd(_ connection: ClientConnection) {
        if connectionsAwaitingTickEnd.isEmpty {
            eventLoop.execute { [self] in
                var waiting: [ClientConnection] = []
                swap(&waiting, &spareTickEndList)
                swap(&waiting, &connectionsAwaitingTickEnd)
                defer {
                    waiting.removeAll(keepingCapacity: true)
                    spareTickEndList = waiting
                }
                if let log = appendOnlyLog, fsyncsOnWorker, appendOnlyHealth.writeFailure == nil {
                    holdUntilFsynced(waiting, log: log)
                } else if !repliesWaitForAppendOnlyFile || writeAppendOnlyFile() {
                    release(waiting)
                } else {
                    // Replies to reads alone leave; those acknowledging a change wait for it to be in the file.
                    connectionsHeldUntilAppendOnlyWrite += waiting.filter(\.repliesAcknowledgeChanges)
                    release(waiting.filter { !$0.repliesAcknowledgeChanges })
                }
            }
        }
        connectionsAwaitingTickEnd.append(connection)
    }

    /// Group commit overlapped with serving: every reply gathered in this tick waits until an fsync covers all that
    /// was logged up to now (whether it acknowledges a write or shows one, as an XRANGE or a woken XREAD may: a
    /// reply never shows a write that a crash could still lose). The worker fsyncs while the loop reads and runs
    /// the next tick's requests; when it returns, the replies it covers leave and the next fsync starts with what
    /// was written meanwhile. Replies leave at once when nothing logged awaits an fsync.
    private func holdUntilFsynced(_ waiting: [ClientConnection], log: AppendOnlyLog) {
        let end = log.receivedEnd
        for connection in waiting {
            connection.awaitsTickEnd = false
            if end <= log.committedSize && !connection.holdsRepliesForFsync {
                connection.writeReplies()
            } else {
                hold(connection, untilFsyncReaches: end)
            }
        }
        startFsyncIfIdle()
        releaseRepliesCoveredByFsync()
    }

    private func hold(_ connection: ClientConnection, untilFsyncReaches end: Int64) {
        if connection.releasedByFsyncRound == fsyncRound {
            connection.releasedByFsyncRound = -1
            returnsAwaitedByFsync -= 1
        }
        let alreadyHeld = connection.holdsRepliesForFsync
        if connection.holdReplies(untilFsyncReaches: end) && !alreadyHeld {
            connectionsAwaitingFsync.append(connection)
        }
    }

    /// Under `always`: writes what the log received and hands the fsync to the log's worker, unless one runs (its
    /// end starts the next) or a failed write awaits the cron's retry.
    ///
    /// After an fsync returned, the next one waits for the connections it released to send their next requests,
    /// at most as long as that fsync took: started at once, it would cover only the requests that came during
    /// the previous one, and with one fsync at a time each client would get one reply per two fsyncs (each costs
    /// about 0.1 ms of CPU and a disk round trip); waiting longer than an fsync takes would cost more than that.
    private func startFsyncIfIdle() {
        guard !fsyncInFlight, let log = appendOnlyLog, fsyncsOnWorker,
              appendOnlyHealth.writeFailure == nil, log.receivedEnd > log.committedSize else { return }
        if returnsAwaitedByFsync > 0 {
            if !fsyncWaitScheduled {
                fsyncWaitScheduled = true
                let round = fsyncRound
                eventLoop.scheduleTask(in: .microseconds(min(lastFsyncMicroseconds, 2_000))) { [weak self] in
                    guard let self else { return }
                    fsyncWaitScheduled = false
                    if fsyncRound == round { returnsAwaitedByFsync = 0 }
                    startFsyncIfIdle()
                }
            }
            return
        }
        let threshold = configuration.latencyMonitorThresholdMilliseconds
        let started = threshold > 0 ? Clock.microseconds() : 0
        do {
            try log.writeUnwrittenBytes()
        } catch {
            appendOnlyWriteFailed(error)
            releaseReadRepliesAfterFailure()
            return
        }
        let written = Clock.microseconds()
        if threshold > 0 {
            host.latencyEvents.add("aof-write", milliseconds: (written - started) / 1000,
                                   thresholdMilliseconds: threshold, unixSeconds: written / 1_000_000)
        }
        let end = log.receivedEnd
        let failuresBefore = log.writeFailureCount
        fsyncInFlight = true
        let eventLoop = self.eventLoop
        log.fsyncOnWorker { [weak self] failure in
            eventLoop.execute {
                self?.fsyncReturned(log: log, end: end, failuresBefore: failuresBefore, failure: failure,
                                    startedMicroseconds: written)
            }
        }
    }

    private func fsyncReturned(log: AppendOnlyLog, end: Int64, failuresBefore: Int, failure: Int32?,
                               startedMicroseconds: Int64) {
        fsyncInFlight = false
        // A file closed meanwhile (a rewrite's switch, `appendonly no`) was fsynced on the loop before it closed.
        if log === appendOnlyLog {
            if let failure {
                log.fsyncFailed(failuresBefore: failuresBefore)
                appendOnlyWriteFailed(AppendOnlyLogError(systemError: failure,
                                                         "Error fsyncing the AOF file: \(systemErrorText(failure))"))
                releaseReadRepliesAfterFailure()
                return
            }
            log.fsyncSucceeded(coveringUpTo: end, failuresBefore: failuresBefore)
            let synced = Clock.microseconds()
            lastFsyncMicroseconds = synced - startedMicroseconds
            let threshold = configuration.latencyMonitorThresholdMilliseconds
            if threshold > 0 {
                host.latencyEvents.add("aof-fsync-always", milliseconds: lastFsyncMicroseconds / 1000,
                                       thresholdMilliseconds: threshold, unixSeconds: synced / 1_000_000)
            }
            fsyncRound += 1
            returnsAwaitedByFsync = 0
            releaseRepliesCoveredByFsync(awaitingReturns: true)
        }
        if fsyncsOnWorker {
            startFsyncIfIdle()
        } else if appendOnlyLog?.hasPendingBytes == true {
            // Switched off meanwhile (CONFIG SET): what waited for the worker is flushed here, as a tick's end does.
            writeAppendOnlyFile()
        }
    }

    /// `appendfsync always` with `aof-fsync-worker yes`.
    private var fsyncsOnWorker: Bool { configuration.appendFsync == .always && configuration.appendFsyncOnWorker }

    /// Sends the held replies that the committed part of the file now covers (all of them once no file is open),
    /// each connection's in order.
    /// With `awaitingReturns` (an fsync of the worker returned), the next fsync waits for the connections released
    /// here (see `startFsyncIfIdle`).
    func releaseRepliesCoveredByFsync(awaitingReturns: Bool = false) {
        guard !connectionsAwaitingFsync.isEmpty else { return }
        // Taken out while replies are written: a write may close a connection, which edits the list.
        let awaiting = connectionsAwaitingFsync
        connectionsAwaitingFsync.removeAll()
        var stillAwaiting: [ClientConnection] = []
        for connection in awaiting {
            connection.releaseReplies(fsyncedUpTo: appendOnlyLog?.committedSize ?? .max)
            if connection.holdsRepliesForFsync {
                stillAwaiting.append(connection)
            } else if awaitingReturns {
                connection.releasedByFsyncRound = fsyncRound
                returnsAwaitedByFsync += 1
            }
        }
        connectionsAwaitingFsync = stillAwaiting + connectionsAwaitingFsync
    }

    /// A write or fsync under `always` failed: as after a failed write of the tick (`writeRepliesAtTickEnd`), replies
    /// that acknowledge no change leave (reads are served while writes are refused), the others wait for the cron's
    /// retry to get their writes into the file.
    private func releaseReadRepliesAfterFailure() {
        let awaiting = connectionsAwaitingFsync
        connectionsAwaitingFsync.removeAll()
        for connection in awaiting {
            if connection.repliesAcknowledgeChanges {
                connectionsAwaitingFsync.append(connection)
            } else {
                connection.writeReplies()
            }
        }
    }

    /// The writes of the held replies are in the file now (or no file is written any more): they leave.
    func releaseHeldReplies() {
        let held = connectionsHeldUntilAppendOnlyWrite
        connectionsHeldUntilAppendOnlyWrite.removeAll()
        release(held)
    }

    /// Replies leave, but not ahead of those a connection still holds for an fsync: those wait together.
    private func release(_ connections: [ClientConnection]) {
        var heldAny = false
        for connection in connections {
            connection.awaitsTickEnd = false
            if connection.holdsRepliesForFsync, let log = appendOnlyLog {
                hold(connection, untilFsyncReaches: log.receivedEnd)
                heldAny = true
            } else {
                connection.writeReplies()
            }
        }
        // Held behind replies of the worker's time (`aof-fsync-worker` switched off since): they leave once covered.
        if heldAny { releaseRepliesCoveredByFsync() }
    }

    /// A closing connection whose replies were dropped: nothing is left to send it.
    func forgetHeldReplies(of connection: ClientConnection) {
        connectionsHeldUntilAppendOnlyWrite.removeAll { $0 === connection }
        connectionsAwaitingFsync.removeAll { $0 === connection }
    }

    /// SHUTDOWN and signals: everything logged reaches the disk.
    func closeAppendOnlyFile() {
        guard let log = appendOnlyLog else { return }
        close(log)
    }

    /// Writes and fsyncs what `log` holds and stops its thread. A failure is logged: the writes it leaves out were
    /// never acknowledged.
    func close(_ log: AppendOnlyLog) {
        do {
            try log.flush(fsync: true)
        } catch {
            logger.warning("\(error)")
        }
        log.stopBackgroundSync()
    }

    /// Runs every command of the file through the executor as a client of its own, with expiry paused as Redis
    /// does while loading (expirations are in the file as DEL commands). An incomplete last command (or a MULTI without its EXEC) is cut off when `aof-load-truncated`
    /// allows it and this is the last file loaded (only the file being written when the process died can end
    /// mid-command); any other damage refuses the start with the offset and the reason.
    func replayAppendOnlyFile(path: String, isLastFile: Bool) -> Bool {
        let allowTruncatedTail = isLastFile && configuration.appendOnlyLoadTruncated
        let started = Clock.monotonicNanoseconds()
        guard let data = FileManager.default.contents(atPath: path) else {
            logger.warning("Fatal error: can't open the append log file \(path) for reading. Exiting.")
            return false
        }
        let bytes = [UInt8](data)
        let parsed: AppendOnlyFileParseResult
        do {
            parsed = try AppendOnlyFileReader.parse(bytes, allowTruncatedTail: allowTruncatedTail)
        } catch {
            switch error.kind {
            case .truncated where !isLastFile:
                logger.warning("Unexpected end of file reading the append only file \(path) at offset \(error.offset): only the last incremental file may end inside a command, so this one was damaged after it was complete. Restore it from a backup.")
            case .truncated:
                logger.warning("Unexpected end of file reading the append only file \(path) at offset \(error.offset). You can: 1) Make a backup of your AOF file, then use rill-check --fix to repair it. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")
            case .corrupt:
                logger.warning("Bad file format reading the append only file \(path) at offset \(error.offset): \(error.reason). Make a backup of your AOF file, then fix it by hand.")
            }
            return false
        }
        var validLength = parsed.validLength
        if parsed.truncatedBytes > 0 {
            logger.warning("!!! Warning: short read while loading the AOF file \(path)!!! \(parsed.truncatedBytes) bytes of an incomplete last command at offset \(parsed.validLength) are dropped.")
        }

        let context = host.makeReplayContext()
        let client = context.client
        loadingAppendOnlyFile = true
        keyspace.setExpiryPaused(true)
        defer {
            loadingAppendOnlyFile = false
            keyspace.setExpiryPaused(false)
        }
        var multiOffset = 0
        var lastReport = started
        for (index, command) in parsed.commands.enumerated() {
            if client.transaction == nil, command.arguments[0].count == 5,
               String(decoding: command.arguments[0], as: UTF8.self).lowercased() == "multi" {
                multiOffset = command.offset
            }
            context.arguments = command.arguments.map { ByteBuffer(bytes: $0) }
            // As Redis: a command this server does not know (a file from another program or version) would be
            // skipped silently and the rest replayed to a different state, so the start is refused instead.
            guard host.knowsCommand(command.arguments[0]) else {
                logger.warning("Unknown command '\(String(decoding: command.arguments[0].prefix(128), as: UTF8.self))' reading the append only file \(path) at offset \(command.offset). Exiting.")
                return false
            }
            host.replay(context)
            context.reply.buffer.clear()
            if index % 1024 == 0 {
                let now = Clock.monotonicNanoseconds()
                if now - lastReport >= 1_000_000_000 {
                    lastReport = now
                    logger.notice("Loading \(path): \(command.offset * 100 / max(1, bytes.count))% (\(index) commands)")
                }
            }
        }
        if client.transaction != nil {
            guard allowTruncatedTail else {
                logger.warning("Unexpected end of file reading the append only file \(path): MULTI at offset \(multiOffset) without EXEC. Set 'aof-load-truncated' to yes to drop it.")
                return false
            }
            logger.warning("Revert incomplete MULTI/EXEC transaction at offset \(multiOffset) in the append only file \(path)")
            client.transaction = nil
            validLength = multiOffset
        }
        if validLength < bytes.count {
            if let failure = truncateFile(atPath: path, toLength: validLength) {
                logger.warning("Error truncating the append only file \(path) to \(validLength) bytes: \(failure). Exiting.")
                return false
            }
            logger.warning("AOF \(path) loaded anyway because aof-load-truncated is enabled (truncated to \(validLength) bytes)")
        }
        changes.dirty = 0
        let seconds = Double(Clock.monotonicNanoseconds() - started) / 1e9
        logger.notice("DB loaded from append only file \(path): \(parsed.commands.count) commands, \(fixedPointText(seconds, fractionDigits: 3)) seconds")
        return true
    }
}
