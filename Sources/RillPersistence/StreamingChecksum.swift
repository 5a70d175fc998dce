/// A checksum fed in pieces (CRC-32C for RILLSNAP, CRC-64 for RDB): the conveniences over arrays live here once.
public protocol StreamingChecksum: Sendable {
    associatedtype Value: FixedWidthInteger
    init()
    /// The checksum of every byte given so far.
    var value: Value { get }
    /// Feeds `bytes`.
    mutating func update(_ bytes: UnsafeRawBufferPointer)
}

extension StreamingChecksum {
    /// Feeds `bytes`.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds `bytes[range]`.
    public mutating func update(_ bytes: [UInt8], _ range: Range<Int>) {
        bytes.withUnsafeBytes { update(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// The checksum of `bytes` alone.
    public static func checksum(of bytes: [UInt8]) -> Value {
        var checksum = Self()
        checksum.update(bytes)
        return checksum.value
    }
}
