import Collections

/// Redis's node size limits (`stream-node-max-bytes`, `stream-node-max-entries`), which decide
/// where a stream's entries are cut into nodes and therefore what approximate trimming removes.
public struct StreamNodeLimits: Sendable, Hashable {
    /// Listpack byte size at which a node is closed; 0 (or more than 1 GiB) means 1 GiB.
    public var maxBytes: Int
    /// Records (live + deleted) at which a node is closed; 0 means no limit.
    public var maxEntries: Int

    public init(maxBytes: Int = 4096, maxEntries: Int = 100) {
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
    }

    /// Redis's hard cap on one listpack, and on one entry's field and value bytes.
    public static let listpackMaxSize = 1 << 30

    /// `maxBytes` as Redis applies it.
    public var effectiveMaxBytes: Int {
        maxBytes <= 0 || maxBytes > StreamNodeLimits.listpackMaxSize ? StreamNodeLimits.listpackMaxSize : maxBytes
    }

    /// The LIMIT Redis uses for approximate trimming (`~`) when none is given:
    /// 100 * maxEntries, or 10000 when that is 0, capped at 1000000. An explicit `LIMIT n` is
    /// used as given (0 meaning unlimited), and exact trimming has no limit (pass 0).
    public var defaultApproximateTrimLimit: Int {
        let (product, overflow) = maxEntries.multipliedReportingOverflow(by: 100)
        if overflow || product > 1_000_000 { return 1_000_000 }
        return product <= 0 ? 10_000 : product
    }
}

/// What XTRIM / XADD's trimming option keeps.
public enum StreamTrimStrategy: Sendable, Hashable {
    /// MAXLEN: keep at most this many entries.
    case maxLength(UInt64)
    /// MINID: drop entries with IDs lower than this one.
    case minimumID(StreamID)
}

/// A Redis stream value: entries in ID order packed into blocks, plus stream metadata.
///
/// Entries live in `StreamBlock`s cut exactly where Redis 7 cuts its listpack nodes (each block
/// tracks the size its Redis listpack would have), so approximate trimming and `nodeCount` match
/// redis-server. Copying a `Stream` copies block references only; blocks are copied lazily on
/// the first mutation of a shared one.
///
/// Invariants (checked by `validate()`):
/// - blocks are ordered by master ID; each block's records decode to `liveCount + deletedCount`
///   records filling exactly `usedBytes`, starting at the master ID and ending at
///   `lastRecordID`, with the listpack size the header claims;
/// - `length` is the sum of the live counts; `entriesAdded >= length`;
/// - `recordedFirstEntryID` is the first live ID, or 0-0 when empty;
/// - every block has at least one live record, except blocks left by exact MINID trimming
///   (Redis keeps those too);
/// - `lastID` >= every live ID.
public struct Stream: Sendable {
    /// Packed blocks in ascending master ID order (Redis's radix tree of listpacks); empty for an
    /// empty stream that never had entries or lost them all.
    /// `nonisolated(unsafe)` because ManagedBuffer opts out of Sendable; blocks are only mutated
    /// when uniquely referenced (copy-on-write), so sharing them across threads is safe.
    nonisolated(unsafe) var blocks: Deque<StreamBlock>
    /// Number of live entries (XLEN).
    public internal(set) var length: UInt64
    /// The last ID generated or set by XSETID (`last-generated-id`); 0-0 for a new stream.
    public internal(set) var lastID: StreamID
    /// The greatest ID removed by XDEL, or set by XSETID MAXDELETEDID (`max-deleted-entry-id`);
    /// trimming does not change it. 0-0 when nothing was deleted.
    public internal(set) var maxDeletedEntryID: StreamID
    /// Entries ever added, including removed ones (`entries-added`); XSETID can overwrite it.
    public internal(set) var entriesAdded: UInt64
    /// Redis's `first_id` (`recorded-first-entry-id`): the first live ID, 0-0 when empty.
    public internal(set) var recordedFirstEntryID: StreamID
    /// The stream's consumer groups, ordered by name; empty for a stream without groups.
    /// See `Stream+ConsumerGroups.swift`.
    var groupTable = ConsumerGroupTable()
    /// Idempotent-production state (XADD IDMP/IDMPAUTO, XCFGSET); nil until first used.
    /// See `Stream+Idempotency.swift`.
    public internal(set) var idempotency: StreamIdempotency?
    #if RILL_INTERNAL_CHECKS
    /// Mutations checked so far; spaces out the full checks of large streams (see `_checkInvariants`).
    var checkedMutationCount = 0
    #endif

    /// An empty stream.
    public init() {
        blocks = []
        length = 0
        lastID = .zero
        maxDeletedEntryID = .zero
        entriesAdded = 0
        recordedFirstEntryID = .zero
    }

    /// Number of nodes (XINFO STREAM `radix-tree-keys`).
    public var nodeCount: Int { blocks.count }

    /// Whether there are no live entries.
    public var isEmpty: Bool { length == 0 }

    // MARK: - Appending

    /// The ID XADD would give the next entry, with Redis's checks: the explicit ID 0-0 is
    /// rejected, nothing can follow the maximum ID, `*` takes `max(now, lastID.ms)` (incrementing
    /// the sequence, or carrying into ms, when not ahead), `ms-*` takes the next sequence of `ms`,
    /// and the result must exceed `lastID`.
    ///
    /// `ms-*` when `ms`'s sequence is exhausted reports `.idNotGreaterThanTop` (newer Redis does
    /// so; 7.0.15 replies with a stale errno's "Elements are too large to be stored").
    /// - Complexity: O(1).
    public func nextID(for idSpec: StreamIDSpec, nowMilliseconds: UInt64) throws(StreamError) -> StreamID {
        if idSpec.isExplicitZero { throw .idZero }
        guard lastID != .max else { throw .exhausted }
        let id: StreamID
        switch idSpec {
        case .automatic:
            if nowMilliseconds > lastID.ms {
                id = StreamID(ms: nowMilliseconds, seq: 0)
            } else {
                // lastID != .max (checked above), so it has a successor.
                id = lastID.next!
            }
        case .automaticSequence(let milliseconds):
            if milliseconds == lastID.ms {
                guard lastID.seq != .max else { throw .idNotGreaterThanTop }
                id = StreamID(ms: milliseconds, seq: lastID.seq + 1)
            } else {
                id = StreamID(ms: milliseconds, seq: 0)
            }
        case .explicit(let explicitID):
            id = explicitID
        }
        guard id > lastID else { throw .idNotGreaterThanTop }
        return id
    }

    /// Appends an entry (XADD). `fieldsAndValues` alternates field names and values and holds at
    /// least one pair. Updates `length`, `lastID`, `entriesAdded` and, for the first live entry,
    /// `recordedFirstEntryID`.
    /// - Throws: see `nextID(for:nowMilliseconds:)`; `.elementsTooLarge` when the fields and
    ///   values exceed 1 GiB in total.
    /// - Returns: the new entry's ID.
    /// - Complexity: amortised O(size of the entry) (plus O(field count) to compare field names
    ///   with the block's master fields).
    @discardableResult
    public mutating func append(
        _ idSpec: StreamIDSpec,
        fieldsAndValues: [[UInt8]],
        nowMilliseconds: UInt64,
        limits: StreamNodeLimits = StreamNodeLimits()
    ) throws(StreamError) -> StreamID {
        try appendEntry(idSpec, fieldsAndValues, nowMilliseconds: nowMilliseconds, limits: limits)
    }

    /// `append(_:fieldsAndValues:nowMilliseconds:limits:)` over borrowed bytes, so a server can append straight from
    /// a request without making an array per field. The bytes are copied into the stream before this returns.
    @discardableResult
    public mutating func append(
        _ idSpec: StreamIDSpec,
        borrowedFieldsAndValues: UnsafeBufferPointer<UnsafeRawBufferPointer>,
        nowMilliseconds: UInt64,
        limits: StreamNodeLimits = StreamNodeLimits()
    ) throws(StreamError) -> StreamID {
        try appendEntry(idSpec, borrowedFieldsAndValues, nowMilliseconds: nowMilliseconds, limits: limits)
    }

    /// Appends an entry with an explicit ID (see `append(_:fieldsAndValues:nowMilliseconds:limits:)`).
    @discardableResult
    public mutating func append(
        id: StreamID,
        fieldsAndValues: [[UInt8]],
        limits: StreamNodeLimits = StreamNodeLimits()
    ) throws(StreamError) -> StreamID {
        try appendEntry(.explicit(id), fieldsAndValues, nowMilliseconds: 0, limits: limits)
    }

    private mutating func appendEntry<Arguments: RandomAccessCollection>(
        _ idSpec: StreamIDSpec,
        _ fieldsAndValues: Arguments,
        nowMilliseconds: UInt64,
        limits: StreamNodeLimits
    ) throws(StreamError) -> StreamID where Arguments.Element: EntryElementBytes, Arguments.Index == Int {
        precondition(
            fieldsAndValues.count >= 2 && fieldsAndValues.count % 2 == 0,
            "a stream entry needs at least one field and a value for every field")
        let id = try nextID(for: idSpec, nowMilliseconds: nowMilliseconds)
        let elementCount = fieldsAndValues.count
        try withUnsafeTemporaryAllocation(of: ElementInfo.self, capacity: elementCount) { (infos) throws(StreamError) in
            var rawByteCount = 0
            var index = fieldsAndValues.startIndex
            for position in 0..<elementCount {
                let info = fieldsAndValues[index].withUnsafeBytes { bytes in
                    ElementInfo(byteCount: bytes.count, integer: parseCanonicalInt64(bytes))
                }
                infos.initializeElement(at: position, to: info)
                rawByteCount &+= info.byteCount
                index &+= 1
            }
            guard rawByteCount <= StreamNodeLimits.listpackMaxSize else { throw .elementsTooLarge }
            let elements = EntryElements(arguments: fieldsAndValues, infos: UnsafeBufferPointer(infos))
            if let tailIndex = blocks.indices.last,
               !Stream.mustCloseBlock(blocks[tailIndex], beforeAdding: rawByteCount, limits: limits) {
                appendRecord(id: id, elements, toBlockAt: tailIndex, limits: limits)
            } else {
                startBlock(id: id, elements, limits: limits)
            }
        }
        length += 1
        entriesAdded &+= 1
        lastID = id
        if length == 1 { recordedFirstEntryID = id }
        _checkInvariants()
        return id
    }

    /// Length and canonical-integer reading of one field or value being appended.
    private struct ElementInfo {
        var byteCount: Int
        /// The element's value if it is a canonical decimal integer.
        var integer: Int64?
    }

    /// The fields and values of an entry being appended, with their precomputed `ElementInfo`.
    private struct EntryElements<Arguments: RandomAccessCollection> where Arguments.Element: EntryElementBytes, Arguments.Index == Int {
        let arguments: Arguments
        /// `infos[i]` describes element i (even: field name, odd: value).
        let infos: UnsafeBufferPointer<ElementInfo>

        var pairCount: Int { infos.count / 2 }

        @inline(__always)
        func byteCount(_ index: Int) -> Int { infos[index].byteCount }

        /// Bytes the element takes in a Redis listpack.
        @inline(__always)
        func listpackSize(_ index: Int) -> Int {
            ListpackSize.element(byteCount: infos[index].byteCount, integer: infos[index].integer)
        }

        /// Bytes the element takes in a record.
        @inline(__always)
        func encodedSize(_ index: Int) -> Int {
            encodedValueSize(byteCount: infos[index].byteCount, integer: infos[index].integer)
        }

        @inline(__always)
        func withBytes<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
            arguments[arguments.startIndex &+ index].withUnsafeBytes(body)
        }

        @inline(__always)
        func encode(_ index: Int, to base: UnsafeMutablePointer<UInt8>, at offset: inout Int) {
            if let integer = infos[index].integer {
                encodeValue(UnsafeRawBufferPointer(start: nil, count: 0), integer: integer, to: base, at: &offset)
            } else {
                withBytes(index) { encodeValue($0, integer: nil, to: base, at: &offset) }
            }
        }
    }

    /// Redis's rule for closing the tail node: its listpack plus the new entry's raw bytes would
    /// reach `maxBytes`, or it already holds `maxEntries` records (live or deleted).
    @inline(__always)
    private static func mustCloseBlock(_ block: StreamBlock, beforeAdding rawByteCount: Int, limits: StreamNodeLimits) -> Bool {
        if block.listpackBytes &+ rawByteCount >= limits.effectiveMaxBytes { return true }
        return limits.maxEntries > 0 && block.header.recordCount >= limits.maxEntries
    }

    /// Whether the entry's field names equal the block's master field names, in order.
    private static func sharesMasterFields<Arguments>(_ block: StreamBlock, _ elements: EntryElements<Arguments>) -> Bool {
        block.withUnsafeMutablePointers { header, base -> Bool in
            guard header.pointee.masterFieldCount == elements.pairCount else { return false }
            var offset = 0
            for pair in 0..<elements.pairCount {
                let length = Int(truncatingIfNeeded: readVarint(base, at: &offset))
                guard elements.byteCount(2 * pair) == length else { return false }
                // A non-empty buffer has a base address.
                let matches = length == 0 || elements.withBytes(2 * pair) { memcmpEqual(base + offset, $0.baseAddress!, length) }
                if !matches { return false }
                offset &+= length
            }
            return true
        }
    }

    private mutating func appendRecord<Arguments>(
        id: StreamID, _ elements: EntryElements<Arguments>, toBlockAt index: Int, limits: StreamNodeLimits
    ) {
        let shares = Stream.sharesMasterFields(blocks[index], elements)
        let header = blocks[index].header
        let pairCount = elements.pairCount
        var recordSize = recordHeaderSize(id: id, previous: header.lastRecordID)
        // flags element, ID deltas against the master ID, lp-count element
        var listpackSize = ListpackSize.integer(0) + ListpackSize.idDeltas(id: id, master: header.masterID)
        var listpackCount = pairCount + 3
        if !shares {
            recordSize += varintSize(UInt64(pairCount))
            listpackSize += ListpackSize.integer(Int64(pairCount))
            listpackCount += pairCount + 1
        }
        for pair in 0..<pairCount {
            if !shares {
                recordSize += elements.encodedSize(2 * pair)
                listpackSize += elements.listpackSize(2 * pair)
            }
            recordSize += elements.encodedSize(2 * pair + 1)
            listpackSize += elements.listpackSize(2 * pair + 1)
        }
        listpackSize += ListpackSize.integer(Int64(listpackCount))

        prepareBlockForWriting(at: index, additionalBytes: recordSize, limits: limits)
        blocks[index].withUnsafeMutablePointers { header, base in
            var offset = header.pointee.usedBytes
            header.pointee.lastRecordOffset = offset
            writeRecordHeader(
                id: id, previous: header.pointee.lastRecordID,
                flags: shares ? RecordFlags.sharesMasterFields : 0, to: base, at: &offset)
            if !shares { writeVarint(UInt64(pairCount), to: base, at: &offset) }
            for pair in 0..<pairCount {
                if !shares { elements.encode(2 * pair, to: base, at: &offset) }
                elements.encode(2 * pair + 1, to: base, at: &offset)
            }
            header.pointee.usedBytes = offset
            header.pointee.lastRecordID = id
            header.pointee.liveCount += 1
            header.pointee.listpackBytesExcludingCounters += listpackSize
        }
    }

    /// Opens a new block whose master fields are this entry's field names.
    private mutating func startBlock<Arguments>(id: StreamID, _ elements: EntryElements<Arguments>, limits: StreamNodeLimits) {
        shrinkTailBlockIfWasteful()
        let pairCount = elements.pairCount
        var masterAreaSize = 0
        // listpack header + end marker, field count, names, master terminator (integer 0)
        var masterListpackSize = ListpackSize.emptyListpack + ListpackSize.integer(Int64(pairCount)) + ListpackSize.integer(0)
        var recordSize = recordHeaderSize(id: id, previous: idBeforeFirstRecord(of: id))
        // flags, ID deltas (both 0), lp-count
        var entryListpackSize = 3 * ListpackSize.integer(0) + ListpackSize.integer(Int64(pairCount + 3))
        for pair in 0..<pairCount {
            let fieldLength = elements.byteCount(2 * pair)
            masterAreaSize += varintSize(UInt64(fieldLength)) + fieldLength
            masterListpackSize += elements.listpackSize(2 * pair)
            recordSize += elements.encodedSize(2 * pair + 1)
            entryListpackSize += elements.listpackSize(2 * pair + 1)
        }
        let header = StreamBlockHeader(
            masterID: id, lastRecordID: id, lastRecordOffset: masterAreaSize, usedBytes: 0, capacity: 0, liveCount: 1, deletedCount: 0,
            masterFieldCount: pairCount, recordsStart: masterAreaSize,
            listpackBytesExcludingCounters: masterListpackSize + entryListpackSize,
            masterListpackBytes: masterListpackSize)
        // Room for a few more small records; a big record gets no extra room, so single-entry
        // streams stay small. Later growth is geometric.
        let block = StreamBlock.make(capacity: masterAreaSize + recordSize + Swift.min(3 * recordSize, 512), header: header)
        block.withUnsafeMutablePointers { header, base in
            var offset = 0
            for pair in 0..<pairCount {
                elements.withBytes(2 * pair) { field in
                    writeVarint(UInt64(field.count), to: base, at: &offset)
                    if let source = field.baseAddress {
                        (base + offset).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: field.count)
                    }
                    offset &+= field.count
                }
            }
            writeRecordHeader(
                id: id, previous: idBeforeFirstRecord(of: id), flags: RecordFlags.sharesMasterFields,
                to: base, at: &offset)
            for pair in 0..<pairCount { elements.encode(2 * pair + 1, to: base, at: &offset) }
            header.pointee.usedBytes = offset
        }
        blocks.append(block)
    }

    // MARK: - Block ownership and capacity

    /// Makes `blocks[index]` uniquely owned with room for `additionalBytes` more bytes.
    @inline(__always)
    private mutating func prepareBlockForWriting(at index: Int, additionalBytes: Int, limits: StreamNodeLimits) {
        let isUnique = isKnownUniquelyReferenced(&blocks[index])
        let header = blocks[index].header
        if isUnique && header.capacity - header.usedBytes >= additionalBytes { return }
        reallocateBlock(at: index, additionalBytes: additionalBytes, limits: limits)
    }

    /// Makes `blocks[index]` uniquely owned (copying a shared block at its current capacity).
    @inline(__always)
    private mutating func makeBlockUnique(at index: Int) {
        if !isKnownUniquelyReferenced(&blocks[index]) {
            copyBlock(at: index)
        }
    }

    @inline(never)
    private mutating func copyBlock(at index: Int) {
        blocks[index] = blocks[index].copy(minimumCapacity: blocks[index].header.capacity)
    }

    /// Replaces `blocks[index]` by a private copy with room for `additionalBytes` more bytes,
    /// growing geometrically towards the size the block is expected to reach when it is closed.
    @inline(never)
    private mutating func reallocateBlock(at index: Int, additionalBytes: Int, limits: StreamNodeLimits) {
        let header = blocks[index].header
        let needed = header.usedBytes + additionalBytes
        var capacity = header.capacity
        if needed > capacity {
            let records = Swift.max(header.recordCount, 1)
            let averageRecord = Swift.max(1, (header.usedBytes - header.recordsStart + additionalBytes) / (records + 1))
            let listpackPerRecord = Swift.max(1, (header.listpackBytesExcludingCounters - header.masterListpackBytes) / records)
            var expectedRecords = (limits.effectiveMaxBytes - header.masterListpackBytes) / listpackPerRecord + 1
            if limits.maxEntries > 0 { expectedRecords = Swift.min(expectedRecords, limits.maxEntries) }
            let (recordBytes, overflow) = expectedRecords.multipliedReportingOverflow(by: averageRecord)
            let estimatedFinal = overflow ? Int.max : header.recordsStart + recordBytes + averageRecord
            let doubled = capacity * 2
            let target = estimatedFinal > capacity ? Swift.min(doubled, estimatedFinal) : doubled
            capacity = Swift.max(needed, target, capacity + capacity / 4)
        }
        blocks[index] = blocks[index].copy(minimumCapacity: capacity)
    }

    /// Before a block is closed for good, give back spare capacity (a closed block only grows
    /// again if later blocks are deleted away). Only worth it when more than a quarter is spare:
    /// size classes of allocators such as jemalloc are up to 25% apart, so a smaller request
    /// could land in the same class and the copy would be pure cost. Shared blocks are left alone.
    private mutating func shrinkTailBlockIfWasteful() {
        guard let index = blocks.indices.last else { return }
        let header = blocks[index].header
        let spare = header.capacity - header.usedBytes
        guard spare > Swift.max(64, header.capacity / 4) else { return }
        guard isKnownUniquelyReferenced(&blocks[index]) else { return }
        blocks[index] = blocks[index].copy(minimumCapacity: header.usedBytes)
    }

    // MARK: - Deleting

    /// Deletes the live entries with these IDs (XDEL). A block whose last live entry goes is
    /// dropped; otherwise entries are only flagged. Updates `maxDeletedEntryID` (to the largest
    /// deleted ID if above it) and `recordedFirstEntryID`.
    /// - Returns: how many entries were actually deleted (absent and repeated IDs do not count).
    /// - Complexity: O(k (log b + m)), k = IDs, m = records per block.
    @discardableResult
    public mutating func delete(_ ids: [StreamID]) -> Int {
        var deleted = 0
        var firstEntryDeleted = false
        for id in ids {
            guard removeLiveRecord(id) else { continue }
            deleted += 1
            if id > maxDeletedEntryID { maxDeletedEntryID = id }
            if id == recordedFirstEntryID { firstEntryDeleted = true }
        }
        if deleted > 0 {
            if length == 0 {
                recordedFirstEntryID = .zero
            } else if firstEntryDeleted {
                // length > 0, so a live entry exists.
                recordedFirstEntryID = firstEntryID!
            }
        }
        _checkInvariants()
        return deleted
    }

    /// Removes the live entry with this ID (dropping its block when it was the block's last live
    /// entry) and decrements `length`; leaves `maxDeletedEntryID` and `recordedFirstEntryID` to
    /// the caller. Returns whether such an entry existed.
    /// - Complexity: O(log b + m).
    private mutating func removeLiveRecord(_ id: StreamID) -> Bool {
        var location: StreamRecordLocation?
        scanLiveRecordsForward(from: id) { found, _, _ in
            if found.id == id { location = found }
            return false
        }
        guard let location else { return false }
        if blocks[location.blockIndex].header.liveCount == 1 {
            blocks.remove(at: location.blockIndex)
        } else {
            makeBlockUnique(at: location.blockIndex)
            blocks[location.blockIndex].withUnsafeMutablePointers { header, base in
                base[location.record.offset] |= RecordFlags.deleted
                header.pointee.liveCount -= 1
                header.pointee.deletedCount += 1
            }
        }
        length -= 1
        return true
    }

    /// Removes one entry the way trimming does: `maxDeletedEntryID` is left alone (trimming with
    /// the ACKED policy removes entries one by one but is still trimming, not XDEL).
    /// - Returns: whether a live entry with this ID existed.
    /// - Complexity: O(log b + m).
    @discardableResult
    mutating func trimEntry(_ id: StreamID) -> Bool {
        guard removeLiveRecord(id) else { return false }
        if length == 0 {
            recordedFirstEntryID = .zero
        } else if id == recordedFirstEntryID {
            // length > 0, so a live entry exists.
            recordedFirstEntryID = firstEntryID!
        }
        _checkInvariants()
        return true
    }

    /// Deletes one entry; see `delete(_:)`.
    /// - Returns: whether a live entry with this ID existed.
    @discardableResult
    public mutating func delete(_ id: StreamID) -> Bool {
        delete([id]) == 1
    }

    // MARK: - Trimming

    /// Trims from the oldest entries the way Redis 7 does (XTRIM, XADD's MAXLEN/MINID):
    /// walking blocks from the first, it stops when MAXLEN is satisfied or when removing the
    /// next block's live entries would exceed `limit` (0 = no limit); a block is dropped whole if
    /// the remaining entries still satisfy MAXLEN, or if its last record (even a deleted one) is
    /// below the MINID; otherwise an approximate trim stops, and an exact one flags entries in
    /// that block one by one until the condition holds, then stops. Does not change
    /// `maxDeletedEntryID`.
    /// - Parameters:
    ///   - limit: for approximate trims, the most entries to remove (Redis's LIMIT; see
    ///     `StreamNodeLimits.defaultApproximateTrimLimit` for its default); 0 means unlimited.
    ///     Exact trims in Redis always pass 0.
    /// - Returns: the number of entries removed.
    /// - Complexity: O(d + m), d = blocks dropped, m = records of the block trimmed inside.
    @discardableResult
    public mutating func trim(_ strategy: StreamTrimStrategy, approximate: Bool, limit: Int = 0) -> Int {
        var removed = 0
        while let first = blocks.first {
            if case .maxLength(let maximum) = strategy, length <= maximum { break }
            let live = first.header.liveCount
            if limit != 0 && removed + live > limit { break }
            let removeWholeBlock: Bool
            switch strategy {
            case .maxLength(let maximum):
                removeWholeBlock = length - UInt64(live) >= maximum
            case .minimumID(let minimum):
                removeWholeBlock = first.header.lastRecordID < minimum
            }
            if removeWholeBlock {
                blocks.removeFirst()
                length -= UInt64(live)
                removed += live
                continue
            }
            if approximate { break }
            removed += flagOldestEntries(inFirstBlockUntil: strategy)
            break
        }
        if removed > 0 {
            // length > 0 means a live entry exists.
            recordedFirstEntryID = length == 0 ? .zero : firstEntryID!
        }
        _checkInvariants()
        return removed
    }

    /// Exact trimming inside the first block: flags records in order until the strategy is
    /// satisfied (MAXLEN reached, or an ID >= MINID). Returns how many live entries were flagged.
    private mutating func flagOldestEntries(inFirstBlockUntil strategy: StreamTrimStrategy) -> Int {
        makeBlockUnique(at: 0)
        var flagged = 0
        blocks[0].withUnsafeMutablePointers { header, base in
            var records = StreamRecordIterator(elements: UnsafePointer(base), header: header)
            while let record = records.next() {
                switch strategy {
                case .maxLength(let maximum):
                    if length <= maximum { return }
                case .minimumID(let minimum):
                    if record.id >= minimum { return }
                }
                if !record.isDeleted {
                    base[record.offset] |= RecordFlags.deleted
                    header.pointee.liveCount -= 1
                    header.pointee.deletedCount += 1
                    length -= 1
                    flagged += 1
                }
            }
        }
        return flagged
    }

    // MARK: - XSETID

    /// Checks Redis performs on XSETID's arguments before looking the key up: the new last ID
    /// cannot be smaller than the MAXDELETEDID given with it.
    /// - Throws: `.setIDSmallerThanMaxDeletedID`.
    public static func validateSetLastIDArguments(_ id: StreamID, maxDeletedEntryID: StreamID?) throws(StreamError) {
        if let maxDeletedEntryID, id < maxDeletedEntryID { throw .setIDSmallerThanMaxDeletedID }
    }

    /// XSETID: sets `lastID`, and optionally `entriesAdded` and `maxDeletedEntryID` (a given
    /// 0-0 leaves it unchanged, as in Redis). Checks, in Redis 8's order: the ID against the given
    /// max deleted ID, then against the stream's current one (a given one does not lower it), then
    /// (only if the stream has live entries) against the newest live entry, and `entriesAdded`
    /// against `length`. The ID may be lower than the current `lastID` otherwise.
    /// - Complexity: O(m) to find the newest live entry.
    public mutating func setLastID(
        _ id: StreamID,
        entriesAdded newEntriesAdded: UInt64? = nil,
        maxDeletedEntryID newMaxDeletedEntryID: StreamID? = nil
    ) throws(StreamError) {
        try Stream.validateSetLastIDArguments(id, maxDeletedEntryID: newMaxDeletedEntryID)
        // An ID below a deleted one would let XADD give a later entry that deleted entry's ID.
        if id < maxDeletedEntryID { throw .setIDSmallerThanCurrentMaxDeletedID }
        if length > 0 {
            if let top = lastEntryID, id < top { throw .setIDSmallerThanTopItem }
            if let newEntriesAdded, length > newEntriesAdded { throw .setIDEntriesAddedSmallerThanLength }
        }
        lastID = id
        if let newEntriesAdded { entriesAdded = newEntriesAdded }
        if let newMaxDeletedEntryID, newMaxDeletedEntryID != .zero { maxDeletedEntryID = newMaxDeletedEntryID }
        _checkInvariants()
    }
}

/// Byte equality of two memory ranges of `count` bytes.
@inline(__always)
func memcmpEqual(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafeRawPointer, _ count: Int) -> Bool {
    let right = rhs.assumingMemoryBound(to: UInt8.self)
    var index = 0
    while index &+ 8 <= count {
        let a = UnsafeRawPointer(lhs + index).loadUnaligned(as: UInt64.self)
        let b = UnsafeRawPointer(right + index).loadUnaligned(as: UInt64.self)
        if a != b { return false }
        index &+= 8
    }
    while index < count {
        if lhs[index] != right[index] { return false }
        index &+= 1
    }
    return true
}
