/// All databases of a server (SELECT 0 ... n-1), with the operations that span them.
///
/// Invariant: the number of databases is fixed at creation and at least 1.
public struct Keyspace: Sendable {
    /// The databases, by index; the count never changes.
    public private(set) var databases: [Database]

    /// Redis's default for the `databases` setting.
    public static let defaultDatabaseCount = 16

    /// `databaseCount` empty databases.
    public init(databaseCount: Int = Keyspace.defaultDatabaseCount) {
        precondition(databaseCount >= 1, "a keyspace has at least one database")
        databases = Array(repeating: Database(), count: databaseCount)
    }

    /// Number of databases (the `databases` setting); SELECT accepts 0..<databaseCount.
    public var databaseCount: Int { databases.count }

    /// Database `index`, which must be in 0..<databaseCount; mutations through the subscript happen in place.
    public subscript(index: Int) -> Database {
        get { databases[index] }
        _modify { yield &databases[index] }
    }

    /// FLUSHALL: empties every database.
    ///
    /// - Complexity: O(total keys).
    public mutating func removeAll() {
        for index in databases.indices { databases[index].removeAll() }
    }

    /// Sets `Database.touchesKeys` of database `index`; writes only when it changes, so the per-command call copies
    /// nothing a snapshot shares.
    ///
    /// - Complexity: O(1).
    public mutating func setTouchesKeys(_ touches: Bool, inDatabase index: Int) {
        if databases[index].touchesKeys != touches { databases[index].touchesKeys = touches }
    }

    /// Sets `Database.isExpiryPaused` of every database.
    public mutating func setExpiryPaused(_ paused: Bool) {
        for index in databases.indices { databases[index].isExpiryPaused = paused }
    }

    /// Sets `Database.keepsExpiredKeys` of every database.
    public mutating func setKeepsExpiredKeys(_ keeps: Bool) {
        for index in databases.indices { databases[index].keepsExpiredKeys = keeps }
    }

    /// Sets `Database.recordsExpiredKeys` of every database.
    public mutating func setRecordsExpiredKeys(_ records: Bool) {
        for index in databases.indices { databases[index].recordsExpiredKeys = records }
    }

    /// Total keys over all databases.
    ///
    /// - Complexity: O(databaseCount).
    public var keyCount: Int { databases.reduce(0) { $0 + $1.count } }

    /// Total keys with a deadline over all databases.
    ///
    /// - Complexity: O(databaseCount).
    public var expiresCount: Int { databases.reduce(0) { $0 + $1.expiresCount } }

    /// Sum of every database's INFO counters.
    ///
    /// - Complexity: O(databaseCount).
    public var statistics: DatabaseStatistics { databases.reduce(DatabaseStatistics()) { $0 + $1.statistics } }

    /// Sum of every database's `changeCount`.
    ///
    /// - Complexity: O(databaseCount).
    public var changeCount: UInt64 { databases.reduce(0) { $0 &+ $1.changeCount } }

    /// Active expiry over every database, each with its own `maxChecks` budget; returns the keys deleted.
    ///
    /// - Complexity: O(databaseCount × maxChecks).
    public mutating func removeExpiredKeys(nowMilliseconds: Int64, maxChecksPerDatabase: Int = 200) -> Int {
        var removed = 0
        for index in databases.indices where databases[index].expiresCount > 0 {
            removed += databases[index].removeExpiredKeys(
                nowMilliseconds: nowMilliseconds, maxChecks: maxChecksPerDatabase)
        }
        return removed
    }

    /// One line of INFO's keyspace section per non-empty database, in index order:
    /// `db<index>:keys=<count>,expires=<expiresCount>,avg_ttl=<averageTimeToLive>,subexpiry=0`.
    ///
    /// - Complexity: O(databaseCount + keys with a deadline).
    public func infoKeyspaceLines(nowMilliseconds: Int64) -> [String] {
        databases.indices.compactMap { index in
            let database = databases[index]
            guard !database.isEmpty else { return nil }
            let averageTTL = database.averageTimeToLive(nowMilliseconds: nowMilliseconds)
            // subexpiry: keys with hash fields that expire, which Rill does not store.
            return "db\(index):keys=\(database.count),expires=\(database.expiresCount),avg_ttl=\(averageTTL),subexpiry=0"
        }
    }
}
