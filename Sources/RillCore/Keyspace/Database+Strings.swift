/// SET's options: the NX/XX condition, what happens to the expiry, and GET.
public struct SetStringOptions: Sendable, Hashable {
    /// When SET writes.
    public enum Condition: Sendable, Hashable {
        /// Always (no NX or XX).
        case always
        /// NX: only if the key does not exist.
        case ifAbsent
        /// XX: only if the key exists.
        case ifPresent
    }

    /// What SET does with the key's deadline.
    public enum Expiry: Sendable, Hashable {
        /// No expiry option: the key ends up without a deadline.
        case remove
        /// KEEPTTL: an existing key keeps its deadline.
        case keep
        /// EX / PX / EXAT / PXAT.
        case set(ExpireTime)
    }

    /// NX / XX; `.always` by default.
    public var condition: Condition
    /// The expiry option; `.remove` by default.
    public var expiry: Expiry
    /// GET: reply with the previous string value (and fail with WRONGTYPE if the key holds another type).
    public var returnPrevious: Bool

    public init(condition: Condition = .always, expiry: Expiry = .remove, returnPrevious: Bool = false) {
        self.condition = condition
        self.expiry = expiry
        self.returnPrevious = returnPrevious
    }
}

/// What SET did.
public struct SetStringResult: Sendable, Hashable {
    /// Whether the value was written (false when NX or XX prevented it).
    public var written: Bool
    /// The previous value when the options asked for it (GET) and the key held one; nil otherwise.
    public var previous: [UInt8]?

    public init(written: Bool, previous: [UInt8]?) {
        self.written = written
        self.previous = previous
    }
}

extension Database {
    /// GET: the string stored under `key`, or nil if absent.
    ///
    /// - Throws: `.wrongType` if the key holds another type.
    /// - Complexity: O(1) average.
    public mutating func stringGet(_ key: [UInt8], nowMilliseconds: Int64) throws(KeyspaceError) -> [UInt8]? {
        guard let index = indexForRead(key, nowMilliseconds: nowMilliseconds) else { return nil }
        guard case .string(let bytes) = values[index] else { throw .wrongType }
        return bytes
    }

    /// SET with its options. The reply is `previous` (bulk or null) when `options.returnPrevious`, else OK when
    /// `written` and null otherwise.
    ///
    /// A positive PXAT/EXAT already in the past is accepted: the key is written and immediately expires, as in Redis.
    ///
    /// - Throws: `.invalidExpireTime(command: "set")` for a non-positive or overflowing time (before anything else);
    ///   `.wrongType` when GET is asked and the key holds another type (without writing).
    /// - Complexity: O(1) average.
    public mutating func stringSet(
        _ value: [UInt8], forKey key: [UInt8], options: SetStringOptions = SetStringOptions(), nowMilliseconds: Int64
    ) throws(KeyspaceError) -> SetStringResult {
        var deadline: Int64?
        if case .set(let time) = options.expiry {
            deadline = try time.deadlineForSet(nowMilliseconds: nowMilliseconds)
        }
        let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds)
        var previous: [UInt8]?
        if options.returnPrevious, let index {
            guard case .string(let bytes) = values[index] else { throw .wrongType }
            previous = bytes
        }
        switch options.condition {
        case .always: break
        case .ifAbsent where index != nil, .ifPresent where index == nil:
            return SetStringResult(written: false, previous: previous)
        case .ifAbsent, .ifPresent: break
        }
        write(.string(value), forKey: key, at: index, keepingExpiry: options.expiry == .keep)
        if let deadline {
            // A deadline already past is stored as it is: like Redis 8, the key counts in DBSIZE until a lookup or
            // the expiry cycle reclaims it (and records that expiration then).
            setDeadline(deadline, of: key)
        }
        _checkInvariants()
        return SetStringResult(written: true, previous: previous)
    }

    /// INCRBY (and INCR, DECR with ±1): adds `increment` to the integer stored as a string under `key` (a missing
    /// key counts as 0), stores the result as its decimal string, keeps any deadline, and returns the result.
    ///
    /// - Throws: `.wrongType`; `.notAnInteger` if the stored string is not a strict integer
    ///   (see ``RedisInteger/parse(_:)``); `.incrementOverflow` if the sum leaves Int64.
    /// - Complexity: O(1) average (the value is at most 20 bytes when it parses).
    public mutating func stringIncrement(
        _ key: [UInt8], by increment: Int64, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int64 {
        guard let index = liveIndex(of: key, nowMilliseconds: nowMilliseconds) else {
            insertNew(.string(RedisInteger.format(increment)), forKey: key)
            _checkInvariants()
            return increment
        }
        guard case .string(let bytes) = values[index] else { throw .wrongType }
        guard let current = RedisInteger.parse(bytes) else { throw .notAnInteger }
        let (sum, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else { throw .incrementOverflow }
        values[index] = .string(RedisInteger.format(sum))
        noteChange(of: key)
        _checkInvariants()
        return sum
    }

    /// DECRBY: `stringIncrement` by `-decrement`.
    ///
    /// - Throws: `.decrementOverflow` for a decrement of Int64.min (before the lookup, as Redis), then as
    ///   `stringIncrement`.
    /// - Complexity: O(1) average.
    public mutating func stringDecrement(
        _ key: [UInt8], by decrement: Int64, nowMilliseconds: Int64
    ) throws(KeyspaceError) -> Int64 {
        guard decrement != .min else { throw .decrementOverflow }
        return try stringIncrement(key, by: -decrement, nowMilliseconds: nowMilliseconds)
    }
}
