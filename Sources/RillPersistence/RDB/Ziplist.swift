import RillCore

/// Reads and validates a ziplist, the packed list of RDB types 10 (list) and 14 (quicklist nodes), written by Redis
/// before 7.0 (RDB 9):
///
///     total-bytes (u32 LE) | offset of the last entry (u32 LE) | entry-count (u16 LE, 65535 = unknown) | entry... | 0xFF
///
/// Each entry: the previous entry's size (1 byte below 254, else 0xFE and u32 LE), then an encoding:
///
///     00llllll + data                6-bit string length
///     01llllll llllllll + data       14-bit length, big-endian
///     10000000 + u32 BE + data       32-bit length
///     11000000 / 11010000 / 11100000 int16 / int32 / int64, little-endian
///     11110000 / 11111110            int24 / int8
///     1111xxxx (0001...1101)         the integer xxxx - 1 (0...12), no data
///
/// Checked as Redis' deep sanitization does: header total and tail offset, every entry inside the bytes, each
/// previous-size field equal to the real previous entry's size, the count, the end marker.
enum ZiplistReader {
    static let headerSize = 10

    /// All entries of `ziplist`.
    /// - Complexity: O(ziplist.count).
    static func elements(of ziplist: [UInt8]) throws(RDBError) -> [ListpackElement] {
        let size = ziplist.count
        func failure(_ offset: Int, _ reason: String) -> RDBError { RDBError(offset: offset, reason: "ziplist: " + reason) }
        func u32(_ at: Int) -> Int {
            Int(ziplist[at]) | Int(ziplist[at + 1]) << 8 | Int(ziplist[at + 2]) << 16 | Int(ziplist[at + 3]) << 24
        }
        guard size >= headerSize + 1 else { throw failure(0, "shorter than its header") }
        guard u32(0) == size else { throw failure(0, "header says \(u32(0)) bytes, it has \(size)") }
        let tail = u32(4)
        let declaredCount = Int(ziplist[8]) | Int(ziplist[9]) << 8
        guard ziplist[size - 1] == 0xFF else { throw failure(size - 1, "no end marker") }
        var result: [ListpackElement] = []
        var position = headerSize
        var previousSize = 0
        var lastEntry = headerSize
        let limit = size - 1
        while position < limit {
            let start = position
            func need(_ count: Int) throws(RDBError) {
                guard count <= limit - position else { throw failure(start, "entry runs past the end") }
            }
            var recordedPrevious = Int(ziplist[position])
            position += 1
            if recordedPrevious == 254 {
                try need(4)
                recordedPrevious = u32(position)
                position += 4
            } else if recordedPrevious == 255 {
                throw failure(start, "bad previous-entry length")
            }
            guard recordedPrevious == previousSize else {
                throw failure(start, "previous-entry length \(recordedPrevious), the previous entry has \(previousSize)")
            }
            try need(1)
            let encoding = ziplist[position]
            position += 1
            func signed(_ byteCount: Int) throws(RDBError) -> Int64 {
                try need(byteCount)
                var raw: UInt64 = 0
                for index in 0..<byteCount { raw |= UInt64(ziplist[position + index]) << (8 * UInt64(index)) }
                position += byteCount
                let unused = UInt64(64 - 8 * byteCount)
                return Int64(bitPattern: raw << unused) >> Int64(unused)
            }
            func string(_ length: Int) throws(RDBError) -> ListpackElement {
                try need(length)
                defer { position += length }
                return .string(ziplist[position..<(position + length)])
            }
            switch encoding >> 6 {
            case 0:
                result.append(try string(Int(encoding & 0x3F)))
            case 1:
                try need(1)
                let length = Int(encoding & 0x3F) << 8 | Int(ziplist[position])
                position += 1
                result.append(try string(length))
            case 2:
                guard encoding == 0x80 else { throw failure(start, "bad string encoding \(encoding)") }
                try need(4)
                let length = Int(ziplist[position]) << 24 | Int(ziplist[position + 1]) << 16
                    | Int(ziplist[position + 2]) << 8 | Int(ziplist[position + 3])
                position += 4
                result.append(try string(length))
            default:
                switch encoding {
                case 0xC0: result.append(.integer(try signed(2)))
                case 0xD0: result.append(.integer(try signed(4)))
                case 0xE0: result.append(.integer(try signed(8)))
                case 0xF0: result.append(.integer(try signed(3)))
                case 0xFE: result.append(.integer(try signed(1)))
                case 0xF1...0xFD: result.append(.integer(Int64(encoding & 0x0F) - 1))
                default: throw failure(start, "bad integer encoding \(encoding)")
                }
            }
            previousSize = position - start
            lastEntry = start
        }
        guard tail == lastEntry else { throw failure(4, "tail offset \(tail), last entry at \(lastEntry)") }
        guard declaredCount == 65535 || declaredCount == result.count else {
            throw failure(8, "header counts \(declaredCount) entries, it has \(result.count)")
        }
        return result
    }
}

/// Reads and validates an intset (RDB type 11), Redis' sorted array of integers for small all-integer sets:
///
///     width (u32 LE: 2, 4 or 8) | count (u32 LE) | count integers of that width, little-endian, strictly ascending
enum IntsetReader {
    static func members(of intset: [UInt8]) throws(RDBError) -> [Int64] {
        func failure(_ offset: Int, _ reason: String) -> RDBError { RDBError(offset: offset, reason: "intset: " + reason) }
        guard intset.count >= 8 else { throw failure(0, "shorter than its header") }
        func u32(_ at: Int) -> Int {
            Int(intset[at]) | Int(intset[at + 1]) << 8 | Int(intset[at + 2]) << 16 | Int(intset[at + 3]) << 24
        }
        let width = u32(0)
        guard width == 2 || width == 4 || width == 8 else { throw failure(0, "bad width \(width)") }
        let count = u32(4)
        guard count > 0 else { throw failure(4, "empty") }
        guard (intset.count - 8) == count * width else {
            throw failure(4, "\(count) members of \(width) bytes need \(count * width) bytes, it has \(intset.count - 8)")
        }
        var members: [Int64] = []
        members.reserveCapacity(count)
        for index in 0..<count {
            let start = 8 + index * width
            var raw: UInt64 = 0
            for byte in 0..<width { raw |= UInt64(intset[start + byte]) << (8 * UInt64(byte)) }
            let unused = UInt64(64 - 8 * width)
            let value = Int64(bitPattern: raw << unused) >> Int64(unused)
            if let last = members.last, value <= last { throw failure(start, "members not strictly ascending") }
            members.append(value)
        }
        return members
    }
}
