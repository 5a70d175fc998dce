extension Stream {
    /// Sets the active time (Unix ms, -1 for never) of an existing consumer. For loaders of encodings that have no
    /// active time (Redis' STREAM_LISTPACKS_2, which takes it to be the seen time) and carry it elsewhere.
    /// - Returns: false, changing nothing, when the group or the consumer does not exist.
    /// - Complexity: O(log c) for c consumers of the group.
    public mutating func restoreActiveTime(_ activeTime: Int64, group: [UInt8], consumer: [UInt8]) -> Bool {
        defer { _checkInvariants() }
        guard let index = try? groupIndex(group),
              let slot = groupTable.groups[index].consumerSlot(named: consumer) else { return false }
        groupTable.groups[index][slot].activeTime = activeTime
        return true
    }
}
