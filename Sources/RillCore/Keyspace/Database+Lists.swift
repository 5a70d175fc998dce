import DequeModule

/// Which end of a list an operation works on: the head is LPUSH/LPOP's "left", the tail RPUSH/RPOP's "right".
public enum ListEnd: Sendable, Hashable {
    case head
    case tail
}

extension RedisValue {
    /// Runs `body` on the list this value holds, in place: the list is moved out of the enum first so that it is
    /// uniquely referenced and `body`'s writes do not copy it.
    ///
    /// - Throws: `.wrongType` if this is not a list.
    @inline(__always)
    mutating func modifyList<Result>(
        _ body: (inout Deque<[UInt8]>) -> Result
    ) throws(KeyspaceError) -> Result {
        guard case .list(var list) = self else { throw .wrongType }
        self = .string([])
        defer { self = .list(list) }
        return body(&list)
    }
}

extension Database {
    /// LPUSH / RPUSH (and LPUSHX / RPUSHX with `onlyIfExists`): adds `elements` one by one at `end`, so LPUSH a b c
    /// leaves c first. Returns the list's new length, or 0 when `onlyIfExists` and the key is absent. `elements` must
    /// not be empty (the command's arity guarantees it).
    ///
    /// - Throws: `.wrongType` if the key holds another type.
    /// - Complexity: O(`elements.count`) amortized.
    public mutating func listPush(
        _ elements: some Sequence<[UInt8]>, at end: ListEnd, forKey key: [UInt8], onlyIfExists: Bool = false,
        nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int {
        func push(_ elements: some Sequence<[UInt8]>, onto list: inout Deque<[UInt8]>) {
            switch end {
            case .head: for element in elements { list.prepend(element) }
            case .tail: list.append(contentsOf: elements)
            }
        }
        if let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) {
            let length = try values[index].modifyList { list in
                push(elements, onto: &list)
                return list.count
            }
            noteChange(of: key)
            _checkInvariants()
            return length
        }
        if onlyIfExists { return 0 }
        var list = Deque<[UInt8]>()
        push(elements, onto: &list)
        precondition(!list.isEmpty, "LPUSH/RPUSH need at least one element")
        insertNew(.list(list), forKey: key)
        _checkInvariants()
        return list.count
    }

    /// LPOP / RPOP without a count: removes and returns one element, or nil if the key is absent. Deletes the key when
    /// the list becomes empty.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(1) average.
    public mutating func listPop(
        at end: ListEnd, forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> [UInt8]? {
        try listPop(at: end, forKey: key, count: 1, nowMilliseconds: nowMilliseconds)?.first
    }

    /// LPOP / RPOP with a count: removes and returns up to `count` elements in pop order. nil when the key is absent
    /// (the command replies with a null array); an empty array for `count` 0 on an existing list. Deletes the key when
    /// the list becomes empty.
    ///
    /// - Throws: `.notPositive` for a negative count (checked first, as Redis does), then `.wrongType`.
    /// - Complexity: O(returned elements).
    public mutating func listPop(
        at end: ListEnd, forKey key: [UInt8], count: Int, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> [[UInt8]]? {
        guard count >= 0 else { throw .notPositive }
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return nil }
        let (popped, remaining) = try values[index].modifyList { list in
            let taken = min(count, list.count)
            var popped: [[UInt8]] = []
            popped.reserveCapacity(taken)
            for _ in 0..<taken {
                // Cannot fail: `taken <= list.count`.
                popped.append(end == .head ? list.removeFirst() : list.removeLast())
            }
            return (popped, list.count)
        }
        if !popped.isEmpty {
            if remaining == 0 { removeEntry(key) } else { noteChange(of: key) }
        }
        _checkInvariants()
        return popped
    }

    /// LRANGE: the elements from `start` through `stop`, both inclusive, where negative indices count from the end
    /// (-1 is the last). Out-of-range indices are clamped; an empty range or a missing key gives an empty array.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(returned elements).
    public mutating func listRange(
        forKey key: [UInt8], start: Int64, stop: Int64, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> [[UInt8]] {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return [] }
        guard case .list(let list) = values[index] else { throw .wrongType }
        let length = Int64(list.count)
        let first = max(0, start < 0 ? start + length : start)
        let last = min(length - 1, stop < 0 ? stop + length : stop)
        guard first <= last else { return [] }
        return Array(list[Int(first)...Int(last)])
    }

    /// LLEN: the number of elements, 0 if the key is absent.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(1) average.
    public mutating func listLength(forKey key: [UInt8], nowMilliseconds: Int64) throws(KeyspaceError) -> Int {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return 0 }
        guard case .list(let list) = values[index] else { throw .wrongType }
        return list.count
    }
}
