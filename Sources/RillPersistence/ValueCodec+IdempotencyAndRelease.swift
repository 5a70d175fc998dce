import RillCore

// Stream extensions for idempotent producers (0x02) and for pending entries released by XNACK (0x03); layouts in
// SnapshotFormat.swift. Each is written only when the stream has such state, so streams that never used these
// features encode exactly as before, and older files load unchanged.
extension ValueCodec {
    /// The idempotency and released-entry extensions `stream` needs, in tag order, with their payloads.
    static func idempotencyAndReleaseExtensions(_ stream: RillCore.Stream) -> [(StreamExtensionTag, [UInt8])] {
        var extensions: [(StreamExtensionTag, [UInt8])] = []
        if let idempotency = stream.idempotency {
            var payload = ByteSink()
            encodeIdempotency(idempotency, to: &payload)
            extensions.append((.idempotency, payload.bytes))
        }
        var released = ByteSink()
        var groupsWithReleased = 0
        for group in stream.consumerGroups {
            let entries = stream.releasedPendingEntries(ofGroup: group.name)
            if entries.isEmpty { continue }
            groupsWithReleased += 1
            released.string(group.name)
            released.varint(entries.count)
            for entry in entries {
                released.id(entry.id)
                released.littleEndian(entry.deliveryTime)
                released.varint(entry.deliveryCount)
            }
        }
        if groupsWithReleased > 0 {
            var payload = ByteSink()
            payload.varint(groupsWithReleased)
            payload.bytes += released.bytes
            extensions.append((.releasedPending, payload.bytes))
        }
        return extensions
    }

    /// Decodes one stream extension's payload, which must be consumed whole.
    static func decodeStreamExtension(_ tag: StreamExtensionTag, from source: inout ByteSource,
                                       into stream: inout RillCore.Stream, at start: Int) throws(DecodeFailure) {
        switch tag {
        case .idempotency:
            try decodeIdempotency(from: &source, into: &stream, at: start)
        case .releasedPending:
            try decodeReleasedPending(from: &source, into: &stream, at: start)
        case .consumerGroups:
            try decodeConsumerGroups(from: &source, into: &stream)
        case .groupPolicies:
            try decodeGroupPolicies(from: &source, into: &stream, at: start)
        }
        guard source.isAtEnd else { throw source.failure("trailing bytes after stream extension \(tag.rawValue)") }
    }

    /// Tag 0x02 payload.
    static func encodeIdempotency(_ state: StreamIdempotency, to sink: inout ByteSink) {
        sink.varint(UInt64(state.durationSeconds))  // in 1...86400 (invariant)
        sink.varint(UInt64(state.maxSize))  // in 1...10000 (invariant)
        sink.varint(state.iidsAdded)
        sink.varint(state.iidsDuplicates)
        let records = state.records
        sink.varint(records.count)
        for (producer, record) in records {
            sink.string(producer)
            sink.string(record.iid)
            sink.id(record.entryID)
            sink.littleEndian(record.recordedAt)
        }
    }

    static func decodeIdempotency(from source: inout ByteSource, into stream: inout RillCore.Stream,
                                  at start: Int) throws(DecodeFailure) {
        let duration = try source.varint()
        let maxSize = try source.varint()
        let added = try source.varint()
        let duplicates = try source.varint()
        let count = try source.count()
        var records: [(producer: [UInt8], record: IdempotentRecord)] = []
        for _ in 0..<count {
            let producer = try source.string()
            let iid = try source.string()
            let entryID = try source.id()
            let recordedAt = try source.littleEndian(Int64.self)
            records.append((producer, IdempotentRecord(iid: iid, entryID: entryID, recordedAt: recordedAt)))
        }
        do {
            try stream.restoreIdempotency(durationSeconds: Int64(clamping: duration), maxSize: Int64(clamping: maxSize),
                                          iidsAdded: added, iidsDuplicates: duplicates, records: records)
        } catch {
            throw source.failure("stream idempotency: \(error)", at: start)
        }
    }

    /// Tag 0x03 payload; the groups it names were decoded from tag 0x01 before it.
    static func decodeReleasedPending(from source: inout ByteSource, into stream: inout RillCore.Stream,
                                      at start: Int) throws(DecodeFailure) {
        let groupCount = try source.count()
        for _ in 0..<groupCount {
            let name = try source.string()
            let count = try source.count()
            var entries: [ReleasedPendingImage] = []
            for _ in 0..<count {
                let id = try source.id()
                let deliveryTime = try source.littleEndian(Int64.self)
                let deliveryCount = try source.varint()
                entries.append(ReleasedPendingImage(id: id, deliveryTime: deliveryTime, deliveryCount: deliveryCount))
            }
            do {
                try stream.restoreReleasedPending(group: name, entries: entries)
            } catch {
                throw source.failure("released pending entries: \(error)", at: start)
            }
        }
    }
}
