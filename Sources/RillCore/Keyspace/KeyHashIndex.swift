/// The keys of a database ordered by a 64-bit hash, so that a SCAN cursor can be a hash value.
///
/// Keys sit in `2^bucketBits` buckets chosen by the *top* bits of their hash, so bucket `i` holds exactly the hashes
/// in `[i << (64 - bucketBits), (i + 1) << (64 - bucketBits))`: the buckets partition the hash space into
/// consecutive ranges, and keep doing so when the table grows or shrinks. A cursor is therefore "the smallest hash not
/// yet visited", which stays meaningful across any number of inserts, deletes and resizes: SCAN returns every key
/// present for the whole iteration exactly once (a key added or removed meanwhile may or may not appear), unlike
/// Redis's reverse-binary cursor, which may repeat keys after a shrink.
///
/// The hash is Swift's `Hasher` (SipHash with a per-process random seed), so clients cannot aim many keys at one
/// bucket; cursors are only meaningful within one server process, as in Redis.
///
/// Invariants: `count` is the number of entries; every entry is in the bucket its hash selects; no key appears
/// twice; `minimumBucketBits <= bucketBits <= 62`; after each insert or remove `count <= 2 * buckets.count` and,
/// above the minimum size, `count >= buckets.count / 8`.
struct KeyHashIndex: Sendable {
    /// One indexed key and its hash, kept so resizing and scanning never rehash.
    struct Entry: Sendable {
        /// `KeyHashIndex.hash(of: key)`.
        var hash: UInt64
        /// The key bytes (shared storage with the database's own copy of the key).
        var key: [UInt8]
    }

    /// Buckets of entries; `buckets.count == 1 << bucketBits`. Order inside a bucket is arbitrary.
    private(set) var buckets: Buckets
    /// log2 of the number of buckets; starts at `minimumBucketBits`.
    private var bucketBits: Int
    /// Number of entries over all buckets; 0 when empty.
    private(set) var count: Int = 0

    /// The buckets in chunks of up to 1024, so that the first insert or removal after the database was copied
    /// (BGSAVE keeps a copy) copies one chunk of bucket references, not all of them (130k at 200k keys).
    struct Buckets: Sendable, Sequence {
        private static let chunkBits = 10
        private var chunks: [[[Entry]]]
        /// Number of buckets.
        let count: Int

        init(count: Int) {
            let chunkSize = Swift.min(count, 1 << Self.chunkBits)
            chunks = Array(repeating: Array(repeating: [], count: chunkSize), count: count / chunkSize)
            self.count = count
        }

        subscript(index: Int) -> [Entry] {
            @inline(__always) get { chunks[index >> Self.chunkBits][index & ((1 << Self.chunkBits) - 1)] }
            @inline(__always) _modify { yield &chunks[index >> Self.chunkBits][index & ((1 << Self.chunkBits) - 1)] }
        }

        /// The buckets in index order.
        func makeIterator() -> FlattenSequence<[[[Entry]]]>.Iterator {
            chunks.joined().makeIterator()
        }
    }

    /// 16 buckets: small enough for an empty database, large enough that tiny ones never resize.
    static let minimumBucketBits = 4

    init() {
        bucketBits = Self.minimumBucketBits
        buckets = Buckets(count: 1 << Self.minimumBucketBits)
    }

    /// The 64-bit hash that orders `key` for SCAN.
    static func hash(of key: [UInt8]) -> UInt64 {
        var hasher = Hasher()
        key.withUnsafeBytes { hasher.combine(bytes: $0) }
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }

    /// The bucket covering `hash`.
    @inline(__always)
    private func bucketIndex(of hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> UInt64(64 - bucketBits))
    }

    /// The first hash of bucket `index`; 0 for index 0.
    @inline(__always)
    private func firstHash(ofBucket index: Int) -> UInt64 {
        UInt64(index) << UInt64(64 - bucketBits)
    }

    /// Adds `key`, which must not be indexed yet.
    ///
    /// - Complexity: amortized O(1); O(count) when the table doubles.
    mutating func insert(_ key: [UInt8]) {
        let hash = Self.hash(of: key)
        buckets[bucketIndex(of: hash)].append(Entry(hash: hash, key: key))
        count += 1
        if count > 2 * buckets.count { resize(toBits: bucketBits + 1) }
    }

    /// Removes `key` if indexed.
    ///
    /// - Complexity: amortized O(1 + bucket size); O(count) when the table halves.
    mutating func remove(_ key: [UInt8]) {
        let hash = Self.hash(of: key)
        let bucket = bucketIndex(of: hash)
        guard let position = buckets[bucket].firstIndex(where: { $0.hash == hash && $0.key == key }) else { return }
        buckets[bucket].swapAt(position, buckets[bucket].count - 1)
        buckets[bucket].removeLast()
        count -= 1
        if bucketBits > Self.minimumBucketBits && count < buckets.count / 8 { resize(toBits: bucketBits - 1) }
    }

    /// Drops every entry and returns to the minimum size.
    mutating func removeAll() {
        self = KeyHashIndex()
    }

    /// The keys whose hash lies in `[cursor, next)`, where `next` is chosen so that at least `count` keys are returned
    /// when that many remain, but whole buckets are always taken (and at most `10 * count` buckets visited, so sparse
    /// regions end a call early). `next` is 0 once the end of the hash space is reached.
    ///
    /// - Complexity: O(buckets visited + keys returned).
    func keys(fromCursor cursor: UInt64, count wanted: Int) -> (keys: [[UInt8]], next: UInt64) {
        var keys: [[UInt8]] = []
        let wanted = max(1, wanted)
        let bucketBudget = wanted.multipliedReportingOverflow(by: 10).overflow ? Int.max : wanted * 10
        var bucket = bucketIndex(of: cursor)
        var visited = 0
        while true {
            for entry in buckets[bucket] where entry.hash >= cursor {
                keys.append(entry.key)
            }
            visited += 1
            bucket += 1
            if bucket == buckets.count { return (keys, 0) }
            if keys.count >= wanted || visited >= bucketBudget { return (keys, firstHash(ofBucket: bucket)) }
        }
    }

    /// Redistributes every entry into `1 << bits` buckets.
    private mutating func resize(toBits bits: Int) {
        let old = buckets
        bucketBits = bits
        buckets = Buckets(count: 1 << bits)
        for bucket in old {
            for entry in bucket {
                buckets[bucketIndex(of: entry.hash)].append(entry)
            }
        }
    }

    /// Checks every invariant in the type's documentation; traps on the first broken one.
    ///
    /// - Complexity: O(count) plus the cost of hashing every key.
    func validate() {
        precondition(bucketBits >= Self.minimumBucketBits && bucketBits <= 62, "bucket bits out of range")
        precondition(buckets.count == 1 << bucketBits, "bucket count is not 2^bucketBits")
        var seen = Set<[UInt8]>()
        var total = 0
        for (index, bucket) in buckets.enumerated() {
            for entry in bucket {
                precondition(entry.hash == Self.hash(of: entry.key), "stale hash")
                precondition(bucketIndex(of: entry.hash) == index, "entry in the wrong bucket")
                precondition(seen.insert(entry.key).inserted, "key indexed twice")
                total += 1
            }
        }
        precondition(total == count, "count does not match the entries")
        precondition(count <= 2 * buckets.count, "table over its load limit")
        precondition(bucketBits == Self.minimumBucketBits || count >= buckets.count / 8, "table under its load limit")
    }
}
