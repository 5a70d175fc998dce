extension Database {
    /// The stream stored under `key` for a reading command (XRANGE, XREAD, XINFO...), or nil if absent. The copy
    /// shares storage with the stored stream; drop it before modifying the key, or the write will copy.
    ///
    /// - Throws: `.wrongType` if the key holds another type.
    /// - Complexity: O(1) average.
    public mutating func streamGet(_ key: [UInt8], nowMilliseconds: Int64) throws(KeyspaceError) -> Stream? {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return nil }
        guard case .stream(let stream) = values[index] else { throw .wrongType }
        return stream
    }

    /// Runs `body` on the stream stored under `key`, in place (no copy of a uniquely held stream), for a writing
    /// command (XADD, XDEL, XTRIM, XGROUP, XREADGROUP, XACK...).
    ///
    /// When the key is absent: with `create` nil returns nil without calling `body`; otherwise runs `body` on
    /// `create()` and stores the result only if `body` returns normally (XADD with a rejected ID creates nothing).
    /// When `body` throws, its error propagates and the key's version does not change; when it returns, the key counts
    /// as changed (WATCH). A stream left empty stays stored, as in Redis.
    ///
    /// - Throws: `KeyspaceError.wrongType` if the key holds another type, or whatever `body` throws.
    /// - Complexity: O(1) average plus `body`.
    public mutating func streamModify<Result>(
        _ key: [UInt8], nowMilliseconds: Int64, creatingWith create: (() -> Stream)? = nil,
        _ body: (inout Stream) throws -> Result
    ) throws -> Result? {
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else {
            guard let create else { return nil }
            var stream = create()
            let result = try body(&stream)
            // Its own copy: `key` may be a buffer the caller reuses for lookups, larger than the key.
            insertNew(.stream(stream), forKey: key.withUnsafeBufferPointer { Array($0) })
            _checkInvariants()
            return result
        }
        guard case .stream(var stream) = values[index] else { throw KeyspaceError.wrongType }
        // Leave a placeholder so `stream` is the only reference while `body` writes to it.
        values[index] = .string([])
        defer { values[index] = .stream(stream) }
        let result = try body(&stream)
        noteChange(of: key)
        return result
    }
}
