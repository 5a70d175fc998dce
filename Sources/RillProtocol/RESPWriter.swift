import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Encodes replies in RESP2 or RESP3 by appending to a buffer it owns.
///
/// Typical use: create one per batch of replies, write, then send ``buffer``. Each method appends exactly one
/// reply (or, for the `…Header` methods, the header of an aggregate whose elements the caller writes next).
/// Integers and lengths are formatted straight into the buffer, never through `String`.
///
/// Where RESP2 has no equivalent of a RESP3 type, the writer emits what Redis 7 emits to RESP2 clients: maps become
/// flat arrays of 2n elements, sets and pushes become arrays, doubles become bulk strings, booleans become integers
/// 1/0, verbatim strings become bulk strings, and both nulls become `$-1` / `*-1`.
///
/// To avoid a copy-on-write of the whole buffer, don't keep another copy of ``buffer`` alive while writing.
public struct RESPWriter: Sendable {
    /// The bytes written so far (and anything the buffer held before); writes go to its end.
    public var buffer: ByteBuffer
    /// Protocol the client negotiated; decides the encoding of the RESP3-only types.
    public var version: RESPVersion

    /// - Parameters:
    ///   - buffer: Where replies are appended; existing content is kept.
    ///   - version: The client's protocol version.
    public init(buffer: ByteBuffer, version: RESPVersion) {
        self.buffer = buffer
        self.version = version
    }

    // MARK: Simple strings and errors

    /// `+<text>\r\n`. `text` must not contain CR or LF (not checked: status texts are the server's own constants).
    ///
    /// - Complexity: O(text length).
    @inlinable
    public mutating func simpleString(_ text: StaticString) {
        // withUTF8Buffer, not utf8Start: a one-character literal may be stored as a scalar, without a pointer.
        text.withUTF8Buffer { utf8 in
            let length = utf8.count
            self.append(maxBytes: length + 3) { destination in
                destination.storeBytes(of: UInt8(ascii: "+"), as: UInt8.self)
                if length > 0 {
                    // Non-nil: the buffer is not empty.
                    (destination + 1).copyMemory(from: utf8.baseAddress!, byteCount: length)
                }
                Self.putCRLF(at: destination + 1 + length)
                return length + 3
            }
        }
    }

    /// `+<bytes>\r\n`. `bytes` must not contain CR or LF (not checked).
    ///
    /// - Complexity: O(bytes.count).
    @inlinable
    public mutating func simpleString<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        self.buffer.writeInteger(UInt8(ascii: "+"))
        self.writeBytes(bytes)
        self.writeCRLF()
    }

    /// `-<message>\r\n`, where `message` starts with the error code, e.g. `ERR unknown command ...` or
    /// `WRONGTYPE ...`. CR and LF inside the message become spaces, as in Redis, so user input quoted in an error
    /// cannot break the protocol.
    ///
    /// - Complexity: O(message length).
    public mutating func error(_ message: String) {
        self.buffer.writeInteger(UInt8(ascii: "-"))
        let start = self.buffer.writerIndex
        let length = self.buffer.writeString(message)
        self.replaceLineBreaksWithSpaces(at: start, length: length)
        self.writeCRLF()
    }

    /// `-ERR <message>\r\n` for a decoding error, byte-exact with Redis: the message's scalars (all <= U+00FF) are
    /// written as single bytes.
    ///
    /// - Complexity: O(message length).
    public mutating func error(_ error: RESPProtocolError) {
        self.buffer.writeStaticString("-ERR ")
        for scalar in error.message.unicodeScalars {
            // RESPProtocolError only builds messages from ASCII plus one byte-valued scalar; anything wider (a
            // hand-made error) is written as '?' rather than silently truncated.
            self.buffer.writeInteger(scalar.value <= 0xFF ? UInt8(scalar.value) : UInt8(ascii: "?"))
        }
        self.writeCRLF()
    }

    // MARK: Integers, doubles, booleans

    /// `:<value>\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func integer(_ value: Int64) {
        self.writeLine(prefix: UInt8(ascii: ":"), value)
    }

    /// `:<value>\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func integer(_ value: Int) {
        self.writeLine(prefix: UInt8(ascii: ":"), Int64(value))
    }

    /// RESP3 `,<value>\r\n`; RESP2 the same text as a bulk string.
    ///
    /// The text is Redis 7.0's: C's `%.17g` (so 1.1 is `1.1000000000000001`, 100 is `100`, 1e-5 is
    /// `1.0000000000000001e-05`), with infinities spelled `inf` / `-inf` and NaN as the C library prints it (`nan`).
    ///
    /// - Complexity: O(1). Allocates once (C varargs formatting); doubles are rare in Rill's replies.
    public mutating func double(_ value: Double) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { scratch in
            // Non-nil: a temporary allocation of 32 elements always has a base address.
            let text = scratch.baseAddress!
            let length: Int
            if value.isInfinite {
                length = value < 0 ? 4 : 3
                let spelled: StaticString = value < 0 ? "-inf" : "inf"
                UnsafeMutableRawPointer(text).copyMemory(from: spelled.utf8Start, byteCount: length)
            } else {
                // %.17g of any double needs at most 24 characters ("-4.9406564584124654e-324").
                length = Int(withVaList([value]) { vsnprintf(text, 32, "%.17g", $0) })
            }
            let bytes = UnsafeRawBufferPointer(start: text, count: length)
            switch self.version {
            case .v3:
                self.buffer.writeInteger(UInt8(ascii: ","))
                self.buffer.writeBytes(bytes)
                self.writeCRLF()
            case .v2:
                self.writeLine(prefix: UInt8(ascii: "$"), Int64(length))
                self.buffer.writeBytes(bytes)
                self.writeCRLF()
            }
        }
    }

    /// RESP3 `#t\r\n` / `#f\r\n`; RESP2 `:1\r\n` / `:0\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func boolean(_ value: Bool) {
        switch self.version {
        case .v3: self.writeLine(prefix: UInt8(ascii: "#"), byte: value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .v2: self.writeLine(prefix: UInt8(ascii: ":"), byte: value ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        }
    }

    // MARK: Bulk strings

    /// `$<count>\r\n<bytes>\r\n`.
    ///
    /// - Complexity: O(bytes.count).
    @inlinable
    public mutating func bulkString<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let written: Void? = bytes.withContiguousStorageIfAvailable { contiguous in
            self.bulkString(UnsafeRawBufferPointer(contiguous))
        }
        if written == nil {
            self.writeLine(prefix: UInt8(ascii: "$"), Int64(bytes.count))
            self.buffer.writeBytes(bytes)
            self.writeCRLF()
        }
    }

    /// `$<count>\r\n<readable bytes>\r\n`; `bytes` is not consumed.
    ///
    /// - Complexity: O(bytes.readableBytes).
    @inlinable
    public mutating func bulkString(_ bytes: ByteBuffer) {
        // `bytes` keeps its storage alive while we read it, even if it is a copy of `self.buffer`.
        bytes.withUnsafeReadableBytes { self.bulkString($0) }
    }

    /// `$<count>\r\n<bytes>\r\n`, with a single capacity check. `bytes` must not point into ``buffer``'s storage.
    ///
    /// - Complexity: O(bytes.count).
    @inlinable
    public mutating func bulkString(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        self.append(maxBytes: count + 25) { destination in
            var length = Self.putLine(prefix: UInt8(ascii: "$"), Int64(count), at: destination)
            if count > 0 {
                // Non-nil: a non-empty buffer pointer has a base address.
                (destination + length).copyMemory(from: bytes.baseAddress!, byteCount: count)
            }
            length += count
            Self.putCRLF(at: destination + length)
            return length + 2
        }
    }

    /// `$<utf8 count>\r\n<utf8>\r\n`.
    ///
    /// - Complexity: O(text length).
    @inlinable
    public mutating func bulkString(_ text: String) {
        self.bulkString(text.utf8)
    }

    /// `value` in decimal as a bulk string, e.g. `$3\r\n100\r\n` (what Redis sends for numeric config values).
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func bulkString(decimal value: Int64) {
        // One capacity check for the whole reply: XRANGE/XREAD write one per integer field value.
        self.append(maxBytes: 23 + 20 + 2) { destination in
            var length = Self.putLine(prefix: UInt8(ascii: "$"), Int64(RESPDecimal.digitCount(value)), at: destination)
            length += RESPDecimal.write(value, to: destination + length)
            Self.putCRLF(at: destination + length)
            return length + 2
        }
    }

    /// `$<length>\r\n` alone, for a bulk string whose `length` bytes the caller writes into ``buffer`` next and
    /// then ends with ``endBulkString()`` (e.g. a stream id `ms-seq` formatted in place).
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func bulkStringHeader(length: Int) {
        self.writeLine(prefix: UInt8(ascii: "$"), Int64(length))
    }

    /// The `\r\n` that ends a bulk string started with ``bulkStringHeader(length:)``.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func endBulkString() {
        self.writeCRLF()
    }

    /// RESP3 `=<count + 4>\r\n<format>:<bytes>\r\n`; RESP2 a plain bulk string of `bytes`.
    /// `format` must be exactly three bytes (`txt` or `mkd`).
    ///
    /// - Complexity: O(bytes.count).
    @inlinable
    public mutating func verbatimString<Bytes: Collection>(_ bytes: Bytes, format: StaticString = "txt")
    where Bytes.Element == UInt8 {
        switch self.version {
        case .v2:
            self.bulkString(bytes)
        case .v3:
            precondition(format.withUTF8Buffer { $0.count } == 3, "verbatim string format must be 3 bytes")
            self.writeLine(prefix: UInt8(ascii: "="), Int64(bytes.count + 4))
            self.buffer.writeStaticString(format)
            self.buffer.writeInteger(UInt8(ascii: ":"))
            self.writeBytes(bytes)
            self.writeCRLF()
        }
    }

    /// ``verbatimString(_:format:)-(Bytes,_)`` for text, written as UTF-8.
    ///
    /// - Complexity: O(text length).
    @inlinable
    public mutating func verbatimString(_ text: String, format: StaticString = "txt") {
        self.verbatimString(text.utf8, format: format)
    }

    // MARK: Nulls

    /// The null reply of a missing value: RESP2 `$-1\r\n`, RESP3 `_\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func nullBulkString() {
        switch self.version {
        case .v3: self.writeNullV3()
        case .v2: self.writeLine(prefix: UInt8(ascii: "$"), -1)
        }
    }

    /// The null reply of a missing aggregate (e.g. a timed-out `XREAD BLOCK`): RESP2 `*-1\r\n`, RESP3 `_\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func nullArray() {
        switch self.version {
        case .v3: self.writeNullV3()
        case .v2: self.writeLine(prefix: UInt8(ascii: "*"), -1)
        }
    }

    // MARK: Aggregate headers

    /// `*<count>\r\n`; the caller then writes `count` replies.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func arrayHeader(_ count: Int) {
        self.writeLine(prefix: UInt8(ascii: "*"), Int64(count))
    }

    /// `*<count>\r\n` followed by the elements `body` writes, for arrays whose length is only known once written
    /// (one walk over the data instead of one to count and one to write). `body` returns how many elements it wrote.
    /// The header for `expectedCount` is written first and rewritten afterwards if the count differs; the elements
    /// move only when the header's width changes.
    ///
    /// - Complexity: O(1) beyond `body` when the header's width is right, else O(bytes written by `body`).
    @inlinable
    public mutating func arrayHeader(expectedCount: Int, elements body: (inout RESPWriter) -> Int) {
        let headerStart = self.buffer.writerIndex
        self.arrayHeader(expectedCount)
        let expectedElementsStart = self.buffer.writerIndex
        let count = body(&self)
        if count == expectedCount { return }
        let elementsLength = self.buffer.writerIndex - expectedElementsStart
        let elementsStart = headerStart + 1 + RESPDecimal.digitCount(Int64(count)) + 2
        if elementsStart > expectedElementsStart {
            self.buffer.reserveCapacity(minimumWritableBytes: elementsStart - expectedElementsStart)
        }
        self.buffer.withVeryUnsafeMutableBytes { storage in
            // Non-nil: the header was written, so the storage is not empty.
            let base = storage.baseAddress!
            if elementsStart != expectedElementsStart {
                // Overlapping ranges: copyMemory is a memmove.
                (base + elementsStart).copyMemory(from: base + expectedElementsStart, byteCount: elementsLength)
            }
            _ = Self.putLine(prefix: UInt8(ascii: "*"), Int64(count), at: base + headerStart)
        }
        self.buffer.moveWriterIndex(to: elementsStart + elementsLength)
    }

    /// RESP3 `%<pairCount>\r\n`; RESP2 `*<2 * pairCount>\r\n`. The caller then writes key, value, key, value...
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func mapHeader(_ pairCount: Int) {
        switch self.version {
        case .v3: self.writeLine(prefix: UInt8(ascii: "%"), Int64(pairCount))
        case .v2: self.writeLine(prefix: UInt8(ascii: "*"), Int64(pairCount) * 2)
        }
    }

    /// RESP3 `~<count>\r\n`; RESP2 `*<count>\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func setHeader(_ count: Int) {
        switch self.version {
        case .v3: self.writeLine(prefix: UInt8(ascii: "~"), Int64(count))
        case .v2: self.writeLine(prefix: UInt8(ascii: "*"), Int64(count))
        }
    }

    /// Bulk strings as one aggregate: an array (KEYS, SCAN's keys, LRANGE, LPOP with a count) or, with `asSet`, a
    /// RESP3 set (SMEMBERS; an array in RESP2), each element a bulk string.
    ///
    /// - Complexity: O(total bytes).
    @inlinable
    public mutating func bulkStrings(_ elements: [[UInt8]], asSet: Bool = false) {
        if asSet { self.setHeader(elements.count) } else { self.arrayHeader(elements.count) }
        for element in elements { self.bulkString(element) }
    }

    /// RESP3 `><count>\r\n` (out-of-band push, e.g. pub/sub messages); RESP2 `*<count>\r\n`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public mutating func pushHeader(_ count: Int) {
        switch self.version {
        case .v3: self.writeLine(prefix: UInt8(ascii: ">"), Int64(count))
        case .v2: self.writeLine(prefix: UInt8(ascii: "*"), Int64(count))
        }
    }

    // MARK: Helpers

    /// Lets `body` write at most `maxBytes` bytes at the writer index, then commits the count it returns. One
    /// capacity check and one uniqueness check per call; NIO's own write paths cost several times more per reply.
    @inlinable
    @inline(__always)
    mutating func append(maxBytes: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        self.buffer.reserveCapacity(minimumWritableBytes: maxBytes)
        let writerIndex = self.buffer.writerIndex
        let written = self.buffer.withVeryUnsafeMutableBytes { storage in
            // Non-nil: capacity for maxBytes (> 0) beyond the writer index was just reserved.
            body(storage.baseAddress! + writerIndex)
        }
        self.buffer.moveWriterIndex(forwardBy: written)
    }

    /// `<prefix><value>\r\n`.
    @inlinable
    @inline(__always)
    mutating func writeLine(prefix: UInt8, _ value: Int64) {
        self.append(maxBytes: 23) { Self.putLine(prefix: prefix, value, at: $0) }
    }

    /// `<prefix><byte>\r\n`.
    @inlinable
    @inline(__always)
    mutating func writeLine(prefix: UInt8, byte: UInt8) {
        self.append(maxBytes: 4) { destination in
            destination.storeBytes(of: (UInt32(prefix) | UInt32(byte) << 8 | 0x0A0D_0000).littleEndian, as: UInt32.self)
            return 4
        }
    }

    @inlinable
    @inline(__always)
    mutating func writeNullV3() {
        self.append(maxBytes: 3) { destination in
            destination.storeBytes(of: (UInt16(UInt8(ascii: "_")) | UInt16(ASCII.carriageReturn) << 8).littleEndian, as: UInt16.self)
            destination.storeBytes(of: ASCII.lineFeed, toByteOffset: 2, as: UInt8.self)
            return 3
        }
    }

    @inlinable
    @inline(__always)
    mutating func writeCRLF() {
        self.append(maxBytes: 2) { destination in
            Self.putCRLF(at: destination)
            return 2
        }
    }

    /// Stores `<prefix><value>\r\n` at `destination` (room for 23 bytes needed); returns its length. Values 0...9,
    /// the most common lengths and counts, take a single 4-byte store.
    @inlinable
    @inline(__always)
    static func putLine(prefix: UInt8, _ value: Int64, at destination: UnsafeMutableRawPointer) -> Int {
        if value >= 0 && value < 10 {
            // Bytes in memory order: prefix, digit, CR, LF. storeBytes may be unaligned (SE-0349).
            let word = UInt32(prefix) | (UInt32(truncatingIfNeeded: value) &+ 0x30) << 8 | 0x0A0D_0000
            destination.storeBytes(of: word.littleEndian, as: UInt32.self)
            return 4
        }
        destination.storeBytes(of: prefix, as: UInt8.self)
        let end = 1 + RESPDecimal.write(value, to: destination + 1)
        putCRLF(at: destination + end)
        return end + 2
    }

    @inlinable
    @inline(__always)
    static func putCRLF(at destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: UInt16(0x0A0D).littleEndian, as: UInt16.self)
    }

    /// Appends a byte collection, through one memcpy when it has contiguous storage.
    @inlinable
    @inline(__always)
    mutating func writeBytes<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let copied: Void? = bytes.withContiguousStorageIfAvailable { contiguous in
            self.buffer.writeBytes(UnsafeRawBufferPointer(contiguous))
        }
        if copied == nil {
            self.buffer.writeBytes(bytes)
        }
    }

    private mutating func replaceLineBreaksWithSpaces(at start: Int, length: Int) {
        guard length > 0 else { return }
        let range = (start - self.buffer.readerIndex)..<(start - self.buffer.readerIndex + length)
        // Only ask for mutable bytes when needed, so the common case stays a read-only scan.
        let hasLineBreak = self.buffer.withUnsafeReadableBytes { bytes in
            bytes[range].contains { $0 == ASCII.carriageReturn || $0 == ASCII.lineFeed }
        }
        guard hasLineBreak else { return }
        self.buffer.withUnsafeMutableReadableBytes { bytes in
            for index in range where bytes[index] == ASCII.carriageReturn || bytes[index] == ASCII.lineFeed {
                bytes[index] = ASCII.space
            }
        }
    }
}
