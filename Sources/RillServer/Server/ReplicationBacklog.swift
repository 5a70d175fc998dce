/// The replication backlog: the last `capacity` bytes of the replication stream, so a replica that lost its link
/// resumes from its offset (PSYNC answered `+CONTINUE`) instead of loading a whole snapshot again.
///
/// Offsets count stream bytes from 1, as Redis counts them: the byte at offset `n` is the n-th byte ever sent.
/// Invariants: `bytes` holds the stream's bytes from `firstByteOffset` to `endOffset` inclusive; `historyLength`
/// never exceeds `capacity` (extra bytes are dropped from the front, in batches so appending stays cheap).
struct ReplicationBacklog {
    /// `repl-backlog-size`.
    var capacity: Int
    /// Offset of the last byte appended (INFO master_repl_offset).
    private(set) var endOffset: Int64
    private var bytes: [UInt8] = []

    /// An empty backlog whose next byte has offset `endOffset + 1`.
    init(capacity: Int, endOffset: Int64) {
        self.capacity = max(1, capacity)
        self.endOffset = endOffset
    }

    /// Bytes kept (INFO repl_backlog_histlen).
    var historyLength: Int { min(bytes.count, capacity) }
    /// Offset of the oldest byte kept (INFO repl_backlog_first_byte_offset): `endOffset + 1` when empty.
    var firstByteOffset: Int64 { endOffset - Int64(historyLength) + 1 }

    mutating func append(_ stream: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: stream)
        endOffset += Int64(stream.count)
        // Trimming to exactly `capacity` on every append would move the whole buffer each time.
        if bytes.count > capacity + max(capacity / 4, 16 * 1024) {
            bytes.removeFirst(bytes.count - capacity)
        }
    }

    /// The bytes from `offset` (the first one a replica lacks) to the end; nil when the backlog no longer holds
    /// `offset` or it lies past the end.
    func bytes(from offset: Int64) -> ArraySlice<UInt8>? {
        guard offset >= firstByteOffset, offset <= endOffset + 1 else { return nil }
        let skipped = Int(offset - firstByteOffset) + (bytes.count - historyLength)
        return bytes[skipped...]
    }

    /// Keeps the newest `capacity` bytes (CONFIG SET repl-backlog-size).
    mutating func resize(to newCapacity: Int) {
        capacity = max(1, newCapacity)
        if bytes.count > capacity { bytes.removeFirst(bytes.count - capacity) }
    }
}
