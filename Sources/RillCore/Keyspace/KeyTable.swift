/// The keys and values of a database, split over `shardCount` dictionaries by a cheap hash of the key.
///
/// Why: BGSAVE copies the keyspace (a reference count per database) and the snapshot thread keeps that copy, so the
/// first write afterwards made the event loop copy the whole dictionary, retaining every key and value: 60 to 75 ms
/// at 200k keys, during which no client was served. With shards, that write copies the array of shards (a few
/// hundred references) and the one shard it touches; later writes copy the shards they touch, each a small step.
///
/// The shard hash (FNV-1a) only spreads keys; each shard is an ordinary `Dictionary` with its seeded SipHash, so
/// keys aimed at one shard only make that shard as large as the whole table used to be.
struct KeyTable: Sendable, Sequence {
    /// A power of two.
    static let shardCount = 256

    /// Where a stored key is: its shard and its position there. Valid until the table is next changed in shape
    /// (insert or removal), as `Dictionary.Index`.
    struct Index: Equatable {
        fileprivate let shard: Int
        fileprivate let position: Dictionary<[UInt8], RedisValue>.Index
    }

    private var shards: [[[UInt8]: RedisValue]]
    /// Number of stored keys.
    private(set) var count = 0

    init() {
        // Empty dictionaries share one empty singleton: no allocation per shard until it holds a key.
        shards = Array(repeating: [:], count: Self.shardCount)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private static func shard(of key: [UInt8]) -> Int {
        var hash: UInt32 = 0x811C_9DC5
        for byte in key { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return Int((hash ^ (hash >> 16)) & UInt32(shardCount - 1))
    }

    /// - Complexity: O(1) average.
    @inline(__always)
    func index(forKey key: [UInt8]) -> Index? {
        let shard = Self.shard(of: key)
        return shards[shard].index(forKey: key).map { Index(shard: shard, position: $0) }
    }

    /// The value at `index`, modified in place (a stream's blocks stay uniquely referenced).
    subscript(index: Index) -> RedisValue {
        @inline(__always) get { shards[index.shard].values[index.position] }
        @inline(__always) _modify { yield &shards[index.shard].values[index.position] }
    }

    /// The value of `key`; assigning nil removes it.
    subscript(key: [UInt8]) -> RedisValue? {
        get { shards[Self.shard(of: key)][key] }
        set {
            let shard = Self.shard(of: key)
            let before = shards[shard].count
            shards[shard][key] = newValue
            count += shards[shard].count - before
        }
    }

    @discardableResult
    mutating func removeValue(forKey key: [UInt8]) -> RedisValue? {
        let removed = shards[Self.shard(of: key)].removeValue(forKey: key)
        if removed != nil { count -= 1 }
        return removed
    }

    /// Every key, in no particular order.
    var keys: LazySequence<FlattenSequence<LazyMapSequence<[[[UInt8]: RedisValue]], Dictionary<[UInt8], RedisValue>.Keys>>> {
        shards.lazy.flatMap { $0.keys }
    }

    /// Every (key, value) pair, in no particular order.
    func makeIterator() -> FlattenSequence<[[[UInt8]: RedisValue]]>.Iterator {
        shards.joined().makeIterator()
    }
}
