/// Bookkeeping of one packed block (the equivalent of one listpack node in Redis's radix tree).
struct StreamBlockHeader {
    /// ID of the first record, live or deleted: the block's key (Redis's master entry ID).
    var masterID: StreamID
    /// ID of the last record, live or deleted (the base for the next record's ID delta).
    var lastRecordID: StreamID
    /// Offset of the last record's header byte (lets the newest entry be read without a scan).
    var lastRecordOffset: Int
    /// Bytes of element storage in use: master field names, then records.
    var usedBytes: Int
    /// Bytes of element storage allocated (>= usedBytes).
    var capacity: Int
    /// Records not marked deleted. May be 0 only after an exact MINID trim left a trailing
    /// deleted record >= the minimum ID (Redis keeps such a node too).
    var liveCount: Int
    /// Records marked deleted (they keep their bytes until the block is dropped).
    var deletedCount: Int
    /// Number of master field names (the first record's field names).
    var masterFieldCount: Int
    /// Offset of the first record; the master field names occupy `0..<recordsStart`.
    var recordsStart: Int
    /// Size in bytes Redis's listpack for this node would have, minus its live and deleted counter
    /// elements (whose width depends on their values; see `StreamBlock.listpackBytes`).
    var listpackBytesExcludingCounters: Int
    /// The part of `listpackBytesExcludingCounters` taken by the listpack header, end marker and
    /// master entry (without counters); used to estimate how many records the block will hold.
    var masterListpackBytes: Int

    var recordCount: Int { liveCount + deletedCount }
}

/// One packed block of stream entries: a header and a byte area holding the master field names
/// (`varint length + bytes` each) followed by records in ID order.
///
/// A record is: a header byte with flags and an ID code (see `RecordFlags`), optional ID varints,
/// then either the values alone (when its field names equal the master field names) or a varint
/// pair count and field/value pairs; each field or value encoded as described in `ValueTag`.
///
/// Blocks are shared between copies of a `Stream`, so they are only mutated when uniquely
/// referenced (the `Stream` checks with `isKnownUniquelyReferenced` and copies otherwise); that
/// discipline is what makes sharing them between threads sound.
final class StreamBlock: ManagedBuffer<StreamBlockHeader, UInt8> {
    /// Allocates a block with room for at least `capacity` bytes; `header.capacity` is set to the
    /// real allocated size.
    static func make(capacity: Int, header: StreamBlockHeader) -> StreamBlock {
        let buffer = create(minimumCapacity: Swift.max(capacity, 1)) { buffer in
            var initial = header
            initial.capacity = buffer.capacity
            return initial
        }
        // `create` called on StreamBlock.self allocates a StreamBlock.
        return unsafeDowncast(buffer, to: StreamBlock.self)
    }

    /// A copy with at least `minimumCapacity` bytes of room (never less than what is used).
    /// Kept out of line: it is the cold path of copy-on-write and of growth.
    @inline(never)
    func copy(minimumCapacity: Int) -> StreamBlock {
        let used = header.usedBytes
        let copy = StreamBlock.make(capacity: Swift.max(minimumCapacity, used), header: header)
        copy.withUnsafeMutablePointerToElements { destination in
            withUnsafeMutablePointerToElements { source in
                destination.initialize(from: source, count: used)
            }
        }
        return copy
    }

    /// Size of Redis's listpack for this node, counters included.
    var listpackBytes: Int {
        let header = self.header
        return header.listpackBytesExcludingCounters
            + ListpackSize.integer(Int64(header.liveCount))
            + ListpackSize.integer(Int64(header.deletedCount))
    }

    /// Bytes this block occupies in memory: object header, block header and element area,
    /// rounded up to the 16-byte granularity of the allocator.
    var allocatedBytes: Int {
        let headerBytes = 16 + MemoryLayout<StreamBlockHeader>.stride
        return (headerBytes + header.capacity + 15) & ~15
    }
}
