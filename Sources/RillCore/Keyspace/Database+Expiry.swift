extension Database {
    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: gives `key` the deadline `time` describes, if `condition` allows;
    /// returns whether it did (the command's 1 or 0). A deadline at or before `nowMilliseconds` deletes the key and
    /// still returns true, as in Redis.
    ///
    /// - Throws: `.invalidExpireTime` (naming the command that takes `time`'s form) when the time overflows; thrown
    ///   before the key is looked up, so even for a missing key.
    /// - Complexity: O(1) average.
    public mutating func expire(
        _ key: [UInt8], at time: ExpireTime, condition: ExpireCondition = .always, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Bool {
        let deadline = try time.deadlineForExpire(nowMilliseconds: nowMilliseconds)
        return setExpiry(key, deadline: deadline, condition: condition, nowMilliseconds: nowMilliseconds)
    }

    /// `expire` with an already computed absolute deadline in Unix milliseconds.
    ///
    /// - Complexity: O(1) average.
    public mutating func setExpiry(
        _ key: [UInt8], deadline: Int64, condition: ExpireCondition = .always, nowMilliseconds: Int64
    ) -> Bool {
        guard liveIndex(of: key, nowMilliseconds: nowMilliseconds) != nil else { return false }
        guard condition.allows(newDeadline: deadline, currentDeadline: self.deadline(of: key)) else { return false }
        if deadline <= nowMilliseconds && !isExpiryPaused {
            // Redis deletes at once (and propagates DEL) rather than keeping a key that is already dead.
            removeEntry(key)
        } else {
            setDeadline(deadline, of: key)
            noteChange(of: key)
        }
        _checkInvariants()
        return true
    }

    /// PERSIST: removes `key`'s deadline; returns whether the key existed and had one.
    ///
    /// - Complexity: O(1) average.
    public mutating func persist(_ key: [UInt8], nowMilliseconds: Int64) -> Bool {
        guard liveIndex(of: key, nowMilliseconds: nowMilliseconds) != nil, removeDeadline(of: key) else { return false }
        noteChange(of: key)
        _checkInvariants()
        return true
    }

    /// What TTL, PTTL, EXPIRETIME and PEXPIRETIME report about `key`; see `KeyExpiry.reply`.
    ///
    /// - Complexity: O(1) average.
    public mutating func expiry(ofKey key: [UInt8], nowMilliseconds: Int64) -> KeyExpiry {
        guard untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds) != nil else { return .noSuchKey }
        return deadline(of: key).map(KeyExpiry.deadline) ?? .persistent
    }

    /// Active expiry: examines keys with a deadline and deletes those past it; returns how many it deleted.
    ///
    /// Works like Redis's cycle: rounds of up to 20 keys, repeated while more than a quarter of a round had expired,
    /// stopping after `maxChecks` keys in total. Rounds walk `keysWithExpiry` from where the previous call stopped,
    /// so repeated calls cover every key with a deadline rather than a random sample, and tests are deterministic.
    /// Call it periodically (Redis: 10 times a second) with a budget that bounds the pause.
    ///
    /// - Complexity: O(min(`maxChecks`, examined keys)).
    public mutating func removeExpiredKeys(nowMilliseconds: Int64, maxChecks: Int = 200) -> Int {
        if isExpiryPaused { return 0 }
        let roundSize = 20
        var checked = 0
        var removed = 0
        while checked < maxChecks && !keysWithExpiry.isEmpty {
            let round = min(roundSize, maxChecks - checked, keysWithExpiry.count)
            var expiredInRound = 0
            for _ in 0..<round {
                if expirySweepPosition >= keysWithExpiry.count { expirySweepPosition = 0 }
                let candidate = keysWithExpiry[expirySweepPosition]
                if candidate.deadline < nowMilliseconds {
                    // The last key moves into this slot; the position stays to examine it next.
                    removeExpired(candidate.key)
                    expiredInRound += 1
                    if keysWithExpiry.isEmpty { break }
                } else {
                    expirySweepPosition += 1
                }
            }
            checked += round
            removed += expiredInRound
            if expiredInRound * 4 <= round { break }
        }
        _checkInvariants()
        return removed
    }
}
