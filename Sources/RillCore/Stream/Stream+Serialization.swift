import DequeModule

// The minimum a persistence layer needs from `Stream`: its metadata, a read-only view of each packed block's bytes,
// and a way to rebuild a stream from such bytes that trusts nothing it is given (snapshots and RESTORE payloads come
// from disk or from clients).

/// A stream's metadata as persisted next to its blocks.
public struct StreamMetadata: Sendable, Hashable {
    /// Live entries (XLEN).
    public var length: UInt64
    /// `last-generated-id`.
    public var lastID: StreamID
    /// `max-deleted-entry-id`; 0-0 when nothing was deleted.
    public var maxDeletedEntryID: StreamID
    /// `entries-added`.
    public var entriesAdded: UInt64
    /// `recorded-first-entry-id`; 0-0 when empty.
    public var recordedFirstEntryID: StreamID

    public init(length: UInt64, lastID: StreamID, maxDeletedEntryID: StreamID, entriesAdded: UInt64,
                recordedFirstEntryID: StreamID) {
        self.length = length
        self.lastID = lastID
        self.maxDeletedEntryID = maxDeletedEntryID
        self.entriesAdded = entriesAdded
        self.recordedFirstEntryID = recordedFirstEntryID
    }
}

/// The persisted form of one packed block: everything else in its header is recomputed from `bytes`.
public struct StreamBlockImage {
    /// ID of the block's first record (live or deleted).
    public var masterID: StreamID
    /// Number of master field names at the start of `bytes`.
    public var masterFieldCount: Int
    /// The used part of the block's element area (master field names, then records). Only valid inside the
    /// closure that received it.
    public var bytes: UnsafeRawBufferPointer
}

/// Why bytes given to `StreamRestorer` do not describe a valid stream. `offset` is relative to the block's bytes
/// (nil for a problem with the stream as a whole).
public struct StreamRestoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Index of the offending block, nil for stream-level problems.
    public var blockIndex: Int?
    /// Byte offset inside the block's bytes where decoding failed, nil when not tied to one byte.
    public var offset: Int?
    /// What is wrong.
    public var reason: String

    public var description: String {
        var text = ""
        if let blockIndex { text += "block \(blockIndex)" }
        if let offset { text += (text.isEmpty ? "" : " ") + "offset \(offset)" }
        return text.isEmpty ? reason : text + ": " + reason
    }
}

extension Stream {
    /// The stream's metadata, as `StreamRestorer.finish(metadata:)` takes it back.
    /// - Complexity: O(1).
    public var metadata: StreamMetadata {
        StreamMetadata(length: length, lastID: lastID, maxDeletedEntryID: maxDeletedEntryID,
                       entriesAdded: entriesAdded, recordedFirstEntryID: recordedFirstEntryID)
    }

    /// Calls `body` with each block's image, in ID order. The bytes stay valid only during the call.
    /// - Complexity: O(number of blocks), no copying.
    public func forEachBlockImage<Failure: Error>(_ body: (StreamBlockImage) throws(Failure) -> Void) throws(Failure) {
        for block in blocks {
            let image = block.withUnsafeMutablePointers { header, base in
                StreamBlockImage(masterID: header.pointee.masterID, masterFieldCount: header.pointee.masterFieldCount,
                                 bytes: UnsafeRawBufferPointer(start: base, count: header.pointee.usedBytes))
            }
            // The block is kept alive by `blocks` for the whole call.
            try withExtendedLifetime(block) { () throws(Failure) in try body(image) }
        }
    }

    /// Rebuilds a stream from decoded blocks and metadata (see `StreamRestorer`).
    init(restoredBlocks: Deque<StreamBlock>, metadata: StreamMetadata) {
        self.init()
        blocks = restoredBlocks
        length = metadata.length
        lastID = metadata.lastID
        maxDeletedEntryID = metadata.maxDeletedEntryID
        entriesAdded = metadata.entriesAdded
        recordedFirstEntryID = metadata.recordedFirstEntryID
    }
}


/// Rebuilds a `Stream` from persisted block bytes, checking every byte with bounds-checked decoding: record
/// headers, ID order across records and blocks, value encodings, live/deleted counts, and the metadata against
/// the entries. Nothing is trusted, so a corrupt or hostile input is reported, never read out of bounds.
public struct StreamRestorer {
    /// Blocks decoded so far, in order.
    private var blocks: Deque<StreamBlock> = []
    /// Last record ID (live or deleted) of the previous block, nil before the first block.
    private var previousRecordID: StreamID?
    /// Live records over all blocks so far.
    private var liveTotal: UInt64 = 0
    /// First live record ID seen, nil while none.
    public private(set) var firstLiveID: StreamID?

    public init() {}

    /// Decodes one block and appends it.
    /// - Throws: `StreamRestoreError` naming the block, offset and reason.
    /// - Complexity: O(bytes.count).
    public mutating func addBlock(masterID: StreamID, masterFieldCount: Int, bytes: UnsafeRawBufferPointer)
        throws(StreamRestoreError)
    {
        let blockIndex = blocks.count
        func failure(_ offset: Int?, _ reason: String) -> StreamRestoreError {
            StreamRestoreError(blockIndex: blockIndex, offset: offset, reason: reason)
        }
        guard masterFieldCount >= 1 else { throw failure(nil, "block has no master fields") }
        guard bytes.count >= 1, bytes.count <= StreamNodeLimits.listpackMaxSize * 2 else {
            throw failure(nil, "block size \(bytes.count) out of range")
        }
        if let previousRecordID, masterID <= previousRecordID {
            throw failure(nil, "master ID \(masterID) does not follow the previous block's last ID \(previousRecordID)")
        }
        var reader = BoundedReader(bytes: bytes, blockIndex: blockIndex)
        var masterFieldsListpack = 0
        for _ in 0..<masterFieldCount {
            let length = try reader.length()
            let field = try reader.take(length)
            masterFieldsListpack += ListpackSize.element(byteCount: length, integer: parseCanonicalInt64(field))
        }
        let recordsStart = reader.offset
        let masterListpack = ListpackSize.emptyListpack + ListpackSize.integer(Int64(masterFieldCount))
            + masterFieldsListpack + ListpackSize.integer(0)
        var listpack = masterListpack
        var live = 0
        var deleted = 0
        var previous = idBeforeFirstRecord(of: masterID)
        var lastRecordOffset = -1
        var lastRecordID = masterID
        while !reader.isAtEnd {
            let recordOffset = reader.offset
            let first = try reader.byte()
            let code = first >> RecordFlags.idCodeShift
            let flags = first & RecordFlags.mask
            var id: StreamID
            if code <= 31 {
                let (seq, overflow) = previous.seq.addingReportingOverflow(1 + UInt64(code))
                guard !overflow else { throw failure(recordOffset, "record ID overflows") }
                id = StreamID(ms: previous.ms, seq: seq)
            } else if code < RecordFlags.generalCode {
                let (ms, overflow) = previous.ms.addingReportingOverflow(UInt64(code - 31))
                guard !overflow else { throw failure(recordOffset, "record ID overflows") }
                id = StreamID(ms: ms, seq: 0)
            } else {
                let delta = try reader.varint()
                let sequencePart = try reader.varint()
                if delta == 0 {
                    let (step, overflow1) = sequencePart.addingReportingOverflow(1)
                    let (seq, overflow2) = previous.seq.addingReportingOverflow(step)
                    guard !overflow1, !overflow2 else { throw failure(recordOffset, "record ID overflows") }
                    id = StreamID(ms: previous.ms, seq: seq)
                } else {
                    let (ms, overflow) = previous.ms.addingReportingOverflow(delta)
                    guard !overflow else { throw failure(recordOffset, "record ID overflows") }
                    id = StreamID(ms: ms, seq: sequencePart)
                }
            }
            if lastRecordOffset < 0 {
                guard id == masterID else { throw failure(recordOffset, "first record \(id) is not the master ID \(masterID)") }
            } else {
                guard id > previous else { throw failure(recordOffset, "record ID \(id) does not follow \(previous)") }
            }
            previous = id
            lastRecordOffset = recordOffset
            lastRecordID = id
            let shares = flags & RecordFlags.sharesMasterFields != 0
            var pairs = masterFieldCount
            var entryListpack = ListpackSize.integer(Int64(flags)) + ListpackSize.idDeltas(id: id, master: masterID)
            if !shares {
                pairs = try reader.length()
                guard pairs >= 1 else { throw failure(recordOffset, "record \(id) has no fields") }
                entryListpack += ListpackSize.integer(Int64(pairs))
            }
            let valueCount = shares ? pairs : 2 * pairs
            for _ in 0..<valueCount {
                let valueOffset = reader.offset
                let tag = try reader.byte()
                if tag <= ValueTag.maxShortString || tag == ValueTag.longString {
                    let count = tag == ValueTag.longString ? try reader.length() : Int(tag)
                    let text = try reader.take(count)
                    if parseCanonicalInt64(text) != nil {
                        throw failure(valueOffset, "canonical integer stored as text")
                    }
                    entryListpack += ListpackSize.string(byteCount: count)
                } else if tag < ValueTag.positiveIntegerBase {
                    entryListpack += ListpackSize.integer(Int64(tag - ValueTag.smallIntegerBase))
                } else if tag < ValueTag.longString {
                    let width = Int(tag & 7) + 1
                    let raw = try reader.littleEndian(width)
                    let value = tag < ValueTag.negativeIntegerBase ? Int64(bitPattern: raw) : ~Int64(bitPattern: raw)
                    entryListpack += ListpackSize.integer(value)
                } else {
                    throw failure(valueOffset, "unknown value tag \(tag)")
                }
            }
            entryListpack += ListpackSize.integer(Int64(shares ? pairs + 3 : 2 * pairs + 4))
            listpack += entryListpack
            if flags & RecordFlags.deleted != 0 {
                deleted += 1
            } else {
                live += 1
                if firstLiveID == nil { firstLiveID = id }
            }
        }
        guard lastRecordOffset >= 0 else { throw failure(recordsStart, "block has no records") }
        // Only exact MINID trimming leaves a block without live records, and only at the front.
        if live == 0 && blockIndex != 0 { throw failure(nil, "block without live records after the first") }
        let header = StreamBlockHeader(
            masterID: masterID, lastRecordID: lastRecordID, lastRecordOffset: lastRecordOffset,
            usedBytes: bytes.count, capacity: 0, liveCount: live, deletedCount: deleted,
            masterFieldCount: masterFieldCount, recordsStart: recordsStart,
            listpackBytesExcludingCounters: listpack, masterListpackBytes: masterListpack)
        let block = StreamBlock.make(capacity: bytes.count, header: header)
        block.withUnsafeMutablePointerToElements { destination in
            // bytes.count >= 1 (checked above), so it has a base address.
            destination.initialize(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        }
        blocks.append(block)
        liveTotal += UInt64(live)
        previousRecordID = lastRecordID
    }

    /// The rebuilt stream, after checking `metadata` against the decoded entries.
    /// - Throws: `StreamRestoreError` when the metadata contradicts the entries.
    /// - Complexity: O(number of blocks) in release builds; debug builds add a final `validate()`, O(n) in the
    ///   stored bytes.
    public func finish(metadata: StreamMetadata) throws(StreamRestoreError) -> Stream {
        func failure(_ reason: String) -> StreamRestoreError {
            StreamRestoreError(blockIndex: nil, offset: nil, reason: reason)
        }
        guard metadata.length == liveTotal else {
            throw failure("length \(metadata.length) but \(liveTotal) live entries")
        }
        guard metadata.entriesAdded >= metadata.length else {
            throw failure("entries-added \(metadata.entriesAdded) below length \(metadata.length)")
        }
        guard metadata.recordedFirstEntryID == (firstLiveID ?? .zero) else {
            throw failure("recorded-first-entry-id \(metadata.recordedFirstEntryID), first live entry \(firstLiveID ?? .zero)")
        }
        if let previousRecordID, previousRecordID > metadata.lastID {
            throw failure("last-generated-id \(metadata.lastID) below stored ID \(previousRecordID)")
        }
        let stream = Stream(restoredBlocks: blocks, metadata: metadata)
        #if DEBUG
        // addBlock derived every header field from the bytes it checked, and the checks above cover the metadata,
        // so this second pass with the unchecked decoders the readers use cannot find anything in a correct build:
        // debug builds (the tests) keep it to catch the two decoders drifting apart; release builds skip it (it was
        // an eighth of loading a 1M-entry snapshot).
        let problems = stream.validate()
        guard problems.isEmpty else { throw failure("inconsistent stream: \(problems.joined(separator: "; "))") }
        #endif
        return stream
    }
}

/// Bounds-checked sequential reads over untrusted bytes; failures carry the offset at which they happened.
private struct BoundedReader {
    let bytes: UnsafeRawBufferPointer
    /// Index of the block being read, for error reports.
    let blockIndex: Int
    /// Position of the next unread byte.
    var offset = 0

    typealias Failure = StreamRestoreError

    func failure(_ offset: Int, _ reason: String) -> StreamRestoreError {
        StreamRestoreError(blockIndex: blockIndex, offset: offset, reason: reason)
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func byte() throws(Failure) -> UInt8 {
        guard offset < bytes.count else { throw failure(offset, "unexpected end of block") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(Failure) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 64, !(shift == 63 && byte > 1) else { throw failure(start, "varint overflows") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// A varint that counts bytes or items, so it must fit what is left.
    mutating func length() throws(Failure) -> Int {
        let start = offset
        let value = try varint()
        guard value <= UInt64(bytes.count) else { throw failure(start, "length \(value) exceeds the block") }
        return Int(value)
    }

    mutating func take(_ count: Int) throws(Failure) -> UnsafeRawBufferPointer {
        guard count <= bytes.count - offset else { throw failure(offset, "unexpected end of block") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func littleEndian(_ width: Int) throws(Failure) -> UInt64 {
        let raw = try take(width)
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(raw[index]) << UInt64(index * 8) }
        return value
    }
}
