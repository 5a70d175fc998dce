import NIOCore
import RillCore
import RillProtocol

/// XREAD/XREADGROUP `MAXCOUNT` and `MAXSIZE` (Redis 8.10): caps on the whole reply, where `COUNT` caps each stream.
/// Streams are served in the order they were named; once MAXCOUNT entries are given or an entry does not fit MAXSIZE,
/// the reply ends there and every later stream is left out of it (and, for XREADGROUP, left untouched).
struct ReadReplyCaps {
    /// MAXCOUNT: entries in the whole reply.
    var maximumEntries: Int?
    /// MAXSIZE: bytes of the entries in the whole reply, measured as their RESP encoding (each `[id, fields]`
    /// array, with CLAIM's two integers). Soft: the reply's first entry is given even when it alone is larger.
    var maximumBytes: Int?

    var isEmpty: Bool { maximumEntries == nil && maximumBytes == nil }

    /// The value of `MAXCOUNT`/`MAXSIZE` at `index`: an integer of at least 1.
    static func parseLimit(_ context: CommandContext, _ index: Int, option: String) throws -> Int {
        let error = RedisError.readCapNotPositive(option)
        let value = try context.integer(index, error: error)
        guard value >= 1 else { throw error }
        return Int(value)
    }
}

/// What is left of the caps while one reply is assembled.
struct ReadReplyBudget {
    /// Whether MAXCOUNT or MAXSIZE was given; without them reads need no measuring.
    let isActive: Bool
    private var entriesLeft: Int
    private var bytesLeft: Int?
    private var entriesGiven = 0
    /// Set once an entry was refused: no later entry or stream goes into this reply.
    private(set) var isExhausted = false
    /// Reused to measure entries; only allocated under MAXSIZE.
    private var scratch: RESPWriter?

    init(_ caps: ReadReplyCaps) {
        isActive = !caps.isEmpty
        entriesLeft = caps.maximumEntries ?? .max
        bytesLeft = caps.maximumBytes
        if caps.maximumBytes != nil { scratch = RESPWriter(buffer: ByteBuffer(), version: .v2) }
    }

    /// The most entries the next stream may still give under MAXCOUNT, at most `count` (0: no COUNT).
    func entryLimit(count: Int) -> Int {
        count > 0 ? min(count, entriesLeft) : entriesLeft
    }

    /// Takes the next entry if it fits, written by `encode` (measured only under MAXSIZE); refuses it, and
    /// everything after it, otherwise.
    mutating func admit(_ encode: (inout RESPWriter) -> Void) -> Bool {
        guard !isExhausted, entriesLeft > 0 else {
            isExhausted = true
            return false
        }
        if let left = bytesLeft, var writer = scratch {
            writer.buffer.clear()
            encode(&writer)
            let size = writer.buffer.readableBytes
            scratch = writer
            // Soft cap: the reply's first entry always goes, so a reader can make progress past a huge entry.
            if entriesGiven > 0 && size > left {
                isExhausted = true
                return false
            }
            bytesLeft = left - size
        }
        entriesLeft -= 1
        entriesGiven += 1
        if entriesLeft == 0 { isExhausted = true }
        return true
    }

    /// Offers `ids` in order, each encoded as an XREADGROUP history entry (`[id, nil]` once deleted); returns how
    /// many fit.
    mutating func admitHistory(_ ids: [StreamID], of stream: Stream) -> Int {
        var admitted = 0
        for id in ids {
            guard admit({ ConsumerGroupCommands.writeEntriesOrNil(stream, [id], to: &$0, header: false) }) else { break }
            admitted += 1
        }
        return admitted
    }

    /// Offers the live entries after `id`, at most `limit`, in order; returns how many fit.
    mutating func admitEntries(after id: StreamID, limit: Int, of stream: Stream) -> Int {
        var admitted = 0
        var cursor = id
        // forEachEntry cannot stop early, so a MAXSIZE cut without COUNT does not scan the whole stream: batches.
        while !isExhausted && admitted < limit {
            let batch = min(limit - admitted, 64)
            let visited = stream.forEachEntry(after: cursor, limit: batch) { id, fields in
                cursor = id
                if admit({ StreamCommands.writeEntry(id, fields, to: &$0) }) { admitted += 1 }
            }
            if visited < batch { break }
        }
        return admitted
    }
}
