import NIOCore
import RillCore

// The append-only file records what each write did, not what was asked, so that replaying it later (a Rill
// restart, or `redis-cli --pipe` into redis-server) rebuilds the same state, as Redis 7 writes its AOF:
//
// Rewritten into their effects (handlers call `CommandContext.propagate`):
// - XADD `*` / `ms-*` gets the ID it was given; `~` trimming (XADD, XTRIM) becomes exact trimming to what it
//   left: `MAXLEN = <length after>` or `MINID = <first ID kept>`, without LIMIT.
// - XREADGROUP: a created consumer as XGROUP CREATECONSUMER; each delivery (new or history, unless NOACK) as
//   `XCLAIM key group consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <id>`; the group's new position
//   as `XGROUP SETID key group <id> ENTRIESREAD <n>`. XCLAIM and XAUTOCLAIM become the same XCLAIM per claimed
//   entry, and per deleted entry they dropped from the PEL (replayed, XCLAIM drops it the same way).
// - XGROUP CREATE / SETID with `$`: the explicit ID and ENTRIESREAD.
// - Expiry in relative or second units (SET EX/PX/EXAT, EXPIRE, PEXPIRE, EXPIREAT, RESTORE without ABSTTL)
//   becomes absolute milliseconds (SET key value PXAT, PEXPIREAT, RESTORE ... ABSTTL); an expiry that is already
//   past when the command runs deletes the key, recorded as DEL.
// - Keys found past their deadline (lazily by any command, or by active expiry) are recorded as DEL where it
//   happened; replay pauses expiry, as Redis does while loading.
// - A dead-letter move (XGROUP SETPOLICY MAXDELIVERIES; after the delivery command's own effects): `XADD dlq <id>
//   fields...`, `XACK key group id`, `XGROUP SETPOLICY key group DEADLETTERED <count>`; an idle consumer removed by
//   a command or the cron: `XGROUP DELCONSUMER`. See ConsumerGroupCommands+GroupPolicy.swift.
// - Blocking list pops (ListCommands.swift), when served at once or later: BLPOP/BRPOP as `LPOP/RPOP key`,
//   BLMPOP and LMPOP as `LPOP/RPOP key <count popped>`, BLMOVE as `LMOVE src dst LEFT|RIGHT LEFT|RIGHT`,
//   BRPOPLPUSH as `RPOPLPUSH src dst`; one that pops nothing (it blocks, times out, or runs in MULTI) records
//   nothing.
// - Several effects of one command are wrapped in MULTI/EXEC (unless EXEC already wraps them).
//
// Recorded as sent, because their result depends only on the data they find: DEL, UNLINK, RENAME, RENAMENX,
// PERSIST, INCR, DECR, INCRBY, DECRBY, LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LSET, LINSERT, LREM, LTRIM,
// LMOVE, RPOPLPUSH, SADD, SREM, FLUSHDB, FLUSHALL, FUNCTION FLUSH,
// XDEL, XACK, XSETID, XADD with an explicit ID and `=` or no trimming, XTRIM with `=`, XGROUP DESTROY /
// CREATECONSUMER / DELCONSUMER, XGROUP CREATE / SETID with an explicit ID, RESTORE with ABSTTL or no TTL, and
// XDELEX / XACKDEL (Redis 8.2; Redis 7 cannot replay those). Rill has no SPOP, INCRBYFLOAT, GETEX, SETEX or
// PSETEX.
//
// Not recorded (as in Redis): consumers' seen and active times, which a replay sets to the time it runs; and the
// stream node limits, which only decide where blocks are cut now that trimming is exact.

/// Builders of the commands recorded as effects.
enum Propagation {
    static func command(_ words: [String], _ tail: [ByteBuffer] = []) -> [ByteBuffer] {
        words.map { ByteBuffer(string: $0) } + tail
    }

    static func delete(_ key: [UInt8]) -> [ByteBuffer] {
        [ByteBuffer(string: "DEL"), ByteBuffer(bytes: key)]
    }

    static func id(_ id: StreamID) -> ByteBuffer {
        id.withASCIIBytes { ByteBuffer(bytes: $0) }
    }

    /// `XGROUP CREATECONSUMER key group consumer`.
    static func createConsumer(key: [UInt8], group: [UInt8], consumer: [UInt8]) -> [ByteBuffer] {
        [ByteBuffer(string: "XGROUP"), ByteBuffer(string: "CREATECONSUMER"), ByteBuffer(bytes: key),
         ByteBuffer(bytes: group), ByteBuffer(bytes: consumer)]
    }

    /// `XGROUP SETID key group id ENTRIESREAD n` with the group's position and read counter (-1: unknown).
    static func setGroupPosition(key: [UInt8], group: ConsumerGroup) -> [ByteBuffer] {
        [ByteBuffer(string: "XGROUP"), ByteBuffer(string: "SETID"), ByteBuffer(bytes: key),
         ByteBuffer(bytes: group.name), id(group.lastDeliveredID), ByteBuffer(string: "ENTRIESREAD"),
         ByteBuffer(string: String(group.entriesRead ?? -1))]
    }

    /// The XCLAIM that gives `consumer` pending entry `entryID` with its delivery time and count as they are now
    /// in `stream`; for an entry no longer in the stream (nor then in the PEL) the XCLAIM that drops it.
    static func claim(key: [UInt8], stream: Stream, group: [UInt8], consumer: [UInt8], entryID: StreamID,
                      nowMilliseconds: Int64) -> [ByteBuffer] {
        let pending = try? stream.pendingEntries(group: group, from: entryID, to: entryID, count: 1,
                                                 nowMilliseconds: nowMilliseconds).first
        let lastDelivered = stream.group(named: group)?.lastDeliveredID ?? entryID
        return [ByteBuffer(string: "XCLAIM"), ByteBuffer(bytes: key), ByteBuffer(bytes: group),
                ByteBuffer(bytes: consumer), ByteBuffer(string: "0"), id(entryID),
                ByteBuffer(string: "TIME"), ByteBuffer(string: String(pending?.deliveryTime ?? nowMilliseconds)),
                ByteBuffer(string: "RETRYCOUNT"), ByteBuffer(string: String(pending?.deliveryCount ?? 1)),
                ByteBuffer(string: "FORCE"), ByteBuffer(string: "JUSTID"),
                ByteBuffer(string: "LASTID"), id(lastDelivered)]
    }

    /// The exact trimming that keeps what an approximate one left in `stream`: `MAXLEN = <length>` or
    /// `MINID = <first ID>` (the requested minimum when nothing is left).
    static func exactTrim(_ strategy: StreamTrimStrategy, leaving stream: Stream) -> [ByteBuffer] {
        switch strategy {
        case .maxLength:
            return command(["MAXLEN", "=", String(stream.length)])
        case .minimumID(let minimum):
            return command(["MINID", "="]) + [id(stream.firstEntryID ?? minimum)]
        }
    }

    /// The words of a trimming reference policy other than the default KEEPREF (Redis 8.2 options).
    static func policyWords(_ policy: StreamDeletionPolicy) -> [String] {
        switch policy {
        case .keepReferences: return []
        case .deleteReferences: return ["DELREF"]
        case .acknowledged: return ["ACKED"]
        }
    }

    /// `body` applied to the stream at `key` (nil when absent or of another type), read without counting a
    /// keyspace hit: effects are built after the command, from the state it left.
    static func withStream<Result>(_ context: CommandContext, _ key: [UInt8], _ body: (Stream) -> Result) -> Result? {
        (try? context.database.streamGroups(key, nowMilliseconds: context.nowMilliseconds) { body($0) }) ?? nil
    }
}
