// The bridge between Rill's packed blocks and Redis' stream listpack nodes (RDB types 15, 19 and 21), without any
// byte format of the listpack itself: RillPersistence encodes and validates listpacks; this file turns a block into
// the sequence of elements its Redis node holds, and such a sequence back into a block.
//
// A Redis stream node is one listpack keyed by its master ID (the ID of its first entry). Its elements:
//
//     count | deleted | master-field-count | master-field... | 0
//     then per entry (live or deleted, ascending ID):
//     flags | ms - master.ms | seq - master.seq | [field-count | field value ...] or [value ...] | lp-count
//
// flags: 1 = deleted, 2 = same fields as the master entry (then only values follow); lp-count is the number of
// elements of the entry before it (values + 3 with same fields, 2 * fields + 4 otherwise), for backward walks.
// Rill's blocks keep the same records with the same flags (`RecordFlags`), so the mapping is one to one and a
// round trip keeps node boundaries, deleted records and so XINFO's radix-tree-keys.

/// One element of a listpack: listpacks store canonical decimal strings as integers.
public enum ListpackElement: Equatable, Sendable {
    case integer(Int64)
    case string(ArraySlice<UInt8>)

    /// The bytes the element stands for (an integer's decimal digits).
    public var bytes: [UInt8] {
        switch self {
        case .integer(let value): return RedisInteger.format(value)
        case .string(let bytes): return Array(bytes)
        }
    }

    /// The integer the element holds, or the integer its string spells canonically.
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .string(let bytes): return RedisInteger.parse(bytes)
        }
    }
}

/// A listpack element seen in place, for loading: a trivial value (no reference count to maintain), whose string
/// bytes belong to the listpack being read and stay valid only while the reader's visit lasts.
public enum ListpackItem {
    case integer(Int64)
    case string(UnsafeRawBufferPointer)

    /// The integer the element holds, or the integer its string spells canonically.
    var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .string(let bytes): return RedisInteger.parse(bytes)
        }
    }
}

/// Receives a node's elements in order (a listpack writer, in RillPersistence).
public protocol ListpackElementSink {
    mutating func append(integer: Int64)
    /// Appends bytes as a listpack string element; the caller has turned canonical integers into `append(integer:)`.
    mutating func append(string: UnsafeRawBufferPointer)
}

extension Stream {
    /// The master ID of the block at `index` (0..<nodeCount), the key of its Redis node.
    /// - Complexity: O(1).
    public func listpackNodeMasterID(at index: Int) -> StreamID {
        blocks[index].header.masterID
    }

    /// Writes the elements of the Redis listpack node equivalent to the block at `index` to `sink`.
    /// - Complexity: O(bytes of the block).
    public func writeListpackNode<Sink: ListpackElementSink>(at index: Int, to sink: inout Sink) {
        let block = blocks[index]
        block.withUnsafeMutablePointers { header, elements in
            let master = header.pointee.masterID
            let masterFieldCount = header.pointee.masterFieldCount
            sink.append(integer: Int64(header.pointee.liveCount))
            sink.append(integer: Int64(header.pointee.deletedCount))
            sink.append(integer: Int64(masterFieldCount))
            var offset = 0
            for _ in 0..<masterFieldCount {
                let length = Int(truncatingIfNeeded: readVarint(elements, at: &offset))
                let field = UnsafeRawBufferPointer(start: elements + offset, count: length)
                if let integer = parseCanonicalInt64(field) {
                    sink.append(integer: integer)
                } else {
                    sink.append(string: field)
                }
                offset += length
            }
            sink.append(integer: 0)
            var records = StreamRecordIterator(elements: elements, header: header)
            while let record = records.next() {
                sink.append(integer: Int64(record.flags))
                sink.append(integer: Int64(bitPattern: record.id.ms &- master.ms))
                sink.append(integer: Int64(bitPattern: record.id.seq &- master.seq))
                var body = record.bodyOffset
                let shares = record.flags & RecordFlags.sharesMasterFields != 0
                var pairs = masterFieldCount
                if !shares {
                    pairs = Int(truncatingIfNeeded: readVarint(elements, at: &body))
                    sink.append(integer: Int64(pairs))
                }
                for _ in 0..<(shares ? pairs : 2 * pairs) {
                    switch decodeValue(elements, at: &body) {
                    case .integer(let value): sink.append(integer: value)
                    case .bytes(let bytes): sink.append(string: bytes)
                    }
                }
                sink.append(integer: Int64(shares ? pairs + 3 : 2 * pairs + 4))
            }
        }
    }

    /// The entries-read counter Redis derives for a group at `lastDeliveredID` when the payload has none (RDB
    /// versions before 10), or nil when the counters cannot tell.
    public func derivedEntriesRead(at lastDeliveredID: StreamID) -> Int64? {
        estimatedEntriesRead(upTo: lastDeliveredID)
    }
}

extension StreamRestorer {
    /// Converts one Redis listpack node (its elements, already read from a valid listpack) to a block and adds it.
    /// Checks the node's structure: counters, master fields and terminator, flags, field counts, lp-counts, IDs
    /// strictly ascending from the master ID; `addBlock` then checks the block as it checks any other.
    /// - Throws: `StreamRestoreError` naming the element index (as `offset`) and the problem.
    /// - Complexity: O(elements + bytes).
    public mutating func addListpackNode(masterID: StreamID, elements: [ListpackElement]) throws(StreamRestoreError) {
        // Lay the strings out in one buffer so each element can be viewed in place.
        var strings: [UInt8] = []
        for case .string(let bytes) in elements { strings.append(contentsOf: bytes) }
        let outcome = strings.withUnsafeBytes { raw in
            var items: [ListpackItem] = []
            items.reserveCapacity(elements.count)
            var offset = 0
            for element in elements {
                switch element {
                case .integer(let value): items.append(.integer(value))
                case .string(let bytes):
                    items.append(.string(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + bytes.count)])))
                    offset += bytes.count
                }
            }
            return items.withUnsafeBufferPointer { buffer in
                Result { () throws(StreamRestoreError) in try addListpackNode(masterID: masterID, items: buffer) }
            }
        }
        try outcome.get()
    }

    /// `addListpackNode(masterID:elements:)` over elements viewed in place (the loader's path: no copies of the
    /// strings, no reference counting per element).
    public mutating func addListpackNode(
        masterID: StreamID, items elements: UnsafeBufferPointer<ListpackItem>
    ) throws(StreamRestoreError) {
        func failure(_ index: Int, _ reason: String) -> StreamRestoreError {
            StreamRestoreError(blockIndex: nil, offset: index, reason: "stream node \(masterID): element \(index): \(reason)")
        }
        var position = 0
        func integer(_ what: String, minimum: Int64 = .min) throws(StreamRestoreError) -> Int64 {
            guard position < elements.count else { throw failure(position, "missing \(what)") }
            guard let value = elements[position].integer, value >= minimum else {
                throw failure(position, "\(what) is not a valid integer")
            }
            position += 1
            return value
        }
        let declaredLive = try integer("entry count", minimum: 0)
        let declaredDeleted = try integer("deleted count", minimum: 0)
        let masterFieldCount = Int(try integer("master field count", minimum: 1))
        guard masterFieldCount <= elements.count - position else { throw failure(position, "master fields missing") }
        let masterFields = elements[position..<(position + masterFieldCount)]
        position += masterFieldCount
        guard try integer("master terminator") == 0 else { throw failure(position - 1, "master entry not terminated by 0") }

        // The bytes below are written through a pointer without bounds checks, so `bound` must cover the worst case:
        // a string takes at most a 10-byte varint length (or tag) and its bytes; an integer at most 21 bytes (as a
        // master field: its decimal text, at most 20 bytes, after a 1-byte length; as a value: a tag and 8 bytes);
        // a record header at most 21 bytes, and a record has at least 5 elements.
        var bound = 0
        for element in elements {
            switch element {
            case .string(let bytes): bound += 10 + bytes.count
            case .integer: bound += 21
            }
        }
        var live: Int64 = 0
        var deleted: Int64 = 0
        var used = 0
        var converted: Result<Void, StreamRestoreError> = .success(())
        // Written front to back and only the written prefix kept, so nothing needs zeroing first.
        let block = [UInt8](unsafeUninitializedCapacity: bound + 21 * (elements.count / 5 + 1)) { buffer, initialized in
            defer { initialized = used }
            converted = Result { () throws(StreamRestoreError) in
            let base = buffer.baseAddress!  // non-empty: the capacity is at least 21
            func writeField(_ bytes: UnsafeRawBufferPointer) {
                writeVarint(UInt64(bytes.count), to: base, at: &used)
                for byte in bytes {
                    base[used] = byte
                    used += 1
                }
            }
            for field in masterFields {
                switch field {
                case .integer(let value): RedisInteger.format(value).withUnsafeBytes { writeField($0) }
                case .string(let bytes): writeField(bytes)
                }
            }
            var previous = idBeforeFirstRecord(of: masterID)
            var first = true
            while position < elements.count {
                let recordStart = position
                let flags = try integer("flags", minimum: 0)
                guard flags <= Int64(RecordFlags.mask) else { throw failure(recordStart, "unknown entry flags \(flags)") }
                let msDelta = try integer("ms delta")
                let seqDelta = try integer("seq delta")
                let id = StreamID(ms: masterID.ms &+ UInt64(bitPattern: msDelta), seq: masterID.seq &+ UInt64(bitPattern: seqDelta))
                if first {
                    guard id == masterID else { throw failure(recordStart, "first entry \(id) is not the master ID") }
                } else {
                    guard id > previous else { throw failure(recordStart, "entry \(id) does not follow \(previous)") }
                }
                let shares = flags & Int64(RecordFlags.sharesMasterFields) != 0
                writeRecordHeader(id: id, previous: previous, flags: UInt8(flags), to: base, at: &used)
                var pairs = masterFieldCount
                if !shares {
                    pairs = Int(try integer("field count", minimum: 1))
                    guard pairs <= elements.count else { throw failure(position - 1, "field count \(pairs) too large") }
                    writeVarint(UInt64(pairs), to: base, at: &used)
                }
                let valueCount = shares ? pairs : 2 * pairs
                guard valueCount <= elements.count - position else { throw failure(recordStart, "entry \(id) is cut short") }
                for element in elements[position..<(position + valueCount)] {
                    switch element {
                    case .integer(let value):
                        encodeValue(UnsafeRawBufferPointer(start: nil, count: 0), integer: value, to: base, at: &used)
                    case .string(let bytes):
                        encodeValue(bytes, integer: parseCanonicalInt64(bytes), to: base, at: &used)
                    }
                }
                position += valueCount
                let expectedCount = Int64(shares ? pairs + 3 : 2 * pairs + 4)
                guard try integer("lp-count") == expectedCount else {
                    throw failure(position - 1, "lp-count of entry \(id) is not \(expectedCount)")
                }
                if flags & Int64(RecordFlags.deleted) != 0 { deleted += 1 } else { live += 1 }
                previous = id
                first = false
            }
        } }
        try converted.get()
        guard live == declaredLive, deleted == declaredDeleted else {
            throw failure(0, "node counts \(declaredLive) live and \(declaredDeleted) deleted entries, holds \(live) and \(deleted)")
        }
        let added = block.withUnsafeBytes { raw in
            Result { () throws(StreamRestoreError) in
                try self.addBlock(masterID: masterID, masterFieldCount: masterFieldCount,
                                      bytes: UnsafeRawBufferPointer(rebasing: raw[0..<used]))
            }
        }
        try added.get()
    }
}
