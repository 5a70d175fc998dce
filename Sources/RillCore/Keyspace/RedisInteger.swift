/// Redis's strict decimal form of a signed 64-bit integer, used for INCR's stored value and for integer arguments.
///
/// Accepted: "0", or an optional '-' followed by a digit 1-9 and more digits, within Int64's range. Rejected, as
/// redis-server 7 rejects them: the empty string, a leading '+', leading zeros ("007", "00"), "-0", any space, a
/// decimal point or exponent, and anything outside -9223372036854775808...9223372036854775807.
public enum RedisInteger {
    /// The integer `bytes` spell in the strict form above, or nil.
    ///
    /// - Complexity: O(`bytes.count`), no allocation.
    @inlinable
    public static func parse<Bytes: Collection>(_ bytes: Bytes) -> Int64? where Bytes.Element == UInt8 {
        var position = bytes.startIndex
        guard position != bytes.endIndex else { return nil }
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative {
            bytes.formIndex(after: &position)
            guard position != bytes.endIndex else { return nil }
        }
        let first = bytes[position]
        if first == UInt8(ascii: "0") {
            // "0" alone is the only spelling that may start with zero; "-0" and "01" are not canonical.
            return !negative && bytes.index(after: position) == bytes.endIndex ? 0 : nil
        }
        // Accumulate the magnitude as a negative number: Int64.min has no positive counterpart.
        var negativeMagnitude: Int64 = 0
        while position != bytes.endIndex {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflowedMultiply) = negativeMagnitude.multipliedReportingOverflow(by: 10)
            let (next, overflowedSubtract) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflowedMultiply, !overflowedSubtract else { return nil }
            negativeMagnitude = next
            bytes.formIndex(after: &position)
        }
        if negative { return negativeMagnitude }
        return negativeMagnitude == .min ? nil : -negativeMagnitude
    }

    /// The decimal bytes of `value` ("-12", "0"), as Redis stores an integer string and as `parse` accepts it.
    ///
    /// - Complexity: O(number of digits).
    public static func format(_ value: Int64) -> [UInt8] {
        // 19 digits and a sign cover every Int64.
        var digits = [UInt8](repeating: 0, count: 20)
        var cursor = digits.count
        var magnitude = value.magnitude
        repeat {
            cursor -= 1
            digits[cursor] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude != 0
        if value < 0 {
            cursor -= 1
            digits[cursor] = UInt8(ascii: "-")
        }
        digits.removeFirst(cursor)
        return digits
    }
}
