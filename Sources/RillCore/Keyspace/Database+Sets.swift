extension RedisValue {
    /// Runs `body` on the set this value holds, in place (moved out of the enum first, as `modifyList` does).
    ///
    /// - Throws: `.wrongType` if this is not a set.
    @inline(__always)
    mutating func modifySet<Result>(_ body: (inout Set<[UInt8]>) -> Result) throws(KeyspaceError) -> Result {
        guard case .set(var set) = self else { throw .wrongType }
        self = .string([])
        defer { self = .set(set) }
        return body(&set)
    }
}

extension Database {
    /// SADD: adds `members`, creating the set if needed; returns how many were not already members. `members` must not
    /// be empty (the command's arity guarantees it).
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(`members.count`) average.
    public mutating func setAdd(
        _ members: some Sequence<[UInt8]>, forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int {
        if let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) {
            let added = try values[index].modifySet { set in
                members.reduce(0) { count, member in set.insert(member).inserted ? count + 1 : count }
            }
            if added > 0 { noteChange(of: key) }
            _checkInvariants()
            return added
        }
        let set = Set(members)
        precondition(!set.isEmpty, "SADD needs at least one member")
        insertNew(.set(set), forKey: key)
        _checkInvariants()
        return set.count
    }

    /// SREM: removes `members`; returns how many were members. Deletes the key when the set becomes empty.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(`members.count`) average.
    public mutating func setRemove(
        _ members: some Sequence<[UInt8]>, forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int {
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return 0 }
        let (removed, remaining) = try values[index].modifySet { set in
            let removed = members.reduce(0) { count, member in set.remove(member) != nil ? count + 1 : count }
            return (removed, set.count)
        }
        if removed > 0 {
            if remaining == 0 { removeEntry(key) } else { noteChange(of: key) }
        }
        _checkInvariants()
        return removed
    }

    /// SMEMBERS: every member in no particular order; empty if the key is absent.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(members).
    public mutating func setMembers(forKey key: [UInt8], nowMilliseconds: Int64) throws(KeyspaceError) -> [[UInt8]] {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return [] }
        guard case .set(let set) = values[index] else { throw .wrongType }
        return Array(set)
    }

    /// SCARD: the number of members, 0 if the key is absent.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(1) average.
    public mutating func setCardinality(forKey key: [UInt8], nowMilliseconds: Int64) throws(KeyspaceError) -> Int {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return 0 }
        guard case .set(let set) = values[index] else { throw .wrongType }
        return set.count
    }

    /// SISMEMBER: whether `member` is in the set; false if the key is absent.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(1) average.
    public mutating func setIsMember(
        _ member: [UInt8], forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Bool {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return false }
        guard case .set(let set) = values[index] else { throw .wrongType }
        return set.contains(member)
    }
}
