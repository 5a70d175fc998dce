/// A record found by a scan, and the block holding it.
struct StreamRecordLocation {
    /// Index of the block in `Stream.blocks`.
    var blockIndex: Int
    /// The record.
    var record: StreamRecord

    var id: StreamID {
        @inline(__always) get { record.id }
    }
}

extension Stream {
    // MARK: Internal scanning primitives

    /// Index of the last block whose master ID is <= `id`, or nil when every block starts later.
    /// - Complexity: O(log blocks).
    func lastBlockIndex(masterAtMost id: StreamID) -> Int? {
        var low = 0
        var high = blocks.count
        while low < high {
            let middle = (low &+ high) >> 1
            if blocks[middle].header.masterID <= id {
                low = middle &+ 1
            } else {
                high = middle
            }
        }
        return low == 0 ? nil : low &- 1
    }

    /// Builds the field view of a record whose body starts at `bodyOffset`.
    @inline(__always)
    static func fields(
        elements: UnsafePointer<UInt8>,
        header: UnsafePointer<StreamBlockHeader>,
        bodyOffset: Int,
        flags: UInt8
    ) -> StreamEntryFields {
        if flags & RecordFlags.sharesMasterFields != 0 {
            return StreamEntryFields(
                base: elements, bodyOffset: bodyOffset, masterFieldsOffset: 0,
                sharesMasterFields: true, count: header.pointee.masterFieldCount)
        }
        var offset = bodyOffset
        let count = Int(truncatingIfNeeded: readVarint(elements, at: &offset))
        return StreamEntryFields(
            base: elements, bodyOffset: offset, masterFieldsOffset: 0, sharesMasterFields: false, count: count)
    }

    /// Visits live records with ID >= `start` in storage order, the way Redis's forward stream
    /// iterator does: it begins at the last block whose master ID is <= `start` (or the first
    /// block), skips deleted records and records below `start`. `visit` returns false to stop.
    /// Pointers passed to `visit` are valid only during the call.
    @inline(__always)
    func scanLiveRecordsForward(
        from start: StreamID,
        _ visit: (_ location: StreamRecordLocation, _ elements: UnsafePointer<UInt8>,
                  _ header: UnsafePointer<StreamBlockHeader>) -> Bool
    ) {
        var index = lastBlockIndex(masterAtMost: start) ?? 0
        while index < blocks.count {
            let keepGoing = blocks[index].withUnsafeMutablePointers { header, mutableElements -> Bool in
                let elements = UnsafePointer(mutableElements)
                var records = StreamRecordIterator(elements: elements, header: header)
                while let record = records.next() {
                    if record.isDeleted || record.id < start { continue }
                    if !visit(StreamRecordLocation(blockIndex: index, record: record), elements, UnsafePointer(header)) {
                        return false
                    }
                }
                return true
            }
            if !keepGoing { return }
            index &+= 1
        }
    }

    /// Reverse iteration as Redis does it: from the last block whose master ID is <= `end` (or the
    /// last block) backwards, skipping deleted records and records above `end`, stopping at the
    /// first live record below `start`. Returns the number of entries visited.
    private func forEachEntryReversed(
        from start: StreamID,
        to end: StreamID,
        limit: Int,
        _ body: (StreamID, StreamEntryFields) -> Void
    ) -> Int {
        guard !blocks.isEmpty else { return 0 }
        var index = lastBlockIndex(masterAtMost: end) ?? (blocks.count - 1)
        var visited = 0
        while index >= 0 {
            let finished = blocks[index].withUnsafeMutablePointers { header, mutableElements -> Bool in
                let elements = UnsafePointer(mutableElements)
                // Fast path for the newest entry (XREVRANGE + - COUNT 1, lastEntryID): when one
                // more entry is wanted and the block's last record qualifies, read it directly.
                let lastID = header.pointee.lastRecordID
                if limit - visited == 1 && lastID <= end {
                    var offset = header.pointee.lastRecordOffset
                    let flags = readRecordHeader(elements, at: &offset, previous: lastID).flags
                    if flags & RecordFlags.deleted == 0 {
                        if lastID < start { return true }
                        body(lastID, Stream.fields(
                            elements: elements, header: UnsafePointer(header), bodyOffset: offset, flags: flags))
                        visited &+= 1
                        return true
                    }
                }
                let recordCount = header.pointee.recordCount
                return withUnsafeTemporaryAllocation(of: StreamRecord.self, capacity: Swift.max(recordCount, 1)) { slots in
                    // Records have no back-links, so collect this block's candidates walking forward.
                    var collected = 0
                    var records = StreamRecordIterator(elements: elements, header: header)
                    while collected < recordCount, let record = records.next() {
                        if record.isDeleted || record.id > end { continue }
                        slots.initializeElement(at: collected, to: record)
                        collected &+= 1
                    }
                    var position = collected &- 1
                    while position >= 0 {
                        let slot = slots[position]
                        if slot.id < start { return true }
                        body(slot.id, Stream.fields(
                            elements: elements, header: UnsafePointer(header), bodyOffset: slot.bodyOffset, flags: slot.flags))
                        visited &+= 1
                        if visited >= limit { return true }
                        position &-= 1
                    }
                    return false
                }
            }
            if finished { break }
            index &-= 1
        }
        return visited
    }

    // MARK: Public reading API

    /// Calls `body` for each live entry with `start <= id <= end`, in ascending ID order (or
    /// descending when `reverse`), at most `limit` times. Field and value bytes handed to `body`
    /// point into the stream's storage and are valid only during the call; `body` must not
    /// mutate this stream.
    /// - Parameters:
    ///   - limit: maximum number of entries to visit; 0 or less visits none (use `.max` for all).
    /// - Returns: the number of entries visited.
    /// - Complexity: O(log b + m + k), b = blocks, m = records of the first and last block
    ///   touched, k = entries visited.
    @discardableResult
    public func forEachEntry(
        from start: StreamID = .zero,
        to end: StreamID = .max,
        reverse: Bool = false,
        limit: Int = .max,
        _ body: (StreamID, StreamEntryFields) -> Void
    ) -> Int {
        guard start <= end, limit > 0 else { return 0 }
        if reverse { return forEachEntryReversed(from: start, to: end, limit: limit, body) }
        var visited = 0
        scanLiveRecordsForward(from: start) { location, elements, header in
            if location.id > end { return false }
            body(location.id, Stream.fields(
                elements: elements, header: header, bodyOffset: location.record.bodyOffset, flags: location.record.flags))
            visited &+= 1
            return visited < limit
        }
        return visited
    }

    /// Live entries with `start <= id <= end` copied out, ascending (descending when `reverse`),
    /// at most `limit` of them.
    /// - Complexity: same as `forEachEntry`, plus copying the returned bytes.
    public func entries(
        from start: StreamID = .zero,
        to end: StreamID = .max,
        reverse: Bool = false,
        limit: Int = .max
    ) -> [StreamEntry] {
        var result: [StreamEntry] = []
        forEachEntry(from: start, to: end, reverse: reverse, limit: limit) { id, fields in
            result.append(StreamEntry(id: id, fieldsAndValues: fields.flattened()))
        }
        return result
    }

    /// Calls `body` for up to `limit` live entries with IDs strictly greater than `id`, ascending
    /// (what XREAD and XREADGROUP need). Same lifetime rules as `forEachEntry`.
    /// - Complexity: O(log b + m + k).
    @discardableResult
    public func forEachEntry(
        after id: StreamID,
        limit: Int = .max,
        _ body: (StreamID, StreamEntryFields) -> Void
    ) -> Int {
        guard let start = id.next else { return 0 }
        return forEachEntry(from: start, to: .max, reverse: false, limit: limit, body)
    }

    /// The ID of the first live entry greater than `id`, if any.
    /// - Complexity: O(log b + m).
    public func firstEntryID(after id: StreamID) -> StreamID? {
        var found: StreamID?
        forEachEntry(after: id, limit: 1) { entryID, _ in found = entryID }
        return found
    }

    /// The ID of the oldest live entry (nil when empty).
    /// - Complexity: O(m) (the first blocks' records).
    public var firstEntryID: StreamID? {
        var found: StreamID?
        forEachEntry(limit: 1) { id, _ in found = id }
        return found
    }

    /// The ID of the newest live entry (nil when empty); may be below `lastID` after deletions.
    /// - Complexity: O(m) (the last blocks' records).
    public var lastEntryID: StreamID? {
        var found: StreamID?
        forEachEntry(reverse: true, limit: 1) { id, _ in found = id }
        return found
    }

    /// The oldest live entry, copied.
    /// - Complexity: O(m + entry size).
    public var firstEntry: StreamEntry? { entries(limit: 1).first }

    /// The newest live entry, copied.
    /// - Complexity: O(m + entry size).
    public var lastEntry: StreamEntry? { entries(reverse: true, limit: 1).first }

    /// The live entry with exactly this ID, copied.
    /// - Complexity: O(log b + m + entry size).
    public func entry(withID id: StreamID) -> StreamEntry? { entries(from: id, to: id, limit: 1).first }

    /// Whether a live entry has exactly this ID.
    /// - Complexity: O(log b + m).
    public func containsEntry(withID id: StreamID) -> Bool {
        forEachEntry(from: id, to: id, limit: 1) { _, _ in } == 1
    }

    /// Approximate bytes used by this stream: the struct, the block index and every block
    /// (object header, block header, allocated element area).
    /// - Complexity: O(b).
    public var memoryFootprint: Int {
        var total = MemoryLayout<Stream>.size + 32 + blocks.count * MemoryLayout<StreamBlock>.stride
        for block in blocks { total += block.allocatedBytes }
        return total
    }

    /// Bytes of element storage in use by all blocks (master field names and records).
    /// - Complexity: O(b).
    public var usedBlockBytes: Int {
        var total = 0
        for block in blocks { total += block.header.usedBytes }
        return total
    }
}
