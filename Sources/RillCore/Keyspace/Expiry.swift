/// An expire time as a command states it, before it is turned into an absolute deadline.
///
/// The four cases are the four ways Redis commands express a time to live: EX / EXPIRE (relative seconds),
/// PX / PEXPIRE (relative milliseconds), EXAT / EXPIREAT (Unix seconds), PXAT / PEXPIREAT (Unix milliseconds).
public enum ExpireTime: Sendable, Hashable {
    case relativeSeconds(Int64)
    case relativeMilliseconds(Int64)
    case unixSeconds(Int64)
    case unixMilliseconds(Int64)

    /// The EXPIRE-family command that takes this form, as Redis names it in "invalid expire time" errors.
    public var expireCommandName: String {
        switch self {
        case .relativeSeconds: return "expire"
        case .relativeMilliseconds: return "pexpire"
        case .unixSeconds: return "expireat"
        case .unixMilliseconds: return "pexpireat"
        }
    }

    /// The absolute deadline in Unix milliseconds, with EXPIRE's rules: any sign is accepted (a deadline at or before
    /// now deletes the key), but the conversion to milliseconds and the addition of `nowMilliseconds` must not
    /// overflow Int64, else `.invalidExpireTime(command:)` naming `expireCommandName`.
    ///
    /// - Complexity: O(1).
    public func deadlineForExpire(nowMilliseconds: Int64) throws(KeyspaceError) -> Int64 {
        guard let deadline = absoluteMilliseconds(nowMilliseconds: nowMilliseconds) else {
            throw .invalidExpireTime(command: expireCommandName)
        }
        return deadline
    }

    /// The absolute deadline in Unix milliseconds, with SET's and GETEX's rules: like `deadlineForExpire`, but the
    /// amount given must also be positive (EX 0, PXAT -5 are errors; a positive PXAT in the past is accepted).
    ///
    /// - Complexity: O(1).
    public func deadlineForSet(nowMilliseconds: Int64, command: String = "set") throws(KeyspaceError) -> Int64 {
        guard amount > 0, let deadline = absoluteMilliseconds(nowMilliseconds: nowMilliseconds) else {
            throw .invalidExpireTime(command: command)
        }
        return deadline
    }

    /// The number the command was given, in its own unit.
    public var amount: Int64 {
        switch self {
        case .relativeSeconds(let amount), .relativeMilliseconds(let amount),
            .unixSeconds(let amount), .unixMilliseconds(let amount):
            return amount
        }
    }

    /// Absolute milliseconds, or nil when Redis would call the time invalid: seconds whose conversion leaves Int64,
    /// or a relative time whose sum with now exceeds Int64.max.
    private func absoluteMilliseconds(nowMilliseconds: Int64) -> Int64? {
        let milliseconds: Int64
        switch self {
        case .relativeSeconds(let seconds), .unixSeconds(let seconds):
            let (product, overflow) = seconds.multipliedReportingOverflow(by: 1000)
            guard !overflow else { return nil }
            milliseconds = product
        case .relativeMilliseconds(let value), .unixMilliseconds(let value):
            milliseconds = value
        }
        switch self {
        case .relativeSeconds, .relativeMilliseconds:
            let (sum, overflow) = milliseconds.addingReportingOverflow(nowMilliseconds)
            return overflow ? nil : sum
        case .unixSeconds, .unixMilliseconds:
            return milliseconds
        }
    }
}

/// The NX / XX / GT / LT options of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (Redis 7).
///
/// Invariant: `onlyIfNoExpiry` excludes the other three; `onlyIfGreater` excludes `onlyIfLess`. XX may combine with
/// GT or LT; repeating an option is allowed.
public struct ExpireCondition: Sendable, Hashable {
    /// NX: set only when the key has no expiry.
    public private(set) var onlyIfNoExpiry = false
    /// XX: set only when the key already has an expiry.
    public private(set) var onlyIfHasExpiry = false
    /// GT: set only when the new deadline is later than the current one; a key without expiry counts as expiring
    /// never, so GT never applies to it.
    public private(set) var onlyIfGreater = false
    /// LT: set only when the new deadline is earlier than the current one; always applies to a key without expiry.
    public private(set) var onlyIfLess = false

    /// No option: always set.
    public static let always = ExpireCondition()

    public init() {}

    /// Parses the option arguments after the time, ASCII case-insensitively, checking them in Redis's order (an
    /// unknown option first, then NX with others, then GT with LT).
    ///
    /// - Complexity: O(total bytes of `options`).
    public init<Options: Sequence>(parsing options: Options) throws(KeyspaceError)
    where Options.Element: Collection, Options.Element.Element == UInt8 {
        for option in options {
            if ASCII.equalIgnoringCase(option, "nx".utf8) {
                onlyIfNoExpiry = true
            } else if ASCII.equalIgnoringCase(option, "xx".utf8) {
                onlyIfHasExpiry = true
            } else if ASCII.equalIgnoringCase(option, "gt".utf8) {
                onlyIfGreater = true
            } else if ASCII.equalIgnoringCase(option, "lt".utf8) {
                onlyIfLess = true
            } else {
                throw .unsupportedExpireOption(Array(option))
            }
        }
        if onlyIfNoExpiry && (onlyIfHasExpiry || onlyIfGreater || onlyIfLess) { throw .expireNXWithOtherOptions }
        if onlyIfGreater && onlyIfLess { throw .expireGTWithLT }
    }

    /// Whether a key whose current deadline is `current` (nil: no expiry) may take the deadline `new`.
    ///
    /// - Complexity: O(1).
    public func allows(newDeadline new: Int64, currentDeadline current: Int64?) -> Bool {
        if onlyIfNoExpiry && current != nil { return false }
        if onlyIfHasExpiry && current == nil { return false }
        if onlyIfGreater {
            guard let current, new > current else { return false }
        }
        if onlyIfLess, let current, new >= current { return false }
        return true
    }
}

/// What TTL-family commands learn about a key's expiry.
public enum KeyExpiry: Sendable, Hashable {
    /// The key does not exist (or has just expired).
    case noSuchKey
    /// The key exists and never expires.
    case persistent
    /// The key exists and expires at this Unix time in milliseconds.
    case deadline(Int64)

    /// The integer TTL, PTTL, EXPIRETIME or PEXPIRETIME replies: -2 for no key, -1 for no expiry, else the remaining
    /// time (`absolute` false) or the deadline (`absolute` true), in milliseconds or in seconds rounded to nearest.
    /// A remaining time is never negative: a key at its deadline reports 0.
    ///
    /// - Complexity: O(1).
    public func reply(inMilliseconds: Bool, absolute: Bool, nowMilliseconds: Int64) -> Int64 {
        switch self {
        case .noSuchKey: return -2
        case .persistent: return -1
        case .deadline(let deadline):
            let milliseconds = max(0, absolute ? deadline : deadline &- nowMilliseconds)
            guard !inMilliseconds else { return milliseconds }
            // Unsigned so that rounding a deadline near Int64.max does not wrap (redis-server replies
            // 9223372036854776 for a PEXPIRETIME of 9223372036854775807).
            return Int64((UInt64(milliseconds) + 500) / 1000)
        }
    }
}
