import RillCore

// Streams in RDB types 15 (STREAM_LISTPACKS, RDB 9), 19 (_2, RDB 10) and 21 (_3, RDB 11):
//
//     node-count, then per node: master ID (16-byte string, ms and seq big-endian) | listpack (string)
//     length | last-id ms | last-id seq
//     [19, 21] first-id ms | seq | max-deleted-id ms | seq | entries-added
//     group-count, then per group:
//         name (string) | last-delivered ms | seq | [19, 21] entries-read (2^64 - 1 when unknown)
//         PEL size, then per entry: ID (16 raw bytes, big-endian) | delivery time (ms, u64 LE) | delivery count
//         consumer-count, then per consumer: name | seen time (ms) | [21] active time (ms) | PEL size | IDs (16 raw)
//
// Every number without a stated width is an RDB length. A consumer's PEL names entries of the group's PEL.
// Pending entries released by XNACK have no consumer, which Redis refuses ("PEL entry without consumer"), so they
// are left out here and travel in the Rill-only state.
extension RDBObjectCodec {
    static func writeStream(_ stream: RillCore.Stream, type: RDBType, to output: inout RDBOutput, compress: Bool) {
        output.length(stream.nodeCount)
        // One writer for all nodes: its buffer is reused (`finished` leaves it unshared once the string is written).
        var listpack = ListpackWriter(reservingCapacity: 8192)
        for index in 0..<stream.nodeCount {
            output.length(16)
            writeID(stream.listpackNodeMasterID(at: index), to: &output)
            listpack.removeAll()
            stream.writeListpackNode(at: index, to: &listpack)
            output.string(listpack.finished(), compress: compress)
        }
        let metadata = stream.metadata
        output.length(metadata.length)
        output.length(metadata.lastID.ms)
        output.length(metadata.lastID.seq)
        output.length(metadata.recordedFirstEntryID.ms)
        output.length(metadata.recordedFirstEntryID.seq)
        output.length(metadata.maxDeletedEntryID.ms)
        output.length(metadata.maxDeletedEntryID.seq)
        output.length(metadata.entriesAdded)
        let groups = stream.consumerGroups
        output.length(groups.count)
        for group in groups {
            output.string(group.name, compress: compress)
            output.length(group.lastDeliveredID.ms)
            output.length(group.lastDeliveredID.seq)
            output.length(group.entriesRead.map { UInt64($0) } ?? UInt64.max)  // never negative (group invariant)
            let consumers = group.consumers
            var idsByConsumer = [[StreamID]](repeating: [], count: consumers.count)
            output.length(group.ownedPendingCount)
            group.forEachPendingEntryImage { entry in
                writeID(entry.id, to: &output)
                output.millisecondTime(entry.deliveryTime)
                output.length(entry.deliveryCount)
                idsByConsumer[entry.consumerIndex].append(entry.id)
            }
            output.length(consumers.count)
            for (index, consumer) in consumers.enumerated() {
                output.string(consumer.name, compress: compress)
                output.millisecondTime(consumer.seenTime)
                if type == .streamListpacks3 { output.millisecondTime(consumer.activeTime) }
                output.length(idsByConsumer[index].count)
                for id in idsByConsumer[index] { writeID(id, to: &output) }
            }
        }
    }

    /// A stream ID as Redis keys its radix trees: 128 bits, big-endian, so byte order is ID order.
    static func writeID(_ id: StreamID, to output: inout RDBOutput) {
        output.bigEndian(id.ms)
        output.bigEndian(id.seq)
    }

    static func readID(from input: inout RDBInput) throws(RDBError) -> StreamID {
        let ms = try input.bigEndian(UInt64.self)
        return StreamID(ms: ms, seq: try input.bigEndian(UInt64.self))
    }

    static func readLengthID(from input: inout RDBInput) throws(RDBError) -> StreamID {
        let ms = try input.length()
        return StreamID(ms: ms, seq: try input.length())
    }

    /// Reads a stream of type 15, 19 or 21, checking each node (`StreamRestorer.addListpackNode`), the metadata
    /// against the entries, and each group: unique names, unique PEL IDs, consumers with unique names whose PELs
    /// name distinct entries of the group PEL, and every PEL entry owned by exactly one consumer.
    static func readStream(_ type: RDBType, from input: inout RDBInput) throws(RDBError) -> RillCore.Stream {
        let streamStart = input.offset
        let nodeCount = try input.count(minimumBytesEach: 2)
        var restorer = StreamRestorer()
        // Elements are viewed in place (`ListpackItem`), collected in one array reused for every node.
        var items: [ListpackItem] = []
        for _ in 0..<nodeCount {
            let keyStart = input.offset
            let key = try input.string()
            guard key.count == 16 else { throw input.failure("stream node key of \(key.count) bytes", at: keyStart) }
            var keyInput = RDBInput(key)
            let masterID = try readID(from: &keyInput)
            let listpackStart = input.offset
            let listpack = try input.string()
            let failureBase = input.failure("", at: listpackStart).offset
            items.removeAll(keepingCapacity: true)
            let added = listpack.withUnsafeBytes { raw in
                Result { () throws(RDBError) in
                    do throws(RDBError) {
                        try ListpackReader.forEachItem(of: raw) { items.append($0) }
                    } catch {
                        // The offset `elements(ofListpack:at:)` reports for the other listpack-holding types.
                        throw RDBError(offset: listpackStart, reason: "listpack: \(error.reason) (offset \(error.offset) inside)")
                    }
                    guard !items.isEmpty else { throw RDBError(offset: failureBase, reason: "empty listpack inside stream") }
                    let node = items.withUnsafeBufferPointer { buffer in
                        Result { () throws(StreamRestoreError) in
                            try restorer.addListpackNode(masterID: masterID, items: buffer)
                        }
                    }
                    if case .failure(let error) = node { throw RDBError(offset: failureBase, reason: error.description) }
                }
            }
            try added.get()
        }
        let metadataStart = input.offset
        let length = try input.length()
        let lastID = try readLengthID(from: &input)
        let metadata: StreamMetadata
        if type == .streamListpacks {
            // RDB 9 has no counters: Redis takes the first entry, no deletion and one addition per entry.
            metadata = StreamMetadata(length: length, lastID: lastID, maxDeletedEntryID: .zero, entriesAdded: length,
                                      recordedFirstEntryID: restorer.firstLiveID ?? .zero)
        } else {
            let firstID = try readLengthID(from: &input)
            let maxDeletedID = try readLengthID(from: &input)
            let entriesAdded = try input.length()
            metadata = StreamMetadata(length: length, lastID: lastID, maxDeletedEntryID: maxDeletedID,
                                      entriesAdded: entriesAdded, recordedFirstEntryID: firstID)
        }
        var stream: RillCore.Stream
        do {
            stream = try restorer.finish(metadata: metadata)
        } catch {
            throw input.failure("stream: \(error)", at: nodeCount == 0 ? streamStart : metadataStart)
        }
        let groupCount = try input.count()
        for _ in 0..<groupCount {
            try readGroup(type, from: &input, into: &stream)
        }
        return stream
    }

    private static func readGroup(_ type: RDBType, from input: inout RDBInput, into stream: inout RillCore.Stream)
        throws(RDBError)
    {
        let groupStart = input.offset
        let name = try input.string()
        let lastDeliveredID = try readLengthID(from: &input)
        var entriesRead: Int64?
        if type == .streamListpacks {
            entriesRead = stream.derivedEntriesRead(at: lastDeliveredID)
        } else {
            let readStart = input.offset
            let raw = try input.length()
            if raw != UInt64.max {
                guard raw <= UInt64(Int64.max) else { throw input.failure("entries-read \(raw) out of range", at: readStart) }
                entriesRead = Int64(raw)
            }
        }
        // The group PEL: delivery time and count by ID, then each consumer's share of it.
        struct Delivery {
            var time: Int64
            var count: UInt64
            var owner: Int
        }
        let pendingCount = try input.count(minimumBytesEach: 16 + 8 + 1)
        var deliveries: [StreamID: Delivery] = [:]
        deliveries.reserveCapacity(pendingCount)
        for _ in 0..<pendingCount {
            let entryStart = input.offset
            let id = try readID(from: &input)
            let time = try input.millisecondTime()
            let count = try input.length()
            guard deliveries.updateValue(Delivery(time: time, count: count, owner: -1), forKey: id) == nil else {
                throw input.failure("pending entry \(id) repeated in the group PEL", at: entryStart)
            }
        }
        struct Consumer {
            var name: [UInt8]
            var seenTime: Int64
            var activeTime: Int64
            var pending: [StreamID]
        }
        let consumerCount = try input.count(minimumBytesEach: 1 + 8 + 1)
        var consumers: [Consumer] = []
        consumers.reserveCapacity(consumerCount)
        for _ in 0..<consumerCount {
            let consumerName = try input.string()
            let seenTime = try input.millisecondTime()
            let activeTime = type == .streamListpacks3 ? try input.millisecondTime() : seenTime
            let ownedCount = try input.count(minimumBytesEach: 16)
            var pending: [StreamID] = []
            pending.reserveCapacity(ownedCount)
            for _ in 0..<ownedCount {
                let idStart = input.offset
                pending.append(try readID(from: &input))
                guard deliveries[pending[pending.count - 1]] != nil else {
                    throw input.failure("consumer PEL entry \(pending[pending.count - 1]) is not in the group PEL", at: idStart)
                }
            }
            consumers.append(Consumer(name: consumerName, seenTime: seenTime, activeTime: activeTime, pending: pending))
        }
        // The builder wants consumers in name order (Redis writes them so) and owners by that order's index.
        consumers.sort { $0.name.lexicographicallyPrecedes($1.name) }
        var builder: ConsumerGroupBuilder
        do {
            builder = try ConsumerGroupBuilder(name: name, lastDeliveredID: lastDeliveredID, entriesRead: entriesRead)
            for (index, consumer) in consumers.enumerated() {
                try builder.addConsumer(name: consumer.name, seenTime: consumer.seenTime,
                                        activeTime: consumer.activeTime, pendingCount: consumer.pending.count)
                for id in consumer.pending {
                    guard deliveries[id]!.owner < 0 else {  // every ID was checked to be in `deliveries` above
                        throw ConsumerGroupRestoreError("pending entry \(id) owned by two consumers")
                    }
                    deliveries[id]!.owner = index
                }
            }
            for (id, delivery) in deliveries.sorted(by: { $0.key < $1.key }) {
                guard delivery.owner >= 0 else { throw ConsumerGroupRestoreError("pending entry \(id) has no consumer") }
                try builder.addPendingEntry(PendingEntryImage(id: id, consumerIndex: delivery.owner,
                                                              deliveryTime: delivery.time, deliveryCount: delivery.count))
            }
            try stream.restoreGroup(builder)
        } catch {
            throw input.failure("consumer group: \(error)", at: groupStart)
        }
    }

    /// Rill's stream state that Redis' format has no place for (group policies and dead-letter counters, idempotent
    /// producer records, pending entries released by XNACK), or nil when the stream has none. Opaque bytes for
    /// `applyRillOnlyState`: DUMP payloads carry them after the object, RDB files in an AUX field.
    public static func rillOnlyState(of stream: RillCore.Stream) -> [UInt8]? {
        let extensions = ValueCodec.idempotencyAndReleaseExtensions(stream) + ValueCodec.workQueueStreamExtensions(stream)
        guard !extensions.isEmpty else { return nil }
        var sink = ByteSink()
        sink.varint(extensions.count)
        for (tag, payload) in extensions {
            sink.byte(tag.rawValue)
            sink.string(payload)
        }
        return sink.bytes
    }

    /// Applies what `rillOnlyState(of:)` returned to `stream`, which already holds its entries and groups.
    /// - Throws: `RDBError` (offsets inside `bytes`) for bytes that do not decode or do not fit the stream.
    public static func applyRillOnlyState(_ bytes: [UInt8], to stream: inout RillCore.Stream) throws(RDBError) {
        let outcome = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeFailure) in
                var source = ByteSource(raw)
                let count = try source.count()
                var seen = Set<UInt8>()
                for _ in 0..<count {
                    let start = source.offset
                    let tag = try source.byte()
                    guard let known = ValueCodec.StreamExtensionTag(rawValue: tag), known != .consumerGroups,
                          seen.insert(tag).inserted
                    else { throw source.failure("unknown or repeated Rill state tag \(tag)", at: start) }
                    let size = try source.count()
                    let payloadStart = source.offset
                    var payload = ByteSource(try source.take(size), base: payloadStart)
                    try ValueCodec.decodeStreamExtension(known, from: &payload, into: &stream, at: start)
                }
                guard source.isAtEnd else { throw source.failure("trailing bytes after the Rill state") }
            }
        }
        if case .failure(let failure) = outcome { throw RDBError(offset: failure.offset, reason: failure.reason) }
    }
}
