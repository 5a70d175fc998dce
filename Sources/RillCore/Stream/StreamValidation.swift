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
                var previous = idBeforeFirstRecord(of: header.masterID)
                var lastRecord: StreamID?
                var lastRecordOffset = -1
                while offset < header.usedBytes {
                    lastRecordOffset = offset
                    let (id, flags) = readRecordHeader(base, at: &offset, previous: previous)
                    if lastRecord == nil && id != header.masterID { problem("first record \(id) is not the master ID") }
                    previous = id
                    lastRecord = id
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
                if offset != header.usedBytes { problem("records end at \(offset), usedBytes \(header.usedBytes)") }
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
        return problems
    }

    /// Traps if `validate()` finds a problem, when compiled with `-D RILL_INTERNAL_CHECKS`;
    /// a no-op otherwise.
    @inline(__always)
    func _checkInvariants() {
        #if RILL_INTERNAL_CHECKS
        let problems = validate()
        precondition(problems.isEmpty, "Stream invariants violated: \(problems)")
        #endif
    }
}
