#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import RillCore
import RillProtocol

/// The list commands, blocking pops included.
///
/// Dirty counts follow Redis: a push or pop counts one change per element, LREM and LTRIM one per removed element,
/// LSET, LINSERT and a move one change.
///
/// Blocking pops (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) wait in the server's one `BlockingRegistry`, with the
/// stream readers. A write to a key retries its waiters, oldest first; a list waiter runs its command again only
/// when one of its keys holds a list (Redis re-runs a list waiter when its woken key is a list), so a key that
/// becomes a stream or a string leaves it waiting, and a re-run may still fail (WRONGTYPE on an earlier key, or a
/// BLMOVE destination of another type). A served pop is recorded as the pop it did: BLPOP as LPOP key, BLMPOP and
/// LMPOP as LPOP key <popped count>, BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH; a pop that found nothing records
/// nothing. Inside MULTI (and while the append-only file replays) a blocking pop that finds nothing answers null.
enum ListCommands {
    static var all: [Command] { basic + edits + moves + blocking }

    // MARK: Push, pop, read

    private static let basic: [Command] = [
        pushCommand("lpush", end: .head, onlyIfExists: false, since: "1.0.0",
                    summary: "Adds elements at the head of a list, creating the list when the key is absent."),
        pushCommand("rpush", end: .tail, onlyIfExists: false, since: "1.0.0",
                    summary: "Adds elements at the tail of a list, creating the list when the key is absent."),
        pushCommand("lpushx", end: .head, onlyIfExists: true, since: "2.2.0",
                    summary: "Adds elements at the head of a list, only when the list already exists."),
        pushCommand("rpushx", end: .tail, onlyIfExists: true, since: "2.2.0",
                    summary: "Adds elements at the tail of a list, only when the list already exists."),
        popCommand("lpop", end: .head,
                   summary: "Removes and returns elements from the head of a list; an emptied list is deleted."),
        popCommand("rpop", end: .tail,
                   summary: "Removes and returns elements from the tail of a list; an emptied list is deleted."),
        Command("lrange", arity: 4, flags: [.readonly], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: "Returns the elements of a list between two indexes.") { context in
            let start = try context.integer(2)
            let stop = try context.integer(3)
            let elements = try context.database.listRange(forKey: context.bytes(1), start: start, stop: stop,
                                                          nowMilliseconds: context.nowMilliseconds)
            context.reply.bulkStrings(elements)
        },
        Command("llen", arity: 2, flags: [.readonly, .fast], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: "Returns how many elements a list holds.") { context in
            context.reply.integer(try context.database.listLength(forKey: context.bytes(1),
                                                                  nowMilliseconds: context.nowMilliseconds))
        },
        Command("lindex", arity: 3, flags: [.readonly], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: "Returns the element at an index of a list.", handler: lindex),
        Command("lpos", arity: -3, flags: [.readonly], keys: (1, 1, 1), categories: ["list"],
                group: "list", since: "6.0.6", summary: "Returns the indexes of the elements equal to a value.",
                handler: lpos),
    ]

    private static func pushCommand(_ name: String, end: ListEnd, onlyIfExists: Bool, since: String,
                                    summary: String) -> Command {
        Command(name, arity: -3, flags: [.write, .denyOOM, .fast], keys: (1, 1, 1),
                categories: ["list"], group: "list", since: since, summary: summary) { context in
            let key = context.bytes(1)
            let elements = (2..<context.argumentCount).lazy.map { context.bytes($0) }
            let length = try context.database.listPush(elements, at: end, forKey: key, onlyIfExists: onlyIfExists,
                                                       nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(length)
            if length > 0 { context.keyModified(key, changes: context.argumentCount - 2) }
        }
    }

    private static func popCommand(_ name: String, end: ListEnd, summary: String) -> Command {
        Command(name, arity: -2, flags: [.write, .fast], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: summary) { context in
            guard context.argumentCount <= 3 else { throw RedisError.wrongArity(name) }
            let key = context.bytes(1)
            if context.argumentCount == 2 {
                let element = try context.database.listPop(at: end, forKey: key,
                                                           nowMilliseconds: context.nowMilliseconds)
                if let element {
                    context.reply.bulkString(element)
                    context.keyModified(key)
                } else {
                    context.reply.nullBulkString()
                }
                return
            }
            let count = try context.integer(2, error: RedisError.notPositive)
            guard count >= 0 else { throw RedisError.notPositive }
            let elements = try context.database.listPop(at: end, forKey: key, count: Int(clamping: count),
                                                        nowMilliseconds: context.nowMilliseconds)
            guard let elements else {
                context.reply.nullArray()
                return
            }
            context.reply.bulkStrings(elements)
            if !elements.isEmpty { context.keyModified(key, changes: elements.count) }
        }
    }

    /// LINDEX key index: Redis looks the key up before it parses the index, so a missing key answers null and a
    /// key of another type WRONGTYPE whatever the index says.
    private static func lindex(_ context: CommandContext) throws {
        let key = context.bytes(1)
        guard let index = try? context.integer(2) else {
            guard try context.database.listLength(forKey: key, nowMilliseconds: context.nowMilliseconds) > 0 else {
                context.reply.nullBulkString()
                return
            }
            throw RedisError.notAnInteger
        }
        if let element = try context.database.listElement(at: index, forKey: key,
                                                          nowMilliseconds: context.nowMilliseconds) {
            context.reply.bulkString(element)
        } else {
            context.reply.nullBulkString()
        }
    }

    /// LPOS key element [RANK rank] [COUNT count] [MAXLEN len]: options are checked before the key is looked up.
    private static func lpos(_ context: CommandContext) throws {
        var query = ListPositionQuery()
        var index = 3
        while index < context.argumentCount {
            let hasValue = index + 1 < context.argumentCount
            if hasValue && context.argument(index, is: "rank") {
                let rank = try context.integer(index + 1)
                guard rank != .min else { throw RedisError.outsideSymmetricLongRange }
                guard rank != 0 else { throw RedisError.rankZero }
                query.rank = rank
            } else if hasValue && context.argument(index, is: "count") {
                query.count = Int(try context.nonNegativeInteger(index + 1, error: .countNegative))
            } else if hasValue && context.argument(index, is: "maxlen") {
                query.maximumLength = Int(try context.nonNegativeInteger(index + 1, error: .maxLengthNegative))
            } else {
                throw RedisError.syntax
            }
            index += 2
        }
        let positions = try context.database.listPositions(of: context.bytes(2), forKey: context.bytes(1),
                                                           query: query, nowMilliseconds: context.nowMilliseconds)
        if query.count != nil {
            context.reply.arrayHeader(positions?.count ?? 0)
            for position in positions ?? [] { context.reply.integer(position) }
        } else if let position = positions?.first {
            context.reply.integer(position)
        } else {
            context.reply.nullBulkString()
        }
    }

    // MARK: Edits

    private static let edits: [Command] = [
        Command("linsert", arity: 5, flags: [.write, .denyOOM], keys: (1, 1, 1), categories: ["list"],
                group: "list", since: "2.2.0",
                summary: "Inserts an element before or after the first element equal to a pivot.") { context in
            let position: ListInsertPosition
            if context.argument(2, is: "before") {
                position = .before
            } else if context.argument(2, is: "after") {
                position = .after
            } else {
                throw RedisError.syntax
            }
            let key = context.bytes(1)
            let length = try context.database.listInsert(context.bytes(4), position, pivot: context.bytes(3),
                                                         forKey: key, nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(length)
            if length > 0 { context.keyModified(key) }
        },
        Command("lset", arity: 4, flags: [.write, .denyOOM], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: "Replaces the element at an index of a list.") { context in
            let key = context.bytes(1)
            // Redis looks the key up first: a missing key is "no such key" whatever the index says.
            guard let index = try? context.integer(2) else {
                guard try context.database.listLength(forKey: key, nowMilliseconds: context.nowMilliseconds) > 0
                else { throw RedisError.noSuchKey }
                throw RedisError.notAnInteger
            }
            // Redis 8.2 passes the index on as a C int: it keeps the low 32 bits (9223372036854775807 is -1).
            let truncated = Int64(Int32(truncatingIfNeeded: index))
            try context.database.listSet(context.bytes(3), at: truncated, forKey: key,
                                         nowMilliseconds: context.nowMilliseconds)
            context.reply.simpleString("OK")
            context.keyModified(key)
        },
        Command("ltrim", arity: 4, flags: [.write], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: "Keeps only the elements of a list between two indexes.") { context in
            let start = try context.integer(2)
            let stop = try context.integer(3)
            let key = context.bytes(1)
            let removed = try context.database.listTrim(forKey: key, start: start, stop: stop,
                                                        nowMilliseconds: context.nowMilliseconds)
            context.reply.simpleString("OK")
            // Counted per removed element; a trim that removed nothing still touched the key (WATCH sees it).
            context.keyModified(key, changes: removed)
        },
        Command("lrem", arity: 4, flags: [.write], keys: (1, 1, 1), categories: ["list"],
                group: "list", summary: "Removes elements equal to a value from a list.") { context in
            let count = try context.integer(2)
            // Redis takes counts from -LONG_MAX on, so that negating one stays in range.
            guard count != .min else { throw RedisError.outsideSymmetricLongRange }
            let key = context.bytes(1)
            let removed = try context.database.listRemove(context.bytes(3), count: count, forKey: key,
                                                          nowMilliseconds: context.nowMilliseconds)
            context.reply.integer(removed)
            if removed > 0 { context.keyModified(key, changes: removed) }
        },
    ]

    // MARK: Moves and multi-key pops

    private static let moves: [Command] = [
        Command("lmove", arity: 5, flags: [.write, .denyOOM], keys: (1, 2, 1), categories: ["list"],
                group: "list", since: "6.2.0",
                summary: "Pops an element from one end of a list and pushes it onto an end of another.") { context in
            try moveOnce(context, try Move(context, sourceEnd: 3, destinationEnd: 4, kind: .lmove))
        },
        Command("rpoplpush", arity: 3, flags: [.write, .denyOOM], keys: (1, 2, 1), categories: ["list"],
                group: "list", since: "1.2.0",
                summary: "Pops the tail element of a list and pushes it at the head of another.") { context in
            try moveOnce(context, Move(context, .tail, .head, kind: .rpoplpush))
        },
        Command("lmpop", arity: -4, flags: [.write, .movableKeys], categories: ["list"], group: "list",
                since: "7.0.0", summary: "Pops elements from the first of several keys that holds a list.") { context in
            let pop = try MultiPop(context, numberOfKeysIndex: 1)
            if try !serve(context, pop) {
                context.reply.nullArray()
                context.propagate(effects: [])
            }
        },
    ]

    /// LMOVE, RPOPLPUSH and their blocking forms, parsed.
    private struct Move {
        enum Kind { case lmove, rpoplpush }
        let source: [UInt8]
        let destination: [UInt8]
        let sourceEnd: ListEnd
        let destinationEnd: ListEnd
        /// The non-blocking command a served move is recorded as.
        let kind: Kind

        init(_ context: CommandContext, _ sourceEnd: ListEnd, _ destinationEnd: ListEnd, kind: Kind) {
            self.source = context.bytes(1)
            self.destination = context.bytes(2)
            self.sourceEnd = sourceEnd
            self.destinationEnd = destinationEnd
            self.kind = kind
        }

        init(_ context: CommandContext, sourceEnd: Int, destinationEnd: Int, kind: Kind) throws {
            self.init(context, try parseEnd(context, sourceEnd), try parseEnd(context, destinationEnd), kind: kind)
        }

        var effect: [ByteBuffer] {
            switch kind {
            case .rpoplpush:
                return [ByteBuffer(string: "RPOPLPUSH"), ByteBuffer(bytes: source), ByteBuffer(bytes: destination)]
            case .lmove:
                return [ByteBuffer(string: "LMOVE"), ByteBuffer(bytes: source), ByteBuffer(bytes: destination),
                        ByteBuffer(string: endName(sourceEnd)), ByteBuffer(string: endName(destinationEnd))]
            }
        }
    }

    /// LMOVE and RPOPLPUSH: the moved element, or a null bulk string (and nothing recorded) when the source is absent.
    private static func moveOnce(_ context: CommandContext, _ move: Move) throws {
        if try serve(context, move) { return }
        context.reply.nullBulkString()
        context.propagate(effects: [])
    }

    /// Moves one element as `move` says and writes it as the reply; false, writing nothing, when the source is
    /// absent.
    private static func serve(_ context: CommandContext, _ move: Move) throws -> Bool {
        guard let element = try context.database.listMove(
            from: move.source, move.sourceEnd, to: move.destination, move.destinationEnd,
            nowMilliseconds: context.nowMilliseconds)
        else { return false }
        context.reply.bulkString(element)
        // One change in all, as Redis counts a move; both keys are written (WATCH, blocked clients).
        context.keyModified(move.source)
        if move.destination != move.source { context.keyModified(move.destination, changes: 0) }
        context.propagate(move.effect)
        return true
    }

    /// LMPOP and BLMPOP after the timeout: `numkeys key... LEFT|RIGHT [COUNT count]`, checked in Redis' order
    /// (numkeys, the end, the options).
    private struct MultiPop {
        let keys: [[UInt8]]
        let end: ListEnd
        /// COUNT, 1 when not given; nil for BLPOP and BRPOP, which reply `[key, element]`.
        let count: Int?

        init(keys: [[UInt8]], end: ListEnd, count: Int?) {
            self.keys = keys
            self.end = end
            self.count = count
        }

        init(_ context: CommandContext, numberOfKeysIndex: Int) throws {
            let numberOfKeys = try context.integer(numberOfKeysIndex, error: .numKeysNotPositive)
            guard numberOfKeys > 0 else { throw RedisError.numKeysNotPositive }
            let (endIndex, overflow) = Int64(numberOfKeysIndex + 1).addingReportingOverflow(numberOfKeys)
            guard !overflow, endIndex < context.argumentCount else { throw RedisError.syntax }
            let end = try parseEnd(context, Int(endIndex))
            var count: Int?
            var index = Int(endIndex) + 1
            while index < context.argumentCount {
                guard count == nil, index + 1 < context.argumentCount, context.argument(index, is: "count") else {
                    throw RedisError.syntax
                }
                let value = try context.integer(index + 1, error: .popCountNotPositive)
                guard value > 0 else { throw RedisError.popCountNotPositive }
                count = Int(value)
                index += 2
            }
            self.init(keys: (numberOfKeysIndex + 1..<Int(endIndex)).map { context.bytes($0) }, end: end,
                      count: count ?? 1)
        }
    }

    /// Pops from the first key of `pop` that holds a list and writes the reply: `[key, element]` for BLPOP and
    /// BRPOP, `[key, [elements]]` for LMPOP and BLMPOP. False, writing nothing, when no key holds a list.
    private static func serve(_ context: CommandContext, _ pop: MultiPop) throws -> Bool {
        guard let (key, elements) = try context.database.listPopFirst(
            of: pop.keys, at: pop.end, count: pop.count ?? 1, nowMilliseconds: context.nowMilliseconds)
        else { return false }
        context.reply.arrayHeader(2)
        context.reply.bulkString(key)
        if pop.count == nil { context.reply.bulkString(elements[0]) } else { context.reply.bulkStrings(elements) }
        context.keyModified(key, changes: elements.count)
        context.propagate([ByteBuffer(string: pop.end == .head ? "LPOP" : "RPOP"), ByteBuffer(bytes: key)]
            + (pop.count == nil ? [] : [ByteBuffer(string: String(elements.count))]))
        return true
    }

    // MARK: Blocking

    private static let blocking: [Command] = [
        Command("blpop", arity: -3, flags: [.write, .blocking], keys: (1, -2, 1), categories: ["list"],
                group: "list", since: "2.0.0",
                summary: "Pops the head element of the first non-empty list, waiting for one otherwise.") { context in
            try blockingPop(context, end: .head)
        },
        Command("brpop", arity: -3, flags: [.write, .blocking], keys: (1, -2, 1), categories: ["list"],
                group: "list", since: "2.0.0",
                summary: "Pops the tail element of the first non-empty list, waiting for one otherwise.") { context in
            try blockingPop(context, end: .tail)
        },
        Command("blmpop", arity: -5, flags: [.write, .blocking, .movableKeys], categories: ["list"],
                group: "list", since: "7.0.0",
                summary: "Pops elements from the first of several keys that holds a list, waiting for one otherwise.") { context in
            let pop = try MultiPop(context, numberOfKeysIndex: 2)
            let timeout = try parseTimeout(context, 1)
            try popOrBlock(context, pop, timeout: timeout)
        },
        Command("blmove", arity: 6, flags: [.write, .denyOOM, .blocking], keys: (1, 2, 1), categories: ["list"],
                group: "list", since: "6.2.0",
                summary: "Pops an element from one end of a list and pushes it onto another, waiting for one otherwise.") { context in
            let move = try Move(context, sourceEnd: 3, destinationEnd: 4, kind: .lmove)
            try moveOrBlock(context, move, timeout: try parseTimeout(context, 5))
        },
        Command("brpoplpush", arity: 4, flags: [.write, .denyOOM, .blocking], keys: (1, 2, 1),
                categories: ["list"], group: "list", since: "2.2.0",
                summary: "Pops the tail element of a list and pushes it at the head of another, waiting for one otherwise.") { context in
            let timeout = try parseTimeout(context, 3)
            try moveOrBlock(context, Move(context, .tail, .head, kind: .rpoplpush), timeout: timeout)
        },
    ]

    private static func blockingPop(_ context: CommandContext, end: ListEnd) throws {
        let timeout = try parseTimeout(context, context.argumentCount - 1)
        let pop = MultiPop(keys: (1..<context.argumentCount - 1).map { context.bytes($0) }, end: end, count: nil)
        try popOrBlock(context, pop, timeout: timeout)
    }

    private static func popOrBlock(_ context: CommandContext, _ pop: MultiPop, timeout: Int64) throws {
        if try serve(context, pop) { return }
        context.propagate(effects: [])
        context.block(keys: pop.keys, timeoutMilliseconds: timeout, retry: { context in
            retry(context, waitingOn: pop.keys) { try serve(context, pop) }
        }, onTimeout: { context in
            context.reply.nullArray()
        })
    }

    /// BLMOVE and BRPOPLPUSH: the source's type is checked now; the destination's only when an element moves.
    private static func moveOrBlock(_ context: CommandContext, _ move: Move, timeout: Int64) throws {
        if try serve(context, move) { return }
        context.propagate(effects: [])
        context.block(keys: [move.source], timeoutMilliseconds: timeout, retry: { context in
            retry(context, waitingOn: [move.source]) { try serve(context, move) }
        }, onTimeout: { context in
            // Redis answers every timed-out list pop with a null array, the moves too (in MULTI: a null bulk).
            context.reply.nullArray()
        }, onDenied: { context in
            context.reply.nullBulkString()
        })
    }

    /// A blocked pop woken by a write: it runs again only when one of `keys` holds a list; an error the run meets
    /// is its answer.
    private static func retry(_ context: CommandContext, waitingOn keys: [[UInt8]],
                              _ attempt: () throws -> Bool) -> Bool {
        let now = context.nowMilliseconds
        guard keys.contains(where: { context.database.holdsList($0, nowMilliseconds: now) }) else { return false }
        do {
            return try attempt()
        } catch {
            context.replyError(RedisError.from(error))
            return true
        }
    }

    // MARK: Arguments

    private static func parseEnd(_ context: CommandContext, _ index: Int) throws -> ListEnd {
        if context.argument(index, is: "left") { return .head }
        if context.argument(index, is: "right") { return .tail }
        throw RedisError.syntax
    }

    private static func endName(_ end: ListEnd) -> String {
        end == .head ? "LEFT" : "RIGHT"
    }

    /// A blocking list command's timeout in seconds, as Redis reads it: a long double (fractions, exponents, hex and
    /// "inf" allowed), in milliseconds rounded up; 0 waits forever. Returns milliseconds.
    static func parseTimeout(_ context: CommandContext, _ index: Int) throws -> Int64 {
        guard let seconds = context.arguments[index].withUnsafeReadableBytes({ parseLongDouble($0) }) else {
            throw RedisError.timeoutNotFloat
        }
        let milliseconds = seconds * 1000
        // Int64.max is exact in a long double's 64-bit significand.
        if milliseconds > Float80(Int64.max) { throw RedisError.timeoutOutOfRange }
        let rounded = milliseconds.rounded(.up)
        guard rounded >= 0 else { throw RedisError.timeoutNegative }
        let timeout = Int64(rounded)
        // Redis adds the timeout to the time now: a sum past Int64 is refused.
        if timeout > 0 && timeout > Int64.max - context.nowMilliseconds { throw RedisError.timeoutOutOfRange }
        return timeout
    }

    /// Redis' long double parsing (`string2ld`): the C library's `strtold` on the whole argument (a NUL inside it
    /// ends it, as in C), refusing an empty or over-long argument, leading space, trailing bytes, NaN, and an
    /// overflow or underflow.
    private static func parseLongDouble(_ bytes: UnsafeRawBufferPointer) -> Float80? {
        // Redis' buffer (MAX_LONG_DOUBLE_CHARS) takes 5119 characters and the terminator.
        guard !bytes.isEmpty, bytes.count < 5 * 1024 else { return nil }
        if isspace(Int32(bytes[0])) != 0 { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> Float80? in
            for (offset, byte) in bytes.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
            buffer[bytes.count] = 0
            // Cannot be nil: the allocation has `bytes.count + 1 >= 2` elements.
            let start = buffer.baseAddress!
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtold(start, &end)
            guard let end, end.pointee == 0 else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if value.isNaN { return nil }
            return value
        }
    }
}
