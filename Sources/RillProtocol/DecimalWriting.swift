import NIOCore

/// Decimal formatting of integers straight into buffers, without going through `String`.
public enum RESPDecimal {
    /// Bytes needed to write `value` in decimal (1...20).
    ///
    /// - Complexity: O(1) (at most 19 comparisons).
    @inlinable
    public static func digitCount(_ value: UInt64) -> Int {
        var count = 1
        var threshold: UInt64 = 10
        // 10^19 is the largest power of ten below UInt64.max, so the multiplication cannot overflow before we stop.
        while count < 20 && value >= threshold {
            count += 1
            threshold &*= 10
        }
        return count
    }

    /// Bytes needed to write `value` in decimal, including a `-` sign when negative (1...20).
    ///
    /// - Complexity: O(1).
    @inlinable
    public static func digitCount(_ value: Int64) -> Int {
        value < 0 ? 1 + digitCount(value.magnitude) : digitCount(UInt64(value))
    }

    /// Writes `value`'s digits at `destination`, which must have room for ``digitCount(_:)-(UInt64)`` bytes.
    /// Returns the number of bytes written.
    @inlinable
    static func write(_ value: UInt64, to destination: UnsafeMutableRawPointer) -> Int {
        let count = digitCount(value)
        var remaining = value
        var position = count
        repeat {
            position -= 1
            let (quotient, digit) = remaining.quotientAndRemainder(dividingBy: 10)
            destination.storeBytes(of: UInt8(truncatingIfNeeded: digit) &+ ASCII.zero, toByteOffset: position, as: UInt8.self)
            remaining = quotient
        } while position > 0
        return count
    }

    /// Writes `value` in decimal, with a leading `-` when negative, at `destination` (room for 20 bytes needed).
    /// Returns the number of bytes written.
    @inlinable
    static func write(_ value: Int64, to destination: UnsafeMutableRawPointer) -> Int {
        if value >= 0 { return write(UInt64(value), to: destination) }
        destination.storeBytes(of: ASCII.minus, as: UInt8.self)
        return 1 + write(value.magnitude, to: destination + 1)
    }
}

extension ByteBuffer {
    /// Writes `value` as decimal ASCII (`-` sign when negative), e.g. for lengths or stream ids built by hand.
    /// Returns the number of bytes written.
    ///
    /// - Complexity: O(1) (at most 20 bytes).
    @inlinable
    @discardableResult
    public mutating func writeDecimal(_ value: Int64) -> Int {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { destination in
            // Non-nil: 20 writable bytes were reserved.
            RESPDecimal.write(value, to: destination.baseAddress!)
        }
    }

    /// Writes `value` as decimal ASCII. Returns the number of bytes written.
    ///
    /// - Complexity: O(1) (at most 20 bytes).
    @inlinable
    @discardableResult
    public mutating func writeDecimal(_ value: UInt64) -> Int {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { destination in
            // Non-nil: 20 writable bytes were reserved.
            RESPDecimal.write(value, to: destination.baseAddress!)
        }
    }

    /// Writes `value` as decimal ASCII. Returns the number of bytes written.
    ///
    /// - Complexity: O(1).
    @inlinable
    @discardableResult
    public mutating func writeDecimal(_ value: Int) -> Int {
        self.writeDecimal(Int64(value))
    }
}
