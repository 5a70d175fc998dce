/// One field name or value of a stream entry, as read from a block without copying.
///
/// Canonical decimal integers are stored in binary, so they come back as `.integer`; their bytes
/// are exactly the decimal text that was added. `.bytes` points into the stream's storage and is
/// valid only during the visitor call that produced it.
public enum StreamFieldValue {
    /// Raw bytes inside the stream's storage (valid only during the visit).
    case bytes(UnsafeRawBufferPointer)
    /// A value that was added as the canonical decimal text of this integer.
    case integer(Int64)

    /// Length of the value's bytes (for integers, of their decimal text).
    @inlinable
    public var byteCount: Int {
        switch self {
        case .bytes(let buffer): return buffer.count
        case .integer(let value): return decimalTextCount(value)
        }
    }

    /// Calls `body` with the value's bytes (integers are formatted into a stack buffer).
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch self {
        case .bytes(let buffer):
            return try body(buffer)
        case .integer(let value):
            return try withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { scratch in
                // A temporary allocation of a non-zero size always has a base address.
                let written = writeDecimalText(value, to: scratch.baseAddress!)
                return try body(UnsafeRawBufferPointer(start: scratch.baseAddress, count: written))
            }
        }
    }

    /// Writes the value's bytes at `destination` (room for `byteCount` bytes); returns `byteCount`.
    @discardableResult
    public func write(to destination: UnsafeMutableRawPointer) -> Int {
        switch self {
        case .bytes(let buffer):
            if let source = buffer.baseAddress { destination.copyMemory(from: source, byteCount: buffer.count) }
            return buffer.count
        case .integer(let value):
            return writeDecimalText(value, to: destination)
        }
    }

    /// Appends the value's bytes to `array`.
    public func append(to array: inout [UInt8]) {
        switch self {
        case .bytes(let buffer):
            array.append(contentsOf: buffer)
        case .integer(let value):
            let start = array.count
            array.append(contentsOf: repeatElement(0, count: decimalTextCount(value)))
            array.withUnsafeMutableBytes { buffer in
                // Just grown by at least one byte, so the base address exists.
                _ = writeDecimalText(value, to: buffer.baseAddress! + start)
            }
        }
    }

    /// A copy of the value's bytes.
    public var bytes: [UInt8] {
        var array: [UInt8] = []
        array.reserveCapacity(byteCount)
        append(to: &array)
        return array
    }
}

/// Length of `value`'s decimal text.
@inlinable
func decimalTextCount(_ value: Int64) -> Int {
    value < 0 ? 1 + decimalDigitCount(value.magnitude) : decimalDigitCount(UInt64(value))
}

/// Writes `value`'s decimal text; returns its length.
@usableFromInline
func writeDecimalText(_ value: Int64, to destination: UnsafeMutableRawPointer) -> Int {
    if value < 0 {
        destination.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
        let digits = decimalDigitCount(value.magnitude)
        writeDecimal(value.magnitude, digitCount: digits, to: destination + 1)
        return digits + 1
    }
    let digits = decimalDigitCount(UInt64(value))
    writeDecimal(UInt64(value), digitCount: digits, to: destination)
    return digits
}

/// The field/value pairs of one entry, read in place. Valid only during the visitor call.
///
/// Iterate it (`for (field, value) in fields`) or use `forEachPair`; `pair(at:)` walks from the
/// start, so prefer iteration.
public struct StreamEntryFields: Sequence {
    /// Start of the block's element storage.
    @usableFromInline let base: UnsafePointer<UInt8>
    /// Offset of the first encoded field (when not shared) or value (when shared).
    @usableFromInline let bodyOffset: Int
    /// Offset of the block's master field names (varint length + raw bytes each).
    @usableFromInline let masterFieldsOffset: Int
    /// Whether field names are the block's master fields (only values are stored in the record).
    @usableFromInline let sharesMasterFields: Bool
    /// Number of field/value pairs (at least 1).
    public let count: Int

    @usableFromInline
    init(base: UnsafePointer<UInt8>, bodyOffset: Int, masterFieldsOffset: Int, sharesMasterFields: Bool, count: Int) {
        self.base = base
        self.bodyOffset = bodyOffset
        self.masterFieldsOffset = masterFieldsOffset
        self.sharesMasterFields = sharesMasterFields
        self.count = count
    }

    /// Walks the pairs in order, decoding each on demand.
    public struct Iterator: IteratorProtocol {
        /// The entry being walked.
        @usableFromInline let fields: StreamEntryFields
        /// Offset of the next encoded field or value inside the record.
        @usableFromInline var recordOffset: Int
        /// Offset of the next master field name (used when fields are shared).
        @usableFromInline var masterOffset: Int
        /// Pairs left to produce.
        @usableFromInline var remaining: Int

        @usableFromInline
        init(fields: StreamEntryFields) {
            self.fields = fields
            self.recordOffset = fields.bodyOffset
            self.masterOffset = fields.masterFieldsOffset
            self.remaining = fields.count
        }

        public mutating func next() -> (field: StreamFieldValue, value: StreamFieldValue)? {
            guard remaining > 0 else { return nil }
            remaining &-= 1
            let field: StreamFieldValue
            if fields.sharesMasterFields {
                let length = Int(truncatingIfNeeded: readVarint(fields.base, at: &masterOffset))
                field = .bytes(UnsafeRawBufferPointer(start: fields.base + masterOffset, count: length))
                masterOffset &+= length
            } else {
                field = decodeValue(fields.base, at: &recordOffset)
            }
            let value = decodeValue(fields.base, at: &recordOffset)
            return (field, value)
        }
    }

    @inlinable
    public func makeIterator() -> Iterator { Iterator(fields: self) }

    /// Calls `body` for each pair in order.
    /// - Complexity: O(count).
    @inlinable
    public func forEachPair(_ body: (StreamFieldValue, StreamFieldValue) throws -> Void) rethrows {
        var iterator = makeIterator()
        while let pair = iterator.next() { try body(pair.field, pair.value) }
    }

    /// The pair at `index` (0-based).
    /// - Complexity: O(index).
    public func pair(at index: Int) -> (field: StreamFieldValue, value: StreamFieldValue) {
        precondition(index >= 0 && index < count, "field index out of range")
        var iterator = makeIterator()
        for _ in 0..<index { _ = iterator.next() }
        // index < count, so the iterator has a pair left.
        return iterator.next()!
    }

    /// Copies the pairs as a flat `[field, value, field, value, ...]` array.
    public func flattened() -> [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(count * 2)
        for (field, value) in self {
            result.append(field.bytes)
            result.append(value.bytes)
        }
        return result
    }
}

/// A copied stream entry, for callers that want owned values rather than a visitor.
public struct StreamEntry: Hashable, Sendable {
    /// The entry's ID.
    public var id: StreamID
    /// Field names and values alternating: `[field1, value1, field2, value2, ...]`.
    public var fieldsAndValues: [[UInt8]]

    public init(id: StreamID, fieldsAndValues: [[UInt8]]) {
        self.id = id
        self.fieldsAndValues = fieldsAndValues
    }
}
