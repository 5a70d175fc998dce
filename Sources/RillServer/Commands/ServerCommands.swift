import NIOCore
import RillCore
import RillProtocol

/// Server administration: COMMAND, CONFIG, INFO, TIME, DBSIZE, FLUSHDB, FLUSHALL, SHUTDOWN, and the FUNCTION /
/// SCRIPT FLUSH no-ops (there is no scripting, so there is nothing to flush).
enum ServerCommands {
    static let all: [Command] = [
        Command("command", arity: -1, flags: [.loading, .stale], categories: ["connection"],
                group: "server", since: "2.8.13", summary: "Returns detailed information about all commands.",
                subcommands: commandSubcommands) { context in
            // COMMAND alone describes every command.
            let table = context.commands
            context.reply.arrayHeader(table.commands.count)
            for command in table.commands { writeInfo(command, to: &context.reply) }
        },
        Command("config", arity: -2, flags: [], group: "server", since: "2.0.0",
                summary: "A container for server configuration commands.", subcommands: configSubcommands) { _ in },
        Command("info", arity: -1, flags: [.loading, .stale], categories: ["dangerous"], group: "server",
                summary: "Returns information and statistics about the server.", handler: InfoReport.handle),
        Command("time", arity: 1, flags: [.loading, .stale, .fast], group: "server",
                since: "2.6.0", summary: "Returns the server time.") { context in
            let microseconds = Clock.microseconds()
            context.reply.arrayHeader(2)
            context.reply.bulkString(String(microseconds / 1_000_000))
            context.reply.bulkString(String(microseconds % 1_000_000))
        },
        Command("dbsize", arity: 1, flags: [.readonly, .fast], categories: ["keyspace"],
                group: "server", summary: "Returns the number of keys in the database.") { context in
            context.reply.integer(Int64(context.database.count))
        },
        Command("flushdb", arity: -1, flags: [.write], categories: ["keyspace", "dangerous"],
                group: "server", summary: "Removes all keys from the current database.") { context in
            try parseFlushMode(context)
            context.database.removeAll()
            context.allKeysModified(database: context.client.databaseIndex)
            context.reply.simpleString("OK")
        },
        Command("flushall", arity: -1, flags: [.write], categories: ["keyspace", "dangerous"],
                group: "server", summary: "Removes all keys from all databases.") { context in
            try parseFlushMode(context)
            context.keyspace.removeAll()
            context.allKeysModified(database: nil)
            context.reply.simpleString("OK")
        },
        Command("shutdown", arity: -1,
                flags: [.admin, .noScript, .loading, .stale, .noMulti, .allowBusy], group: "server",
                summary: "Synchronously saves the database(s) to disk and shuts down the server.", handler: shutdown),
        Command("function", arity: -2, flags: [], group: "scripting", since: "7.0.0",
                summary: "A container for function commands.", subcommands: [
                    Command("function|flush", arity: -2, flags: [.write, .noScript],
                            categories: ["scripting"], group: "scripting", since: "7.0.0",
                            summary: "Deletes all libraries and functions (Rill has none).", handler: flushNothing),
                ]) { _ in },
        Command("script", arity: -2, flags: [], group: "scripting", since: "2.6.0",
                summary: "A container for Lua scripts management commands.", subcommands: [
                    Command("script|flush", arity: -2, flags: [.noScript],
                            categories: ["scripting"], group: "scripting", since: "2.6.0",
                            summary: "Removes all server-side Lua scripts from the script cache (Rill has none).",
                            handler: flushNothing),
                    Command("script|kill", arity: 2, flags: [.noScript, .allowBusy],
                            categories: ["scripting"], group: "scripting", since: "2.6.0",
                            summary: "Terminates a server-side Lua script during execution (Rill runs none).") { _ in
                        throw RedisError.noScriptRunning
                    },
                ]) { _ in },
    ]

    /// FLUSHDB/FLUSHALL/FUNCTION FLUSH accept ASYNC or SYNC; both free at once here.
    private static func parseFlushMode(_ context: CommandContext, firstOption: Int = 1) throws {
        guard context.argumentCount <= firstOption + 1 else { throw RedisError.syntax }
        if context.argumentCount == firstOption + 1,
           !context.argument(firstOption, is: "async"), !context.argument(firstOption, is: "sync") {
            throw RedisError.syntax
        }
    }

    private static func flushNothing(_ context: CommandContext) throws {
        try parseFlushMode(context, firstOption: 2)
        context.reply.simpleString("OK")
    }

    private static func shutdown(_ context: CommandContext) throws {
        var save: Bool?
        for index in 1..<context.argumentCount {
            if context.argument(index, is: "nosave") {
                save = false
            } else if context.argument(index, is: "save") {
                save = true
            } else if !context.argument(index, is: "now") && !context.argument(index, is: "force") {
                throw RedisError.syntax
            }
        }
        context.logger.warning("User requested shutdown...")
        if !context.persistence.saveBeforeShutdown(save) {
            let force = (1..<context.argumentCount).contains { context.argument($0, is: "force") }
            guard force else {
                context.logger.warning("Error trying to save the DB, can't exit.")
                throw RedisError.shutdownFailed
            }
        }
        context.persistence.closeAppendOnlyFile()
        // Redis closes the connection without a reply on success.
        context.client.closeAfterReply = true
        context.control.shutDown()
    }

    // MARK: COMMAND

    private static let commandSubcommands: [Command] = [
        Command("command|count", arity: 2, flags: [.loading, .stale],
                categories: ["connection"], group: "server", since: "2.8.13",
                summary: "Returns a count of commands.") { context in
            context.reply.integer(Int64(context.commands.commands.count))
        },
        Command("command|list", arity: -2, flags: [.loading, .stale],
                categories: ["connection"], group: "server", since: "7.0.0",
                summary: "Returns a list of command names.") { context in
            // Redis lists subcommands too ("config|get").
            let names = context.commands.commands.flatMap { [$0.name] + $0.subcommands.map(\.name) }
            context.reply.arrayHeader(names.count)
            for name in names { context.reply.bulkString(name) }
        },
        Command("command|info", arity: -2, flags: [.loading, .stale],
                categories: ["connection"], group: "server", since: "2.8.13",
                summary: "Returns information about one, multiple or all commands.") { context in
            let table = context.commands
            if context.argumentCount == 2 {
                context.reply.arrayHeader(table.commands.count)
                for command in table.commands { writeInfo(command, to: &context.reply) }
                return
            }
            context.reply.arrayHeader(context.argumentCount - 2)
            for index in 2..<context.argumentCount {
                if let command = table.lookup(fullName: context.arguments[index]) {
                    writeInfo(command, to: &context.reply)
                } else {
                    context.reply.nullBulkString()
                }
            }
        },
        Command("command|docs", arity: -2, flags: [.loading, .stale],
                categories: ["connection"], group: "server", since: "7.0.0",
                summary: "Returns documentary information about one, multiple or all commands.") { context in
            let table = context.commands
            var selected: [Command] = []
            if context.argumentCount == 2 {
                selected = table.commands
            } else {
                for index in 2..<context.argumentCount {
                    if let command = table.lookup(fullName: context.arguments[index]) { selected.append(command) }
                }
            }
            context.reply.mapHeader(selected.count)
            for command in selected {
                context.reply.bulkString(command.name)
                command.writeDocs(to: &context.reply)
            }
        },
        Command("command|getkeys", arity: -3, flags: [.loading, .stale],
                categories: ["connection"], group: "server", since: "2.8.13",
                summary: "Extracts the key names from an arbitrary command.") { context in
            try writeKeys(context, withFlags: false)
        },
        Command("command|getkeysandflags", arity: -3, flags: [.loading, .stale],
                categories: ["connection"], group: "server", since: "7.0.0",
                summary: "Extracts the key names and access flags for an arbitrary command.") { context in
            try writeKeys(context, withFlags: true)
        },
    ]

    /// COMMAND INFO's ten-element description of a command.
    private static func writeInfo(_ command: Command, to reply: inout RESPWriter) {
        reply.arrayHeader(10)
        reply.bulkString(command.name)
        reply.integer(Int64(command.arity))
        let flagNames = Command.Flags.names.filter { command.flags.contains($0.0) }.map(\.1)
        reply.setHeader(flagNames.count)
        for name in flagNames { reply.simpleString(name.utf8) }
        reply.integer(Int64(command.firstKey))
        reply.integer(Int64(command.lastKey))
        reply.integer(Int64(command.keyStep))
        reply.setHeader(command.categories.count)
        for category in command.categories { reply.simpleString(("@" + category).utf8) }
        command.writeTips(to: &reply)
        command.writeKeySpecs(to: &reply)
        // Redis sends an empty set when there are no subcommands, an array otherwise.
        if command.subcommands.isEmpty {
            reply.setHeader(0)
        } else {
            reply.arrayHeader(command.subcommands.count)
        }
        for sub in command.subcommands { writeInfo(sub, to: &reply) }
    }

    // MARK: CONFIG

    private static let configSubcommands: [Command] = [
        Command("config|get", arity: -3, flags: [.admin, .noScript, .loading, .stale], group: "server",
                since: "2.0.0", summary: "Returns the effective values of configuration parameters.") { context in
            var found: [(String, String)] = []
            var seen: Set<String> = []
            for index in 2..<context.argumentCount {
                let pattern = GlobPattern(context.bytes(index), caseInsensitive: true)
                for (name, value) in context.configuration.matching({ pattern.matches(Array($0.utf8)) })
                where seen.insert(name).inserted {
                    found.append((name, value))
                }
            }
            context.reply.mapHeader(found.count)
            for (name, value) in found {
                context.reply.bulkString(name)
                context.reply.bulkString(value)
            }
        },
        Command("config|set", arity: -4, flags: [.admin, .noScript, .loading, .stale], group: "server",
                since: "2.0.0", summary: "Sets configuration parameters in-flight.", handler: configSet),
        Command("config|rewrite", arity: 2, flags: [.admin, .noScript, .loading, .stale], group: "server",
                since: "2.8.0", summary: "Persists the effective configuration to file.") { context in
            guard let path = context.control.configFile else { throw RedisError.noConfigFile }
            do throws(ConfigRewriteError) {
                try ConfigRewrite.rewriteFile(atPath: path, configuration: context.configuration,
                                              users: context.accessControl.sortedUsers.map(\.description))
            } catch {
                context.logger.warning("CONFIG REWRITE failed: \(error.reason)")
                throw RedisError.configRewriteFailed(error.reason)
            }
            context.logger.notice("CONFIG REWRITE executed with success.")
            context.reply.simpleString("OK")
        },
        Command("config|resetstat", arity: 2, flags: [.admin, .noScript, .loading, .stale], group: "server",
                since: "2.0.0", summary: "Resets the server's statistics.") { context in
            context.control.resetStatistics()
            context.reply.simpleString("OK")
        },
    ]

    /// CONFIG SET name value [name value ...]: all or nothing, as Redis 7.
    private static func configSet(_ context: CommandContext) throws {
        guard context.argumentCount % 2 == 0 else { throw RedisError.wrongArity("config|set") }
        var updated = context.configuration
        var seen: Set<String> = []
        var firstTLSDirective: String?
        var index = 2
        while index < context.argumentCount {
            let name = context.string(index).lowercased()
            if firstTLSDirective == nil && name.hasPrefix("tls-") { firstTLSDirective = name }
            guard seen.insert(name).inserted else {
                throw RedisError.configSetDuplicate(name)
            }
            guard let directive = ConfigDirective.named(name) else {
                throw RedisError.configSetUnknownOption(context.string(index))
            }
            guard directive.mutable else {
                throw RedisError.configSetImmutable(name)
            }
            guard !ConfigDirective.protectedNames.contains(name)
                    || context.configuration.enableProtectedConfigs.allows(context.client) else {
                throw RedisError.configSetProtected(name)
            }
            // Multi-word values (bind) arrive as one space-separated argument.
            let value = context.string(index + 1)
            let words = directive.kind.isWords ? value.split(separator: " ").map(String.init) : [value]
            do {
                try updated.set(name, words)
            } catch {
                throw RedisError.configSetFailed(name, reason: error.message)
            }
            index += 2
        }
        let server = context.control
        let wasAppendOnly = server.configuration.appendOnly
        let previous = server.configuration
        server.configuration = updated
        if let firstTLSDirective, !server.applyTLSSettings(previous: previous, changedDirective: firstTLSDirective) {
            server.configuration = previous
            throw RedisError.configSetFailed(firstTLSDirective, reason: "Unable to update TLS configuration. Check server logs.")
        }
        if updated.appendOnly != wasAppendOnly {
            if updated.appendOnly {
                guard context.persistence.turnAppendOnlyFileOn() else {
                    server.configuration = previous
                    throw RedisError.appendOnlyNotTurnedOn
                }
            } else {
                context.persistence.turnAppendOnlyFileOff()
            }
        }
        context.reply.simpleString("OK")
    }
}

extension ConfigDirective.Kind {
    var isWords: Bool {
        if case .words = self { return true }
        return false
    }
}
