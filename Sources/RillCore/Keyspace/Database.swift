/// One numbered Redis database (SELECT n): keys, their values, their expiry deadlines, and the bookkeeping SCAN,
/// active expiry and WATCH need.
///
/// Time never comes from a clock here: every operation that depends on it takes `nowMilliseconds`, the Unix time in
/// milliseconds of the command being executed.
///
/// Expiry follows Redis: a key whose deadline is *before* now is logically gone. Any operation that looks a key up
/// first deletes it if it is logically gone ("lazy expiry"), and `removeExpiredKeys` reclaims keys nobody looks at
/// ("active expiry"). Until one of those happens the key still occupies memory and counts in `count` (DBSIZE), as in
/// Redis.
///
/// Invariants (checked by `validate()`):
/// - `scanIndex` holds exactly the keys of `values`;
/// - `expirySlots` and `keysWithExpiry` describe the same keys, each slot pointing at its own entry, and every one of
///   those keys is in `values`;
/// - no stored list or set is empty;
/// - every watch record has at least one watcher, and no record's version is above `changeCount`;
/// - `expirySweepPosition <= keysWithExpiry.count`.
public struct Database: Sendable {
    /// A key with a deadline, as active expiry samples it.
    struct KeyWithExpiry: Sendable {
        /// The key bytes.
        var key: [UInt8]
        /// Absolute Unix time in milliseconds after which the key is gone.
        var deadline: Int64
    }

    /// Interest registered by WATCH in one key.
    struct WatchRecord: Sendable {
        /// How many `watch` calls are not yet matched by `unwatch`; never 0 while stored.
        var watcherCount: Int
        /// `changeCount` at the key's latest change since the record was created (or at creation).
        var version: UInt64
    }

    /// Every stored key and its value, including keys past their deadline that nothing has removed yet.
    var values = KeyTable()
    /// For each key with a deadline, its position in `keysWithExpiry`. Keys without a deadline are absent.
    var expirySlots: [[UInt8]: Int] = [:]
    /// Keys with a deadline in no particular order, densely packed so active expiry can walk them without hashing.
    var keysWithExpiry: [KeyWithExpiry] = []
    /// Where the next active expiry round resumes in `keysWithExpiry`; 0 at first, wraps around.
    var expirySweepPosition = 0
    /// The keys of `values` in hash order, for SCAN.
    var scanIndex = KeyHashIndex()
    /// Keys some client watches (WATCH), with the version they were last changed at. Empty when nobody watches,
    /// which keeps the per-write cost to one `isEmpty` test.
    var watchRecords: [[UInt8]: WatchRecord] = [:]
    /// Number of key changes (writes, deletions, expirations) since the database was created; never decreases.
    /// Plays the role of Redis's `dirty` counter and is the clock key versions are taken from.
    public private(set) var changeCount: UInt64 = 0
    /// Counters INFO reports (keyspace_hits, keyspace_misses, expired_keys); all zero at first.
    public internal(set) var statistics = DatabaseStatistics()
    /// While true no key counts as past its deadline. Replaying an append-only file sets it, as Redis does while
    /// loading: expirations are in the file as DEL commands at the point they happened, and a deadline that has
    /// passed since then must not remove a key that later commands in the file still use.
    public var isExpiryPaused = false
    /// While true (CLIENT PAUSE) a key past its deadline reads as missing but is kept: removing it would be a
    /// write (a DEL in the append-only file) while writes are held. Redis does the same during a pause.
    public var keepsExpiredKeys = false
    /// Whether keys removed for being past their deadline (lazily or by active expiry) are collected in
    /// `expiredKeys`, for the append-only file to record them as DEL commands.
    public var recordsExpiredKeys = false
    /// Keys removed because their deadline passed, in removal order, since the last `takeExpiredKeys`; only
    /// collected while `recordsExpiredKeys`.
    public private(set) var expiredKeys: [[UInt8]] = []
    /// Whether looking a key up records the access (OBJECT IDLETIME). Off while a client with CLIENT NO-TOUCH runs
    /// a command, and while a background save shares the keyspace: as Redis skips the LRU update while a fork child
    /// runs, an update would copy the shared shard only to record a time.
    public var touchesKeys = true
    /// `AccessClock` reading of the latest lookup: what keys inserted without their own time (snapshot loading,
    /// writes) record as their access. 0 before the first lookup.
    private(set) var currentAccessClock: UInt32 = 0

    /// An empty database.
    public init() {
        _checkInvariants()
    }

    // MARK: - Sizes

    /// Number of stored keys (DBSIZE); like Redis, it includes keys past their deadline not yet reclaimed.
    ///
    /// - Complexity: O(1).
    public var count: Int { values.count }

    /// Whether no key is stored.
    public var isEmpty: Bool { values.isEmpty }

    /// Number of stored keys that have a deadline (INFO keyspace `expires=`).
    ///
    /// - Complexity: O(1).
    public var expiresCount: Int { keysWithExpiry.count }

    /// The mean remaining time to live of the keys with a deadline, in milliseconds, rounded down and never negative;
    /// 0 when no key has one (INFO keyspace `avg_ttl=`). Redis estimates this from samples; Rill computes it exactly.
    ///
    /// - Complexity: O(`expiresCount`).
    public func averageTimeToLive(nowMilliseconds: Int64) -> Int64 {
        guard !keysWithExpiry.isEmpty else { return 0 }
        // Double: the sum of many 64-bit remaining times can overflow Int64, and INFO needs no exactness here.
        let total = keysWithExpiry.reduce(0.0) { $0 + Double(max(0, $1.deadline &- nowMilliseconds)) }
        let average = total / Double(keysWithExpiry.count)
        // Int64(_:) traps at 2^63, which rounding can reach for deadlines near Int64.max.
        return average < 9.2e18 ? Int64(average) : .max
    }

    // MARK: - Lookup

    /// The value of `key` for a reading command, or nil if absent; counts a keyspace hit or miss.
    ///
    /// - Complexity: O(1) average (hashing `key`).
    public mutating func value(forKey key: [UInt8], nowMilliseconds: Int64) -> RedisValue? {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return nil }
        return values[index]
    }

    /// The value of `key` for a writing command, or nil if absent; does not count in the hit/miss statistics.
    ///
    /// - Complexity: O(1) average.
    public mutating func valueForWrite(forKey key: [UInt8], nowMilliseconds: Int64) -> RedisValue? {
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return nil }
        return values[index]
    }

    /// Whether `key` exists (EXISTS counts each argument, duplicates included).
    ///
    /// - Complexity: O(1) average.
    public mutating func exists(_ key: [UInt8], nowMilliseconds: Int64) -> Bool {
        untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds) != nil
    }

    /// The type of `key`'s value, or nil if absent (TYPE replies "none").
    ///
    /// - Complexity: O(1) average.
    public mutating func type(ofKey key: [UInt8], nowMilliseconds: Int64) -> ValueType? {
        guard let index = untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return nil }
        return values[index].type
    }

    // MARK: - Writing whole values

    /// Stores `value` under `key`, replacing any value of any type. The key's deadline is removed unless
    /// `keepingExpiry` (SET's KEEPTTL) and the key already existed.
    ///
    /// Storing an empty list or set is a programming error (Redis never stores one).
    ///
    /// - Complexity: O(1) average, amortized.
    public mutating func store(
        _ value: RedisValue, forKey key: [UInt8], keepingExpiry: Bool = false, nowMilliseconds: Int64
    ) {
        precondition(!value.isEmptyCollection, "empty lists and sets are not stored")
        let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds)
        write(value, forKey: key, at: index, keepingExpiry: keepingExpiry)
        _checkInvariants()
    }

    /// Deletes `key`; returns whether it existed (DEL/UNLINK count the true results).
    ///
    /// - Complexity: O(1) average.
    @discardableResult
    public mutating func delete(_ key: [UInt8], nowMilliseconds: Int64) -> Bool {
        guard liveIndex(of: key, nowMilliseconds: nowMilliseconds) != nil else { return false }
        removeEntry(key)
        _checkInvariants()
        return true
    }

    /// Deletes every key (FLUSHDB). Watches stay registered; each watched key that existed counts as changed.
    ///
    /// - Complexity: O(`count`).
    public mutating func removeAll() {
        for (key, record) in watchRecords where values[key] != nil {
            watchRecords[key] = WatchRecord(watcherCount: record.watcherCount, version: changeCount &+ 1)
        }
        changeCount &+= UInt64(values.count)
        values = KeyTable()
        expirySlots = [:]
        keysWithExpiry = []
        expirySweepPosition = 0
        scanIndex.removeAll()
        _checkInvariants()
    }

    /// RENAME: moves `source`'s value and deadline to `destination`, replacing whatever `destination` held.
    /// Renaming a key onto itself succeeds and changes nothing.
    ///
    /// - Throws: `.noSuchKey` if `source` does not exist.
    /// - Complexity: O(1) average.
    public mutating func rename(
        _ source: [UInt8], to destination: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) {
        _ = try rename(source, to: destination, onlyIfAbsent: false, nowMilliseconds: nowMilliseconds)
    }

    /// RENAMENX: like `rename`, but only when `destination` does not exist; returns whether the key moved. Renaming
    /// a key onto itself returns false.
    ///
    /// - Throws: `.noSuchKey` if `source` does not exist.
    /// - Complexity: O(1) average.
    public mutating func renameIfAbsent(
        _ source: [UInt8], to destination: [UInt8], nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Bool {
        try rename(source, to: destination, onlyIfAbsent: true, nowMilliseconds: nowMilliseconds)
    }

    private mutating func rename(
        _ source: [UInt8], to destination: [UInt8], onlyIfAbsent: Bool, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Bool {
        guard liveIndex(of: source, nowMilliseconds: nowMilliseconds) != nil else { throw .noSuchKey }
        if source == destination { return !onlyIfAbsent }
        if liveIndex(of: destination, nowMilliseconds: nowMilliseconds) != nil {
            if onlyIfAbsent { return false }
            removeEntry(destination)
        }
        let deadline = self.deadline(of: source)
        // Invariant: liveIndex found `source` above and nothing since removed it, so the value is present.
        let value = removeEntry(source)!
        insertNew(value, forKey: destination)
        if let deadline { setDeadline(deadline, of: destination) }
        _checkInvariants()
        return true
    }

    // MARK: - Keys, SCAN

    /// Every live key matching `pattern`, in no particular order (KEYS). Keys past their deadline are skipped but not
    /// deleted, as in Redis.
    ///
    /// - Complexity: O(`count` × match cost).
    public func keys(matching pattern: GlobPattern, nowMilliseconds: Int64) -> [[UInt8]] {
        var result: [[UInt8]] = []
        let everything = pattern.matchesEverything
        for key in values.keys where everything || pattern.matches(key) {
            if let deadline = deadline(of: key), deadline < nowMilliseconds { continue }
            result.append(key)
        }
        return result
    }

    /// One SCAN step: starting at `cursor` (0 to begin), returns the next cursor (0 when the iteration is complete)
    /// and some keys.
    ///
    /// Guarantee (Redis's contract): a full iteration, from cursor 0 until the returned cursor is 0, returns every key
    /// that exists during the whole iteration; keys added or removed meanwhile may or may not be returned. Rill never
    /// returns a key twice within one iteration. Any 64-bit cursor is accepted.
    ///
    /// `count` is a hint, as in Redis: each step takes whole hash buckets until about `count` keys were examined. The
    /// `pattern` and `typeName` filters apply after that, so a step can return fewer keys than `count`, even none,
    /// with a non-zero cursor. `typeName` is compared ASCII case-insensitively with the value's TYPE name, so an
    /// unknown name filters out everything (Redis 7 replies with empty steps rather than an error). Keys found past
    /// their deadline are deleted and not returned, as in Redis.
    ///
    /// - Complexity: O(`count` + buckets visited) per step; a full iteration is O(`count` of keys + buckets).
    public mutating func scan(
        cursor: UInt64, count: Int, pattern: GlobPattern? = nil, typeName: [UInt8]? = nil, nowMilliseconds: Int64
    ) -> (next: UInt64, keys: [[UInt8]]) {
        let (candidates, next) = scanIndex.keys(fromCursor: cursor, count: count)
        var keys: [[UInt8]] = []
        keys.reserveCapacity(candidates.count)
        let everything = pattern?.matchesEverything ?? true
        for key in candidates {
            if !everything, let pattern, !pattern.matches(key) { continue }
            // SCAN does not count as an access to the keys it returns, as in Redis.
            guard let index = untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds) else { continue }
            if let typeName, !ASCII.equalIgnoringCase(typeName, values[index].typeName.utf8) { continue }
            keys.append(key)
        }
        _checkInvariants()
        return (next, keys)
    }

    // MARK: - WATCH support

    /// Registers interest in `key` for WATCH and returns its current version. Call `unwatch` once for every `watch`
    /// (at EXEC, DISCARD, UNWATCH or disconnect) so the registry does not grow.
    ///
    /// A key already past its deadline is removed first, so "expired when watched, still absent at EXEC" compares
    /// equal, as in Redis 7.
    ///
    /// - Complexity: O(1) average.
    public mutating func watch(_ key: [UInt8], nowMilliseconds: Int64) -> KeyVersion {
        _ = untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds)
        var record = watchRecords[key] ?? WatchRecord(watcherCount: 0, version: changeCount)
        record.watcherCount += 1
        watchRecords[key] = record
        _checkInvariants()
        return KeyVersion(rawValue: record.version)
    }

    /// Withdraws one `watch` of `key`.
    ///
    /// - Complexity: O(1) average.
    public mutating func unwatch(_ key: [UInt8]) {
        guard let index = watchRecords.index(forKey: key) else {
            assertionFailure("unwatch without watch")
            return
        }
        if watchRecords.values[index].watcherCount == 1 {
            watchRecords.remove(at: index)
        } else {
            watchRecords.values[index].watcherCount -= 1
        }
        _checkInvariants()
    }

    /// The version of watched `key`: it changes whenever the key is written, deleted or expires (including expiring
    /// at `nowMilliseconds`, which this call applies), and stays equal while the key is untouched — in particular
    /// while it keeps not existing. EXEC aborts when any watched key's version differs from what `watch` returned.
    /// nil when nobody watches `key` (the version is not tracked then; treat it as changed).
    ///
    /// - Complexity: O(1) average.
    public mutating func version(of key: [UInt8], nowMilliseconds: Int64) -> KeyVersion? {
        _ = untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds)
        return watchRecords[key].map { KeyVersion(rawValue: $0.version) }
    }

    /// Number of distinct keys currently watched.
    public var watchedKeyCount: Int { watchRecords.count }

    // MARK: - Internal primitives, used by the per-type extensions

    /// The storage index of `key` if it is live; deletes it first if its deadline has passed. Records the access
    /// (see `touchesKeys`), as Redis' lookups do for reads and writes alike.
    @inline(__always)
    mutating func liveIndex(of key: [UInt8], nowMilliseconds: Int64) -> KeyTable.Index? {
        guard let index = untouchedLiveIndex(of: key, nowMilliseconds: nowMilliseconds) else { return nil }
        if touchesKeys { values.touch(at: index, clock: currentAccessClock) }
        return index
    }

    /// `liveIndex` without recording an access: the lookups Redis makes with LOOKUP_NOTOUCH (EXISTS, TYPE, TTL,
    /// OBJECT, MEMORY USAGE).
    @inline(__always)
    mutating func untouchedLiveIndex(of key: [UInt8], nowMilliseconds: Int64) -> KeyTable.Index? {
        currentAccessClock = AccessClock.reading(atMilliseconds: nowMilliseconds)
        if !expirySlots.isEmpty {
            if keepsExpiredKeys {
                if let deadline = deadline(of: key), deadline < nowMilliseconds, !isExpiryPaused { return nil }
            } else {
                expireIfDue(key, nowMilliseconds: nowMilliseconds)
            }
        }
        return values.index(forKey: key)
    }

    /// `liveIndex` for reading commands: also counts a keyspace hit or miss.
    @inline(__always)
    mutating func indexForRead(_ key: [UInt8], nowMilliseconds: Int64) -> KeyTable.Index? {
        let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds)
        if index == nil { statistics.keyspaceMisses += 1 } else { statistics.keyspaceHits += 1 }
        return index
    }

    /// Deletes `key` if it has a deadline before `nowMilliseconds`; returns whether it did.
    @discardableResult
    mutating func expireIfDue(_ key: [UInt8], nowMilliseconds: Int64) -> Bool {
        guard let deadline = deadline(of: key), deadline < nowMilliseconds, !isExpiryPaused else { return false }
        removeExpired(key)
        return true
    }

    /// Removes stored `key` because its deadline passed.
    mutating func removeExpired(_ key: [UInt8]) {
        removeEntry(key)
        statistics.expiredKeys += 1
        if recordsExpiredKeys { expiredKeys.append(key) }
    }

    /// The keys collected in `expiredKeys`, emptying it.
    ///
    /// - Complexity: O(1).
    public mutating func takeExpiredKeys() -> [[UInt8]] {
        if expiredKeys.isEmpty { return [] }
        defer { expiredKeys = [] }
        return expiredKeys
    }

    /// Stores `value` under `key`, whose live storage index the caller just looked up (nil: absent); drops the
    /// deadline of a replaced value unless `keepingExpiry`.
    mutating func write(
        _ value: RedisValue, forKey key: [UInt8], at index: KeyTable.Index?, keepingExpiry: Bool
    ) {
        guard let index else {
            insertNew(value, forKey: key)
            return
        }
        values[index] = value
        if !keepingExpiry { removeDeadline(of: key) }
        noteChange(of: key)
    }

    /// Inserts a key that is not stored; its access time is `lastAccess` (default: the latest lookup's).
    mutating func insertNew(_ value: RedisValue, forKey key: [UInt8], lastAccess: UInt32? = nil) {
        values.insert(value, forKey: key, clock: lastAccess ?? currentAccessClock)
        scanIndex.insert(key)
        noteChange(of: key)
    }

    /// Removes a stored key with its deadline; returns its value (nil if it was not stored).
    @discardableResult
    mutating func removeEntry(_ key: [UInt8]) -> RedisValue? {
        guard let value = values.removeValue(forKey: key) else { return nil }
        removeDeadline(of: key)
        scanIndex.remove(key)
        noteChange(of: key)
        return value
    }

    /// Records that `key` changed: bumps `changeCount` and, if the key is watched, its version.
    @inline(__always)
    mutating func noteChange(of key: [UInt8]) {
        changeCount &+= 1
        if !watchRecords.isEmpty, let index = watchRecords.index(forKey: key) {
            watchRecords.values[index].version = changeCount
        }
    }

    /// `key`'s deadline, or nil if it has none (or is not stored).
    @inline(__always)
    public func deadline(of key: [UInt8]) -> Int64? {
        guard !expirySlots.isEmpty, let slot = expirySlots[key] else { return nil }
        return keysWithExpiry[slot].deadline
    }

    /// Sets or replaces the deadline of stored `key`. Does not count as a change (callers note one).
    mutating func setDeadline(_ deadline: Int64, of key: [UInt8]) {
        if let slot = expirySlots[key] {
            keysWithExpiry[slot].deadline = deadline
        } else {
            expirySlots[key] = keysWithExpiry.count
            keysWithExpiry.append(KeyWithExpiry(key: key, deadline: deadline))
        }
    }

    /// Removes `key`'s deadline if it has one; returns whether it had. Does not count as a change.
    @discardableResult
    mutating func removeDeadline(of key: [UInt8]) -> Bool {
        guard !expirySlots.isEmpty, let slot = expirySlots.removeValue(forKey: key) else { return false }
        let last = keysWithExpiry.count - 1
        if slot != last {
            keysWithExpiry.swapAt(slot, last)
            expirySlots[keysWithExpiry[slot].key] = slot
        }
        keysWithExpiry.removeLast()
        if expirySweepPosition > keysWithExpiry.count { expirySweepPosition = 0 }
        return true
    }

    // MARK: - Invariants

    /// Runs `validate()` when compiled with `-D RILL_INTERNAL_CHECKS` (debug builds, so the tests); a
    /// no-op otherwise. Every mutation calls it. `validate()` is O(`count`), so a database of more than
    /// `keysAlwaysValidated` keys is validated only when `changeCount` (one more per change) is a power
    /// of two: O(1) amortized per change, where thousands of keys filled one by one would be quadratic.
    @inline(__always)
    func _checkInvariants() {
        #if RILL_INTERNAL_CHECKS
        if values.count + watchRecords.count <= Database.keysAlwaysValidated || changeCount & (changeCount &- 1) == 0 {
            validate()
        }
        #endif
    }

    #if RILL_INTERNAL_CHECKS
    /// Databases with at most this many keys (and watched keys) are validated after every mutation.
    static let keysAlwaysValidated = 64
    #endif

    /// Checks every invariant in the type's documentation; traps on the first broken one.
    ///
    /// - Complexity: O(`count` + watched keys).
    func validate() {
        scanIndex.validate()
        precondition(scanIndex.count == values.count, "scan index and values differ in size")
        for bucket in scanIndex.buckets {
            for entry in bucket { precondition(values[entry.key] != nil, "scan index holds a key not stored") }
        }
        precondition(expirySlots.count == keysWithExpiry.count, "expiry slots and keys differ in size")
        for (slot, entry) in keysWithExpiry.enumerated() {
            precondition(expirySlots[entry.key] == slot, "expiry slot does not point back")
            precondition(values[entry.key] != nil, "deadline for a key not stored")
        }
        for (_, value) in values {
            precondition(!value.isEmptyCollection, "empty list or set stored")
        }
        for record in watchRecords.values {
            precondition(record.watcherCount > 0, "watch record without watchers")
            precondition(record.version <= changeCount, "watch version from the future")
        }
        precondition(expirySweepPosition <= keysWithExpiry.count, "sweep position out of range")
    }
}

/// The version of a key as WATCH sees it; see `Database.version(of:nowMilliseconds:)`.
public struct KeyVersion: Sendable, Hashable {
    /// The database's `changeCount` at the key's latest change (or when watching started).
    public let rawValue: UInt64
}

/// Per-database counters for INFO's stats section; `Keyspace` sums them.
public struct DatabaseStatistics: Sendable, Hashable {
    /// Reads that found their key (keyspace_hits).
    public var keyspaceHits: UInt64 = 0
    /// Reads that did not find their key (keyspace_misses).
    public var keyspaceMisses: UInt64 = 0
    /// Keys deleted because their deadline passed, lazily or actively (expired_keys).
    public var expiredKeys: UInt64 = 0

    public init() {}

    /// Field-wise sum, for totals over databases.
    public static func + (lhs: DatabaseStatistics, rhs: DatabaseStatistics) -> DatabaseStatistics {
        var sum = lhs
        sum.keyspaceHits &+= rhs.keyspaceHits
        sum.keyspaceMisses &+= rhs.keyspaceMisses
        sum.expiredKeys &+= rhs.expiredKeys
        return sum
    }
}

extension RedisValue {
    /// Whether this is a list or set with no element (which must never be stored).
    var isEmptyCollection: Bool {
        switch self {
        case .list(let list): return list.isEmpty
        case .set(let set): return set.isEmpty
        case .string, .stream: return false
        }
    }
}
