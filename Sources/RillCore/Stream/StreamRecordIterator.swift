/// The ID the first record of a block is delta-encoded against (see `RecordFlags`). Master IDs
/// are never 0-0 (XADD rejects it and generated IDs exceed the last one), so `previous` exists;
/// the fallback only keeps encoder and decoder consistent.
@inline(__always)
func idBeforeFirstRecord(of master: StreamID) -> StreamID {
    master.previous ?? .zero
}

/// One record of a block, live or deleted, as a walk finds it.
struct StreamRecord {
    /// Offset of the record's header byte (where the deleted flag lives).
    var offset: Int
    /// Offset just after the record header (the pair count, or the first value when shared).
    var bodyOffset: Int
    /// The record's ID.
    var id: StreamID
    /// The record's `RecordFlags` bits.
    var flags: UInt8

    var isDeleted: Bool {
        @inline(__always) get { flags & RecordFlags.deleted != 0 }
    }
}

/// Walks the records of one block in storage (ascending ID) order, deleted ones included. Every
/// walk over a block's records goes through it, so the record layout is followed in one place.
/// Records have no back-links: a backward walk collects its records with this iterator first.
///
/// It reads through a pointer into the block, so it must not outlive the
/// `withUnsafeMutablePointers` call that gave the pointer. Flipping a record's deleted flag
/// (`RecordFlags.deleted`) during the walk is fine: the iterator has read past the header by then.
/// It trusts the bytes (blocks restored from files are checked by `StreamRestorer` first).
struct StreamRecordIterator: IteratorProtocol {
    /// The block's element area.
    let elements: UnsafePointer<UInt8>
    /// End of the records (the block's `usedBytes`).
    let end: Int
    /// The block's master field count (the value count of records sharing the master fields).
    let masterFieldCount: Int
    /// Offset of the next record's header byte; `end` once every record was produced.
    private(set) var offset: Int
    /// ID of the record produced last (the base of the next record's ID delta).
    private var previous: StreamID

    @inline(__always)
    init(elements: UnsafePointer<UInt8>, header: UnsafePointer<StreamBlockHeader>) {
        self.elements = elements
        self.end = header.pointee.usedBytes
        self.masterFieldCount = header.pointee.masterFieldCount
        self.offset = header.pointee.recordsStart
        self.previous = idBeforeFirstRecord(of: header.pointee.masterID)
    }

    @inline(__always)
    mutating func next() -> StreamRecord? {
        guard offset < end else { return nil }
        let recordOffset = offset
        let (id, flags) = readRecordHeader(elements, at: &offset, previous: previous)
        previous = id
        let bodyOffset = offset
        skipRecordBody(elements, at: &offset, flags: flags, masterFieldCount: masterFieldCount)
        return StreamRecord(offset: recordOffset, bodyOffset: bodyOffset, id: id, flags: flags)
    }
}
