/// CRC-64/Jones as Redis computes it for DUMP payloads and RDB files: polynomial 0xAD93D23594C935A9 in reflected bit
/// order, initial value 0, no final XOR. The check value of "123456789" is 0xE9C6D914C4B8D9CA.
///
/// Streaming: `var crc = CRC64(); crc.update(part1); crc.update(part2); crc.value`. The table walk takes eight bytes
/// per step ("slicing-by-8") because a snapshot checksums every byte it writes.
public struct CRC64: StreamingChecksum {
    /// The CRC of every byte given so far (0 before any byte).
    public private(set) var value: UInt64 = 0

    public init() {}

    /// Feeds `bytes`.
    /// - Complexity: O(bytes.count).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        var index = 0
        let count = bytes.count
        CRC64.tables.withUnsafeBufferPointer { table in
            while index + 8 <= count {
                var word: UInt64 = 0
                for shift in 0..<8 { word |= UInt64(bytes[index + shift]) << (8 * UInt64(shift)) }
                let mixed = crc ^ word
                crc = table[7 * 256 + Int(mixed & 0xFF)] ^ table[6 * 256 + Int((mixed >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((mixed >> 16) & 0xFF)] ^ table[4 * 256 + Int((mixed >> 24) & 0xFF)]
                    ^ table[3 * 256 + Int((mixed >> 32) & 0xFF)] ^ table[2 * 256 + Int((mixed >> 40) & 0xFF)]
                    ^ table[1 * 256 + Int((mixed >> 48) & 0xFF)] ^ table[Int(mixed >> 56)]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt64(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        value = crc
    }

    /// 0xAD93D23594C935A9 with its bits reversed: the table walk shifts right (reflected input and output).
    static let reflectedPolynomial: UInt64 = 0x95AC_9329_AC4B_C9B5

    /// Eight 256-entry tables: table k gives the contribution of a byte followed by k zero bytes.
    private static let tables: [UInt64] = {
        var tables = [UInt64](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt64(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1 }
            tables[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()
}
