extension Database {
    /// Runs `body` on the stream stored under `key`, in place, for a consumer-group command
    /// (XGROUP, XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XPENDING, XINFO GROUPS...), or returns nil
    /// without calling it when the key is absent.
    ///
    /// Unlike `streamModify`, the key does not count as changed for WATCH whatever `body` does:
    /// Redis does not signal group-state changes as key modifications (a client that WATCHes a
    /// stream still EXECs after another client's XREADGROUP or XACK). Keyspace hits and misses are
    /// not counted either.
    ///
    /// - Throws: `KeyspaceError.wrongType` if the key holds another type, or whatever `body` throws.
    /// - Complexity: O(1) average plus `body`.
    public mutating func streamGroups<Result>(
        _ key: [UInt8], nowMilliseconds: Int64, _ body: (inout Stream) throws -> Result
    ) throws -> Result? {
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return nil }
        guard case .stream(var stream) = values[index] else { throw KeyspaceError.wrongType }
        // Leave a placeholder so `stream` is the only reference while `body` writes to it.
        values[index] = .string([])
        defer { values[index] = .stream(stream) }
        return try body(&stream)
    }
}
