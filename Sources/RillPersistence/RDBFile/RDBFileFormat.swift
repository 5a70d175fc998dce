// # Snapshot files: Redis' RDB layout
//
// `dbfilename` (default `dump.rdb`), the append-only base `appendonly.aof.<n>.base.rdb` and the payload of SYNC
// are RDB files, the format redis-server writes, so either server starts on the other's file. Lengths, strings
// and objects are the RDB primitives of RDBOutput/RDBInput and RDBObjectCodec (Sources/RillPersistence/RDB).
//
//     "REDIS" + the RDB version as 4 ASCII digits ("0010")
//     AUX "redis-ver"  the Redis version Rill announces (INFO's redis_version)
//     AUX "redis-bits" 64
//     AUX "ctime"      Unix seconds when the snapshot was taken
//     AUX "used-mem"   bytes allocated at that time
//     AUX "aof-base"   1 in an append-only base, else 0
//     AUX "rill-ver"   Rill's own version (Redis skips AUX fields it does not know)
//     per non-empty database:
//         SELECTDB <index>, RESIZEDB <keys> <keys with a deadline>
//         per key: [EXPIRETIME_MS <8 bytes LE Unix ms>] <type byte> <key string> <object>
//                  [AUX "rill-stream" <RDB length of the key> <key> <Rill-only stream state>]
//     EOF, then the CRC-64 (Redis' crc64, Jones polynomial) of every byte before it, little-endian; 8 zero bytes
//     when `rdbchecksum no`, which readers take as "not checked", as Redis does.
//
// Rill-only stream state (group policies and dead-letter counters, idempotent-producer records, entries released
// by XNACK: `RDBObjectCodec.rillOnlyState(of:)`) follows its stream as an AUX field: Redis loads the stream and
// skips the field, Rill applies it to the stream just loaded. It names the key so that it can never land on
// another one.
//
// The version written is the lowest one whose readers know every object in the file (see
// `RDBFileWriter.fileVersion`): a keyspace of strings, lists, sets and streams is written as version 10, which
// Redis 7.0 (the oldest release Rill interoperates with) reads, and Redis 7.2 to 8.2 read every older version.
//
// Loading (RDBFileReader) accepts versions 9 to 12 (Redis 6.2 to 8.2) and every opcode those write: AUX,
// SELECTDB, RESIZEDB, EXPIRETIME and EXPIRETIME_MS, IDLE and FREQ (access hints), SLOT_INFO (cluster hints).
// It refuses, naming the key or the opcode, what Rill cannot hold rather than dropping it: hashes, sorted sets
// and module values, function libraries (FUNCTION2), module AUX data, and databases beyond `databases`.

/// Constants of the RDB file layer; the layout is described at the top of this file.
public enum RDBFileFormat {
    /// The first five bytes of every RDB file; four version digits follow.
    public static let magic: [UInt8] = Array("REDIS".utf8)
    /// Bytes of magic and version digits.
    static let headerSize = 9
    /// Bytes of the checksum after the EOF opcode.
    static let checksumSize = 8
    /// The AUX field carrying a stream's Rill-only state, after the stream's key.
    public static let rillStreamStateField: [UInt8] = Array("rill-stream".utf8)
    /// The AUX field naming the Rill version that wrote the file.
    static let rillVersionField: [UInt8] = Array("rill-ver".utf8)
    /// Buffered records are handed to the output once they reach this many bytes.
    static let flushThreshold = 1 << 20

    /// The header for RDB `version`: magic and four decimal digits.
    static func header(version: UInt16) -> [UInt8] {
        let digits = String(version)
        return magic + Array((String(repeating: "0", count: max(0, 4 - digits.count)) + digits).utf8)
    }

    /// The type name TYPE would give a value of RDB type `type` that Rill cannot hold, for refusal messages; nil
    /// for the types Rill holds and for unknown bytes.
    static func unsupportedTypeName(_ type: UInt8) -> String? {
        switch RDBType(rawValue: type) {
        case .hash, .hashZipmap, .hashZiplist, .hashListpack, .hashMetadataPreGA, .hashListpackExPreGA,
             .hashMetadata, .hashListpackEx:
            return "hash"
        case .zset, .zset2, .zsetZiplist, .zsetListpack: return "zset"
        case .modulePreGA, .module2: return "module value"
        default: return nil
        }
    }
}

/// What the writer puts in a file's AUX fields and how it encodes values.
public struct RDBFileOptions: Sendable {
    /// `rdbcompression`: strings longer than 20 bytes are LZF-compressed when that pays.
    public var compress: Bool
    /// `rdbchecksum`: the trailing CRC-64 is computed (else 8 zero bytes).
    public var checksum: Bool
    /// When the snapshot was taken (Unix ms); `ctime` holds its seconds.
    public var createdAtMilliseconds: Int64
    /// Bytes allocated when the snapshot was taken (`used-mem`).
    public var usedMemoryBytes: Int
    /// Whether the file is an append-only base (`aof-base` 1).
    public var isAppendOnlyBase: Bool
    /// `redis-ver`: the Redis version the server announces.
    public var redisVersion: String
    /// `rill-ver`: Rill's own version.
    public var rillVersion: String

    public init(compress: Bool = true, checksum: Bool = true, createdAtMilliseconds: Int64, usedMemoryBytes: Int = 0,
                isAppendOnlyBase: Bool = false, redisVersion: String, rillVersion: String) {
        self.compress = compress
        self.checksum = checksum
        self.createdAtMilliseconds = createdAtMilliseconds
        self.usedMemoryBytes = usedMemoryBytes
        self.isAppendOnlyBase = isAppendOnlyBase
        self.redisVersion = redisVersion
        self.rillVersion = rillVersion
    }
}
