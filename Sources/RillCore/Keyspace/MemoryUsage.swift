import DequeModule

/// MEMORY USAGE: the bytes a key and its value hold in Rill's own structures, as the allocator hands them out.
///
/// Counted: the key's byte array, its slots in the key table and the SCAN index, and the value: a string's bytes; a
/// list's deque and element arrays; a set's hash table and members; a stream's block index, its blocks, and its
/// consumer groups (PELs, consumers, names). Like Redis, a collection is measured by sampling: up to `samples` of its
/// elements (blocks and groups for a stream) are measured and their mean stands for the rest; `samples` nil measures
/// everything.
public enum MemoryUsage {
    /// The bytes jemalloc hands out for a request of `size` bytes: its size classes are 8, then multiples of 16 up
    /// to 128, then four classes per doubling.
    @inline(__always)
    public static func allocationSize(_ size: Int) -> Int {
        if size <= 8 { return size <= 0 ? 0 : 8 }
        if size <= 128 { return (size + 15) & ~15 }
        let highestBit = Int.bitWidth - (size - 1).leadingZeroBitCount - 1
        let spacing = 1 << (highestBit - 2)
        return (size + spacing - 1) & ~(spacing - 1)
    }

    /// A Swift array's heap object: 32 bytes of header (object header, count, capacity) and its elements; none for
    /// an empty array, which shares a static singleton.
    @inline(__always)
    static func arrayBytes(capacity: Int, elementStride: Int) -> Int {
        capacity == 0 ? 0 : allocationSize(32 + capacity * elementStride)
    }

    static func bytesBytes(_ bytes: [UInt8]) -> Int { arrayBytes(capacity: bytes.capacity, elementStride: 1) }

    /// Bytes of the key itself and its slots in the key table (key reference and entry) and in the SCAN index.
    public static func keyBytes(_ key: [UInt8]) -> Int {
        bytesBytes(key) + MemoryLayout<[UInt8]>.stride + MemoryLayout<KeyTable.Entry>.stride
            + MemoryLayout<KeyHashIndex.Entry>.stride
    }

    /// Bytes of `key` holding `value`; `samples` nil measures every element.
    /// - Complexity: O(min(samples, n)) for collections (O(n) when `samples` is nil), O(1) for strings.
    public static func bytes(ofKey key: [UInt8], value: RedisValue, samples: Int?) -> Int {
        keyBytes(key) + bytes(of: value, samples: samples)
    }

    /// Bytes of `value` alone.
    public static func bytes(of value: RedisValue, samples: Int?) -> Int {
        switch value {
        case .string(let bytes):
            return bytesBytes(bytes)
        case .list(let list):
            // The deque's storage: object header with capacity, count and start, then one reference per element.
            let storage = allocationSize(48 + list.count * MemoryLayout<[UInt8]>.stride)
            return storage + sampledTotal(list, count: list.count, samples: samples, measure: bytesBytes)
        case .set(let set):
            // Native hash storage: header, occupancy bitmap and one reference per bucket; buckets are the power of two
            // keeping the load at most 3/4.
            var buckets = 1
            while buckets * 3 < set.capacity * 4 { buckets <<= 1 }
            let storage = allocationSize(64 + buckets / 8 + buckets * MemoryLayout<[UInt8]>.stride)
            return storage + sampledTotal(set, count: set.count, samples: samples, measure: bytesBytes)
        case .stream(let stream):
            let index = MemoryLayout<Stream>.stride + allocationSize(48 + stream.blocks.count * MemoryLayout<StreamBlock>.stride)
            let blocks = sampledTotal(stream.blocks, count: stream.blocks.count, samples: samples) { $0.allocatedBytes }
            let groups = stream.groupTable.groups
            // Each group's footprint counts its slot in the array; the array adds its header.
            let groupBytes = (groups.isEmpty ? 0 : 32)
                + sampledTotal(groups, count: groups.count, samples: samples) { $0.memoryFootprint }
            return index + blocks + groupBytes
        }
    }

    /// The measure of the first `samples` elements scaled to `count`, or of all of them.
    private static func sampledTotal<Elements: Sequence>(
        _ elements: Elements, count: Int, samples: Int?, measure: (Elements.Element) -> Int
    ) -> Int {
        let limit = samples.map { Swift.min($0, count) } ?? count
        guard limit > 0 else { return 0 }
        var measured = 0
        for element in elements.prefix(limit) { measured += measure(element) }
        if limit == count { return measured }
        return Int((Double(measured) / Double(limit) * Double(count)).rounded())
    }
}

/// How many keys of each kind fall in each power-of-two size range (INFO keysizes): string lengths in bytes, list
/// and set lengths in elements. Bucket 0 holds size 0; bucket `b` > 0 holds sizes in [2^(b-1), 2^b).
public struct KeySizeHistograms: Sendable, Equatable {
    public var strings = [Int](repeating: 0, count: 65)
    public var lists = [Int](repeating: 0, count: 65)
    public var sets = [Int](repeating: 0, count: 65)

    @inline(__always)
    static func bucket(of size: Int) -> Int { Int.bitWidth - size.leadingZeroBitCount }
}

extension Database {
    /// The size histograms of this database's strings, lists and sets (streams are not counted, as in Redis).
    /// Computed on demand: Rill keeps no running histogram.
    /// - Complexity: O(`count`).
    public var keySizeHistograms: KeySizeHistograms {
        var histograms = KeySizeHistograms()
        for (_, value) in values {
            switch value {
            case .string(let bytes): histograms.strings[KeySizeHistograms.bucket(of: bytes.count)] += 1
            case .list(let list): histograms.lists[KeySizeHistograms.bucket(of: list.count)] += 1
            case .set(let set): histograms.sets[KeySizeHistograms.bucket(of: set.count)] += 1
            case .stream: break
            }
        }
        return histograms
    }
}
