import RillCore

// The Redis wording of RillCore's typed errors. RillCore says what went wrong; the text a client
// sees is the server's business, so every line lives here (checked against redis-server 7.0.15).

extension StreamError: RedisErrorConvertible {
    var redisError: RedisError {
        switch self {
        case .invalidID: return RedisError("ERR Invalid stream ID specified as stream command argument")
        case .invalidStartOfInterval: return RedisError("ERR invalid start ID for the interval")
        case .invalidEndOfInterval: return RedisError("ERR invalid end ID for the interval")
        case .idNotGreaterThanTop:
            return RedisError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        case .idZero: return RedisError("ERR The ID specified in XADD must be greater than 0-0")
        case .exhausted: return RedisError("ERR The stream has exhausted the last possible ID, unable to add more items")
        case .elementsTooLarge: return RedisError("ERR Elements are too large to be stored")
        case .setIDSmallerThanTopItem:
            return RedisError("ERR The ID specified in XSETID is smaller than the target stream top item")
        case .setIDEntriesAddedSmallerThanLength:
            return RedisError("ERR The entries_added specified in XSETID is smaller than the target stream length")
        case .setIDSmallerThanMaxDeletedID:
            return RedisError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        case .setIDSmallerThanCurrentMaxDeletedID:
            return RedisError("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
        }
    }
}

extension KeyspaceError: RedisErrorConvertible {
    var redisError: RedisError {
        switch self {
        case .wrongType: return .wrongType
        case .notAnInteger: return .notAnInteger
        case .incrementOverflow: return RedisError("ERR increment or decrement would overflow")
        case .decrementOverflow: return RedisError("ERR decrement would overflow")
        case .noSuchKey: return .noSuchKey
        case .indexOutOfRange: return RedisError("ERR index out of range")
        case .invalidExpireTime(let command): return RedisError("ERR invalid expire time in '\(command)' command")
        case .notPositive: return RedisError("ERR value is out of range, must be positive")
        case .expireNXWithOtherOptions:
            return RedisError("ERR NX and XX, GT or LT options at the same time are not compatible")
        case .expireGTWithLT: return RedisError("ERR GT and LT options at the same time are not compatible")
        case .unsupportedExpireOption(let option):
            return RedisError("ERR Unsupported option \(String(decoding: option, as: UTF8.self))")
        }
    }
}

extension ConsumerGroupError: RedisErrorConvertible {
    var redisError: RedisError {
        switch self {
        case .groupExists: return RedisError("BUSYGROUP Consumer Group name already exists")
        // Handlers reword `.noSuchGroup` with the key and command they know; this fallback never
        // reaches a client unless a handler forgot to check the group first.
        case .noSuchGroup: return RedisError("NOGROUP No such consumer group")
        }
    }
}
