extension Stream {
    /// Checks every invariant stated on `Stream` by decoding all blocks, and returns a description
    /// of each violation (empty when consistent). Meant for tests and debugging.
    /// - Complexity: O(n) in the stored bytes.
    public func validate() -> [String] {
        var problems: [String] = []
        var liveTotal: UInt64 = 0
        var previousLiveID: StreamID?
        var firstLiveID: StreamID?
        for (index, block) in blocks.enumerated() {
            block.withUnsafeMutablePointers { headerPointer, mutableBase in
                let header = headerPointer.pointee
                let base = UnsafePointer(mutableBase)
                func problem(_ text: String) { problems.append("block \(index) (master \(header.masterID)): \(text)") }
                if header.usedBytes > header.capacity { problem("usedBytes \(header.usedBytes) > capacity \(header.capacity)") }
                if header.recordCount < 1 { problem("no records") }
                if header.masterFieldCount < 1 { problem("no master fields") }

                // Master field names.
                var offset = 0
                var masterFieldsListpack = 0
                for _ in 0..<header.masterFieldCount {
                    let length = Int(readVarint(base, at: &offset))
                    let bytes = UnsafeRawBufferPointer(start: base + offset, count: length)
                    masterFieldsListpack += ListpackSize.element(byteCount: length, integer: parseCanonicalInt64(bytes))
                    offset += length
                }
                if offset != header.recordsStart { problem("master fields end at \(offset), recordsStart \(header.recordsStart)") }
                let masterListpack = ListpackSize.emptyListpack + ListpackSize.integer(Int64(header.masterFieldCount))
                    + masterFieldsListpack + ListpackSize.integer(0)
                if masterListpack != header.masterListpackBytes {
                    problem("master listpack bytes \(header.masterListpackBytes), recomputed \(masterListpack)")
                }

                // Records.
                var listpack = masterListpack
                var live = 0
                var deleted = 0
                var lastRecord: StreamID?
                var lastRecordOffset = -1
                var records = StreamRecordIterator(elements: base, header: headerPointer)
                while let record = records.next() {
                    let (id, flags) = (record.id, record.flags)
                    lastRecordOffset = record.offset
                    if lastRecord == nil && id != header.masterID { problem("first record \(id) is not the master ID") }
                    lastRecord = id
                    // Decodes the body again value by value, which `records` only skipped.
                    offset = record.bodyOffset
                    let shares = flags & RecordFlags.sharesMasterFields != 0
                    var pairs = header.masterFieldCount
                    var entryListpack = ListpackSize.integer(Int64(flags)) + ListpackSize.idDeltas(id: id, master: header.masterID)
                    if !shares {
                        pairs = Int(readVarint(base, at: &offset))
                        if pairs < 1 { problem("record \(id) has no fields") }
                        entryListpack += ListpackSize.integer(Int64(pairs))
                    }
                    let valueCount = shares ? pairs : 2 * pairs
                    for _ in 0..<valueCount {
                        switch decodeValue(base, at: &offset) {
                        case .integer(let value):
                            entryListpack += ListpackSize.integer(value)
                        case .bytes(let bytes):
                            if parseCanonicalInt64(bytes) != nil { problem("record \(id) stores a canonical integer as text") }
                            entryListpack += ListpackSize.string(byteCount: bytes.count)
                        }
                    }
                    if offset != records.offset { problem("record \(id) decodes to \(offset), skipping it to \(records.offset)") }
                    let listpackCount = shares ? pairs + 3 : 2 * pairs + 4
                    entryListpack += ListpackSize.integer(Int64(listpackCount))
                    listpack += entryListpack
                    if flags & RecordFlags.deleted != 0 {
                        deleted += 1
                    } else {
                        live += 1
                        if let previousLiveID, id <= previousLiveID {
                            problem("live ID \(id) does not follow live ID \(previousLiveID)")
                        }
                        previousLiveID = id
                        if firstLiveID == nil { firstLiveID = id }
                    }
                }
                if records.offset != header.usedBytes { problem("records end at \(records.offset), usedBytes \(header.usedBytes)") }
                if lastRecord != header.lastRecordID {
                    problem("last record \(lastRecord.map(String.init(describing:)) ?? "none"), header says \(header.lastRecordID)")
                }
                if lastRecordOffset != header.lastRecordOffset {
                    problem("last record at \(lastRecordOffset), header says \(header.lastRecordOffset)")
                }
                if live != header.liveCount || deleted != header.deletedCount {
                    problem("counts live \(live) deleted \(deleted), header says \(header.liveCount)/\(header.deletedCount)")
                }
                if listpack != header.listpackBytesExcludingCounters {
                    problem("listpack bytes \(header.listpackBytesExcludingCounters), recomputed \(listpack)")
                }
                liveTotal += UInt64(live)
            }
        }
        if liveTotal != length { problems.append("length \(length), live records \(liveTotal)") }
        if entriesAdded < length { problems.append("entriesAdded \(entriesAdded) < length \(length)") }
        if recordedFirstEntryID != (firstLiveID ?? .zero) {
            problems.append("recordedFirstEntryID \(recordedFirstEntryID), first live \(firstLiveID ?? .zero)")
        }
        if let previousLiveID, previousLiveID > lastID { problems.append("live ID \(previousLiveID) > lastID \(lastID)") }
        problems += groupTable.validate()
        problems += idempotency?.validate() ?? []
        return problems
    }

    /// Traps on a broken invariant when compiled with `-D RILL_INTERNAL_CHECKS` (debug builds, so
    /// the tests); a no-op otherwise. Every mutation calls it.
    ///
    /// `validate()` is O(n), and the tests build streams of a million entries one append at a
    /// time, so it runs after every mutation of a small stream only; a large one is validated in
    /// full at its mutations numbered by a power of two (O(1) amortized per mutation while it
    /// grows) and in O(1) at the others (`problemsAtTheEnds()`).
    @inline(__always)
    mutating func _checkInvariants() {
        #if RILL_INTERNAL_CHECKS
        checkedMutationCount &+= 1
        let small = blocks.count <= Stream.blocksAlwaysValidated
            && groupTable.groups.reduce(0, { $0 + $1.pendingCount }) <= Stream.pendingEntriesAlwaysValidated
        let problems = small || checkedMutationCount & (checkedMutationCount &- 1) == 0 ? validate() : problemsAtTheEnds()
        precondition(problems.isEmpty, "Stream invariants violated: \(problems)")
        #endif
    }

    #if RILL_INTERNAL_CHECKS
    /// Streams with at most this many blocks are validated in full after every mutation...
    static let blocksAlwaysValidated = 16
    /// ...when their groups hold at most this many pending entries in all.
    static let pendingEntriesAlwaysValidated = 2_000

    /// The invariants that can be checked in O(1): the bookkeeping of the first and last blocks
    /// (where appends and trims happen) and the stream's counters.
    func problemsAtTheEnds() -> [String] {
        var problems: [String] = []
        for index in Set([0, blocks.count - 1]) where blocks.indices.contains(index) {
            let header = blocks[index].header
            func problem(_ text: String) { problems.append("block \(index) (master \(header.masterID)): \(text)") }
            if header.usedBytes > header.capacity { problem("usedBytes \(header.usedBytes) > capacity \(header.capacity)") }
            if header.recordCount < 1 || header.liveCount < 0 || header.deletedCount < 0 {
                problem("counts live \(header.liveCount) deleted \(header.deletedCount)")
            }
            if !(header.recordsStart..<header.usedBytes).contains(header.lastRecordOffset) {
                problem("last record at \(header.lastRecordOffset), records in \(header.recordsStart)..<\(header.usedBytes)")
            }
            if header.lastRecordID < header.masterID { problem("last record \(header.lastRecordID) below the master ID") }
        }
        if blocks.count > 1 && blocks[blocks.count - 2].header.lastRecordID >= blocks[blocks.count - 1].header.masterID {
            problems.append("the last two blocks overlap")
        }
        if blocks.isEmpty && (length != 0 || recordedFirstEntryID != .zero) {
            problems.append("no blocks, length \(length), recordedFirstEntryID \(recordedFirstEntryID)")
        }
        if let first = blocks.first, length > 0, recordedFirstEntryID < first.header.masterID {
            problems.append("recordedFirstEntryID \(recordedFirstEntryID) below the first block")
        }
        if entriesAdded < length { problems.append("entriesAdded \(entriesAdded) < length \(length)") }
        return problems
    }
    #endif
}
