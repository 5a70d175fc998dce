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

    /// What a key maps to: its value and when it was last used. The access clock sits beside the value rather than
    /// in a table of its own so reading or refreshing it costs no second hash lookup; it adds at most one word to
    /// the slot (a test checks).
    struct Entry: Sendable {
        var value: RedisValue
        /// `AccessClock` reading of the latest read or write of the key (OBJECT IDLETIME, Redis' 24-bit LRU field).
        var lastAccess: UInt32
    }

    /// Where a stored key is: its shard and its position there. Valid until the table is next changed in shape
    /// (insert or removal), as `Dictionary.Index`.
    struct Index: Equatable {
        fileprivate let shard: Int
        fileprivate let position: Dictionary<[UInt8], Entry>.Index
    }

    private var shards: [[[UInt8]: Entry]]
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
        @inline(__always) get { shards[index.shard].values[index.position].value }
        @inline(__always) _modify { yield &shards[index.shard].values[index.position].value }
    }

    /// The access clock of the key at `index`.
    func lastAccess(at index: Index) -> UInt32 {
        shards[index.shard].values[index.position].lastAccess
    }

    /// Sets the access clock of the key at `index`; a no-op store is skipped, so a read of a key touched in the
    /// same second writes nothing (and copies no shard a snapshot still shares).
    @inline(__always)
    mutating func touch(at index: Index, clock: UInt32) {
        if shards[index.shard].values[index.position].lastAccess != clock {
            shards[index.shard].values[index.position].lastAccess = clock
        }
    }

    /// The value of `key`.
    subscript(key: [UInt8]) -> RedisValue? {
        shards[Self.shard(of: key)][key]?.value
    }

    /// Stores `value` under `key` with access clock `clock`, replacing any entry.
    mutating func insert(_ value: RedisValue, forKey key: [UInt8], clock: UInt32) {
        let shard = Self.shard(of: key)
        let before = shards[shard].count
        shards[shard][key] = Entry(value: value, lastAccess: clock)
        count += shards[shard].count - before
    }

    @discardableResult
    mutating func removeValue(forKey key: [UInt8]) -> RedisValue? {
        let removed = shards[Self.shard(of: key)].removeValue(forKey: key)
        if removed != nil { count -= 1 }
        return removed?.value
    }

    /// Every key, in no particular order.
    var keys: LazySequence<FlattenSequence<LazyMapSequence<[[[UInt8]: Entry]], Dictionary<[UInt8], Entry>.Keys>>> {
        shards.lazy.flatMap { $0.keys }
    }

    /// Every (key, value) pair, in no particular order.
    struct Iterator: IteratorProtocol {
        fileprivate var entries: FlattenSequence<[[[UInt8]: Entry]]>.Iterator

        mutating func next() -> (key: [UInt8], value: RedisValue)? {
            entries.next().map { ($0.key, $0.value.value) }
        }
    }

    func makeIterator() -> Iterator {
        Iterator(entries: shards.joined().makeIterator())
    }
}
