// Byte-level encodings used inside stream blocks, and the arithmetic that emulates the size a
// Redis listpack would have for the same contents (Redis cuts stream nodes by that size, and we
// must cut at the same places for approximate trimming to remove the same entries).

// MARK: - Varints (unsigned LEB128)

@inline(__always)
func varintSize(_ value: UInt64) -> Int {
    // 1 byte per started group of 7 bits; zero takes one byte.
    let bits = 64 - (value | 1).leadingZeroBitCount
    return (bits + 6) / 7
}

@inline(__always)
func writeVarint(_ value: UInt64, to base: UnsafeMutablePointer<UInt8>, at offset: inout Int) {
    var rest = value
    while rest >= 0x80 {
        base[offset] = UInt8(truncatingIfNeeded: rest) | 0x80
        offset &+= 1
        rest >>= 7
    }
    base[offset] = UInt8(truncatingIfNeeded: rest)
    offset &+= 1
}

@inline(__always)
func readVarint(_ base: UnsafePointer<UInt8>, at offset: inout Int) -> UInt64 {
    var byte = base[offset]
    offset &+= 1
    if byte < 0x80 { return UInt64(byte) }
    var value = UInt64(byte & 0x7F)
    var shift: UInt64 = 7
    repeat {
        byte = base[offset]
        offset &+= 1
        value |= UInt64(byte & 0x7F) << shift
        shift &+= 7
    } while byte >= 0x80
    return value
}

// MARK: - Field and value encoding

/// How one field name or value is stored in a record. The first byte (tag) says:
/// - `0x00...0x7F`: raw bytes of that length follow;
/// - `0x80...0xBF`: the canonical decimal integer `tag - 0x80` (0...63), nothing follows;
/// - `0xC0...0xC7`: a canonical integer >= 64 follows in `tag - 0xBF` little-endian bytes;
/// - `0xC8...0xCF`: a canonical negative integer `v`; `~v` follows in `tag - 0xC7` bytes;
/// - `0xD0`: a varint length follows, then that many raw bytes.
/// Only canonical decimals (see `parseCanonicalInt64`) are stored as integers, so decoding always
/// gives back the exact bytes that were added.
enum ValueTag {
    static let maxShortString: UInt8 = 0x7F
    static let smallIntegerBase: UInt8 = 0x80
    static let smallIntegerLimit: Int64 = 64
    static let positiveIntegerBase: UInt8 = 0xC0
    static let negativeIntegerBase: UInt8 = 0xC8
    static let longString: UInt8 = 0xD0
}

/// Byte count of `value`'s magnitude bits (at least 1).
@inline(__always)
func significantByteCount(_ value: UInt64) -> Int {
    (64 - (value | 1).leadingZeroBitCount + 7) / 8
}

/// Bytes `encodeValue` will write for `bytes` (with `integer` = its canonical value, if any).
@inline(__always)
func encodedValueSize(byteCount: Int, integer: Int64?) -> Int {
    if let integer {
        if integer >= 0 {
            if integer < ValueTag.smallIntegerLimit { return 1 }
            return 1 + significantByteCount(UInt64(integer))
        }
        return 1 + significantByteCount(UInt64(bitPattern: ~integer))
    }
    if byteCount <= Int(ValueTag.maxShortString) { return 1 + byteCount }
    return 1 + varintSize(UInt64(byteCount)) + byteCount
}

@inline(__always)
func writeLittleEndian(_ value: UInt64, byteCount: Int, to base: UnsafeMutablePointer<UInt8>, at offset: inout Int) {
    var rest = value
    for _ in 0..<byteCount {
        base[offset] = UInt8(truncatingIfNeeded: rest)
        offset &+= 1
        rest >>= 8
    }
}

@inline(__always)
func encodeValue(_ bytes: UnsafeRawBufferPointer, integer: Int64?, to base: UnsafeMutablePointer<UInt8>, at offset: inout Int) {
    if let integer {
        if integer >= 0 && integer < ValueTag.smallIntegerLimit {
            base[offset] = ValueTag.smallIntegerBase &+ UInt8(truncatingIfNeeded: integer)
            offset &+= 1
        } else if integer >= 0 {
            let width = significantByteCount(UInt64(integer))
            base[offset] = ValueTag.positiveIntegerBase &+ UInt8(truncatingIfNeeded: width - 1)
            offset &+= 1
            writeLittleEndian(UInt64(integer), byteCount: width, to: base, at: &offset)
        } else {
            let complement = UInt64(bitPattern: ~integer)
            let width = significantByteCount(complement)
            base[offset] = ValueTag.negativeIntegerBase &+ UInt8(truncatingIfNeeded: width - 1)
            offset &+= 1
            writeLittleEndian(complement, byteCount: width, to: base, at: &offset)
        }
        return
    }
    let count = bytes.count
    if count <= Int(ValueTag.maxShortString) {
        base[offset] = UInt8(truncatingIfNeeded: count)
        offset &+= 1
    } else {
        base[offset] = ValueTag.longString
        offset &+= 1
        writeVarint(UInt64(count), to: base, at: &offset)
    }
    if count > 0 {
        // A non-empty buffer has a base address.
        (base + offset).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count)
        offset &+= count
    }
}

@inline(__always)
func readLittleEndian(_ base: UnsafePointer<UInt8>, at offset: inout Int, byteCount: Int) -> UInt64 {
    var value: UInt64 = 0
    for index in 0..<byteCount {
        value |= UInt64(base[offset &+ index]) << UInt64(index &* 8)
    }
    offset &+= byteCount
    return value
}

/// Decodes the value at `offset` and moves past it.
@inline(__always)
func decodeValue(_ base: UnsafePointer<UInt8>, at offset: inout Int) -> StreamFieldValue {
    let tag = base[offset]
    offset &+= 1
    if tag <= ValueTag.maxShortString {
        let start = offset
        offset &+= Int(tag)
        return .bytes(UnsafeRawBufferPointer(start: base + start, count: Int(tag)))
    }
    if tag < ValueTag.positiveIntegerBase {
        return .integer(Int64(tag &- ValueTag.smallIntegerBase))
    }
    if tag < ValueTag.negativeIntegerBase {
        let raw = readLittleEndian(base, at: &offset, byteCount: Int(tag &- ValueTag.positiveIntegerBase) &+ 1)
        return .integer(Int64(bitPattern: raw))
    }
    if tag < ValueTag.longString {
        let raw = readLittleEndian(base, at: &offset, byteCount: Int(tag &- ValueTag.negativeIntegerBase) &+ 1)
        return .integer(~Int64(bitPattern: raw))
    }
    let count = Int(truncatingIfNeeded: readVarint(base, at: &offset))
    let start = offset
    offset &+= count
    return .bytes(UnsafeRawBufferPointer(start: base + start, count: count))
}

/// Moves past the value at `offset` without decoding it.
@inline(__always)
func skipValue(_ base: UnsafePointer<UInt8>, at offset: inout Int) {
    let tag = base[offset]
    offset &+= 1
    if tag <= ValueTag.maxShortString {
        offset &+= Int(tag)
    } else if tag < ValueTag.positiveIntegerBase {
        return
    } else if tag < ValueTag.longString {
        offset &+= Int(tag & 7) &+ 1
    } else {
        let count = Int(truncatingIfNeeded: readVarint(base, at: &offset))
        offset &+= count
    }
}

// MARK: - Record header (flags and ID)

/// The first byte of every record: bit 0 = deleted, bit 1 = fields shared with the block's
/// master fields, bits 2...7 = `idCode`, describing the ID relative to the previous record's:
/// - 0...31: same ms, `seq = previous.seq + 1 + idCode`;
/// - 32...62: `ms = previous.ms + (idCode - 31)`, `seq = 0`;
/// - 63: varint ms delta follows, then a varint: if the delta is 0, `seq - previous.seq - 1`,
///   otherwise `seq` itself.
/// The first record of a block is encoded against the ID just before the block's master ID.
enum RecordFlags {
    static let deleted: UInt8 = 1
    static let sharesMasterFields: UInt8 = 2
    static let mask: UInt8 = 3
    static let idCodeShift: UInt8 = 2
    static let maxSameMillisecondCode: UInt64 = 31
    static let maxMillisecondDeltaCode: UInt64 = 31
    static let generalCode: UInt8 = 63
}

@inline(__always)
func recordHeaderSize(id: StreamID, previous: StreamID) -> Int {
    if id.ms == previous.ms {
        let skip = id.seq &- previous.seq &- 1
        return skip <= RecordFlags.maxSameMillisecondCode ? 1 : 2 + varintSize(skip)
    }
    let delta = id.ms &- previous.ms
    if id.seq == 0 && delta <= RecordFlags.maxMillisecondDeltaCode { return 1 }
    return 1 + varintSize(delta) + varintSize(id.seq)
}

@inline(__always)
func writeRecordHeader(id: StreamID, previous: StreamID, flags: UInt8, to base: UnsafeMutablePointer<UInt8>, at offset: inout Int) {
    if id.ms == previous.ms {
        let skip = id.seq &- previous.seq &- 1
        if skip <= RecordFlags.maxSameMillisecondCode {
            base[offset] = flags | (UInt8(truncatingIfNeeded: skip) << RecordFlags.idCodeShift)
            offset &+= 1
            return
        }
        base[offset] = flags | (RecordFlags.generalCode << RecordFlags.idCodeShift)
        offset &+= 1
        writeVarint(0, to: base, at: &offset)
        writeVarint(skip, to: base, at: &offset)
        return
    }
    let delta = id.ms &- previous.ms
    if id.seq == 0 && delta <= RecordFlags.maxMillisecondDeltaCode {
        base[offset] = flags | (UInt8(truncatingIfNeeded: delta &+ 31) << RecordFlags.idCodeShift)
        offset &+= 1
        return
    }
    base[offset] = flags | (RecordFlags.generalCode << RecordFlags.idCodeShift)
    offset &+= 1
    writeVarint(delta, to: base, at: &offset)
    writeVarint(id.seq, to: base, at: &offset)
}

/// Reads a record's flags and ID, moving `offset` to the record body.
@inline(__always)
func readRecordHeader(_ base: UnsafePointer<UInt8>, at offset: inout Int, previous: StreamID) -> (id: StreamID, flags: UInt8) {
    let first = base[offset]
    offset &+= 1
    let code = first >> RecordFlags.idCodeShift
    let flags = first & RecordFlags.mask
    if code <= 31 {
        return (StreamID(ms: previous.ms, seq: previous.seq &+ 1 &+ UInt64(code)), flags)
    }
    if code < RecordFlags.generalCode {
        return (StreamID(ms: previous.ms &+ UInt64(code &- 31), seq: 0), flags)
    }
    let delta = readVarint(base, at: &offset)
    let sequencePart = readVarint(base, at: &offset)
    if delta == 0 {
        return (StreamID(ms: previous.ms, seq: previous.seq &+ 1 &+ sequencePart), flags)
    }
    return (StreamID(ms: previous.ms &+ delta, seq: sequencePart), flags)
}

/// Moves past a record body (the part after the header).
@inline(__always)
func skipRecordBody(_ base: UnsafePointer<UInt8>, at offset: inout Int, flags: UInt8, masterFieldCount: Int) {
    var valueCount: Int
    if flags & RecordFlags.sharesMasterFields != 0 {
        valueCount = masterFieldCount
    } else {
        valueCount = Int(truncatingIfNeeded: readVarint(base, at: &offset)) &* 2
    }
    while valueCount > 0 {
        skipValue(base, at: &offset)
        valueCount &-= 1
    }
}

// MARK: - Redis listpack size emulation

/// Sizes of Redis listpack elements, following listpack.c's encoding rules.
public enum ListpackSize {
    /// Listpack header (total bytes + element count) plus the end marker.
    static let emptyListpack = 7

    /// Bytes of an integer element: encoding + data, plus a 1-byte back-length.
    @inline(__always)
    static func integer(_ value: Int64) -> Int {
        if value >= 0 && value <= 127 { return 2 }
        if value >= -4096 && value <= 4095 { return 3 }
        if value >= -32768 && value <= 32767 { return 4 }
        if value >= -8_388_608 && value <= 8_388_607 { return 5 }
        if value >= -2_147_483_648 && value <= 2_147_483_647 { return 6 }
        return 10
    }

    /// Bytes of a string element that is not a canonical integer.
    @inline(__always)
    static func string(byteCount: Int) -> Int {
        let header = byteCount < 64 ? 1 : (byteCount < 4096 ? 2 : 5)
        let encoded = header + byteCount
        return encoded + backLength(encoded)
    }

    /// Bytes of an element added with lpAppend (strings that are canonical integers are stored
    /// as integers).
    @inline(__always)
    static func element(byteCount: Int, integer: Int64?) -> Int {
        if let integer { return self.integer(integer) }
        return string(byteCount: byteCount)
    }

    /// Bytes of the back-length after an element whose encoding and data take `encodedSize` bytes. Redis' limits
    /// are one below the powers of 128 (16383 takes three bytes, with a leading zero group), and its validation
    /// expects exactly this width, so listpack writers and readers must use it too.
    @inline(__always)
    public static func backLength(_ encodedSize: Int) -> Int {
        if encodedSize <= 127 { return 1 }
        if encodedSize < 16383 { return 2 }
        if encodedSize < 2_097_151 { return 3 }
        if encodedSize < 268_435_455 { return 4 }
        return 5
    }

    /// The ID delta elements of a stream entry (`ms` and `seq` minus the master ID's, as int64).
    @inline(__always)
    static func idDeltas(id: StreamID, master: StreamID) -> Int {
        integer(Int64(bitPattern: id.ms &- master.ms)) + integer(Int64(bitPattern: id.seq &- master.seq))
    }
}
