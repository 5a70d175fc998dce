import DequeModule
import RillCore

/// Which RDB object types a writer may use.
public enum RDBVersionPolicy: Sendable {
    /// The oldest types that represent the value, so the oldest Redis can read it (DUMP): a stream is written as
    /// STREAM_LISTPACKS_2 (RDB 10, Redis 7.0) unless a consumer's active time differs from its seen time, which only
    /// STREAM_LISTPACKS_3 (RDB 11, Redis 7.2) carries.
    case lowest
    /// The newest types of `RDBVersion.newest` (RDB files, which state one version for all keys): streams always
    /// as STREAM_LISTPACKS_3.
    case newest
}

/// Why an RDB object was refused.
public enum RDBObjectError: Error, Equatable, CustomStringConvertible {
    /// The bytes are damaged or inconsistent (Redis: "Bad data format").
    case corrupt(RDBError)
    /// A valid Redis type that Rill does not hold (hash, sorted set, module value...).
    case unsupportedType(UInt8, name: String)

    public var description: String {
        switch self {
        case .corrupt(let error): return error.description
        case .unsupportedType(let type, let name): return "Rill cannot hold a \(name) value (RDB type \(type))"
        }
    }
}

/// Values in Redis' RDB object encoding (the part after the type byte), shared by DUMP payloads and RDB files.
///
/// Written: strings as type 0 (integer and LZF encodings as Redis), lists as type 1 and sets as type 2 (plain
/// sequences of strings: every Redis version reads them and converts to its own encodings), streams as type 19 or 21
/// (see `RDBVersionPolicy`). Read: every list, set and stream encoding of RDB 1 to 12, validated as deeply as Redis'
/// `sanitize-dump-payload yes` (see `read(type:from:)`).
public enum RDBObjectCodec {
    /// Writes `value`'s object encoding and returns its type byte (which the caller writes first: a DUMP payload
    /// starts with it, an RDB file puts it before the key).
    /// - Complexity: O(size of the value).
    @discardableResult
    public static func write(_ value: RedisValue, to output: inout RDBOutput, compress: Bool,
                             version: RDBVersionPolicy) -> UInt8 {
        switch value {
        case .string(let bytes):
            output.string(bytes, compress: compress)
            return RDBType.string.rawValue
        case .list(let list):
            output.length(list.count)
            for element in list { output.string(element, compress: compress) }
            return RDBType.list.rawValue
        case .set(let set):
            output.length(set.count)
            // Sorted, not in hash order: two equal sets (a primary's and its replica's, a value before and after a
            // DUMP/RESTORE) then give the same bytes, which the payload round-trip fuzzer checks.
            for member in set.sorted(by: { $0.lexicographicallyPrecedes($1) }) { output.string(member, compress: compress) }
            return RDBType.set.rawValue
        case .stream(let stream):
            let type = streamType(of: stream, version: version)
            writeStream(stream, type: type, to: &output, compress: compress)
            return type.rawValue
        }
    }

    /// The type byte `write` uses for `value`.
    public static func type(of value: RedisValue, version: RDBVersionPolicy) -> RDBType {
        switch value {
        case .string: return .string
        case .list: return .list
        case .set: return .set
        case .stream(let stream): return streamType(of: stream, version: version)
        }
    }

    /// The oldest RDB version a reader needs for `write`'s encoding of `value` (at least `RDBVersion.oldestRead`).
    public static func minimumVersion(of value: RedisValue, version: RDBVersionPolicy) -> UInt16 {
        max(RDBVersion.oldestRead, type(of: value, version: version).minimumVersion)
    }

    static func streamType(of stream: RillCore.Stream, version: RDBVersionPolicy) -> RDBType {
        if case .newest = version { return .streamListpacks3 }
        // Type 19 has no active time; Redis 7.2+ loads it as the seen time, so only a difference needs type 21.
        let needsActiveTime = stream.consumerGroups.contains { group in
            group.consumers.contains { $0.activeTime != $0.seenTime }
        }
        return needsActiveTime ? .streamListpacks3 : .streamListpacks2
    }

    /// Reads an object of type `type`, validating everything: lengths against the bytes left, listpacks, ziplists
    /// and intsets in full, no duplicate set members, no empty collections, streams as `readStream` describes.
    /// - Throws: `RDBObjectError.unsupportedType` for valid Redis types Rill does not hold, `.corrupt` otherwise.
    /// - Complexity: O(encoded size), plus O(n log n) to order consumer groups' pending entries.
    public static func read(type: UInt8, from input: inout RDBInput) throws(RDBObjectError) -> RedisValue {
        do {
            guard let known = RDBType(rawValue: type) else {
                throw input.failure("unknown RDB type \(type)")
            }
            switch known {
            case .string:
                return .string(try input.string())
            case .list, .listZiplist, .listQuicklist, .listQuicklist2:
                return .list(try readList(known, from: &input))
            case .set, .setIntset, .setListpack:
                return .set(try readSet(known, from: &input))
            case .streamListpacks, .streamListpacks2, .streamListpacks3:
                return .stream(try readStream(known, from: &input))
            case .zset, .zset2, .zsetZiplist, .zsetListpack:
                throw RDBObjectError.unsupportedType(type, name: "sorted set")
            case .hash, .hashZipmap, .hashZiplist, .hashListpack, .hashMetadataPreGA, .hashListpackExPreGA,
                 .hashMetadata, .hashListpackEx:
                throw RDBObjectError.unsupportedType(type, name: "hash")
            case .modulePreGA, .module2:
                throw RDBObjectError.unsupportedType(type, name: "module")
            }
        } catch let error as RDBObjectError {
            throw error
        } catch let error as RDBError {
            throw .corrupt(error)
        } catch {
            throw .corrupt(input.failure("\(error)"))
        }
    }

    static func readList(_ type: RDBType, from input: inout RDBInput) throws(RDBError) -> Deque<[UInt8]> {
        let start = input.offset
        var list = Deque<[UInt8]>()
        switch type {
        case .list:
            let count = try input.count()
            list.reserveCapacity(count)
            for _ in 0..<count { list.append(try input.string()) }
        case .listZiplist:
            let ziplistStart = input.offset
            list.append(contentsOf: try elements(ofZiplist: try input.string(), at: ziplistStart).map(\.bytes))
        case .listQuicklist:
            let nodes = try input.count()
            for _ in 0..<nodes {
                let nodeStart = input.offset
                // Redis skips empty nodes; an empty list as a whole is refused below.
                list.append(contentsOf: try elements(ofZiplist: try input.string(), at: nodeStart).map(\.bytes))
            }
        default:  // .listQuicklist2
            let nodes = try input.count()
            for _ in 0..<nodes {
                let containerStart = input.offset
                let container = try input.length()
                let nodeStart = input.offset
                let node = try input.string()
                switch container {
                case 1:  // a plain node: one large element
                    list.append(node)
                case 2:  // a packed node: a listpack
                    list.append(contentsOf: try elements(ofListpack: node, at: nodeStart).map(\.bytes))
                default:
                    throw input.failure("unknown quicklist container \(container)", at: containerStart)
                }
            }
        }
        guard !list.isEmpty else { throw input.failure("empty list", at: start) }
        return list
    }

    static func readSet(_ type: RDBType, from input: inout RDBInput) throws(RDBError) -> Set<[UInt8]> {
        let start = input.offset
        var set = Set<[UInt8]>()
        func insert(_ member: [UInt8], at offset: Int) throws(RDBError) {
            guard set.insert(member).inserted else { throw input.failure("duplicate set member", at: offset) }
        }
        switch type {
        case .set:
            let count = try input.count()
            set.reserveCapacity(count)
            for _ in 0..<count {
                let memberStart = input.offset
                try insert(try input.string(), at: memberStart)
            }
        case .setIntset:
            let intsetStart = input.offset
            let intset = try input.string()
            do {
                for member in try IntsetReader.members(of: intset) { set.insert(RedisInteger.format(member)) }
            } catch {
                throw input.failure(error.reason, at: intsetStart + error.offset)
            }
        default:  // .setListpack
            let listpackStart = input.offset
            for element in try elements(ofListpack: try input.string(), at: listpackStart) {
                try insert(element.bytes, at: listpackStart)
            }
        }
        guard !set.isEmpty else { throw input.failure("empty set", at: start) }
        return set
    }

    /// A listpack's elements; failures name the offset of the string holding it.
    static func elements(ofListpack listpack: [UInt8], at offset: Int) throws(RDBError) -> [ListpackElement] {
        do {
            return try ListpackReader.elements(of: listpack)
        } catch {
            throw RDBError(offset: offset, reason: "listpack: \(error.reason) (offset \(error.offset) inside)")
        }
    }

    static func elements(ofZiplist ziplist: [UInt8], at offset: Int) throws(RDBError) -> [ListpackElement] {
        do {
            return try ZiplistReader.elements(of: ziplist)
        } catch {
            throw RDBError(offset: offset, reason: "\(error.reason) (offset \(error.offset) inside)")
        }
    }
}
