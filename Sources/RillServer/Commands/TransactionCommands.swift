import NIOCore
import RillCore

/// MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queueing itself happens in the executor; EXEC replays the queue.
enum TransactionCommands {
    static let all: [Command] = [
        Command("multi", arity: 1, flags: [.noScript, .loading, .stale, .fast, .notQueuedInMulti, .allowBusy],
                categories: ["transaction"], group: "transactions", since: "1.2.0",
                summary: "Starts a transaction.") { context in
            guard context.client.transaction == nil else { throw RedisError.nestedMulti }
            context.client.transaction = Transaction()
            context.reply.simpleString("OK")
        },
        Command("exec", arity: 1, flags: [.noScript, .loading, .stale, .skipSlowlog, .notQueuedInMulti],
                categories: ["transaction"], group: "transactions", since: "1.2.0",
                summary: "Executes all commands in a transaction.", handler: exec),
        Command("discard", arity: 1, flags: [.noScript, .loading, .stale, .fast, .notQueuedInMulti, .allowBusy],
                categories: ["transaction"], group: "transactions", since: "2.0.0",
                summary: "Discards a transaction.") { context in
            guard context.client.transaction != nil else { throw RedisError.discardWithoutMulti }
            context.client.transaction = nil
            context.control.unwatchAll(context.client)
            context.reply.simpleString("OK")
        },
        Command("watch", arity: -2, flags: [.noScript, .loading, .stale, .fast, .notQueuedInMulti, .allowBusy],
                keys: (1, -1, 1), categories: ["transaction"], group: "transactions", since: "2.2.0",
                summary: "Monitors changes to keys to determine the execution of a transaction.") { context in
            guard context.client.transaction == nil else { throw RedisError.watchInsideMulti }
            let database = context.client.databaseIndex
            for index in 1..<context.argumentCount {
                let key = context.bytes(index)
                if context.client.watchedKeys.contains(where: { $0.database == database && $0.key == key }) { continue }
                let version = context.database.watch(key, nowMilliseconds: context.nowMilliseconds)
                context.client.watchedKeys.append(WatchedKey(database: database, key: key, version: version))
            }
            context.reply.simpleString("OK")
        },
        Command("unwatch", arity: 1, flags: [.noScript, .loading, .stale, .fast, .allowBusy],
                categories: ["transaction"], group: "transactions", since: "2.2.0",
                summary: "Forgets about watched keys of a transaction.") { context in
            context.control.unwatchAll(context.client)
            context.reply.simpleString("OK")
        },
    ]

    private static func exec(_ context: CommandContext) throws {
        let client = context.client
        guard let transaction = client.transaction else { throw RedisError.execWithoutMulti }
        client.transaction = nil
        let watched = client.watchedKeys
        let server = context.control
        defer { server.unwatchAll(client) }
        if transaction.rejected {
            throw RedisError.execAborted
        }
        let touched = watched.contains { key in
            context.keyspace[key.database].version(of: key.key, nowMilliseconds: context.nowMilliseconds) != key.version
        }
        if touched {
            context.reply.nullArray()
            return
        }
        let original = context.arguments
        context.changes.beginTransaction()
        server.executingTransaction = true
        defer {
            server.executingTransaction = false
            context.changes.endTransaction()
        }
        context.reply.arrayHeader(transaction.queued.count)
        for queued in transaction.queued {
            context.arguments = queued
            // Queued commands were resolved before queueing; look them up again to reach the subcommand.
            guard var command = context.commands.lookup(queued[0]) else { continue }
            if !command.subcommands.isEmpty, queued.count >= 2, let sub = command.subcommand(named: queued[1]) {
                command = sub
            }
            server.runQueued(command, context)
        }
        context.arguments = original
    }
}
