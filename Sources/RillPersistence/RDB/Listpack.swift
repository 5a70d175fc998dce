import RillCore

/// Builds a listpack, Redis' packed list, as it appears inside RDB values (stream nodes, quicklist2 nodes, listpack
/// sets):
///
///     total-bytes (u32 LE) | element-count (u16 LE, 65535 = too many to count) | element... | 0xFF
///
/// and each element is its encoding and data, then a back-length (the size of encoding + data, written so it can
/// be read from its last byte backwards: 7 bits per byte, the high bit set on every byte but the first):
///
///     0xxxxxxx                  integer 0...127
///     10llllll + data           string shorter than 64 bytes
///     110xxxxx xxxxxxxx         13-bit signed integer
///     1110llll llllllll + data  string shorter than 4096 bytes
///     11110000 + u32 LE + data  longer string
///     11110001/2/3/4 + data     16/24/32/64-bit signed integer, little-endian
public struct ListpackWriter: ListpackElementSink, Sendable {
    /// The listpack so far is `storage[0..<used]`; bytes past `used` are scratch (the array is grown ahead of writes so
    /// elements are stored through a pointer, not appended byte by byte, which dominated SAVE).
    private var storage: [UInt8] = [0, 0, 0, 0, 0, 0]
    private var used = ListpackReader.headerSize
    /// Elements appended so far.
    public private(set) var count = 0

    public init() {}

    /// An empty listpack with room for `capacity` bytes (a stream node is about 4 KB), so appends do not regrow.
    public init(reservingCapacity capacity: Int) {
        storage.reserveCapacity(capacity)
    }

    /// Empties the listpack, keeping its buffer (SAVE writes thousands of nodes through one writer).
    public mutating func removeAll() {
        used = ListpackReader.headerSize
        count = 0
    }

    /// Runs `body` with a pointer to the first free byte and at least `maxBytes` writable bytes from there; `body`
    /// returns how many it wrote (never more than `maxBytes`).
    private mutating func write(maxBytes: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        if used + maxBytes > storage.count {
            storage.append(contentsOf: repeatElement(0, count: max(storage.count, used + maxBytes - storage.count)))
        }
        storage.withUnsafeMutableBufferPointer { buffer in
            let written = body(buffer.baseAddress! + used)
            precondition(written <= maxBytes)
            used += written
        }
    }

    /// Appends `bytes` as Redis' lpAppend does: as an integer when they are a canonical decimal, else as a string.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if bytes.count <= 20, let integer = RedisInteger.parse(bytes) {
            append(integer: integer)
        } else {
            append(string: bytes)
        }
    }

    public mutating func append(integer value: Int64) {
        write(maxBytes: 10) { element in
            var size: Int
            func littleEndian(_ bits: UInt64, byteCount: Int) {
                for index in 0..<byteCount { element[1 + index] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(index))) }
            }
            if value >= 0 && value <= 127 {
                element[0] = UInt8(value)
                size = 1
            } else if value >= -4096 && value <= 4095 {
                let bits = UInt16(bitPattern: Int16(value)) & 0x1FFF
                element[0] = 0xC0 | UInt8(bits >> 8)
                element[1] = UInt8(bits & 0xFF)
                size = 2
            } else if let narrow = Int16(exactly: value) {
                element[0] = 0xF1
                littleEndian(UInt64(UInt16(bitPattern: narrow)), byteCount: 2)
                size = 3
            } else if value >= -8_388_608 && value <= 8_388_607 {
                element[0] = 0xF2
                littleEndian(UInt64(bitPattern: value), byteCount: 3)
                size = 4
            } else if let narrow = Int32(exactly: value) {
                element[0] = 0xF3
                littleEndian(UInt64(UInt32(bitPattern: narrow)), byteCount: 4)
                size = 5
            } else {
                element[0] = 0xF4
                littleEndian(UInt64(bitPattern: value), byteCount: 8)
                size = 9
            }
            // The back-length of an element under 128 bytes is one byte holding its size.
            element[size] = UInt8(size)
            return size + 1
        }
        count += 1
    }

    public mutating func append(string bytes: some Collection<UInt8>) {
        let length = bytes.count
        appendString(length: length) { destination in
            let copied = UnsafeMutableBufferPointer(start: destination, count: length).initialize(from: bytes).1
            precondition(copied == length)
        }
    }

    /// The sink's entry point (stream fields and values): one memory copy.
    public mutating func append(string bytes: UnsafeRawBufferPointer) {
        appendString(length: bytes.count) { destination in
            if let source = bytes.baseAddress { UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: bytes.count) }
        }
    }

    /// A string element of `length` bytes, which `copy` stores at the pointer it is given.
    private mutating func appendString(length: Int, copy: (UnsafeMutablePointer<UInt8>) -> Void) {
        // Header (at most 5 bytes), the bytes, back-length (at most 5 bytes).
        write(maxBytes: length + 10) { element in
            var headerSize: Int
            if length < 64 {
                element[0] = 0x80 | UInt8(length)
                headerSize = 1
            } else if length < 4096 {
                element[0] = 0xE0 | UInt8(length >> 8)
                element[1] = UInt8(length & 0xFF)
                headerSize = 2
            } else {
                element[0] = 0xF0
                for index in 0..<4 { element[1 + index] = UInt8(truncatingIfNeeded: length >> (8 * index)) }
                headerSize = 5
            }
            copy(element + headerSize)
            let size = headerSize + length
            let width = ListpackSize.backLength(size)
            // Most significant group first, without the high bit; every later byte has it, so a backwards reader
            // knows where to stop. At Redis' width the first group may be zero (16383 is 0x00 0xFF 0xFF).
            for index in 0..<width {
                let group = UInt8((size >> (7 * (width - 1 - index))) & 0x7F)
                element[size + index] = index == 0 ? group : group | 0x80
            }
            return size + width
        }
        count += 1
    }

    /// The finished listpack.
    public consuming func finish() -> [UInt8] { finished() }

    /// The finished listpack, leaving the writer to be emptied with `removeAll` (which reuses the buffer once the
    /// returned array is gone).
    public mutating func finished() -> [UInt8] {
        write(maxBytes: 1) { end in
            end[0] = 0xFF
            return 1
        }
        storage.removeSubrange(used...)  // keeps the capacity
        let total = UInt32(used)
        for index in 0..<4 { storage[index] = UInt8(truncatingIfNeeded: total >> (8 * UInt32(index))) }
        let shownCount = UInt16(min(count, Int(UInt16.max)))
        storage[4] = UInt8(shownCount & 0xFF)
        storage[5] = UInt8(shownCount >> 8)
        return storage
    }
}

/// Reads and validates a listpack from untrusted bytes (the depth of Redis' `sanitize-dump-payload yes`): the
/// header's total matches the size, every element's encoding and length lie inside the bytes, every back-length
/// matches its element, the end marker comes last, and the element count matches the header (unless the header says
/// 65535). Failures carry offsets inside the listpack.
public enum ListpackReader {
    static let headerSize = 6
    static let unknownCount: UInt16 = 65535

    /// All elements of `listpack`.
    /// - Complexity: O(listpack.count).
    public static func elements(of listpack: [UInt8]) throws(RDBError) -> [ListpackElement] {
        var result: [ListpackElement] = []
        // The header's count is untrusted, but each element takes at least two bytes, which bounds the reservation.
        if listpack.count >= headerSize {
            result.reserveCapacity(min(Int(listpack[4]) | Int(listpack[5]) << 8, listpack.count / 2))
        }
        try forEachElement(of: listpack) { result.append($0) }
        return result
    }

    /// Calls `body` with each element, in order, after checking the header; stops at the first defect.
    public static func forEachElement(
        of listpack: [UInt8], _ body: (ListpackElement) throws(RDBError) -> Void
    ) throws(RDBError) {
        let outcome = listpack.withUnsafeBytes { raw in
            Result { () throws(RDBError) in
                try forEachItem(of: raw) { item throws(RDBError) in
                    switch item {
                    case .integer(let value): try body(.integer(value))
                    case .string(let bytes):
                        // `bytes` lies inside `raw`, so its distance from the start is its index in `listpack`.
                        let start = bytes.baseAddress.map { $0 - raw.baseAddress! } ?? 0
                        try body(.string(listpack[start..<(start + bytes.count)]))
                    }
                }
            }
        }
        try outcome.get()
    }

    /// `forEachElement` over raw bytes, giving each element in place (strings as slices of `listpack`), which is what
    /// loading a stream uses: nothing is allocated per element. Every check of `forEachElement` happens here.
    public static func forEachItem(
        of listpack: UnsafeRawBufferPointer, _ body: (ListpackItem) throws(RDBError) -> Void
    ) throws(RDBError) {
        let size = listpack.count
        guard size >= headerSize + 1 else { throw RDBError(offset: 0, reason: "listpack shorter than its header") }
        let total = Int(listpack[0]) | Int(listpack[1]) << 8 | Int(listpack[2]) << 16 | Int(listpack[3]) << 24
        guard total == size else {
            throw RDBError(offset: 0, reason: "listpack header says \(total) bytes, it has \(size)")
        }
        let declaredCount = UInt16(listpack[4]) | UInt16(listpack[5]) << 8
        guard listpack[size - 1] == 0xFF else { throw RDBError(offset: size - 1, reason: "listpack lacks its end marker") }
        var position = headerSize
        var seen = 0
        while position < size - 1 {
            let start = position
            let (element, encodedSize) = try item(in: listpack, at: start, limit: size - 1)
            position = start + encodedSize
            // Almost every element is under 128 bytes: its back-length is one byte equal to its size (high bit
            // clear), the same check as the general loop below, without the loop.
            if encodedSize < 128 {
                guard position < size - 1 else {
                    throw RDBError(offset: position, reason: "listpack back-length runs past the end")
                }
                guard listpack[position] == UInt8(encodedSize) else {
                    let byte = listpack[position]
                    throw RDBError(offset: position, reason: byte & 0x80 != 0
                        ? "malformed listpack back-length"
                        : "listpack back-length \(byte), element has \(encodedSize)")
                }
                position += 1
                seen += 1
                try body(element)
                continue
            }
            // The back-length: its length is fixed by the encoded size, its bytes must spell that size.
            let backLength = ListpackSize.backLength(encodedSize)
            guard position + backLength <= size - 1 else {
                throw RDBError(offset: position, reason: "listpack back-length runs past the end")
            }
            var decoded = 0
            var shift = 0
            var cursor = position + backLength - 1
            while true {
                let byte = listpack[cursor]
                decoded |= Int(byte & 0x7F) << shift
                shift += 7
                let isFirst = cursor == position
                guard (byte & 0x80 != 0) == !isFirst else {
                    throw RDBError(offset: cursor, reason: "malformed listpack back-length")
                }
                if isFirst { break }
                cursor -= 1
            }
            guard decoded == encodedSize else {
                throw RDBError(offset: position, reason: "listpack back-length \(decoded), element has \(encodedSize)")
            }
            position += backLength
            seen += 1
            try body(element)
        }
        guard declaredCount == unknownCount || Int(declaredCount) == seen else {
            throw RDBError(offset: 4, reason: "listpack header counts \(declaredCount) elements, it has \(seen)")
        }
    }

    /// The element at `start` and the size of its encoding and data; nothing read at or beyond `limit`.
    private static func item(
        in bytes: UnsafeRawBufferPointer, at start: Int, limit: Int
    ) throws(RDBError) -> (ListpackItem, Int) {
        let tag = bytes[start]
        func need(_ count: Int) throws(RDBError) {
            guard count <= limit - start else {
                throw RDBError(offset: start, reason: "listpack element runs past the end")
            }
        }
        func signed(_ byteCount: Int) throws(RDBError) -> Int64 {
            try need(1 + byteCount)
            var raw: UInt64 = 0
            for index in 0..<byteCount { raw |= UInt64(bytes[start + 1 + index]) << (8 * UInt64(index)) }
            let unused = UInt64(64 - 8 * byteCount)
            return Int64(bitPattern: raw << unused) >> Int64(unused)
        }
        func string(from first: Int, count: Int) -> ListpackItem {
            .string(UnsafeRawBufferPointer(rebasing: bytes[first..<(first + count)]))
        }
        switch tag {
        case 0x00...0x7F:
            return (.integer(Int64(tag)), 1)
        case 0x80...0xBF:
            let length = Int(tag & 0x3F)
            try need(1 + length)
            return (string(from: start + 1, count: length), 1 + length)
        case 0xC0...0xDF:
            try need(2)
            let raw = UInt16(tag & 0x1F) << 8 | UInt16(bytes[start + 1])
            // Sign-extend the 13-bit value.
            return (.integer(Int64(Int16(bitPattern: raw << 3) >> 3)), 2)
        case 0xE0...0xEF:
            try need(2)
            let length = Int(tag & 0x0F) << 8 | Int(bytes[start + 1])
            try need(2 + length)
            return (string(from: start + 2, count: length), 2 + length)
        case 0xF0:
            try need(5)
            var length = 0
            for index in 0..<4 { length |= Int(bytes[start + 1 + index]) << (8 * index) }
            try need(5 + length)
            return (string(from: start + 5, count: length), 5 + length)
        case 0xF1: return (.integer(try signed(2)), 3)
        case 0xF2: return (.integer(try signed(3)), 4)
        case 0xF3: return (.integer(try signed(4)), 5)
        case 0xF4: return (.integer(try signed(8)), 9)
        default:
            throw RDBError(offset: start, reason: "unknown listpack encoding \(tag)")
        }
    }
}
