import RillCore
import Testing
@testable import RillServer

/// The Redis wording of RillCore's typed errors, byte for byte as redis-server 7.0.15 replies.
@Suite("Core error replies")
struct CoreErrorRepliesTests {
    @Test func streamErrors() {
        let expected: [(StreamError, String)] = [
            (.invalidID, "ERR Invalid stream ID specified as stream command argument"),
            (.invalidStartOfInterval, "ERR invalid start ID for the interval"),
            (.invalidEndOfInterval, "ERR invalid end ID for the interval"),
            (.idNotGreaterThanTop, "ERR The ID specified in XADD is equal or smaller than the target stream top item"),
            (.idZero, "ERR The ID specified in XADD must be greater than 0-0"),
            (.exhausted, "ERR The stream has exhausted the last possible ID, unable to add more items"),
            (.elementsTooLarge, "ERR Elements are too large to be stored"),
            (.setIDSmallerThanTopItem, "ERR The ID specified in XSETID is smaller than the target stream top item"),
            (.setIDEntriesAddedSmallerThanLength,
             "ERR The entries_added specified in XSETID is smaller than the target stream length"),
            (.setIDSmallerThanMaxDeletedID,
             "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"),
            (.setIDSmallerThanCurrentMaxDeletedID,
             "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id"),
        ]
        for (error, message) in expected {
            #expect(error.redisError.message == message)
            #expect(RedisError.from(error).message == message)
        }
    }

    @Test func keyspaceErrors() {
        let expected: [(KeyspaceError, String)] = [
            (.wrongType, "WRONGTYPE Operation against a key holding the wrong kind of value"),
            (.notAnInteger, "ERR value is not an integer or out of range"),
            (.incrementOverflow, "ERR increment or decrement would overflow"),
            (.decrementOverflow, "ERR decrement would overflow"),
            (.noSuchKey, "ERR no such key"),
            (.invalidExpireTime(command: "set"), "ERR invalid expire time in 'set' command"),
            (.invalidExpireTime(command: "pexpireat"), "ERR invalid expire time in 'pexpireat' command"),
            (.notPositive, "ERR value is out of range, must be positive"),
            (.expireNXWithOtherOptions, "ERR NX and XX, GT or LT options at the same time are not compatible"),
            (.expireGTWithLT, "ERR GT and LT options at the same time are not compatible"),
            (.unsupportedExpireOption(Array("foo".utf8)), "ERR Unsupported option foo"),
        ]
        for (error, message) in expected {
            #expect(error.redisError.message == message)
            #expect(RedisError.from(error).message == message)
        }
    }

    @Test func consumerGroupErrors() {
        #expect(ConsumerGroupError.groupExists.redisError.message == "BUSYGROUP Consumer Group name already exists")
        #expect(ConsumerGroupError.noSuchGroup.redisError.message == "NOGROUP No such consumer group")
    }
}
