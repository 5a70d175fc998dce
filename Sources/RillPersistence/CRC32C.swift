/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF), the checksum of
/// every snapshot section and DUMP payload. Table-driven, eight bytes per step ("slicing-by-8"), so checksumming is
/// far from being the bottleneck of writing or loading a snapshot.
///
/// Usage: `var crc = CRC32C(); crc.update(bytes); crc.value`. `CRC32C.checksum(of: Array("123456789".utf8))` is
/// 0xE3069283, the standard check value.
public struct CRC32C: Sendable {
    /// The running, not yet finalised register (inverted CRC); `0xFFFFFFFF` before any byte.
    private var register: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The CRC of every byte given so far.
    public var value: UInt32 { ~register }

    /// Feeds `bytes`.
    /// - Complexity: O(bytes.count).
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = register
        var index = 0
        let count = bytes.count
        CRC32C.tables.withUnsafeBufferPointer { table in
            while index + 8 <= count {
                let low = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
                    | UInt32(bytes[index + 3]) << 24
                let high = UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16
                    | UInt32(bytes[index + 7]) << 24
                let mixed = crc ^ low
                crc = table[7 * 256 + Int(mixed & 0xFF)] ^ table[6 * 256 + Int((mixed >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((mixed >> 16) & 0xFF)] ^ table[4 * 256 + Int(mixed >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        register = crc
    }

    /// Feeds `bytes`.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds `bytes[range]`.
    public mutating func update(_ bytes: [UInt8], _ range: Range<Int>) {
        bytes.withUnsafeBytes { update(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// The CRC of `bytes` alone.
    public static func checksum(of bytes: [UInt8]) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }

    /// Eight 256-entry tables: table k gives the CRC contribution of a byte followed by k zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
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
