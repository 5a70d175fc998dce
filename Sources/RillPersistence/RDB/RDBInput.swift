import RillCore

/// Reads RDB primitives from untrusted bytes. Every length is checked against what is left before it is used, so a
/// forged length fails here instead of allocating or reading past the end; failures carry the offset of the
/// offending byte (plus `base`).
public struct RDBInput: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// Added to local offsets in failures, so a reader over part of a file reports file offsets.
    public let base: Int
    /// Next unread byte, counted from the start of `bytes`.
    public var offset: Int
    /// Where reading stops (exclusive): a payload reader excludes the version and checksum footer.
    public let end: Int

    public init(_ bytes: [UInt8], base: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.base = base
        self.offset = 0
        self.end = min(end ?? bytes.count, bytes.count)
    }

    public var isAtEnd: Bool { offset >= end }
    public var remaining: Int { end - offset }

    /// A failure at `local` (default: the next unread byte).
    public func failure(_ reason: String, at local: Int? = nil) -> RDBError {
        RDBError(offset: base + (local ?? offset), reason: reason)
    }

    public mutating func byte() throws(RDBError) -> UInt8 {
        guard offset < end else { throw failure("unexpected end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next `count` bytes.
    public mutating func take(_ count: Int) throws(RDBError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw failure("\(count) bytes needed, \(remaining) left") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func littleEndian<Integer: FixedWidthInteger>(_: Integer.Type) throws(RDBError) -> Integer {
        let size = MemoryLayout<Integer>.size
        guard remaining >= size else { throw failure("unexpected end of data") }
        var value: Integer = 0
        for index in 0..<size { value |= Integer(truncatingIfNeeded: bytes[offset + index]) << (index * 8) }
        offset += size
        return value
    }

    public mutating func bigEndian<Integer: FixedWidthInteger>(_: Integer.Type) throws(RDBError) -> Integer {
        let size = MemoryLayout<Integer>.size
        guard remaining >= size else { throw failure("unexpected end of data") }
        var value: Integer = 0
        for index in 0..<size { value = value << 8 | Integer(truncatingIfNeeded: bytes[offset + index]) }
        offset += size
        return value
    }

    /// What a length prefix holds: a length, or the code of a specially encoded string (`RDBLengthForm`).
    public enum LengthOrEncoding: Equatable {
        case length(UInt64)
        case encoded(UInt8)
    }

    public mutating func lengthOrEncoding() throws(RDBError) -> LengthOrEncoding {
        let start = offset
        let first = try byte()
        switch first >> 6 {
        case RDBLengthForm.bits6: return .length(UInt64(first & 0x3F))
        case RDBLengthForm.bits14: return .length(UInt64(first & 0x3F) << 8 | UInt64(try byte()))
        case RDBLengthForm.encoded: return .encoded(first & 0x3F)
        default:
            if first == RDBLengthForm.bits32 { return .length(UInt64(try bigEndian(UInt32.self))) }
            if first == RDBLengthForm.bits64 { return .length(try bigEndian(UInt64.self)) }
            throw failure("unknown length form \(first)", at: start)
        }
    }

    /// A plain length (an encoded-string marker here is an error).
    public mutating func length() throws(RDBError) -> UInt64 {
        let start = offset
        guard case .length(let value) = try lengthOrEncoding() else {
            throw failure("string encoding where a length belongs", at: start)
        }
        return value
    }

    /// A count of things that each take at least `minimumBytes` of the remaining input, so it cannot exceed what
    /// is left: the bound that keeps a forged count from reserving memory.
    public mutating func count(minimumBytesEach minimumBytes: Int = 1) throws(RDBError) -> Int {
        let start = offset
        let value = try length()
        guard value <= UInt64(remaining / max(minimumBytes, 1)) else {
            throw failure("count \(value) exceeds the remaining \(remaining) bytes", at: start)
        }
        return Int(value)
    }

    /// A string in any of its forms: plain, int8/16/32 (returned as decimal digits, as Redis does) or LZF.
    public mutating func string() throws(RDBError) -> [UInt8] {
        let start = offset
        switch try lengthOrEncoding() {
        case .length(let count):
            guard count <= UInt64(remaining) else {
                throw failure("string of \(count) bytes, \(remaining) left", at: start)
            }
            return Array(try take(Int(count)))
        case .encoded(let code):
            switch code {
            case RDBLengthForm.int8: return RedisInteger.format(Int64(try littleEndian(Int8.self)))
            case RDBLengthForm.int16: return RedisInteger.format(Int64(try littleEndian(Int16.self)))
            case RDBLengthForm.int32: return RedisInteger.format(Int64(try littleEndian(Int32.self)))
            case RDBLengthForm.lzf: return try lzfString(start: start)
            default: throw failure("unknown string encoding \(code)", at: start)
            }
        }
    }

    private mutating func lzfString(start: Int) throws(RDBError) -> [UInt8] {
        let compressedLength = try length()
        let originalLength = try length()
        guard compressedLength <= UInt64(remaining) else {
            throw failure("LZF string of \(compressedLength) bytes, \(remaining) left", at: start)
        }
        guard compressedLength > 0, originalLength > 0,
            originalLength <= compressedLength * UInt64(LZF.maxExpansion)
        else { throw failure("LZF lengths \(compressedLength)/\(originalLength) are impossible", at: start) }
        let dataStart = offset
        let compressed = try take(Int(compressedLength))
        let outcome = compressed.withUnsafeBytes { raw in
            Result { () throws(LZF.Failure) -> [UInt8] in try LZF.decompress(raw, expectedLength: Int(originalLength)) }
        }
        switch outcome {
        case .success(let bytes): return bytes
        case .failure(let error): throw failure(error.reason, at: dataStart + error.offset)
        }
    }

    /// A string that must be an integer (any encoding): Redis stores some counters this way.
    public mutating func integerString() throws(RDBError) -> Int64 {
        let start = offset
        let text = try string()
        guard let value = RedisInteger.parse(text) else {
            throw failure("expected an integer", at: start)
        }
        return value
    }

    /// An IEEE 754 double, eight bytes little-endian.
    public mutating func double() throws(RDBError) -> Double {
        Double(bitPattern: try littleEndian(UInt64.self))
    }

    /// A Unix time in milliseconds, eight bytes little-endian.
    public mutating func millisecondTime() throws(RDBError) -> Int64 {
        try littleEndian(Int64.self)
    }
}
