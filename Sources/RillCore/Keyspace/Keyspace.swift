/// All databases of a server (SELECT 0 ... n-1), with the operations that span them.
///
/// Invariant: the number of databases is fixed at creation and at least 1.
public struct Keyspace: Sendable {
    /// The databases, by index; the count never changes.
    public var databases: [Database] { storage }
    /// The storage of `databases`. Visible to inlined code so that the subscript below is inlined into its callers:
    /// called across modules, its `_modify` coroutine needed a heap-allocated frame, an allocation per command.
    @usableFromInline var storage: [Database]

    /// Redis's default for the `databases` setting.
    public static let defaultDatabaseCount = 16

    /// `databaseCount` empty databases.
    public init(databaseCount: Int = Keyspace.defaultDatabaseCount) {
        precondition(databaseCount >= 1, "a keyspace has at least one database")
        storage = Array(repeating: Database(), count: databaseCount)
    }

    /// Number of databases (the `databases` setting); SELECT accepts 0..<databaseCount.
    public var databaseCount: Int { storage.count }

    /// Database `index`, which must be in 0..<databaseCount; mutations through the subscript happen in place.
    @inlinable
    public subscript(index: Int) -> Database {
        get { storage[index] }
        // An addressor, not `_modify`: a `_modify` coroutine called from another module needs a heap-allocated
        // frame, an allocation per command.
        unsafeMutableAddress { address(ofDatabase: index) }
    }

    /// Where database `index` is, for in-place mutation (the subscript's, and `CommandContext.database`'s, in the
    /// server). Valid until the keyspace is next copied or changed other than through the pointer: use it at once.
    @inlinable
    public mutating func address(ofDatabase index: Int) -> UnsafeMutablePointer<Database> {
        precondition(index >= 0 && index < storage.count, "database index out of range")
        // Made unique first (a snapshot may share the storage), so the write goes to this keyspace's own copy.
        return storage.withUnsafeMutableBufferPointer { $0.baseAddress! + index }
    }

    /// FLUSHALL: empties every database.
    ///
    /// - Complexity: O(total keys).
    public mutating func removeAll() {
        for index in storage.indices { storage[index].removeAll() }
    }

    /// Sets `Database.touchesKeys` of database `index`; writes only when it changes, so the per-command call copies
    /// nothing a snapshot shares.
    ///
    /// - Complexity: O(1).
    public mutating func setTouchesKeys(_ touches: Bool, inDatabase index: Int) {
        if storage[index].touchesKeys != touches { storage[index].touchesKeys = touches }
    }

    /// Sets `Database.isExpiryPaused` of every database.
    public mutating func setExpiryPaused(_ paused: Bool) {
        for index in storage.indices { storage[index].isExpiryPaused = paused }
    }

    /// Sets `Database.keepsExpiredKeys` of every database.
    public mutating func setKeepsExpiredKeys(_ keeps: Bool) {
        for index in storage.indices { storage[index].keepsExpiredKeys = keeps }
    }

    /// Sets `Database.recordsExpiredKeys` of every database.
    public mutating func setRecordsExpiredKeys(_ records: Bool) {
        for index in storage.indices { storage[index].recordsExpiredKeys = records }
    }

    /// Total keys over all databases.
    ///
    /// - Complexity: O(databaseCount).
    public var keyCount: Int { storage.reduce(0) { $0 + $1.count } }

    /// Total keys with a deadline over all databases.
    ///
    /// - Complexity: O(databaseCount).
    public var expiresCount: Int { storage.reduce(0) { $0 + $1.expiresCount } }

    /// Sum of every database's INFO counters.
    ///
    /// - Complexity: O(databaseCount).
    public var statistics: DatabaseStatistics { storage.reduce(DatabaseStatistics()) { $0 + $1.statistics } }

    /// Sum of every database's `changeCount`.
    ///
    /// - Complexity: O(databaseCount).
    public var changeCount: UInt64 { storage.reduce(0) { $0 &+ $1.changeCount } }

    /// Active expiry over every database, each with its own `maxChecks` budget; returns the keys deleted.
    ///
    /// - Complexity: O(databaseCount × maxChecks).
    public mutating func removeExpiredKeys(nowMilliseconds: Int64, maxChecksPerDatabase: Int = 200) -> Int {
        var removed = 0
        for index in storage.indices where storage[index].expiresCount > 0 {
            removed += storage[index].removeExpiredKeys(
                nowMilliseconds: nowMilliseconds, maxChecks: maxChecksPerDatabase)
        }
        return removed
    }

    /// One line of INFO's keyspace section per non-empty database, in index order:
    /// `db<index>:keys=<count>,expires=<expiresCount>,avg_ttl=<averageTimeToLive>,subexpiry=0`.
    ///
    /// - Complexity: O(databaseCount + keys with a deadline).
    public func infoKeyspaceLines(nowMilliseconds: Int64) -> [String] {
        storage.indices.compactMap { index in
            let database = storage[index]
            guard !database.isEmpty else { return nil }
            let averageTTL = database.averageTimeToLive(nowMilliseconds: nowMilliseconds)
            // subexpiry: keys with hash fields that expire, which Rill does not store.
            return "db\(index):keys=\(database.count),expires=\(database.expiresCount),avg_ttl=\(averageTTL),subexpiry=0"
        }
    }
}
