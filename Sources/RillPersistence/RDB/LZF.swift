/// LZF, the compression Redis applies to long strings in RDB files and DUMP payloads (`rdbcompression`).
///
/// The stream is a sequence of runs, each opened by a control byte `c`:
///
///     c < 32:   a literal run; the next c + 1 bytes are copied as they are.
///     c >= 32:  a back reference; length L = c >> 5 (when L is 7, the next byte is added to it), then one more
///               byte b; copy L + 2 bytes starting (c & 0x1F) << 8 + b + 1 bytes behind the output's end.
///               Source and destination may overlap (a run of one repeated byte copies itself forward).
///
/// So a literal run holds at most 32 bytes, a reference reaches at most 8192 bytes back and copies at most
/// 7 + 255 + 2 = 264 bytes. One input byte of a stream makes at most 88 output bytes (a three-byte reference
/// making 264), which bounds the length a decompressor can be asked for.
public enum LZF {
    static let maxLiteral = 32
    static let maxOffset = 1 << 13
    static let maxReference = 7 + 255 + 2
    /// At most this many output bytes per input byte, see above.
    public static let maxExpansion = 88

    /// The compressed form of `input` if it fits in `limit` bytes, else nil (Redis keeps a string uncompressed when
    /// LZF does not save enough).
    /// - Complexity: O(input.count).
    public static func compress(_ input: [UInt8], limit: Int) -> [UInt8]? {
        input.withUnsafeBytes { compress($0, limit: limit) }
    }

    /// `compress` over raw bytes. Runs once per stream node on SAVE, so it works on pointers: the output is sized to
    /// `limit` up front (every write is checked against it first, and exceeding it means nil anyway, since the
    /// output only grows) and the hash table lives in a temporary allocation (on the stack when small).
    public static func compress(_ source: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
        let count = source.count
        // Positions are kept as Int32 (half the table to clear); strings that long are beyond any Redis limit.
        guard count > 0, count < Int(Int32.max), limit > 0, let input = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return nil
        }
        // Most recent position of each 3-byte prefix hash; -1 when none. Sized to the input (a stream node is about
        // 4 KB): a fixed 16K-entry table would cost more to clear than to compress small strings.
        let hashBits = min(14, max(8, Int.bitWidth - count.leadingZeroBitCount))
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1 << hashBits) { recent -> [UInt8]? in
            recent.initialize(repeating: -1)
            let hashMask = (1 << hashBits) - 1
            var fits = true
            let output = [UInt8](unsafeUninitializedCapacity: limit) { buffer, initialized in
                let out = buffer.baseAddress!  // limit > 0
                var written = 0
                var literalStart = 0
                var position = 0

                /// Copies input[literalStart..<end] as literal runs of at most 32 bytes; false when over `limit`.
                func flushLiterals(upTo end: Int) -> Bool {
                    var start = literalStart
                    while start < end {
                        let run = min(maxLiteral, end - start)
                        guard written + 1 + run <= limit else { return false }
                        out[written] = UInt8(run - 1)
                        (out + written + 1).update(from: input + start, count: run)
                        written += 1 + run
                        start += run
                    }
                    return true
                }

                // All reads below stay under `count`: the loop needs position + 2 < count, a candidate is an earlier
                // position, and a match extends at most to count - position bytes.
                while position + 2 < count {
                    let prefix = Int(input[position]) << 16 | Int(input[position + 1]) << 8 | Int(input[position + 2])
                    let hash = ((prefix &* 0x9E37_79B1) >> (32 - hashBits)) & hashMask
                    let candidate = Int(recent[hash])
                    recent[hash] = Int32(truncatingIfNeeded: position)
                    if candidate >= 0, position - candidate <= maxOffset, input[candidate] == input[position],
                        input[candidate + 1] == input[position + 1], input[candidate + 2] == input[position + 2]
                    {
                        var length = 3
                        let longest = min(maxReference, count - position)
                        while length < longest, input[candidate + length] == input[position + length] { length += 1 }
                        guard flushLiterals(upTo: position) else { fits = false; break }
                        let distance = position - candidate - 1
                        let encodedLength = length - 2
                        guard written + 3 <= limit else { fits = false; break }
                        if encodedLength < 7 {
                            out[written] = UInt8(encodedLength << 5 | distance >> 8)
                            written += 1
                        } else {
                            out[written] = UInt8(7 << 5 | distance >> 8)
                            out[written + 1] = UInt8(encodedLength - 7)
                            written += 2
                        }
                        out[written] = UInt8(distance & 0xFF)
                        written += 1
                        position += length
                        literalStart = position
                    } else {
                        position += 1
                    }
                }
                if fits && !flushLiterals(upTo: count) { fits = false }
                initialized = written
            }
            return fits ? output : nil
        }
    }

    /// Why a compressed stream was refused; `offset` is the position in the compressed bytes.
    public struct Failure: Error, Equatable {
        public var offset: Int
        public var reason: String
    }

    /// The `expectedLength` bytes that `input` decompresses to. Refuses streams that reference bytes before the
    /// start, produce more or fewer bytes than expected, or end inside a run; never writes past `expectedLength`.
    /// - Complexity: O(expectedLength + input.count).
    public static func decompress(_ input: UnsafeRawBufferPointer, expectedLength: Int) throws(Failure) -> [UInt8] {
        guard expectedLength >= 0, expectedLength <= input.count &* maxExpansion else {
            throw Failure(offset: 0, reason: "LZF length \(expectedLength) is impossible for \(input.count) bytes")
        }
        var written = 0
        var failure: Failure?
        let output = [UInt8](unsafeUninitializedCapacity: expectedLength) { buffer, initialized in
            // Every run is checked against the input's end and the output's capacity before it is copied, so the
            // pointer accesses below stay inside both buffers.
            var index = 0
            let count = input.count
            while index < count {
                let runStart = index
                let control = Int(input[index])
                index += 1
                if control < 32 {
                    let run = control + 1
                    guard index + run <= count else {
                        failure = Failure(offset: runStart, reason: "LZF literal run past the end")
                        break
                    }
                    guard written + run <= expectedLength else {
                        failure = Failure(offset: runStart, reason: "LZF output longer than \(expectedLength) bytes")
                        break
                    }
                    // Both ranges were just checked; the input is not empty here, so it has a base address.
                    UnsafeMutableRawPointer(buffer.baseAddress! + written)
                        .copyMemory(from: input.baseAddress! + index, byteCount: run)
                    written += run
                    index += run
                } else {
                    var length = control >> 5
                    if length == 7 {
                        guard index < count else {
                            failure = Failure(offset: runStart, reason: "LZF reference past the end")
                            break
                        }
                        length += Int(input[index])
                        index += 1
                    }
                    guard index < count else {
                        failure = Failure(offset: runStart, reason: "LZF reference past the end")
                        break
                    }
                    let distance = (control & 0x1F) << 8 + Int(input[index]) + 1
                    index += 1
                    length += 2
                    guard distance <= written else {
                        failure = Failure(offset: runStart, reason: "LZF reference before the start of the output")
                        break
                    }
                    guard written + length <= expectedLength else {
                        failure = Failure(offset: runStart, reason: "LZF output longer than \(expectedLength) bytes")
                        break
                    }
                    if distance >= length {
                        // Source and destination do not overlap: one copy.
                        (buffer.baseAddress! + written).update(from: buffer.baseAddress! + (written - distance), count: length)
                    } else {
                        // Byte by byte: an overlapping reference repeats what it has just written.
                        for step in 0..<length { buffer[written + step] = buffer[written - distance + step] }
                    }
                    written += length
                }
            }
            // Only the written prefix is initialized (UInt8 needs no deinitialization either way).
            initialized = written
        }
        if let failure { throw failure }
        guard written == expectedLength else {
            throw Failure(offset: input.count, reason: "LZF output is \(written) bytes, expected \(expectedLength)")
        }
        return output
    }

    /// `decompress` over an array.
    public static func decompress(_ input: [UInt8], expectedLength: Int) throws(Failure) -> [UInt8] {
        let outcome = input.withUnsafeBytes { raw in
            Result { () throws(Failure) -> [UInt8] in try decompress(raw, expectedLength: expectedLength) }
        }
        return try outcome.get()
    }
}
