/// Why a keyspace operation refused to run. The server words each case as Redis 7 does (RillServer's
/// `CoreErrorReplies.swift`); RillCore carries only the case and the data the wording needs.
///
/// Operations check in Redis's order: argument errors (`invalidExpireTime`, `notPositive`) before the key is looked
/// up, then `wrongType`, then value errors (`notAnInteger`, `incrementOverflow`). An operation that throws has changed
/// nothing.
public enum KeyspaceError: Error, Hashable, Sendable {
    /// The key holds a value of another type than the command works on.
    case wrongType
    /// A stored string or an argument is not a strict 64-bit decimal integer (see ``RedisInteger/parse(_:)``).
    case notAnInteger
    /// INCR/INCRBY/DECR/DECRBY would leave the signed 64-bit range.
    case incrementOverflow
    /// DECRBY was given -9223372036854775808, whose negation does not fit; Redis rejects it before the lookup.
    case decrementOverflow
    /// RENAME or RENAMENX of a key that does not exist.
    case noSuchKey
    /// An expire time that is out of range once converted to absolute milliseconds, or (for SET and GETEX) not
    /// positive. `command` is the lower-case name of the command that was given the time ("expire", "set", ...).
    case invalidExpireTime(command: String)
    /// LSET of an index outside the list.
    case indexOutOfRange
    /// A count that must be positive was negative (LPOP/RPOP's count).
    case notPositive
    /// EXPIRE-family options: NX together with XX, GT or LT.
    case expireNXWithOtherOptions
    /// EXPIRE-family options: GT together with LT.
    case expireGTWithLT
    /// EXPIRE-family options: an argument that is none of NX, XX, GT, LT (carried as given).
    case unsupportedExpireOption([UInt8])
}
