/// Constants of Redis' RDB serialization, shared by DUMP payloads and RDB files.
///
/// RDB versions by Redis release: 6.2 writes 9, 7.0 writes 10, 7.2 writes 11, 7.4 to 8.2 write 12. A Redis server
/// refuses a payload or file whose version is newer than its own, and reads every older one.
public enum RDBVersion {
    /// The oldest version Rill reads (Redis 6.2).
    public static let oldestRead: UInt16 = 9
    /// The newest version Rill reads and writes (Redis 7.4 to 8.2).
    public static let newest: UInt16 = 12
}

/// The object type byte that precedes each value, and the version that introduced it.
public enum RDBType: UInt8, Sendable {
    case string = 0
    case list = 1
    case set = 2
    case zset = 3
    case hash = 4
    case zset2 = 5
    case modulePreGA = 6
    case module2 = 7
    case hashZipmap = 9
    case listZiplist = 10
    case setIntset = 11
    case zsetZiplist = 12
    case hashZiplist = 13
    case listQuicklist = 14
    case streamListpacks = 15
    case hashListpack = 16
    case zsetListpack = 17
    case listQuicklist2 = 18
    case streamListpacks2 = 19
    case setListpack = 20
    case streamListpacks3 = 21
    case hashMetadataPreGA = 22
    case hashListpackExPreGA = 23
    case hashMetadata = 24
    case hashListpackEx = 25

    /// The oldest RDB version whose readers know this type (quicklist2, stream listpacks 2, listpack hashes and zsets
    /// came with 10 (Redis 7.0); listpack sets and stream listpacks 3 with 11 (7.2); hash field expiry with 12).
    public var minimumVersion: UInt16 {
        switch self {
        case .hashListpack, .zsetListpack, .listQuicklist2, .streamListpacks2: return 10
        case .setListpack, .streamListpacks3: return 11
        case .hashMetadataPreGA, .hashListpackExPreGA, .hashMetadata, .hashListpackEx: return 12
        default: return 1
        }
    }
}

/// RDB file opcodes: bytes that take the place of a type byte to introduce something other than a key.
public enum RDBOpcode {
    public static let slotInfo: UInt8 = 244
    public static let function2: UInt8 = 245
    public static let functionPreGA: UInt8 = 246
    public static let moduleAux: UInt8 = 247
    public static let idle: UInt8 = 248
    public static let freq: UInt8 = 249
    public static let aux: UInt8 = 250
    public static let resizeDB: UInt8 = 251
    public static let expireTimeMilliseconds: UInt8 = 252
    public static let expireTime: UInt8 = 253
    public static let selectDB: UInt8 = 254
    public static let eof: UInt8 = 255
}

/// Length prefixes: the top two bits of the first byte choose the form.
///
///     00pppppp                      a length below 64
///     01pppppp qqqqqqqq             a length below 16384, big-endian over the 14 bits
///     10000000 + 4 bytes            a 32-bit big-endian length
///     10000001 + 8 bytes            a 64-bit big-endian length
///     11eeeeee                      not a length: a string stored specially, e = 0 int8, 1 int16, 2 int32
///                                   (little-endian), 3 LZF (compressed length, original length, data)
enum RDBLengthForm {
    static let bits6: UInt8 = 0
    static let bits14: UInt8 = 1
    static let bits32: UInt8 = 0x80
    static let bits64: UInt8 = 0x81
    static let encoded: UInt8 = 3
    static let int8: UInt8 = 0
    static let int16: UInt8 = 1
    static let int32: UInt8 = 2
    static let lzf: UInt8 = 3
}

/// Why RDB bytes were refused. `offset` is the position of the offending byte, counted from the start of the bytes
/// given to the reader plus its base (so a file reader reports file offsets, as redis-check-rdb does).
public struct RDBError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at offset \(offset)" }
}
