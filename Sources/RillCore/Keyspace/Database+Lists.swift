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

/// Where LINSERT puts the new element relative to the pivot.
public enum ListInsertPosition: Sendable, Hashable {
    case before
    case after
}

/// LPOS options: which match to start from and how many to return, within how many elements.
public struct ListPositionQuery: Sendable, Hashable {
    /// RANK: 1 is the first match from the head, -1 the first from the tail; never 0.
    public var rank: Int64 = 1
    /// COUNT: how many positions to return, 0 for all of them; nil when LPOS answers a single position.
    public var count: Int?
    /// MAXLEN: how many elements to compare at most, 0 for the whole list.
    public var maximumLength: Int = 0

    public init(rank: Int64 = 1, count: Int? = nil, maximumLength: Int = 0) {
        self.rank = rank
        self.count = count
        self.maximumLength = maximumLength
    }
}

extension Database {
    /// LINDEX: the element at `index` (negative counts from the tail), nil when the key is absent or the index is
    /// outside the list.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(1).
    public mutating func listElement(
        at index: Int64, forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> [UInt8]? {
        guard let storageIndex = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return nil }
        guard case .list(let list) = values[storageIndex] else { throw .wrongType }
        guard let offset = Self.listOffset(index, count: list.count) else { return nil }
        return list[offset]
    }

    /// Whether `key` holds a list (lists are never empty while stored). Counts no keyspace hit: the server asks
    /// before waking a blocked pop.
    ///
    /// - Complexity: O(1) average.
    public mutating func holdsList(_ key: [UInt8], nowMilliseconds: Int64) -> Bool {
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds),
              case .list = values[index] else { return false }
        return true
    }

    /// LSET: replaces the element at `index` (negative counts from the tail).
    ///
    /// - Throws: `.noSuchKey` when the key is absent, `.wrongType`, then `.indexOutOfRange`.
    /// - Complexity: O(1).
    public mutating func listSet(
        _ element: [UInt8], at index: Int64, forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) {
        guard let storageIndex = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { throw .noSuchKey }
        let replaced = try values[storageIndex].modifyList { list in
            guard let offset = Self.listOffset(index, count: list.count) else { return false }
            list[offset] = element
            return true
        }
        guard replaced else { throw .indexOutOfRange }
        noteChange(of: key)
        _checkInvariants()
    }

    /// LINSERT: puts `element` before or after the first element equal to `pivot`, scanning from the head.
    /// Returns the new length, -1 when no element equals `pivot`, 0 when the key is absent.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(n).
    public mutating func listInsert(
        _ element: [UInt8], _ position: ListInsertPosition, pivot: [UInt8], forKey key: [UInt8],
        nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int {
        guard let storageIndex = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return 0 }
        let length = try values[storageIndex].modifyList { list -> Int in
            guard let found = list.firstIndex(of: pivot) else { return -1 }
            list.insert(element, at: position == .before ? found : found + 1)
            return list.count
        }
        if length > 0 { noteChange(of: key) }
        _checkInvariants()
        return length
    }

    /// LREM: removes elements equal to `element`: the first `count` from the head when `count` > 0, the last
    /// `-count` from the tail when `count` < 0, all when 0. Returns how many were removed; deletes an emptied list.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(n).
    public mutating func listRemove(
        _ element: [UInt8], count: Int64, forKey key: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int {
        guard let storageIndex = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return 0 }
        let limit = count == 0 ? Int.max : Int(clamping: count.magnitude)
        let (removed, remaining) = try values[storageIndex].modifyList { list -> (Int, Int) in
            // Find the offsets first: most calls remove nothing or a few elements, and then nothing is rebuilt.
            var doomed: [Int] = []
            if count >= 0 {
                var offset = list.startIndex
                while offset < list.endIndex && doomed.count < limit {
                    if list[offset] == element { doomed.append(offset) }
                    offset += 1
                }
            } else {
                var offset = list.endIndex - 1
                while offset >= list.startIndex && doomed.count < limit {
                    if list[offset] == element { doomed.append(offset) }
                    offset -= 1
                }
                doomed.reverse()
            }
            guard !doomed.isEmpty else { return (0, list.count) }
            var kept = Deque<[UInt8]>()
            kept.reserveCapacity(list.count - doomed.count)
            var next = 0
            for (offset, stored) in list.enumerated() {
                if next < doomed.count && doomed[next] == offset {
                    next += 1
                } else {
                    kept.append(stored)
                }
            }
            list = kept
            return (doomed.count, list.count)
        }
        if removed > 0 {
            if remaining == 0 { removeEntry(key) } else { noteChange(of: key) }
        }
        _checkInvariants()
        return removed
    }

    /// LTRIM: keeps only the elements from `start` through `stop` (inclusive, negative from the tail); an empty
    /// range deletes the key. Returns how many elements were removed (Redis counts them as changes). The key counts
    /// as changed even when nothing was removed, as Redis signals it to WATCH.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(removed elements).
    public mutating func listTrim(
        forKey key: [UInt8], start: Int64, stop: Int64, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int {
        guard let storageIndex = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return 0 }
        let (removed, remaining) = try values[storageIndex].modifyList { list -> (Int, Int) in
            let length = Int64(list.count)
            var first = start < 0 ? start &+ length : start
            var last = stop < 0 ? stop &+ length : stop
            if first < 0 { first = 0 }
            let (fromHead, fromTail): (Int, Int)
            if first > last || first >= length {
                (fromHead, fromTail) = (list.count, 0)
            } else {
                if last >= length { last = length - 1 }
                (fromHead, fromTail) = (Int(first), Int(length - last - 1))
            }
            list.removeFirst(fromHead)
            list.removeLast(fromTail)
            return (fromHead + fromTail, list.count)
        }
        if remaining == 0 { removeEntry(key) } else { noteChange(of: key) }
        _checkInvariants()
        return removed
    }

    /// LPOS: the offsets (from the head) of the elements equal to `element`, in scan order, as `query` selects
    /// them; nil when the key is absent.
    ///
    /// - Throws: `.wrongType`.
    /// - Complexity: O(n), or O(`maximumLength`).
    public mutating func listPositions(
        of element: [UInt8], forKey key: [UInt8], query: ListPositionQuery, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> [Int]? {
        guard let storageIndex = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return nil }
        guard case .list(let list) = values[storageIndex] else { throw .wrongType }
        precondition(query.rank != 0, "LPOS rejects RANK 0 before the lookup")
        let fromTail = query.rank < 0
        let skipped = query.rank.magnitude - 1
        let wanted = query.count.map { $0 == 0 ? Int.max : $0 } ?? 1
        let scanned = query.maximumLength == 0 ? list.count : min(query.maximumLength, list.count)
        var positions: [Int] = []
        var matches: UInt64 = 0
        for step in 0..<scanned {
            let offset = fromTail ? list.count - 1 - step : step
            guard list[offset] == element else { continue }
            matches += 1
            if matches > skipped {
                positions.append(offset)
                if positions.count >= wanted { break }
            }
        }
        return positions
    }

    /// LMOVE / RPOPLPUSH: pops an element at `sourceEnd` of `source` and pushes it at `destinationEnd` of
    /// `destination` (created if absent; the same key rotates the list). Returns the element, nil when `source` is
    /// absent.
    ///
    /// - Throws: `.wrongType` when `source` holds another type, then when `destination` does (nothing moved).
    /// - Complexity: O(1) average.
    public mutating func listMove(
        from source: [UInt8], _ sourceEnd: ListEnd, to destination: [UInt8], _ destinationEnd: ListEnd,
        nowMilliseconds: Int64
    ) throws(KeyspaceError) -> [UInt8]? {
        guard let sourceIndex = liveIndex(of: source, nowMilliseconds: nowMilliseconds) else { return nil }
        guard case .list = values[sourceIndex] else { throw .wrongType }
        if source == destination {
            // Rotated in place: popping the only element must not delete the key (and its deadline).
            let element = try values[sourceIndex].modifyList { list in
                // Cannot fail: stored lists are never empty.
                let element = sourceEnd == .head ? list.removeFirst() : list.removeLast()
                if destinationEnd == .head { list.prepend(element) } else { list.append(element) }
                return element
            }
            noteChange(of: source)
            _checkInvariants()
            return element
        }
        if let destinationIndex = liveIndex(of: destination, nowMilliseconds: nowMilliseconds) {
            guard case .list = values[destinationIndex] else { throw .wrongType }
        }
        // Cannot be nil: the source is a list, and stored lists are never empty.
        let element = try listPop(at: sourceEnd, forKey: source, nowMilliseconds: nowMilliseconds)!
        _ = try listPush(CollectionOfOne(element), at: destinationEnd, forKey: destination,
                         nowMilliseconds: nowMilliseconds)
        return element
    }

    /// LMPOP / BLMPOP: pops up to `count` elements at `end` of the first of `keys` that holds a list. Returns that
    /// key and the elements in pop order, nil when no key holds a list.
    ///
    /// - Throws: `.wrongType` when a key before the first list holds another type.
    /// - Complexity: O(`keys.count` + popped elements).
    public mutating func listPopFirst(
        of keys: some Sequence<[UInt8]>, at end: ListEnd, count: Int, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> (key: [UInt8], elements: [[UInt8]])? {
        for key in keys {
            guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { continue }
            guard case .list = values[index] else { throw .wrongType }
            // Cannot be nil: the key holds a list.
            return (key, try listPop(at: end, forKey: key, count: count, nowMilliseconds: nowMilliseconds)!)
        }
        return nil
    }

    /// The storage offset of list index `index` (negative counts from the tail), nil when outside `0..<count`.
    @inline(__always)
    static func listOffset(_ index: Int64, count: Int) -> Int? {
        let offset = index < 0 ? index &+ Int64(count) : index
        guard offset >= 0, offset < Int64(count) else { return nil }
        return Int(offset)
    }
}
