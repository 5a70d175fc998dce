import DequeModule

/// What OBJECT ENCODING, DEBUG OBJECT and MEMORY USAGE report about a stored value.
///
/// Rill stores every list as a deque and every set as a hash set, so the encoding is the one Redis 8.2 would pick
/// for the same contents with its default thresholds (list-max-listpack-size -2, set-max-intset-entries 512,
/// set-max-listpack-entries 128, set-max-listpack-value 64). Redis decides when a value is written and never goes
/// back from a larger encoding, so a value that grew and then shrank can differ; a value written at once matches.
public enum ValueEncoding: String, Sendable {
    case int, embstr, raw, listpack, quicklist, intset, hashtable, stream

    /// Bytes of a list's listpack above which Redis 8.2 makes it a quicklist (list-max-listpack-size -2: 8 KB).
    public static let listpackByteLimit = 8192
    /// set-max-intset-entries, set-max-listpack-entries and set-max-listpack-value of Redis 8.2.
    public static let intsetEntryLimit = 512
    public static let setListpackEntryLimit = 128
    public static let setListpackValueLimit = 64
    /// Redis 8.2 embeds a string in its object (embstr) when key and value together take at most this many bytes,
    /// eight fewer when the key has an expiry (the deadline is embedded too): measured against Redis 8.2.3.
    static let embeddedKeyAndValueLimit = 41
}

extension RedisValue {
    /// The encoding Redis 8.2 would report for this value stored under a key of `keyLength` bytes, with or without
    /// a deadline (strings only depend on those).
    /// - Complexity: O(n) for lists and sets (every element is examined), O(1) otherwise.
    public func encoding(keyLength: Int, hasDeadline: Bool) -> ValueEncoding {
        switch self {
        case .string(let bytes):
            if bytes.count <= 20, RedisInteger.parse(bytes) != nil { return .int }
            let room = ValueEncoding.embeddedKeyAndValueLimit - (hasDeadline ? 8 : 0)
            return keyLength + bytes.count <= room ? .embstr : .raw
        case .list(let list):
            return ListpackLayout.bytes(of: list) > ValueEncoding.listpackByteLimit ? .quicklist : .listpack
        case .set(let set):
            if set.count <= ValueEncoding.intsetEntryLimit, set.allSatisfy({ RedisInteger.parse($0) != nil }) {
                return .intset
            }
            if set.count <= ValueEncoding.setListpackEntryLimit,
               set.allSatisfy({ $0.count <= ValueEncoding.setListpackValueLimit }) {
                return .listpack
            }
            return .hashtable
        case .stream:
            return .stream
        }
    }
}

/// How Redis lays a list out in listpacks: the size of one listpack holding elements, and the nodes of a quicklist
/// (DEBUG OBJECT's ql_* figures).
public enum ListpackLayout {
    /// Bytes of one element in a listpack (canonical integers are stored as integers).
    @inline(__always)
    static func elementBytes(_ element: [UInt8]) -> Int {
        let integer = element.count <= 20 ? RedisInteger.parse(element) : nil
        return ListpackSize.element(byteCount: element.count, integer: integer)
    }

    /// Bytes of a single listpack holding every element of `list`.
    /// - Complexity: O(n).
    public static func bytes(of list: Deque<[UInt8]>) -> Int {
        list.reduce(ListpackSize.emptyListpack) { $0 + elementBytes($1) }
    }

    /// The quicklist nodes Redis would fill with `list`, appending in order and starting a node when the next
    /// element would take the current one past `ValueEncoding.listpackByteLimit`: (node count, total bytes).
    /// - Complexity: O(n).
    public static func quicklistNodes(of list: Deque<[UInt8]>) -> (nodes: Int, bytes: Int) {
        var nodes = 0
        var total = 0
        var current = 0
        for element in list {
            let size = elementBytes(element)
            if nodes == 0 || current + size > ValueEncoding.listpackByteLimit {
                total += current
                nodes += 1
                current = ListpackSize.emptyListpack
            }
            current += size
        }
        return (nodes, total + current)
    }
}

extension RedisValue {
    /// The address of the value's heap storage (DEBUG OBJECT's "Value at"): the byte array, deque or hash storage,
    /// or a stream's block index; 0 for a value with none (an empty string shares a static singleton).
    public var storageAddress: UInt {
        switch self {
        case .string(let bytes): return Self.address(of: bytes)
        case .list(let list): return Self.address(of: list)
        case .set(let set): return Self.address(of: set)
        case .stream(let stream): return Self.address(of: stream.blocks)
        }
    }

    /// The one reference a copy-on-write collection consists of, as an integer.
    private static func address<Collection>(of collection: Collection) -> UInt {
        // Array, Set and Deque are each a single reference to their storage; anything else reports no address.
        guard MemoryLayout<Collection>.size == MemoryLayout<UInt>.size else { return 0 }
        return unsafeBitCast(collection, to: UInt.self)
    }
}

extension Database {
    /// Bytes of the key table and SCAN index slots, and of the expiry index, beyond the keys and values themselves
    /// (MEMORY STATS `overhead.hashtable.main` and `overhead.hashtable.expires`).
    public var indexOverhead: (main: Int, expires: Int) {
        let main = count * (MemoryLayout<[UInt8]>.stride + MemoryLayout<KeyTable.Entry>.stride
            + MemoryLayout<KeyHashIndex.Entry>.stride)
        let expires = expiresCount * (MemoryLayout<[UInt8]>.stride + MemoryLayout<Int>.stride
            + MemoryLayout<KeyWithExpiry>.stride)
        return (main, expires)
    }
}
