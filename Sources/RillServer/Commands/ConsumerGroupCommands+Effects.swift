import NIOCore
import RillCore

/// The commands consumer-group handlers write to the append-only file in place of the request (see Propagation.swift).
extension ConsumerGroupCommands {
    /// One command of arguments for `CommandContext.propagate`.
    static func effect(_ parts: [[UInt8]]) -> [ByteBuffer] {
        parts.map { ByteBuffer(bytes: $0) }
    }

    static func word(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func idWord(_ id: StreamID) -> [UInt8] {
        var bytes: [UInt8] = []
        id.appendASCII(to: &bytes)
        return bytes
    }

    /// `XCLAIM key group consumer 0 id... TIME t RETRYCOUNT n FORCE JUSTID`: on replay, makes these entries pending
    /// for `consumer` with exactly this delivery time and count, whoever owned them and whether or not they were
    /// pending (FORCE), without touching the count otherwise (JUSTID).
    static func pinnedDeliveryEffect(key: [UInt8], group: [UInt8], consumer: [UInt8], ids: [StreamID],
                                     deliveryTime: Int64, deliveryCount: UInt64) -> [ByteBuffer] {
        var parts: [[UInt8]] = [word("XCLAIM"), key, group, consumer, word("0")]
        parts += ids.map(idWord)
        parts += [word("TIME"), word(String(deliveryTime)), word("RETRYCOUNT"), word(String(deliveryCount)),
                  word("FORCE"), word("JUSTID")]
        return effect(parts)
    }
}
