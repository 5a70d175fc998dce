/// The ID of a stream entry: a millisecond timestamp and a sequence number within it, ordered by
/// `ms` first and `seq` second (Redis's `<ms>-<seq>`).
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Milliseconds part (by convention Unix time in ms for generated IDs; any value for explicit IDs).
    public var ms: UInt64
    /// Sequence number among entries sharing `ms`; 0 for the first one.
    public var seq: UInt64

    @inlinable
    public init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    /// 0-0: smaller than every ID an entry can have.
    public static let zero = StreamID(ms: 0, seq: 0)
    /// The largest possible ID, `18446744073709551615-18446744073709551615`.
    public static let max = StreamID(ms: .max, seq: .max)

    @inlinable
    public static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        lhs.ms != rhs.ms ? lhs.ms < rhs.ms : lhs.seq < rhs.seq
    }

    /// The smallest ID greater than this one, or nil for `.max` (Redis's streamIncrID).
    @inlinable
    public var next: StreamID? {
        if seq != .max { return StreamID(ms: ms, seq: seq &+ 1) }
        if ms != .max { return StreamID(ms: ms &+ 1, seq: 0) }
        return nil
    }

    /// The largest ID smaller than this one, or nil for 0-0 (Redis's streamDecrID).
    @inlinable
    public var previous: StreamID? {
        if seq != 0 { return StreamID(ms: ms, seq: seq &- 1) }
        if ms != 0 { return StreamID(ms: ms &- 1, seq: .max) }
        return nil
    }

    /// `"<ms>-<seq>"`.
    public var description: String {
        var bytes: [UInt8] = []
        appendASCII(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: ASCII formatting (hot path: no String)

    /// The longest `asciiByteCount`: two 20-digit numbers and the dash.
    public static let maxASCIIByteCount = 41

    /// Number of bytes `"<ms>-<seq>"` takes.
    @inlinable
    public var asciiByteCount: Int {
        decimalDigitCount(ms) + 1 + decimalDigitCount(seq)
    }

    /// Writes `"<ms>-<seq>"` at `destination`, which must have room for `asciiByteCount` bytes.
    /// - Returns: the number of bytes written.
    /// - Complexity: O(1) (at most 41 bytes).
    @discardableResult
    public func writeASCII(to destination: UnsafeMutableRawPointer) -> Int {
        let msDigits = decimalDigitCount(ms)
        writeDecimal(ms, digitCount: msDigits, to: destination)
        destination.storeBytes(of: UInt8(ascii: "-"), toByteOffset: msDigits, as: UInt8.self)
        let seqDigits = decimalDigitCount(seq)
        writeDecimal(seq, digitCount: seqDigits, to: destination + msDigits + 1)
        return msDigits + 1 + seqDigits
    }

    /// Appends `"<ms>-<seq>"` to `bytes`.
    /// - Complexity: amortised O(1).
    public func appendASCII(to bytes: inout [UInt8]) {
        let count = asciiByteCount
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBytes { buffer in
            // The buffer was just grown by `count` bytes, so the base address exists.
            _ = writeASCII(to: buffer.baseAddress! + start)
        }
    }

    /// Calls `body` with the ASCII form held in a stack buffer, valid only during the call.
    @inlinable
    public func withASCIIBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeTemporaryAllocation(byteCount: StreamID.maxASCIIByteCount, alignment: 1) { buffer in
            // A temporary allocation of a non-zero size always has a base address.
            let written = writeASCII(to: buffer.baseAddress!)
            return try body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: written))
        }
    }
}

/// Decimal digits needed for `value` (1 for zero).
@inlinable
func decimalDigitCount(_ value: UInt64) -> Int {
    var digits = 1
    var rest = value
    while rest >= 10_000 {
        rest /= 10_000
        digits += 4
    }
    if rest >= 1000 { return digits + 3 }
    if rest >= 100 { return digits + 2 }
    if rest >= 10 { return digits + 1 }
    return digits
}

/// Writes `value` as `digitCount` ASCII digits (most significant first) at `destination`.
@usableFromInline
func writeDecimal(_ value: UInt64, digitCount: Int, to destination: UnsafeMutableRawPointer) {
    var rest = value
    var position = digitCount
    repeat {
        position -= 1
        let (quotient, digit) = rest.quotientAndRemainder(dividingBy: 10)
        destination.storeBytes(of: UInt8(truncatingIfNeeded: digit) &+ 48, toByteOffset: position, as: UInt8.self)
        rest = quotient
    } while position > 0
}

// MARK: - Parsing

/// How XADD was asked to pick the new entry's ID.
public enum StreamIDSpec: Sendable, Hashable {
    /// `*`: the current time, or the next ID after the last one if the clock is behind.
    case automatic
    /// `<ms>-*`: the given milliseconds with the next free sequence number.
    case automaticSequence(milliseconds: UInt64)
    /// `<ms>-<seq>`, or `<ms>` meaning `<ms>-0`.
    case explicit(StreamID)

    /// Whether this is the explicit ID 0-0, which XADD rejects (with `StreamError.idZero`) before
    /// even looking the key up.
    @inlinable
    public var isExplicitZero: Bool {
        if case .explicit(let id) = self { return id == .zero }
        return false
    }

    /// Parses an XADD ID argument exactly as Redis does: `*`, `<ms>-*`, `<ms>-<seq>`, `<ms>`
    /// (numbers as Redis's string2ull: leading zeros, `+`, leading white space accepted; see
    /// `StreamID.parse`). `-` and `+` are invalid here.
    /// - Complexity: O(n) in the argument length.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(StreamError) -> StreamIDSpec {
        // Redis compares as a C string, so "*" followed by a NUL byte is still "*".
        if bytes.count >= 1 && bytes[0] == UInt8(ascii: "*") && (bytes.count == 1 || bytes[1] == 0) {
            return .automatic
        }
        let parsed = try StreamIDParser.parse(bytes, missingSequence: 0, strict: true, allowsAutoSequence: true)
        return parsed.sequenceGiven ? .explicit(parsed.id) : .automaticSequence(milliseconds: parsed.id.ms)
    }

    /// `parse(_:)` for any byte collection.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) throws(StreamError) -> StreamIDSpec {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(StreamError) -> StreamIDSpec in try parse(UnsafeRawBufferPointer(buffer)) }
        } ?? Array(bytes).withUnsafeBytes { buffer in
            Result { () throws(StreamError) -> StreamIDSpec in try parse(buffer) }
        }
        return try result.get()
    }
}

extension StreamID {
    /// Parses an ID argument as Redis's non-strict parser does: `-` is 0-0, `+` is `.max`,
    /// `<ms>` alone gets `missingSequence` (0 for range starts, `UInt64.max` for range ends),
    /// `<ms>-<seq>` otherwise. Each number follows Redis's string2ull: a canonical integer is taken
    /// as is (negative ones rejected); anything else goes through C's strtoull, so leading
    /// zeros, leading white space and `+` are accepted, `-` before a non-canonical number
    /// wraps around, and values above `UInt64.max` are rejected. Like Redis, arguments longer than
    /// 127 bytes are invalid and a NUL byte ends the argument.
    /// - Throws: `StreamError.invalidID`.
    /// - Complexity: O(n) in the argument length.
    public static func parse(_ bytes: UnsafeRawBufferPointer, missingSequence: UInt64) throws(StreamError) -> StreamID {
        try StreamIDParser.parse(bytes, missingSequence: missingSequence, strict: false, allowsAutoSequence: false).id
    }

    /// Like `parse(_:missingSequence:)` but rejecting `-` and `+` (Redis's strict parser, used by
    /// XDEL, XSETID, XCLAIM, exclusive range bounds, ...).
    /// - Throws: `StreamError.invalidID`.
    /// - Complexity: O(n) in the argument length.
    public static func parseStrict(_ bytes: UnsafeRawBufferPointer, missingSequence: UInt64 = 0) throws(StreamError) -> StreamID {
        try StreamIDParser.parse(bytes, missingSequence: missingSequence, strict: true, allowsAutoSequence: false).id
    }

    /// Parses the start bound of XRANGE/XREVRANGE: an ID (missing sequence 0), `-`, `+`, or
    /// `(ID` for an exclusive start, returned as the inclusive ID that follows it.
    /// - Throws: `StreamError.invalidID`, or `.invalidStartOfInterval` for `(` + the maximum ID.
    /// - Complexity: O(n) in the argument length.
    public static func parseRangeStart(_ bytes: UnsafeRawBufferPointer) throws(StreamError) -> StreamID {
        if bytes.count > 1 && bytes[0] == UInt8(ascii: "(") {
            let id = try parseStrict(UnsafeRawBufferPointer(rebasing: bytes[1...]), missingSequence: 0)
            guard let following = id.next else { throw .invalidStartOfInterval }
            return following
        }
        return try parse(bytes, missingSequence: 0)
    }

    /// Parses the end bound of XRANGE/XREVRANGE: an ID (missing sequence `UInt64.max`), `-`, `+`,
    /// or `(ID` for an exclusive end, returned as the inclusive ID preceding it (so `(5` is
    /// `5-18446744073709551614`, as in Redis).
    /// - Throws: `StreamError.invalidID`, or `.invalidEndOfInterval` for `(0-0`.
    /// - Complexity: O(n) in the argument length.
    public static func parseRangeEnd(_ bytes: UnsafeRawBufferPointer) throws(StreamError) -> StreamID {
        if bytes.count > 1 && bytes[0] == UInt8(ascii: "(") {
            let id = try parseStrict(UnsafeRawBufferPointer(rebasing: bytes[1...]), missingSequence: .max)
            guard let preceding = id.previous else { throw .invalidEndOfInterval }
            return preceding
        }
        return try parse(bytes, missingSequence: .max)
    }

    /// `parse(_:missingSequence:)` for any byte collection.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>, missingSequence: UInt64) throws(StreamError) -> StreamID {
        try withRawBytes(bytes) { buffer throws(StreamError) in try parse(buffer, missingSequence: missingSequence) }
    }

    /// `parseStrict(_:missingSequence:)` for any byte collection.
    @inlinable
    public static func parseStrict(_ bytes: some Collection<UInt8>, missingSequence: UInt64 = 0) throws(StreamError) -> StreamID {
        try withRawBytes(bytes) { buffer throws(StreamError) in try parseStrict(buffer, missingSequence: missingSequence) }
    }

    /// `parseRangeStart(_:)` for any byte collection.
    @inlinable
    public static func parseRangeStart(_ bytes: some Collection<UInt8>) throws(StreamError) -> StreamID {
        try withRawBytes(bytes) { buffer throws(StreamError) in try parseRangeStart(buffer) }
    }

    /// `parseRangeEnd(_:)` for any byte collection.
    @inlinable
    public static func parseRangeEnd(_ bytes: some Collection<UInt8>) throws(StreamError) -> StreamID {
        try withRawBytes(bytes) { buffer throws(StreamError) in try parseRangeEnd(buffer) }
    }

    @inlinable
    static func withRawBytes(
        _ bytes: some Collection<UInt8>,
        _ body: (UnsafeRawBufferPointer) throws(StreamError) -> StreamID
    ) throws(StreamError) -> StreamID {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(StreamError) -> StreamID in try body(UnsafeRawBufferPointer(buffer)) }
        } ?? Array(bytes).withUnsafeBytes { buffer in
            Result { () throws(StreamError) -> StreamID in try body(buffer) }
        }
        return try result.get()
    }
}

/// Redis's streamGenericParseIDOrReply, reproduced from its observable behaviour.
@usableFromInline
enum StreamIDParser {
    struct Parsed {
        var id: StreamID
        /// False only for `<ms>-*` (when allowed).
        var sequenceGiven: Bool
    }

    /// Redis copies the argument into a 128-byte C buffer, so longer arguments are invalid.
    static let maximumLength = 127

    static func parse(
        _ argument: UnsafeRawBufferPointer,
        missingSequence: UInt64,
        strict: Bool,
        allowsAutoSequence: Bool
    ) throws(StreamError) -> Parsed {
        guard argument.count <= maximumLength else { throw .invalidID }
        // Everything after the first NUL is invisible to Redis's C-string handling.
        var length = argument.count
        if let nul = argument.firstIndex(of: 0) { length = nul }
        let text = UnsafeRawBufferPointer(rebasing: argument[0..<length])

        if length == 1 && (text[0] == UInt8(ascii: "-") || text[0] == UInt8(ascii: "+")) {
            if strict { throw .invalidID }
            return Parsed(id: text[0] == UInt8(ascii: "-") ? .zero : .max, sequenceGiven: true)
        }

        guard let dash = text.firstIndex(of: UInt8(ascii: "-")) else {
            guard let ms = parseUnsignedLikeRedis(text) else { throw .invalidID }
            return Parsed(id: StreamID(ms: ms, seq: missingSequence), sequenceGiven: true)
        }
        guard let ms = parseUnsignedLikeRedis(UnsafeRawBufferPointer(rebasing: text[0..<dash])) else {
            throw .invalidID
        }
        let sequenceText = UnsafeRawBufferPointer(rebasing: text[(dash + 1)...])
        if allowsAutoSequence && sequenceText.count == 1 && sequenceText[0] == UInt8(ascii: "*") {
            return Parsed(id: StreamID(ms: ms, seq: 0), sequenceGiven: false)
        }
        guard let seq = parseUnsignedLikeRedis(sequenceText) else { throw .invalidID }
        return Parsed(id: StreamID(ms: ms, seq: seq), sequenceGiven: true)
    }

    /// Redis's string2ull: a canonical int64 is accepted unless negative; any other text goes
    /// through glibc strtoull (base 10), which must consume everything.
    static func parseUnsignedLikeRedis(_ text: UnsafeRawBufferPointer) -> UInt64? {
        if let canonical = parseCanonicalInt64(text) {
            return canonical < 0 ? nil : UInt64(canonical)
        }
        return parseLikeStrtoull(text)
    }

    /// glibc strtoull(text, &end, 10) succeeding with `*end == '\0'` and no ERANGE.
    static func parseLikeStrtoull(_ text: UnsafeRawBufferPointer) -> UInt64? {
        var index = 0
        let count = text.count
        // isspace() in the C locale: space, \t, \n, \v, \f, \r.
        while index < count && (text[index] == 0x20 || (text[index] >= 0x09 && text[index] <= 0x0D)) {
            index += 1
        }
        var negative = false
        if index < count && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        let firstDigit = index
        var value: UInt64 = 0
        while index < count, case let digit = text[index] &- UInt8(ascii: "0"), digit < 10 {
            let (timesTen, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = timesTen.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
            index += 1
        }
        guard index > firstDigit, index == count else { return nil }
        return negative ? 0 &- value : value
    }
}

/// Whether `text` is the canonical decimal form of an Int64 (Redis's string2ll and listpack's
/// lpStringToInt64, which agree): at most 20 bytes, optional `-`, no leading zeros, no `+`, not
/// `-0`, within Int64's range. Returns the value if so.
@usableFromInline
func parseCanonicalInt64(_ text: UnsafeRawBufferPointer) -> Int64? {
    let count = text.count
    guard count > 0 && count <= 20 else { return nil }
    let negative = text[0] == UInt8(ascii: "-")
    var index = negative ? 1 : 0
    let digitCount = count - index
    // 20 digits always exceed Int64; 19 digits always fit in UInt64, so no overflow checks below.
    guard digitCount >= 1 && digitCount <= 19 else { return nil }
    let first = text[index] &- UInt8(ascii: "0")
    if first == 0 { return digitCount == 1 && !negative ? 0 : nil }
    guard first <= 9 else { return nil }
    var magnitude = UInt64(first)
    index &+= 1
    while index < count {
        let digit = text[index] &- UInt8(ascii: "0")
        guard digit <= 9 else { return nil }
        magnitude = magnitude &* 10 &+ UInt64(digit)
        index &+= 1
    }
    if negative {
        return magnitude <= UInt64(Int64.max) + 1 ? Int64(bitPattern: 0 &- magnitude) : nil
    }
    return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
}
