import NIOCore
import RillCore

/// `maxmemory` and `maxmemory-stream-policy`: refusing writes that grow memory past the limit, after trimming
/// acknowledged stream entries when the policy allows it. Only called when `maxmemory` is not 0.
extension ServerState {
    /// Whether `command` may run under `maxmemory`. Commands that do not grow memory always may; the others may
    /// while used memory is at most the limit, possibly after trimming acknowledged stream entries.
    func memoryAllowsRunning(_ command: Command, client: ClientSession) -> Bool {
        // Redis does not enforce the limit while loading its files: they must load completely.
        if persistence.loadingAppendOnlyFile { return true }
        // Queueing inside MULTI takes memory too, so Redis refuses any command that would be queued.
        let growsMemory = command.flags.contains(.denyOOM)
            || (client.transaction != nil && !command.flags.contains(.notQueuedInMulti))
            || (command.name == "exec" && queuedCommands(of: client, contain: .denyOOM))
        guard growsMemory else { return true }
        let limit = configuration.maxMemoryBytes
        if usedMemory(maximumAgeNanoseconds: 1_000_000) <= limit { return true }
        if configuration.maxMemoryStreamPolicy == .trimAcked && trimAcknowledgedEntries(toFit: limit) { return true }
        command.counters.rejectedCalls += 1
        stats.outOfMemoryRejections += 1
        return false
    }

    /// A new limit applies from the next write, measured afresh; like Redis, warn when it is already exceeded.
    func maxMemoryChanged(to limit: Int) {
        memoryReading = (0, 0)
        exhaustedTrimState = nil
        guard limit != 0 else { return }
        let used = usedMemory(maximumAgeNanoseconds: 0)
        if used > limit {
            logger.warning("WARNING: the new maxmemory value (\(limit)) is smaller than the current memory usage (\(used)). Writes that grow memory will be refused until usage drops below it (maxmemory-stream-policy \(configuration.maxMemoryStreamPolicy == .trimAcked ? "trim-acked trims acknowledged stream entries first" : "reject")).")
        }
    }

    /// INFO's used_memory, read again when the last reading is older than `maximumAgeNanoseconds`.
    private func usedMemory(maximumAgeNanoseconds: UInt64) -> Int {
        let now = Clock.monotonicNanoseconds()
        if memoryReading.atNanoseconds == 0 || now &- memoryReading.atNanoseconds > maximumAgeNanoseconds {
            memoryReading = (Allocator.statistics().allocated, now)
        }
        return memoryReading.bytes
    }

    /// EXEC is refused like its most demanding queued command, as in Redis.

    /// Trims acknowledged entries, oldest stream first, until used memory is at most `limit`.
    /// - Returns: whether used memory ended at most `limit`.
    private func trimAcknowledgedEntries(toFit limit: Int) -> Bool {
        if let exhausted = exhaustedTrimState, exhausted == (changes.changeCount, changes.dirty) { return false }
        let now = Clock.milliseconds()
        var fits = false
        for candidate in keyspace.acknowledgedTrimCandidates(nowMilliseconds: now) {
            let trimmed = try? keyspace[candidate.database].streamModify(candidate.key, nowMilliseconds: now) { stream in
                stream.trimAcknowledgedEntries(below: candidate.minimumID)
            }
            guard let removed = trimmed ?? nil, removed > 0 else { continue }
            keyModified(candidate.key, database: candidate.database)
            stats.acknowledgedEntriesTrimmed += Int64(removed)
            // Exact ACKED trimming removes the same entries on replay, whatever the clock or node limits.
            changes.emit(trimCommand(candidate), database: candidate.database)
            unloggedAcknowledgedTrims.record(removed: removed, streamKey: candidate.key)
            fits = usedMemory(maximumAgeNanoseconds: 0) <= limit
            if fits { break }
        }
        if blocking.hasReadyKeys { serveReadyKeys() }
        reportAcknowledgedTrims(now: now)
        exhaustedTrimState = fits ? nil : (changes.changeCount, changes.dirty)
        return fits
    }

    private func trimCommand(_ candidate: AcknowledgedTrimCandidate) -> [ByteBuffer] {
        var minimumID: [UInt8] = []
        candidate.minimumID.appendASCII(to: &minimumID)
        return [ByteBuffer(string: "XTRIM"), ByteBuffer(bytes: candidate.key), ByteBuffer(string: "MINID"),
                ByteBuffer(string: "="), ByteBuffer(bytes: minimumID), ByteBuffer(string: "ACKED")]
    }

    /// Logs what was trimmed since the last report, at most once a second so sustained pressure does not
    /// flood the log.
    private func reportAcknowledgedTrims(now: Int64) {
        guard unloggedAcknowledgedTrims.entries > 0, now - unloggedAcknowledgedTrims.lastReportAt >= 1000 else {
            return
        }
        let report = unloggedAcknowledgedTrims
        logger.notice("maxmemory reached: trimmed \(report.entries) acknowledged stream entries in \(report.trims) trim(s) (last stream '\(String(decoding: report.lastStreamKey, as: UTF8.self))'), used_memory=\(usedMemory(maximumAgeNanoseconds: 0)) maxmemory=\(configuration.maxMemoryBytes)")
        unloggedAcknowledgedTrims = AcknowledgedTrimLog(lastReportAt: now)
    }
}

/// Trims by `maxmemory-stream-policy trim-acked` since the last log line.
struct AcknowledgedTrimLog {
    var lastReportAt: Int64 = 0
    var entries = 0
    var trims = 0
    var lastStreamKey: [UInt8] = []

    mutating func record(removed: Int, streamKey: [UInt8]) {
        entries += removed
        trims += 1
        lastStreamKey = streamKey
    }
}
