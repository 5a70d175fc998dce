import NIOCore
import RillCore
import RillProtocol

/// Negative acknowledgement: XNACK (Redis 8.8) hands pending entries back to the group for re-delivery without
/// acknowledging them.
extension ConsumerGroupCommands {
    static let negativeAcknowledgementCommands: [Command] = [
        Command("xnack", arity: -7, flags: [.write, .fast], keys: (1, 1, 1), categories: ["stream"],
                group: "stream", since: "8.8.0",
                summary: "Releases pending messages back to the group's PEL without acknowledging them, making them available for re-delivery.",
                handler: xnack),
    ]

    // MARK: XNACK

    /// `XNACK key group SILENT|FAIL|FATAL IDS numids id... [RETRYCOUNT n] [FORCE]`. Deterministic (no clock, no
    /// choice), so the append-only file records the request as sent.
    private static func xnack(_ context: CommandContext) throws {
        let mode: ReleaseMode
        if context.argument(3, is: "silent") {
            mode = .silent
        } else if context.argument(3, is: "fail") {
            mode = .fail
        } else if context.argument(3, is: "fatal") {
            mode = .fatal
        } else {
            throw RedisError.syntax
        }
        guard context.argument(4, is: "ids") else { throw RedisError.syntax }
        var index = 4
        let ids = try parseIDsBlock(context, at: &index)
        var retryCount: UInt64?
        var force = false
        while index < context.argumentCount {
            if context.argument(index, is: "retrycount"), index + 1 < context.argumentCount {
                let value = try context.integer(index + 1)
                guard value >= 0 else { throw RedisError.invalidRetryCountValue }
                retryCount = UInt64(value)
                index += 2
            } else if context.argument(index, is: "force") {
                force = true
                index += 1
            } else {
                throw RedisError.syntax
            }
        }
        let key = context.bytes(1)
        let group = context.bytes(2)
        let released = try context.database.streamGroups(key, nowMilliseconds: context.nowMilliseconds) { stream -> Int? in
            try? stream.release(group: group, ids: ids, mode: mode, retryCount: retryCount, force: force)
        } ?? nil
        guard let released else { throw RedisError.noSuchKeyOrGroup(key, group: group) }
        if released > 0 { noteGroupChange(context, released) }
        context.reply.integer(Int64(released))
    }
}
