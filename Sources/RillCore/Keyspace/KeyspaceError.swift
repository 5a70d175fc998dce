/// Why a keyspace operation refused to run. Each case knows the exact error line Redis 7 sends for it, so a command
/// handler can reply with `redisMessage` and nothing else.
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
    /// positive. `command` is the lower-case command name Redis puts in the message ("expire", "set", ...).
    case invalidExpireTime(command: String)
    /// A count that must be positive was negative (LPOP/RPOP's count).
    case notPositive
    /// EXPIRE-family options: NX together with XX, GT or LT.
    case expireNXWithOtherOptions
    /// EXPIRE-family options: GT together with LT.
    case expireGTWithLT
    /// EXPIRE-family options: an argument that is none of NX, XX, GT, LT (carried as given).
    case unsupportedExpireOption([UInt8])

    /// The full error line Redis sends for this error, without the leading '-' and trailing CRLF.
    public var redisMessage: String {
        switch self {
        case .wrongType: return "WRONGTYPE Operation against a key holding the wrong kind of value"
        case .notAnInteger: return "ERR value is not an integer or out of range"
        case .incrementOverflow: return "ERR increment or decrement would overflow"
        case .decrementOverflow: return "ERR decrement would overflow"
        case .noSuchKey: return "ERR no such key"
        case .invalidExpireTime(let command): return "ERR invalid expire time in '\(command)' command"
        case .notPositive: return "ERR value is out of range, must be positive"
        case .expireNXWithOtherOptions: return "ERR NX and XX, GT or LT options at the same time are not compatible"
        case .expireGTWithLT: return "ERR GT and LT options at the same time are not compatible"
        case .unsupportedExpireOption(let option):
            return "ERR Unsupported option \(String(decoding: option, as: UTF8.self))"
        }
    }
}
