import DequeModule

/// The value stored under one key of a ``Database``.
///
/// Bytes are `[UInt8]`, never `String`: Redis keys and values are binary-safe. The collections are value types, so
/// copying a `RedisValue` is cheap (a reference count) until one copy is written; the database mutates its own values
/// in place after moving them out of the enum so that the write does not copy (see `Database.modifyValue`).
public enum RedisValue: Sendable {
    /// A byte string (SET/GET/INCR). The empty string is a valid, present value.
    case string([UInt8])
    /// A list (LPUSH/RPOP...). Never empty while stored: removing the last element deletes the key.
    case list(Deque<[UInt8]>)
    /// An unordered set of distinct members (SADD...). Never empty while stored, like `list`.
    case set(Set<[UInt8]>)
    /// A stream. Unlike lists and sets, an empty stream stays stored (XDEL/XTRIM to zero entries keep the key).
    case stream(Stream)

    /// The kind of value, as the TYPE command names it.
    @inlinable
    public var type: ValueType {
        switch self {
        case .string: return .string
        case .list: return .list
        case .set: return .set
        case .stream: return .stream
        }
    }

    /// The reply of the TYPE command for this value: "string", "list", "set" or "stream".
    @inlinable
    public var typeName: String { type.name }
}

/// The kinds of value a key can hold, as TYPE and SCAN ... TYPE name them.
public enum ValueType: Sendable, Hashable, CaseIterable {
    case string
    case list
    case set
    case stream

    /// The lower-case name Redis uses in TYPE replies and SCAN's TYPE filter.
    @inlinable
    public var name: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .stream: return "stream"
        }
    }

    /// `name` as bytes, for replies written without going through `String`.
    public var nameBytes: [UInt8] { Array(name.utf8) }

    /// The type whose name equals `name` ignoring ASCII case (SCAN's TYPE argument is compared that way), or nil for
    /// a name Redis has but Rill does not store (`hash`, `zset`) or an unknown name.
    ///
    /// - Complexity: O(`name.count`).
    public init?(name: some Collection<UInt8>) {
        guard let type = ValueType.allCases.first(where: { ASCII.equalIgnoringCase(name, $0.name.utf8) }) else {
            return nil
        }
        self = type
    }
}
