/// Encodes commands in the form `AppendOnlyFileReader` parses: each one a RESP array of bulk strings
/// (`*N\r\n` then N times `$len\r\n<bytes>\r\n`), which is also what `redis-cli --pipe` sends to a Redis server.
/// The two live side by side so that one module owns the file format both ways.
///
/// The writer only encodes: what a command's effect is, which SELECT precedes it and where MULTI/EXEC go is decided
/// by its caller (the server's change feed), and writing the bytes to a file by the append-only log.
public struct AppendOnlyFileWriter {
    /// The encoded commands, in order, since the last `removeAll`.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public var isEmpty: Bool { bytes.isEmpty }

    /// Starts a command of `count` arguments; `appendArgument` must follow `count` times.
    public mutating func appendArrayHeader(_ count: Int) {
        appendPrefixedLength(UInt8(ascii: "*"), count)
    }

    /// One argument of the command begun by `appendArrayHeader`.
    /// - Complexity: O(argument.count).
    public mutating func appendArgument(_ argument: UnsafeRawBufferPointer) {
        appendPrefixedLength(UInt8(ascii: "$"), argument.count)
        bytes.append(contentsOf: argument)
        appendLineEnd()
    }

    /// A whole command given as words (SELECT, MULTI, EXEC and the like).
    public mutating func appendCommand(_ words: [String]) {
        appendArrayHeader(words.count)
        for word in words {
            var word = word
            word.withUTF8 { appendArgument(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Empties the buffer; a buffer grown past `retainedCapacity` by one large command is released.
    public mutating func removeAll(retainedCapacity: Int = 1 << 20) {
        bytes.removeAll(keepingCapacity: bytes.capacity <= retainedCapacity)
    }

    // Byte by byte rather than from a constant array or a String: this runs for every argument of every write the
    // append-only file or a replica records, and the generic paths cost more than the bytes.
    private mutating func appendLineEnd() {
        bytes.append(13)
        bytes.append(10)
    }

    /// `prefix`, the decimal `value` (never negative: a count or a length), CRLF: the header of an array or a bulk
    /// string.
    private mutating func appendPrefixedLength(_ prefix: UInt8, _ value: Int) {
        bytes.append(prefix)
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        } while divisor > 0
        appendLineEnd()
    }
}
