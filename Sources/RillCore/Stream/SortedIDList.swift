import DequeModule

/// A value that a `SortedIDList` keeps in order of its stream ID.
protocol StreamIDKeyed {
    /// The sort key; unique within one list.
    var id: StreamID { get }
}

extension StreamID: StreamIDKeyed {
    var id: StreamID { self }
}

/// Elements with distinct stream IDs kept in ascending ID order, in chunks of at most
/// `maximumChunkSize` elements: a two-level sorted array, the shape of a B-tree of height two.
///
/// Pending entry lists need lookup and removal of arbitrary IDs (XACK, XCLAIM), ordered range
/// scans (XPENDING, XAUTOCLAIM, XREADGROUP history) and, most of all, appends at the end (every
/// delivery of a new entry has the greatest ID delivered so far). One flat sorted array would make
/// acknowledging the oldest entry, the usual case for a worker queue, an O(n) move; chunks bound
/// every move to one chunk plus the chunk table. Elements are stored inline (no allocation per
/// element), one array per chunk.
///
/// Invariants (checked by `validate()`):
/// - no chunk is empty and none holds more than `maximumChunkSize` elements;
/// - IDs increase strictly within and across chunks;
/// - `count` is the sum of the chunk sizes.
///
/// A value type: copies share chunk storage until one of them is written.
struct SortedIDList<Element: StreamIDKeyed & Sendable>: Sendable {
    /// The elements, chunk by chunk, in ascending ID order. A deque so that emptying the first
    /// chunk (acknowledging the oldest entries) removes it in O(1).
    private(set) var chunks: Deque<[Element]> = []
    /// Number of elements; 0 for an empty list.
    private(set) var count = 0
    /// The storage of the last chunk emptied by a removal, kept (empty) for the next chunk an append starts: a worker
    /// that acknowledges everything it read empties the list's only chunk every round, and would otherwise allocate
    /// and regrow a chunk each time. One at most; `memoryFootprint` counts it.
    private var spareChunk: [Element] = []

    /// The most elements one chunk holds. Moves inside a chunk cost up to this many elements;
    /// the chunk table holds `count / (maximumChunkSize / 4)` chunks at worst.
    static var maximumChunkSize: Int { 128 }

    /// Below this size a chunk is merged into a neighbour when the two fit in one chunk.
    private static var minimumChunkSize: Int { maximumChunkSize / 4 }

    init() {}

    /// Whether the list holds no element.
    var isEmpty: Bool { count == 0 }

    /// The element with the smallest ID.
    var first: Element? { chunks.first?.first }

    /// The element with the greatest ID.
    var last: Element? { chunks.last?.last }

    // MARK: - Positions

    /// Where an element is (or would be inserted): a chunk index and an offset in that chunk.
    struct Position: Equatable {
        var chunk: Int
        var offset: Int
    }

    /// Index of the first chunk whose last ID is >= `id` (`chunks.count` when none).
    /// - Complexity: O(log(chunk count)).
    private func chunkIndex(forFirstAtLeast id: StreamID) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low &+ high) >> 1
            // Chunks are never empty (invariant), so `last` exists.
            if chunks[middle].last!.id < id {
                low = middle &+ 1
            } else {
                high = middle
            }
        }
        return low
    }

    /// Offset of the first element of `chunk` whose ID is >= `id` (`chunk.count` when none).
    private static func offset(in chunk: [Element], forFirstAtLeast id: StreamID) -> Int {
        var low = 0
        var high = chunk.count
        while low < high {
            let middle = (low &+ high) >> 1
            if chunk[middle].id < id {
                low = middle &+ 1
            } else {
                high = middle
            }
        }
        return low
    }

    /// The position of the first element with an ID >= `id`, or nil when every ID is smaller.
    /// - Complexity: O(log n).
    func position(ofFirstAtLeast id: StreamID) -> Position? {
        let chunk = chunkIndex(forFirstAtLeast: id)
        guard chunk < chunks.count else { return nil }
        return Position(chunk: chunk, offset: Self.offset(in: chunks[chunk], forFirstAtLeast: id))
    }

    /// The position of the element with exactly this ID.
    /// - Complexity: O(log n).
    func position(of id: StreamID) -> Position? {
        guard let position = position(ofFirstAtLeast: id), self[position].id == id else { return nil }
        return position
    }

    /// The position after `position`, or nil at the end.
    /// - Complexity: O(1).
    func position(after position: Position) -> Position? {
        if position.offset &+ 1 < chunks[position.chunk].count {
            return Position(chunk: position.chunk, offset: position.offset &+ 1)
        }
        return position.chunk &+ 1 < chunks.count ? Position(chunk: position.chunk &+ 1, offset: 0) : nil
    }

    /// The element at a valid position; writes must not change its ID.
    subscript(position: Position) -> Element {
        get { chunks[position.chunk][position.offset] }
        _modify { yield &chunks[position.chunk][position.offset] }
    }

    /// The element with this ID, if present.
    /// - Complexity: O(log n).
    subscript(id: StreamID) -> Element? {
        guard let position = position(of: id) else { return nil }
        return self[position]
    }

    /// Whether an element has this ID.
    /// - Complexity: O(log n).
    func contains(_ id: StreamID) -> Bool { position(of: id) != nil }

    // MARK: - Insertion and removal

    /// Inserts `element` unless an element with its ID is present.
    /// - Returns: whether it was inserted.
    /// - Complexity: O(1) amortised when the ID is greater than every ID present (the usual case:
    ///   deliveries happen in ID order); otherwise O(log n + maximumChunkSize), plus a chunk table
    ///   move of O(n / maximumChunkSize) pointers when a chunk splits.
    @discardableResult
    mutating func insert(_ element: Element) -> Bool {
        let id = element.id
        if let lastChunk = chunks.indices.last {
            // Chunks are never empty (invariant).
            if chunks[lastChunk].last!.id < id {
                if chunks[lastChunk].count < Self.maximumChunkSize {
                    chunks[lastChunk].append(element)
                } else {
                    // Filling chunks to the brim when appending in order keeps them dense. Chunks grow
                    // geometrically instead of reserving their maximum, so short lists stay small.
                    chunks.append(Self.chunk(startingWith: element, reusing: &spareChunk))
                }
                count &+= 1
                _checkInvariants()
                return true
            }
        } else {
            chunks.append(Self.chunk(startingWith: element, reusing: &spareChunk))
            count = 1
            _checkInvariants()
            return true
        }
        // Not an append: the last chunk's last ID is >= id, so a chunk index exists.
        let chunkIndex = chunkIndex(forFirstAtLeast: id)
        let offset = Self.offset(in: chunks[chunkIndex], forFirstAtLeast: id)
        if offset < chunks[chunkIndex].count && chunks[chunkIndex][offset].id == id { return false }
        chunks[chunkIndex].insert(element, at: offset)
        count &+= 1
        if chunks[chunkIndex].count > Self.maximumChunkSize { split(chunkIndex) }
        _checkInvariants()
        return true
    }

    /// A new chunk holding `element`, in `spare`'s storage when it has some (taking it).
    private static func chunk(startingWith element: Element, reusing spare: inout [Element]) -> [Element] {
        guard spare.capacity > 0 else { return [element] }
        var chunk: [Element] = []
        swap(&chunk, &spare)
        chunk.append(element)
        return chunk
    }

    /// Splits an overfull chunk into two halves.
    private mutating func split(_ chunkIndex: Int) {
        let half = chunks[chunkIndex].count / 2
        let upper = Array(chunks[chunkIndex][half...])
        chunks[chunkIndex].removeSubrange(half...)
        chunks.insert(upper, at: chunkIndex &+ 1)
    }

    /// Removes and returns the element with this ID, if present.
    /// - Complexity: O(log n + maximumChunkSize), plus O(n / maximumChunkSize) when a chunk in the
    ///   middle of the table empties or merges (the first and last chunks go in O(1)).
    @discardableResult
    mutating func remove(_ id: StreamID) -> Element? {
        guard let position = position(of: id) else { return nil }
        return remove(at: position)
    }

    /// Removes and returns the element at a valid position.
    /// - Complexity: as `remove(_:)` without the search.
    @discardableResult
    mutating func remove(at position: Position) -> Element {
        let removed = chunks[position.chunk].remove(at: position.offset)
        count &-= 1
        let size = chunks[position.chunk].count
        if size == 0 {
            var emptied = chunks.remove(at: position.chunk)
            if emptied.capacity > spareChunk.capacity {
                emptied.removeAll(keepingCapacity: true)
                spareChunk = emptied
            }
        } else if size < Self.minimumChunkSize {
            mergeIfSmall(position.chunk)
        }
        _checkInvariants()
        return removed
    }

    /// Merges a small chunk with its next (or previous) neighbour when both fit in one chunk.
    private mutating func mergeIfSmall(_ chunkIndex: Int) {
        let neighbour = chunkIndex &+ 1 < chunks.count ? chunkIndex &+ 1 : chunkIndex &- 1
        guard neighbour >= 0, neighbour != chunkIndex else { return }
        let lower = Swift.min(chunkIndex, neighbour)
        guard chunks[lower].count &+ chunks[lower &+ 1].count <= Self.maximumChunkSize else { return }
        let upper = chunks.remove(at: lower &+ 1)
        chunks[lower].append(contentsOf: upper)
    }

    /// Removes every element.
    mutating func removeAll() {
        chunks.removeAll()
        spareChunk = []
        count = 0
    }

    // MARK: - Iteration

    /// Calls `body` with each element whose ID is >= `start`, in ascending order, until it returns false.
    /// - Complexity: O(log n + k), k = elements visited.
    func forEach(from start: StreamID = .zero, _ body: (Element) -> Bool) {
        var chunkIndex = chunkIndex(forFirstAtLeast: start)
        guard chunkIndex < chunks.count else { return }
        var offset = Self.offset(in: chunks[chunkIndex], forFirstAtLeast: start)
        while chunkIndex < chunks.count {
            let chunk = chunks[chunkIndex]
            while offset < chunk.count {
                if !body(chunk[offset]) { return }
                offset &+= 1
            }
            chunkIndex &+= 1
            offset = 0
        }
    }

    /// All elements in ascending ID order (for tests and small lists).
    /// - Complexity: O(n).
    var elements: [Element] {
        var result: [Element] = []
        result.reserveCapacity(count)
        for chunk in chunks { result.append(contentsOf: chunk) }
        return result
    }

    // MARK: - Invariants

    /// Describes every broken invariant (empty when consistent).
    /// - Complexity: O(n).
    func validate() -> [String] {
        var problems: [String] = []
        var total = 0
        var previous: StreamID?
        for (index, chunk) in chunks.enumerated() {
            if chunk.isEmpty { problems.append("chunk \(index) is empty") }
            if chunk.count > Self.maximumChunkSize { problems.append("chunk \(index) holds \(chunk.count) elements") }
            for element in chunk {
                if let previous, element.id <= previous {
                    problems.append("ID \(element.id) does not follow \(previous)")
                }
                previous = element.id
            }
            total += chunk.count
        }
        if total != count { problems.append("count \(count), elements \(total)") }
        return problems
    }

    /// Traps on a broken invariant when compiled with `-D RILL_INTERNAL_CHECKS` (debug builds, so the
    /// tests); a no-op otherwise. Every mutation calls it. `validate()` is O(n), so a list longer than
    /// `elementsAlwaysValidated` is validated in full only when its count is a power of two, and checked
    /// chunk by chunk (O(n / maximumChunkSize): sizes, order across chunk bounds, the count) otherwise.
    @inline(__always)
    func _checkInvariants() {
        #if RILL_INTERNAL_CHECKS
        let problems = count <= Self.elementsAlwaysValidated || count & (count &- 1) == 0 ? validate() : chunkProblems()
        precondition(problems.isEmpty, "SortedIDList invariants violated: \(problems)")
        #endif
    }

    #if RILL_INTERNAL_CHECKS
    /// Lists of at most this many elements are validated in full after every mutation.
    static var elementsAlwaysValidated: Int { 4 * maximumChunkSize }

    /// The invariants that hold chunk by chunk, without reading the elements inside the chunks.
    func chunkProblems() -> [String] {
        var problems: [String] = []
        var total = 0
        var previousLast: StreamID?
        for (index, chunk) in chunks.enumerated() {
            guard let first = chunk.first, let last = chunk.last else {
                problems.append("chunk \(index) is empty")
                continue
            }
            if chunk.count > Self.maximumChunkSize { problems.append("chunk \(index) holds \(chunk.count) elements") }
            if first.id > last.id { problems.append("chunk \(index) starts at \(first.id) after its end \(last.id)") }
            if let previousLast, first.id <= previousLast { problems.append("chunk \(index) starts at \(first.id), not after \(previousLast)") }
            previousLast = last.id
            total += chunk.count
        }
        if total != count { problems.append("count \(count), elements \(total)") }
        return problems
    }
    #endif

    /// Approximate bytes held: the chunk table and each chunk's allocation.
    /// - Complexity: O(chunk count).
    var memoryFootprint: Int {
        var total = 32 + chunks.count * MemoryLayout<[Element]>.stride
        for chunk in chunks { total += 32 + chunk.capacity * MemoryLayout<Element>.stride }
        if spareChunk.capacity > 0 { total += 32 + spareChunk.capacity * MemoryLayout<Element>.stride }
        return total
    }
}
