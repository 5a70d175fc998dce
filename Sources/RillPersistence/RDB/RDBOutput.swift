import RillCore

/// Writes RDB primitives (lengths, strings with their special encodings, integers, doubles, times) to a growing
/// byte array. Used for DUMP payloads and, by the file layer, for RDB files.
public struct RDBOutput: Sendable {
    /// Everything written so far.
    public var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    public mutating func raw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }

    public mutating func littleEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func bigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// A length in the shortest of the four length forms (see `RDBLengthForm`).
    public mutating func length(_ value: UInt64) {
        if value < 1 << 6 {
            bytes.append(UInt8(value))
        } else if value < 1 << 14 {
            bytes.append(UInt8(value >> 8) | RDBLengthForm.bits14 << 6)
            bytes.append(UInt8(value & 0xFF))
        } else if value <= UInt64(UInt32.max) {
            bytes.append(RDBLengthForm.bits32)
            bigEndian(UInt32(value))
        } else {
            bytes.append(RDBLengthForm.bits64)
            bigEndian(value)
        }
    }

    public mutating func length(_ value: Int) { length(UInt64(value)) }

    /// A string as Redis writes one: a decimal integer of at most 11 bytes that fits 32 bits and reads back to the
    /// same bytes as an int8/16/32; otherwise, when `compress` is set and the string is longer than 20 bytes, LZF if
    /// that saves at least 4 bytes; otherwise length and bytes.
    public mutating func string(_ value: [UInt8], compress: Bool) {
        if value.count <= 11, let integer = RedisInteger.parse(value), integerString(integer) { return }
        if compress, value.count > 20, let packed = LZF.compress(value, limit: value.count - 4) {
            bytes.append(RDBLengthForm.encoded << 6 | RDBLengthForm.lzf)
            length(packed.count)
            length(value.count)
            bytes.append(contentsOf: packed)
            return
        }
        length(value.count)
        bytes.append(contentsOf: value)
    }

    /// `integer` in the smallest integer encoding that holds it, if it fits 32 bits; returns false (writing
    /// nothing) otherwise.
    @discardableResult
    public mutating func integerString(_ integer: Int64) -> Bool {
        let tag = RDBLengthForm.encoded << 6
        if let small = Int8(exactly: integer) {
            bytes.append(tag | RDBLengthForm.int8)
            littleEndian(small)
        } else if let medium = Int16(exactly: integer) {
            bytes.append(tag | RDBLengthForm.int16)
            littleEndian(medium)
        } else if let large = Int32(exactly: integer) {
            bytes.append(tag | RDBLengthForm.int32)
            littleEndian(large)
        } else {
            return false
        }
        return true
    }

    /// A number stored as a string: an integer encoding when it fits 32 bits, else its decimal digits.
    public mutating func decimalString(_ integer: Int64) {
        if !integerString(integer) { string(RedisInteger.format(integer), compress: false) }
    }

    /// An IEEE 754 double, eight bytes little-endian (the binary form of RDB 8 and later).
    public mutating func double(_ value: Double) { littleEndian(value.bitPattern) }

    /// A Unix time in milliseconds, eight bytes little-endian.
    public mutating func millisecondTime(_ value: Int64) { littleEndian(value) }
}
