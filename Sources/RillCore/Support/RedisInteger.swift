/// Redis' strict decimal integer syntax, shared by argument parsing and INCR on stored strings.
public enum RedisInteger {
    /// Parses a canonical signed 64-bit decimal: optional '-', digits, no leading zeros ("0" alone is fine),
    /// no '+', no spaces, no "-0", at most 20 characters. Returns nil for anything else, as Redis' string2ll does.
    /// - Complexity: O(n) in the byte count, n <= 20.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let count = bytes.count
        if count == 0 || count > 20 { return nil }
        if count == 1, bytes[0] == UInt8(ascii: "0") { return 0 }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative {
            index = 1
            if count == 1 { return nil }
        }
        // The first digit must be 1-9: this rejects leading zeros and "-0".
        let first = bytes[index]
        guard first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return nil }
        var magnitude = UInt64(first - UInt8(ascii: "0"))
        index += 1
        while index < count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    public static func parse(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Appends the decimal form of `value`, as Redis replies and stores integers.
    public static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64) = (0, 0)
        var count = 0
        // 20 digits at most; build them backwards in a fixed-size scratch area to avoid an intermediate array.
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                count += 1
                scratch[16 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: scratch[(16 - count)..<16])
        }
    }
}
