#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import RillCore
import RillPersistence

extension PersistenceCoordinator {
    /// Writes the logged commands before replies are sent (every connection flush calls it): fsynced at once with
    /// `appendfsync always`, by the background thread with `everysec`, by the kernel with `no`.
    func writeAppendOnlyFile() {
        guard let log = appendOnlyLog else { return }
        let policy = configuration.appendFsync
        if policy == .everysec { log.startBackgroundSync(logger: logger) }
        do {
            try log.flush(fsync: policy == .always)
            appendOnlyWriteFailed = false
        } catch {
            appendOnlyWriteFailed = true
            if policy == .always {
                // The reply must not claim a write the disk does not have, and the file's tail is unknown.
                logger.warning("Can't recover from AOF write error when the AOF fsync policy is 'always': \(error). Exiting...")
                exitProcess(1)
            }
            logger.warning("\(error); the write will be retried")
        }
    }

    /// Queues `connection`'s replies until the append-only file is written; the first connection of a tick
    /// schedules the one write (and fsync) that all of them wait for. NIO runs tasks after the tick's reads, so every
    /// connection read in this tick is in the list by then, as Redis writes its file once before replying.
    func writeRepliesAfterAppendOnlyFile(_ connection: ConnectionHandler) {
        if connectionsAwaitingAppendOnlyWrite.isEmpty {
            eventLoop.execute { [self] in
                writeAppendOnlyFile()
                let waiting = connectionsAwaitingAppendOnlyWrite
                connectionsAwaitingAppendOnlyWrite.removeAll(keepingCapacity: true)
                for connection in waiting {
                    connection.awaitsAppendOnlyWrite = false
                    connection.writeReplies()
                }
            }
        }
        connectionsAwaitingAppendOnlyWrite.append(connection)
    }

    /// SHUTDOWN and signals: everything logged reaches the disk.
    func closeAppendOnlyFile() {
        guard let log = appendOnlyLog else { return }
        close(log)
    }

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
