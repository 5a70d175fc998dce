/// Byte helpers for the C locale's notion of case, which is what Redis uses for option names and nocase matching.
public enum ASCII {
    /// `byte` with A-Z mapped to a-z; every other byte, including those >= 0x80, unchanged (C `tolower` in the "C"
    /// locale).
    @inlinable @inline(__always)
    public static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Whether the two byte sequences are equal after `lowercased` on each byte.
    @inlinable
    public static func equalIgnoringCase(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { lowercased($0) == lowercased($1) }
    }
}
