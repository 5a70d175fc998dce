import NIOCore

/// Incremental decoder of client requests, byte-compatible with Redis 7's request parser.
///
/// Feed it the connection's cumulation buffer (the one a `ByteToMessageDecoder` appends reads to) and call
/// ``decode(_:)`` until it returns `nil`. Each non-nil result is one command's arguments as slices of that buffer
/// (no bytes are copied), and the buffer's reader index has moved past the command.
///
/// Two request forms are accepted, chosen by the first byte of each request:
/// - multibulk, `*<count>\r\n` then `count` times `$<length>\r\n<bytes>\r\n`;
/// - inline, any other line ended by `\n` (an optional `\r` before it is dropped), split into arguments the way
///   Redis's `sdssplitargs` does: blanks separate arguments, `"double quotes"` understand `\n \r \t \b \a \\ \" \xHH`
///   (any other escaped character stands for itself), `'single quotes'` only understand `\'`, and a closing quote
///   must be followed by whitespace or the end of the line.
///
/// Redis quirks reproduced on purpose, because clients and tests observe them:
/// - a `*` count <= 0 (`*0`, `*-1`) is an empty request and is skipped, as is an inline line with no arguments;
/// - the two bytes after a `*`/`$` line's `\r`, and after a bulk payload, are skipped without being checked;
/// - integers follow Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no `-0`;
/// - the missing-`$` error is only raised once the offending line is complete;
/// - Redis looks for line ends with C string functions, so a NUL byte before the end of a header or inline line
///   hides the end: the line then only ends by exceeding ``RESPDecoderLimits/maxInlineLength`` (an error).
///
/// Line-length rule: a line is too big when more than ``RESPDecoderLimits/maxInlineLength`` bytes precede its
/// terminator (`\r` for `*`/`$` lines; `\n` for inline lines, so a `\r` before it counts), or, while no terminator
/// has arrived, as soon as more than that many bytes are waiting. This depends only on the bytes, never on how they
/// were split into reads, so a request split at any byte decodes the same way. It is what Redis does when bytes
/// arrive in reads smaller than the limit (Redis only checks what it has buffered, so with a single huge read it
/// would accept a slightly longer line).
///
/// Partial requests: when ``decode(_:)`` returns `nil` it leaves the reader index at the start of the incomplete
/// request and remembers how far it got (relative to that index), so the next call resumes without rescanning:
/// total work is O(bytes received) however the request is split. Between such calls the buffer's readable bytes must
/// keep their content and may only grow at the end (moving or compacting the buffer is fine).
///
/// Invariants (checked by `_checkInvariants()` under `RILL_INTERNAL_CHECKS`, and by ``validate()``):
/// `0 <= lineStart <= scanOffset <= examinedByteCount`, every recorded argument lies before `lineStart`, and
/// `remainingArguments > 0` exactly in the multibulk phases after the count line.
public struct RESPRequestDecoder: Sendable {
    /// Limits applied from the next byte examined on; the server may change them at any time (e.g. on
    /// `CONFIG SET proto-max-bulk-len`). Defaults to ``RESPDecoderLimits/redisDefaults``.
    public var limits: RESPDecoderLimits

    /// What the decoder is waiting for inside the current request.
    @usableFromInline
    enum Phase: UInt8, Sendable {
        /// Nothing of the current request examined yet.
        case requestStart
        /// Reading the `*<count>` line that starts at `lineStart` (always 0).
        case multibulkCountLine
        /// Reading a `$<length>` line that starts at `lineStart`.
        case bulkLengthLine
        /// Waiting for `bulkLength` payload bytes starting at `lineStart`, plus the two bytes that end them.
        case bulkPayload
        /// Looking for the `\n` that ends the inline line starting at offset 0.
        case inlineLine
    }

    /// Where one argument lies, relative to the first byte of its request.
    @usableFromInline
    struct ArgumentBounds: Sendable {
        /// Offset of the argument's first byte from the request's first byte.
        @usableFromInline var offset: Int
        /// Argument length in bytes; 0 for an empty argument.
        @usableFromInline var length: Int
    }

    /// The arguments found so far: a prefix of `storage` of length `count`. Emptying only resets `count`, so a
    /// connection reuses the storage for every request; storage grown past `retainedCapacity` by a huge request is
    /// released when emptied.
    @usableFromInline
    struct ArgumentList: Sendable {
        /// Backing store; entries at `count...` are stale leftovers of earlier requests.
        private var storage: [ArgumentBounds] = []
        /// Number of valid entries at the front of `storage`.
        private(set) var count = 0

        /// Largest storage kept across requests, in entries (16 bytes each).
        private static let retainedCapacity = 4096

        var isEmpty: Bool { self.count == 0 }

        subscript(index: Int) -> ArgumentBounds { self.storage[index] }

        mutating func append(_ bounds: ArgumentBounds) {
            if self.count < self.storage.count {
                self.storage[self.count] = bounds
            } else {
                self.storage.append(bounds)
            }
            self.count += 1
        }

        mutating func removeAll() {
            self.count = 0
            if self.storage.count > Self.retainedCapacity { self.storage = [] }
        }

        mutating func reserveCapacity(_ minimumCapacity: Int) {
            if minimumCapacity > self.storage.capacity { self.storage.reserveCapacity(minimumCapacity) }
        }
    }

    /// What the scan of the readable bytes concluded.
    private enum Step {
        /// The current request is incomplete; everything readable has been examined.
        case needMoreData
        /// The first `Int` bytes are an empty request (`*0`, `*-1`) to drop.
        case skip(Int)
        /// A multibulk request of this many bytes is complete; its arguments are in `argumentBounds`.
        case multibulk(Int)
        /// An inline line is complete: `contentLength` bytes of content, `consumed` bytes with its terminator.
        case inline(contentLength: Int, consumed: Int)
    }

    /// Current phase of the request being decoded; `.requestStart` between requests.
    private var phase: Phase = .requestStart
    /// Offset from the request's first byte of the line (or, in `.bulkPayload`, the payload) being read; 0 between
    /// requests.
    private var lineStart: Int = 0
    /// Offset from the request's first byte where the search for the current line's terminator resumes. Every byte
    /// from `lineStart` up to it is neither the terminator nor NUL, except that it may point at the `\r` (found, but
    /// the byte after it has not arrived) or at the NUL that hides the line end. 0 between requests.
    private var scanOffset: Int = 0
    /// Arguments of the current multibulk request not yet complete; 0 outside the argument phases.
    private var remainingArguments: Int = 0
    /// Payload length in bytes awaited in `.bulkPayload`; 0 in other phases.
    private var bulkLength: Int = 0
    /// Readable byte count seen by the last call that returned `nil`; the next call must see at least as many
    /// (otherwise the caller dropped bytes of a partial request). 0 between requests.
    private var examinedByteCount: Int = 0
    /// Completed arguments of the current request. Emptied per request but its storage is kept (up to a bound), so
    /// steady-state decoding does not allocate here.
    private var argumentBounds = ArgumentList()

    /// Upper bound on the capacity reserved up front from a `*` count, so a huge announced count cannot make us
    /// allocate before its arguments actually arrive (Redis uses the same cap).
    private static let maxPreallocatedArguments = 1024

    public init(limits: RESPDecoderLimits = .redisDefaults) {
        self.limits = limits
    }

    /// Forgets any partially decoded request, e.g. after the caller discarded the buffer.
    ///
    /// - Complexity: O(1).
    public mutating func reset() {
        self.phase = .requestStart
        self.lineStart = 0
        self.scanOffset = 0
        self.remainingArguments = 0
        self.bulkLength = 0
        self.examinedByteCount = 0
        self.argumentBounds.removeAll()
    }

    /// Decodes the next complete command at the buffer's reader index.
    ///
    /// Returns the command's arguments (at least one) as slices of `buffer`, moving the reader index past the
    /// command; or `nil` when the buffer holds no complete command yet, with the reader index left at the start of
    /// the incomplete request (empty requests before it are consumed). Quoted inline arguments are unescaped in place
    /// inside `buffer`, which is why it is `inout` even for reading.
    ///
    /// After a thrown error the decoder is reset and the buffer's reader index is unspecified within the bad request;
    /// the connection is expected to reply with the error and close, as Redis does.
    ///
    /// The returned slices keep the buffer's storage alive: holding them while more bytes are appended makes the
    /// buffer copy itself, so copy out what must outlive the command.
    ///
    /// - Complexity: O(n) in the bytes newly received since the previous call plus the size of the result; no
    ///   allocation except the returned array (and the internal argument list growing past its high-water mark).
    ///   The one exception: unescaping a quoted inline line writes to `buffer`, which copies its storage first if
    ///   slices of it are still alive elsewhere.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> [ByteBuffer]? {
        var arguments: [ByteBuffer] = []
        return try self.decode(&buffer, into: &arguments) ? arguments : nil
    }

    /// `decode(_:)` writing the arguments into `arguments` (emptied first, capacity kept), so a connection can reuse
    /// one array for every request. Returns false, leaving `arguments` empty, when more bytes are needed.
    public mutating func decode(
        _ buffer: inout ByteBuffer, into arguments: inout [ByteBuffer]
    ) throws(RESPProtocolError) -> Bool {
        arguments.removeAll(keepingCapacity: true)
        while true {
            let step: Step
            do {
                step = try buffer.withUnsafeReadableBytes { (bytes) throws(RESPProtocolError) -> Step in
                    try self.advance(over: bytes)
                }
            } catch {
                self.reset()
                throw error
            }
            switch step {
            case .needMoreData:
                self._checkInvariants()
                return false
            case .skip(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                self.reset()
            case .multibulk(let consumed):
                self.makeArguments(from: buffer, into: &arguments)
                buffer.moveReaderIndex(forwardBy: consumed)
                self.reset()
                return true
            case .inline(let contentLength, let consumed):
                do {
                    try self.splitInlineLine(in: &buffer, contentLength: contentLength)
                } catch {
                    self.reset()
                    throw error
                }
                if self.argumentBounds.isEmpty {
                    buffer.moveReaderIndex(forwardBy: consumed)
                    self.reset()
                    continue
                }
                self.makeArguments(from: buffer, into: &arguments)
                buffer.moveReaderIndex(forwardBy: consumed)
                self.reset()
                return true
            }
        }
    }

    /// Turns `argumentBounds` into slices of `buffer`, whose reader index is still at the request's first byte.
    private func makeArguments(from buffer: ByteBuffer, into arguments: inout [ByteBuffer]) {
        // reserveCapacity + append stays on specialized code paths; Array(unsafeUninitializedCapacity:) was
        // measured to go through a generic metadata lookup per call.
        arguments.reserveCapacity(self.argumentBounds.count)
        let requestStart = buffer.readerIndex
        for index in 0..<self.argumentBounds.count {
            let bounds = self.argumentBounds[index]
            // Cannot fail: every bound was checked against the readable bytes of this very buffer in the scan.
            arguments.append(buffer.getSlice(at: requestStart + bounds.offset, length: bounds.length)!)
        }
    }

    /// Runs the state machine over the readable bytes (offset 0 = the current request's first byte) until the
    /// request is complete or the bytes run out.
    private mutating func advance(over bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> Step {
        let end = bytes.count
        // A partial request's offsets point into these bytes; if some vanished they would point past the end.
        precondition(end >= self.examinedByteCount, "RESPRequestDecoder: readable bytes shrank inside a partial request")
        // Phases are tested in grammar order rather than dispatched through a switch, so a request that arrives
        // whole runs straight through (measurably cheaper than re-dispatching after every line).
        if self.phase == .requestStart {
            guard end > 0 else { return .needMoreData }
            self.lineStart = 0
            self.scanOffset = 0
            self.phase = bytes[0] == ASCII.asterisk ? .multibulkCountLine : .inlineLine
        }

        if self.phase == .inlineLine {
            var index = self.scanOffset
            while index < end {
                let byte = bytes[index]
                if byte == ASCII.lineFeed || byte == ASCII.nul { break }
                index += 1
            }
            if index < end && bytes[index] == ASCII.lineFeed {
                guard index - self.lineStart <= self.limits.maxInlineLength else { throw .tooBigInlineRequest }
                let contentLength = (index > 0 && bytes[index - 1] == ASCII.carriageReturn) ? index - 1 : index
                return .inline(contentLength: contentLength, consumed: index + 1)
            }
            self.scanOffset = index
            guard end - self.lineStart <= self.limits.maxInlineLength else { throw .tooBigInlineRequest }
            self.examinedByteCount = end
            return .needMoreData
        }

        if self.phase == .multibulkCountLine {
            guard let carriageReturn = try self.findHeaderLineEnd(in: bytes, isCountLine: true) else {
                self.examinedByteCount = end
                return .needMoreData
            }
            guard let count = Self.parseRedisInteger(bytes, from: self.lineStart + 1, to: carriageReturn),
                count <= self.limits.maxMultibulkLength
            else { throw .invalidMultibulkLength }
            if self.limits.unauthenticated && count > RESPDecoderLimits.maxUnauthenticatedMultibulkLength {
                throw .unauthenticatedMultibulkLength
            }
            let next = carriageReturn + 2
            if count <= 0 { return .skip(next) }
            self.remainingArguments = Int(count)
            self.argumentBounds.removeAll()
            self.argumentBounds.reserveCapacity(min(self.remainingArguments, Self.maxPreallocatedArguments))
            self.phase = .bulkLengthLine
            self.lineStart = next
            self.scanOffset = next
        }

        while true {
            if self.phase == .bulkLengthLine {
                guard let carriageReturn = try self.findHeaderLineEnd(in: bytes, isCountLine: false) else {
                    self.examinedByteCount = end
                    return .needMoreData
                }
                let marker = bytes[self.lineStart]
                guard marker == ASCII.dollar else { throw .expectedDollar(got: marker) }
                guard let length = Self.parseRedisInteger(bytes, from: self.lineStart + 1, to: carriageReturn),
                    length >= 0, length <= self.limits.maxBulkLength
                else { throw .invalidBulkLength }
                if self.limits.unauthenticated && length > RESPDecoderLimits.maxUnauthenticatedBulkLength {
                    throw .unauthenticatedBulkLength
                }
                self.bulkLength = Int(length)
                self.phase = .bulkPayload
                self.lineStart = carriageReturn + 2
                self.scanOffset = self.lineStart
            }

            // .bulkPayload. Written as a subtraction so a huge configured maxBulkLength cannot overflow.
            guard end - self.lineStart - 2 >= self.bulkLength else {
                self.examinedByteCount = end
                return .needMoreData
            }
            self.argumentBounds.append(ArgumentBounds(offset: self.lineStart, length: self.bulkLength))
            let next = self.lineStart + self.bulkLength + 2
            self.remainingArguments -= 1
            self.bulkLength = 0
            if self.remainingArguments == 0 { return .multibulk(next) }
            self.phase = .bulkLengthLine
            self.lineStart = next
            self.scanOffset = next
        }
    }

    /// Finds the `\r` ending the `*`/`$` line at `lineStart` and returns its offset once the byte after it has also
    /// arrived; `nil` means more bytes are needed. Throws the count or bulk "too big" error (per `isCountLine`)
    /// when the line exceeds the inline limit.
    @inline(__always)
    private mutating func findHeaderLineEnd(
        in bytes: UnsafeRawBufferPointer,
        isCountLine: Bool
    ) throws(RESPProtocolError) -> Int? {
        let end = bytes.count
        var index = self.scanOffset
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.carriageReturn || byte == ASCII.nul { break }
            index += 1
        }
        self.scanOffset = index
        guard index < end && bytes[index] == ASCII.carriageReturn else {
            // No line end visible (none yet, or hidden behind a NUL): only the length limit can end this line.
            guard end - self.lineStart <= self.limits.maxInlineLength else {
                throw isCountLine ? .tooBigMultibulkCount : .tooBigBulkCount
            }
            return nil
        }
        guard index - self.lineStart <= self.limits.maxInlineLength else {
            throw isCountLine ? .tooBigMultibulkCount : .tooBigBulkCount
        }
        return index + 1 < end ? index : nil
    }

    /// Parses `bytes[start..<end]` with the rules of Redis's `string2ll`: an optional `-`, then either `0` alone or
    /// a digit 1-9 followed by digits, within Int64. Returns `nil` for anything else (empty, `+`, spaces, leading
    /// zeros, `-0`, overflow).
    ///
    /// - Complexity: O(end - start), at most 21 bytes examined.
    @inline(__always)
    static func parseRedisInteger(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int64? {
        let length = end - start
        // 20 characters hold every Int64 ("-9223372036854775808"); longer is certainly invalid.
        guard length > 0 && length <= 20 else { return nil }
        var index = start
        if length == 1 && bytes[index] == ASCII.zero { return 0 }
        let isNegative = bytes[index] == ASCII.minus
        if isNegative {
            index += 1
            if index == end { return nil }
        }
        let leading = bytes[index] &- ASCII.zero
        guard leading >= 1 && leading <= 9 else { return nil }
        var magnitude = UInt64(leading)
        index += 1
        while index < end {
            let digit = bytes[index] &- ASCII.zero
            guard digit <= 9 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    // MARK: - Inline requests

    /// Splits the inline line's first `contentLength` readable bytes into `argumentBounds`.
    ///
    /// Lines without quotes are split in place without touching the buffer. Lines with quotes are unescaped in
    /// place: an argument's unescaped bytes are never longer than its source, so they are written over the source
    /// starting at the argument's first byte, and the slice then covers just the unescaped bytes.
    private mutating func splitInlineLine(
        in buffer: inout ByteBuffer,
        contentLength: Int
    ) throws(RESPProtocolError) {
        self.argumentBounds.removeAll()
        let hasQuotes = buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < contentLength {
                let byte = bytes[index]
                if byte == ASCII.doubleQuote || byte == ASCII.singleQuote { return true }
                index += 1
            }
            return false
        }
        if hasQuotes {
            try buffer.withUnsafeMutableReadableBytes { (bytes) throws(RESPProtocolError) in
                try InlineArgumentSplitter.splitQuoted(
                    UnsafeMutableRawBufferPointer(rebasing: bytes[0..<contentLength]),
                    into: &self.argumentBounds
                )
            }
        } else {
            buffer.withUnsafeReadableBytes { bytes in
                InlineArgumentSplitter.splitPlain(
                    UnsafeRawBufferPointer(rebasing: bytes[0..<contentLength]),
                    into: &self.argumentBounds
                )
            }
        }
    }

    // MARK: - Invariants

    /// Checks the type's invariants between calls to ``decode(_:)``, trapping on a violation. Always runs; meant for
    /// tests.
    ///
    /// - Complexity: O(arguments of the partial request).
    public func validate() {
        self.checkInvariants(allArguments: true)
    }

    /// The invariant checks; with `allArguments` false only the newest argument is checked, which keeps the
    /// per-call internal checks O(1) (checking all of them on every partial read would make decoding quadratic).
    private func checkInvariants(allArguments: Bool) {
        precondition(
            0 <= self.lineStart && self.lineStart <= self.scanOffset && self.scanOffset <= self.examinedByteCount,
            "offsets out of order"
        )
        let inArguments = self.phase == .bulkLengthLine || self.phase == .bulkPayload
        precondition(inArguments == (self.remainingArguments > 0), "remainingArguments out of phase")
        precondition(self.phase == .bulkPayload || self.bulkLength == 0, "bulkLength outside .bulkPayload")
        if inArguments {
            let count = self.argumentBounds.count
            for index in (allArguments ? 0 : max(0, count - 1))..<count {
                let bounds = self.argumentBounds[index]
                precondition(bounds.offset >= 0 && bounds.length >= 0, "negative argument bounds")
                precondition(bounds.offset + bounds.length + 2 <= self.lineStart, "argument overlaps current line")
                if index > 0 {
                    let previous = self.argumentBounds[index - 1]
                    precondition(previous.offset + previous.length + 2 < bounds.offset, "arguments out of order")
                }
            }
        } else {
            precondition(self.argumentBounds.isEmpty, "arguments recorded outside a multibulk request")
        }
        if self.phase == .requestStart {
            precondition(self.lineStart == 0 && self.scanOffset == 0 && self.examinedByteCount == 0, "dirty idle state")
        }
    }

    #if RILL_INTERNAL_CHECKS
    private func _checkInvariants() { self.checkInvariants(allArguments: false) }
    #else
    @inline(__always) private func _checkInvariants() {}
    #endif
}
