import DequeModule
import RillCore

/// Appends little-endian integers, varints and length-prefixed byte strings to a growing byte array.
struct ByteSink {
    /// Everything written so far.
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func littleEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128.
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: rest))
    }

    mutating func varint(_ value: Int) { varint(UInt64(value)) }

    mutating func id(_ id: StreamID) {
        varint(id.ms)
        varint(id.seq)
    }

    /// Varint length, then the bytes.
    mutating func string(_ value: [UInt8]) {
        varint(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func raw(_ value: UnsafeRawBufferPointer) {
        varint(value.count)
        bytes.append(contentsOf: value)
    }
}

/// Why decoding failed: `offset` counts from the start of the bytes given to the `ByteSource`, plus its `base`.
struct DecodeFailure: Error {
    var offset: Int
    var reason: String
}

/// Bounds-checked reads over untrusted bytes. `base` is added to offsets in failures so they name the position in
/// the whole file.
struct ByteSource {
    let bytes: UnsafeRawBufferPointer
    /// Added to local offsets when reporting a failure.
    let base: Int
    /// Next unread byte.
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, base: Int = 0) {
        self.bytes = bytes
        self.base = base
    }

    var isAtEnd: Bool { offset >= bytes.count }
    var remaining: Int { bytes.count - offset }

    func failure(_ reason: String, at local: Int? = nil) -> DecodeFailure {
        DecodeFailure(offset: base + (local ?? offset), reason: reason)
    }

    mutating func byte() throws(DecodeFailure) -> UInt8 {
        guard offset < bytes.count else { throw failure("unexpected end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func littleEndian<Integer: FixedWidthInteger>(_: Integer.Type) throws(DecodeFailure) -> Integer {
        let size = MemoryLayout<Integer>.size
        guard remaining >= size else { throw failure("unexpected end of data") }
        var value: Integer = 0
        for index in 0..<size { value |= Integer(truncatingIfNeeded: bytes[offset + index]) << (index * 8) }
        offset += size
        return value
    }

    mutating func varint() throws(DecodeFailure) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 64, !(shift == 63 && byte > 1) else { throw failure("varint overflows", at: start) }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// A varint counting bytes or items, each taking at least one byte, so it cannot exceed what is left.
    mutating func count() throws(DecodeFailure) -> Int {
        let start = offset
        let value = try varint()
        guard value <= UInt64(remaining) else { throw failure("count \(value) exceeds the remaining data", at: start) }
        return Int(value)
    }

    mutating func id() throws(DecodeFailure) -> StreamID {
        let ms = try varint()
        return StreamID(ms: ms, seq: try varint())
    }

    mutating func take(_ count: Int) throws(DecodeFailure) -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw failure("unexpected end of data") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    /// A varint length, then that many bytes.
    mutating func string() throws(DecodeFailure) -> [UInt8] {
        let count = try count()
        return Array(try take(count))
    }
}

/// Encoding of one value, shared by snapshot key records and DUMP payloads (see the format description in
/// `SnapshotFormat`).
enum ValueCodec {
    /// The value type byte.
    enum TypeCode: UInt8 {
        case string = 0
        case list = 1
        case set = 2
        case stream = 3
    }

    /// Tags of the stream extension records that follow a stream's blocks.
    enum StreamExtensionTag: UInt8 {
        /// Consumer groups (groups, consumers, PELs with delivery times and counts); written only when the stream
        /// has at least one group.
        case consumerGroups = 1
        /// Idempotent-production state (XADD IDMP/IDMPAUTO, XCFGSET; Redis 8.6); written only when the stream has
        /// used it. See ValueCodec+IdempotencyAndRelease.swift.
        case idempotency = 2
        /// Pending entries released by XNACK (Redis 8.8), which have no owner; written after the consumer groups,
        /// only when some group has such entries.
        case releasedPending = 3
        /// the group policy and dead-lettered counters (XGROUP SETPOLICY); written after tag 0x01, only
        /// when some group has used them. See ValueCodec+GroupPolicy.swift.
        case groupPolicies = 4
    }

    static func typeCode(of value: RedisValue) -> TypeCode {
        switch value {
        case .string: return .string
        case .list: return .list
        case .set: return .set
        case .stream: return .stream
        }
    }

    /// Writes the value body (without its type byte).
    static func encodeBody(_ value: RedisValue, to sink: inout ByteSink) {
        switch value {
        case .string(let bytes):
            sink.string(bytes)
        case .list(let list):
            sink.varint(list.count)
            for element in list {
                sink.string(element)
            }
        case .set(let set):
            sink.varint(set.count)
            for member in set {
                sink.string(member)
            }
        case .stream(let stream):
            encodeStream(stream, to: &sink)
        }
    }

    static func encodeStream(_ stream: RillCore.Stream, to sink: inout ByteSink) {
        let metadata = stream.metadata
        sink.varint(metadata.length)
        sink.varint(metadata.entriesAdded)
        sink.id(metadata.lastID)
        sink.id(metadata.maxDeletedEntryID)
        sink.id(metadata.recordedFirstEntryID)
        sink.varint(stream.nodeCount)
        stream.forEachBlockImage { image in
            sink.id(image.masterID)
            sink.varint(image.masterFieldCount)
            sink.raw(image.bytes)
        }
        // A stream without groups has no extension, so its encoding is the same as before groups existed.
        let groups = stream.consumerGroups
        let laterExtensions = idempotencyAndReleaseExtensions(stream) + workQueueStreamExtensions(stream)
        sink.varint((groups.isEmpty ? 0 : 1) + laterExtensions.count)
        if !groups.isEmpty {
            sink.byte(StreamExtensionTag.consumerGroups.rawValue)
            var payload = ByteSink()
            encodeConsumerGroups(groups, to: &payload)
            sink.string(payload.bytes)
        }
        for (tag, payload) in laterExtensions {
            sink.byte(tag.rawValue)
            sink.string(payload)
        }
    }

    /// The consumer-group extension payload (layout in `SnapshotFormat.swift`).
    /// - Complexity: O(groups + consumers + pending entries).
    static func encodeConsumerGroups(_ groups: [ConsumerGroup], to sink: inout ByteSink) {
        sink.varint(groups.count)
        for group in groups {
            sink.string(group.name)
            sink.id(group.lastDeliveredID)
            if let entriesRead = group.entriesRead {
                sink.byte(1)
                sink.varint(UInt64(entriesRead))  // never negative (group invariant)
            } else {
                sink.byte(0)
            }
            let consumers = group.consumers
            sink.varint(consumers.count)
            for consumer in consumers {
                sink.string(consumer.name)
                sink.littleEndian(consumer.seenTime)
                sink.littleEndian(consumer.activeTime)
                sink.varint(consumer.pendingCount)
            }
            sink.varint(group.ownedPendingCount)
            group.forEachPendingEntryImage { entry in
                sink.id(entry.id)
                sink.varint(entry.consumerIndex)
                sink.littleEndian(entry.deliveryTime)
                sink.varint(entry.deliveryCount)
            }
        }
    }

    /// Reads the consumer-group extension payload into `stream`, which already holds its entries; the payload
    /// must be consumed exactly.
    /// - Complexity: O(payload size + pending entries × log).
    static func decodeConsumerGroups(from source: inout ByteSource, into stream: inout RillCore.Stream)
        throws(DecodeFailure)
    {
        let groupCount = try source.count()
        for _ in 0..<groupCount {
            let groupStart = source.offset
            let name = try source.string()
            let lastDeliveredID = try source.id()
            let flagOffset = source.offset
            let entriesRead: Int64?
            switch try source.byte() {
            case 0:
                entriesRead = nil
            case 1:
                let value = try source.varint()
                guard value <= UInt64(Int64.max) else { throw source.failure("entries-read out of range", at: flagOffset) }
                entriesRead = Int64(value)
            default:
                throw source.failure("bad entries-read flag", at: flagOffset)
            }
            var builder: ConsumerGroupBuilder
            do {
                builder = try ConsumerGroupBuilder(name: name, lastDeliveredID: lastDeliveredID, entriesRead: entriesRead)
            } catch {
                throw source.failure("consumer group: \(error)", at: groupStart)
            }
            let consumerCount = try source.count()
            for _ in 0..<consumerCount {
                let consumerStart = source.offset
                let consumerName = try source.string()
                let seenTime = try source.littleEndian(Int64.self)
                let activeTime = try source.littleEndian(Int64.self)
                let pendingCount = try source.varint()
                guard pendingCount <= UInt64(Int.max) else { throw source.failure("pending count out of range", at: consumerStart) }
                do {
                    try builder.addConsumer(name: consumerName, seenTime: seenTime, activeTime: activeTime,
                                            pendingCount: Int(pendingCount))
                } catch {
                    throw source.failure("consumer group: \(error)", at: consumerStart)
                }
            }
            let pendingCount = try source.count()
            for _ in 0..<pendingCount {
                let entryStart = source.offset
                let id = try source.id()
                let consumerIndex = try source.varint()
                let deliveryTime = try source.littleEndian(Int64.self)
                let deliveryCount = try source.varint()
                guard consumerIndex < UInt64(consumerCount) else {
                    throw source.failure("pending entry \(id) names consumer \(consumerIndex) of \(consumerCount)", at: entryStart)
                }
                do {
                    try builder.addPendingEntry(PendingEntryImage(id: id, consumerIndex: Int(consumerIndex),
                                                                  deliveryTime: deliveryTime, deliveryCount: deliveryCount))
                } catch {
                    throw source.failure("consumer group: \(error)", at: entryStart)
                }
            }
            do {
                try stream.restoreGroup(builder)
            } catch {
                throw source.failure("consumer group: \(error)", at: groupStart)
            }
        }
        guard source.isAtEnd else { throw source.failure("trailing bytes after consumer groups") }
    }

    /// Reads a value body of type `type`, validating everything.
    /// - Complexity: O(encoded size).
    static func decodeBody(_ type: TypeCode, from source: inout ByteSource) throws(DecodeFailure) -> RedisValue {
        switch type {
        case .string:
            return .string(try source.string())
        case .list:
            let start = source.offset
            let count = try source.count()
            guard count >= 1 else { throw source.failure("empty list", at: start) }
            var list = Deque<[UInt8]>()
            list.reserveCapacity(count)
            for _ in 0..<count { list.append(try source.string()) }
            return .list(list)
        case .set:
            let start = source.offset
            let count = try source.count()
            guard count >= 1 else { throw source.failure("empty set", at: start) }
            var set = Set<[UInt8]>(minimumCapacity: count)
            for _ in 0..<count {
                let memberOffset = source.offset
                guard set.insert(try source.string()).inserted else {
                    throw source.failure("duplicate set member", at: memberOffset)
                }
            }
            return .set(set)
        case .stream:
            return .stream(try decodeStream(from: &source))
        }
    }

    static func decodeStream(from source: inout ByteSource) throws(DecodeFailure) -> RillCore.Stream {
        let streamStart = source.offset
        let length = try source.varint()
        let entriesAdded = try source.varint()
        let lastID = try source.id()
        let maxDeletedEntryID = try source.id()
        let recordedFirstEntryID = try source.id()
        let blockCount = try source.count()
        var restorer = StreamRestorer()
        for _ in 0..<blockCount {
            let blockStart = source.offset
            let masterID = try source.id()
            let fieldCountOffset = source.offset
            let masterFieldCount = try source.count()
            let size = try source.count()
            let bytesStart = source.offset
            let bytes = try source.take(size)
            do {
                try restorer.addBlock(masterID: masterID, masterFieldCount: masterFieldCount, bytes: bytes)
            } catch {
                let local = error.offset.map { bytesStart + $0 } ?? (error.reason.contains("master") ? fieldCountOffset : blockStart)
                throw source.failure("stream \(error)", at: local)
            }
        }
        let metadata = StreamMetadata(length: length, lastID: lastID, maxDeletedEntryID: maxDeletedEntryID,
                                      entriesAdded: entriesAdded, recordedFirstEntryID: recordedFirstEntryID)
        var stream: RillCore.Stream
        do {
            stream = try restorer.finish(metadata: metadata)
        } catch {
            throw source.failure("stream \(error)", at: streamStart)
        }
        let extensionCount = try source.count()
        var seenTags = Set<UInt8>()
        for _ in 0..<extensionCount {
            let extensionStart = source.offset
            let tag = try source.byte()
            // Unknown extensions are refused rather than skipped: skipping would silently lose state.
            guard let known = StreamExtensionTag(rawValue: tag) else {
                throw source.failure("unknown stream extension tag \(tag)", at: extensionStart)
            }
            guard seenTags.insert(tag).inserted else {
                throw source.failure("stream extension \(tag) repeated", at: extensionStart)
            }
            let size = try source.count()
            let payloadStart = source.offset
            var payload = ByteSource(try source.take(size), base: source.base + payloadStart)
            switch known {
            case .consumerGroups:
                try decodeConsumerGroups(from: &payload, into: &stream)
            case .idempotency, .releasedPending, .groupPolicies:
                try decodeStreamExtension(known, from: &payload, into: &stream, at: extensionStart)
            }
        }
        return stream
    }
}
