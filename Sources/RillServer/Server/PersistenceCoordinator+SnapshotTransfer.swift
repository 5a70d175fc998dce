import NIOCore
import RillCore
import RillPersistence

/// One connection a snapshot transfer goes to, and what to do with the framed file once it is ready (`endMarked`:
/// in the `$EOF:` form).
struct SnapshotRecipient {
    let client: ClientSession
    let deliver: (_ payload: ByteBuffer, _ endMarked: Bool) -> Void
}

extension PersistenceCoordinator {
    /// SYNC and PSYNC: copies the keyspace once (as BGSAVE does), encodes the copy as an RDB file on another thread,
    /// then hands it to each recipient framed as Redis' primary frames it:
    ///
    ///     $<length>\r\n<file>                         (the file's length known up front: `repl-diskless-sync no`)
    ///     $EOF:<40 random bytes>\r\n<file><same 40>   (clients that sent REPLCONF capa eof, diskless)
    ///
    /// The file goes through memory, not the disk, so it may run beside a BGSAVE or rewrite. Recipients that share a
    /// framing share one buffer. `redis-cli --rdb` closes after the file; a replica's stream follows it (see
    /// ServerState+FullSynchronisation.swift).
    func startSnapshotTransfer(to recipients: [SnapshotRecipient]) {
        let options = snapshotOptions(createdAt: Clock.milliseconds())
        let disklessSync = configuration.replicationDisklessSync
        let endMark = (0..<40).map { _ in "0123456789abcdef".utf8.randomElement()! }
        let pause = runOnKeyspaceCopy({ copy in RDBFileWriter.encode(copy, options: options) },
                                      finished: { coordinator, file in
            var framed: [Bool: ByteBuffer] = [:]
            for recipient in recipients {
                let handshake = recipient.client.replicaHandshake
                let useEndMark = handshake.capabilities.contains("eof") && (handshake.snapshotOnly || disklessSync)
                let payload = framed[useEndMark] ?? Self.frame(file, endMark: useEndMark ? endMark : nil)
                framed[useEndMark] = payload
                coordinator.logger.notice("Synchronization with replica \(recipient.client.remoteAddress) succeeded: \(file.count) bytes of RDB sent")
                recipient.deliver(payload, useEndMark)
            }
        })
        logger.notice("Starting BGSAVE for SYNC with target: replicas sockets (\(recipients.count) \(recipients.count == 1 ? "replica" : "replicas"), keyspace copied in \(pause) microseconds)")
    }

    private static func frame(_ file: [UInt8], endMark: [UInt8]?) -> ByteBuffer {
        var payload = ByteBufferAllocator().buffer(capacity: file.count + 100)
        if let endMark {
            payload.writeString("$EOF:")
            payload.writeBytes(endMark)
            payload.writeString("\r\n")
            payload.writeBytes(file)
            payload.writeBytes(endMark)
        } else {
            payload.writeString("$\(file.count)\r\n")
            payload.writeBytes(file)
        }
        return payload
    }
}
