extension Database {
    /// Calls `body` with every stored key, its value and its deadline (absolute Unix milliseconds, nil when it has
    /// none), in no particular order. Keys already past their deadline but not yet reclaimed are included, as a
    /// snapshot in Redis includes them; the loader decides what to do with them. Reads only: no lazy expiry, no
    /// statistics, so it can run on a copy off the event loop.
    /// - Complexity: O(`count`).
    public func forEachEntry<Failure: Error>(
        _ body: (_ key: [UInt8], _ value: RedisValue, _ deadline: Int64?) throws(Failure) -> Void
    ) throws(Failure) {
        for (key, value) in values {
            try body(key, value, deadline(of: key))
        }
    }

    /// The value and deadline of `key` without lazy expiry or statistics (DUMP reads this way after checking the
    /// key is live), nil when not stored.
    /// - Complexity: O(1) average.
    public func storedEntry(forKey key: [UInt8]) -> (value: RedisValue, deadline: Int64?)? {
        guard let value = values[key] else { return nil }
        return (value, deadline(of: key))
    }

    /// Inserts a loaded key that must not be stored yet (snapshot loading), with its deadline if any, last used at
    /// `lastAccess`, an `AccessClock` reading (default: the latest lookup's). Counts as one change. Storing an empty list or set is a programming error.
    /// - Returns: false, storing nothing, when the key is already stored (a duplicate in the input).
    /// - Complexity: O(1) average.
    public mutating func insertLoaded(
        _ value: RedisValue, forKey key: [UInt8], deadline: Int64?, lastAccess: UInt32? = nil
    ) -> Bool {
        precondition(!value.isEmptyCollection, "empty lists and sets are not stored")
        guard values[key] == nil else { return false }
        insertNew(value, forKey: key, lastAccess: lastAccess)
        if let deadline { setDeadline(deadline, of: key) }
        _checkInvariants()
        return true
    }
}

extension Database {
    /// What OBJECT, DEBUG OBJECT and MEMORY USAGE report about `key`: its value and the `AccessClock` reading of its
    /// last use, or nil when absent. Applies lazy expiry but records no access and counts no hit or miss, as Redis'
    /// LOOKUP_NOTOUCH lookups.
    /// - Complexity: O(1) average.
    public mutating func inspect(_ key: [UInt8], nowMilliseconds: Int64) -> (value: RedisValue, lastAccess: UInt32)? {
        guard let index = untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return nil }
        return (values[index], values.lastAccess(at: index))
    }

    /// TOUCH: records an access to `key` even when `touchesKeys` is off (CLIENT NO-TOUCH exempts TOUCH) and counts a
    /// keyspace hit or miss, as a read does; returns whether the key exists.
    /// - Complexity: O(1) average.
    public mutating func touch(_ key: [UInt8], nowMilliseconds: Int64) -> Bool {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return false }
        values.touch(at: index, clock: currentAccessClock)
        return true
    }
}
