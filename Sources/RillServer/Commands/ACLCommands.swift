import NIOCore
import RillProtocol

/// ACL and its subcommands: users, their permissions, and the log of refusals (Server/../ACL holds the model).
enum ACLCommands {
    private static let adminFlags: Command.Flags = [.admin, .noScript, .loading, .stale]
    private static let plainFlags: Command.Flags = [.noScript, .loading, .stale]

    static let all: [Command] = [
        Command("acl", arity: -2, flags: [], group: "server", since: "6.0.0",
                summary: "A container for Access List Control commands.", subcommands: subcommands) { _ in },
    ]

    private static let subcommands: [Command] = [
        Command("acl|cat", arity: -2, flags: plainFlags, group: "server", since: "6.0.0",
                summary: "Lists the ACL categories, or the commands inside a category.", handler: cat),
        Command("acl|deluser", arity: -3, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Deletes ACL users, and terminates their connections.", handler: deleteUsers),
        Command("acl|dryrun", arity: -4, flags: adminFlags, group: "server", since: "7.0.0",
                summary: "Simulates the execution of a command by a user, without executing the command.",
                handler: dryRun),
        Command("acl|genpass", arity: -2, flags: plainFlags, group: "server", since: "6.0.0",
                summary: "Generates a pseudorandom, secure password that can be used to identify ACL users.",
                handler: generatePassword),
        Command("acl|getuser", arity: 3, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Lists the ACL rules of a user.", handler: getUser),
        Command("acl|help", arity: 2, flags: [.loading, .stale], group: "server", since: "6.0.0",
                summary: "Returns helpful text about the different subcommands.") { context in
            context.replyHelp(helpLines)
        },
        Command("acl|list", arity: 2, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Dumps the effective rules in ACL file format.") { context in
            let users = context.accessControl.sortedUsers
            context.reply.arrayHeader(users.count)
            for user in users { context.reply.bulkString(user.description) }
        },
        Command("acl|load", arity: 2, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Reloads the rules from the configured ACL file.") { context in
            let path = try configuredFile(context)
            let removed = context.accessControl.replaceUsers(with: try context.accessControl.definitions(fromFile: path))
            disconnectClients(of: removed, context: context)
            context.reply.simpleString("OK")
        },
        Command("acl|save", arity: 2, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Saves the effective ACL rules in the configured ACL file.") { context in
            try context.accessControl.save(toPath: try configuredFile(context))
            context.reply.simpleString("OK")
        },
        Command("acl|log", arity: -2, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Lists recent security events generated due to ACL rejections.", handler: log),
        Command("acl|setuser", arity: -3, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Creates and modifies an ACL user and its rules.", handler: setUser),
        Command("acl|users", arity: 2, flags: adminFlags, group: "server", since: "6.0.0",
                summary: "Lists all ACL users.") { context in
            let users = context.accessControl.sortedUsers
            context.reply.arrayHeader(users.count)
            for user in users { context.reply.bulkString(user.name) }
        },
        Command("acl|whoami", arity: 2, flags: plainFlags, group: "server", since: "6.0.0",
                summary: "Returns the authenticated username of the current connection.") { context in
            if let user = context.client.user {
                context.reply.bulkString(user.name)
            } else {
                context.reply.nullBulkString()  // the server's own clients (the primary's link) have no user
            }
        },
    ]

    private static let helpLines = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List the command categories, or the commands of <category>.",
        "DELUSER <username> [<username> ...]",
        "    Delete users and close their connections.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Tell whether <username> may run <command> with these arguments, without running it.",
        "GETUSER <username>",
        "    The flags, passwords, commands, keys and channels of <username>.",
        "GENPASS [<bits>]",
        "    A random password of <bits> bits (256 by default), in hex.",
        "LIST",
        "    Every user as an ACL file line.",
        "LOAD",
        "    Replace the users with those of the ACL file.",
        "LOG [<count> | RESET]",
        "    The latest refused commands, keys, channels and logins, or empty the log.",
        "SAVE",
        "    Write the users to the ACL file.",
        "SETUSER <username> <rule> [<rule> ...]",
        "    Create or change a user: all of the rules apply, or none.",
        "USERS",
        "    The user names.",
        "WHOAMI",
        "    The user of this connection.",
        "HELP",
        "    Print this help.",
    ]

    private static func cat(_ context: CommandContext) throws {
        guard context.argumentCount <= 3 else { throw RedisError.unknownSubcommandOrArity("cat", of: "acl") }
        if context.argumentCount == 2 {
            context.reply.arrayHeader(Command.aclCategoryOrder.count)
            for category in Command.aclCategoryOrder { context.reply.bulkString(category) }
            return
        }
        let category = context.string(2)
        guard let names = context.accessControl.catalog.commandNames(inCategory: category) else {
            throw RedisError("ERR Unknown category '\(RedisError.quoted(context.bytes(2)))'")
        }
        context.reply.arrayHeader(names.count)
        for name in names { context.reply.bulkString(name) }
    }

    private static func configuredFile(_ context: CommandContext) throws -> String {
        guard let path = context.configuration.aclFile else {
            throw RedisError("ERR This Redis instance is not configured to use an ACL file. You may want to specify "
                             + "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have "
                             + "a Redis configuration file set) in order to store users in the Redis configuration.")
        }
        return path
    }

    /// Closes the connections authenticated as `users` (removed by ACL DELUSER or ACL LOAD).
    private static func disconnectClients(of users: [ACLUser], context: CommandContext) {
        for client in context.clients.values where users.contains(where: { $0 === client.user }) {
            disconnect(client, caller: context.client)
        }
    }

    private static func setUser(_ context: CommandContext) throws {
        let name = context.string(2)
        let rules = (3..<context.argumentCount).map(context.string)
        let user = try context.accessControl.setUser(name, rules: rules)
        // Clients of the user that listen to a channel it may no longer use are disconnected, as Redis does.
        for client in context.clients.values where client.user === user && !client.subscriptions.isEmpty {
            if !allowsCurrentSubscriptions(client, user: user) { disconnect(client, caller: context.client) }
        }
        context.reply.simpleString("OK")
    }

    private static func allowsCurrentSubscriptions(_ client: ClientSession, user: ACLUser) -> Bool {
        let selectors = [user.definition.root] + user.definition.selectors
        let subscriptions = client.subscriptions
        let listened = subscriptions.channels.map { ($0, false) } + subscriptions.shardChannels.map { ($0, false) }
            + subscriptions.patterns.map { ($0, true) }
        return listened.allSatisfy { channel, isPattern in
            selectors.contains { $0.allowsSubscription(to: channel, isPattern: isPattern) }
        }
    }

    /// Closes `client`'s connection; the caller's own once its reply is written.
    private static func disconnect(_ client: ClientSession, caller: ClientSession) {
        if client === caller {
            client.closeAfterReply = true
        } else {
            client.closeConnection()
        }
    }

    private static func deleteUsers(_ context: CommandContext) throws {
        var removed: [ACLUser] = []
        for index in 2..<context.argumentCount {
            if let user = try context.accessControl.removeUser(context.string(index)) { removed.append(user) }
        }
        disconnectClients(of: removed, context: context)
        context.reply.integer(Int64(removed.count))
    }

    private static func getUser(_ context: CommandContext) throws {
        guard let user = context.accessControl.users[context.string(2)] else {
            context.reply.nullBulkString()
            return
        }
        let definition = user.definition
        context.reply.mapHeader(6)
        context.reply.bulkString("flags")
        context.reply.arrayHeader(definition.flagNames.count)
        for flag in definition.flagNames { context.reply.bulkString(flag) }
        context.reply.bulkString("passwords")
        context.reply.arrayHeader(definition.passwordHashes.count)
        for hash in definition.passwordHashes { context.reply.bulkString(hash) }
        writeSelectorFields(definition.root, to: &context.reply)
        context.reply.bulkString("selectors")
        context.reply.arrayHeader(definition.selectors.count)
        for selector in definition.selectors {
            context.reply.mapHeader(3)
            writeSelectorFields(selector, to: &context.reply)
        }
    }

    private static func writeSelectorFields(_ selector: ACLSelector, to reply: inout RESPWriter) {
        reply.bulkString("commands"); reply.bulkString(selector.commandsDescription)
        reply.bulkString("keys"); reply.bulkString(selector.keysDescription)
        reply.bulkString("channels"); reply.bulkString(selector.channelsDescription)
    }

    private static func dryRun(_ context: CommandContext) throws {
        let name = context.string(2)
        guard let user = context.accessControl.users[name] else {
            throw RedisError("ERR User '\(RedisError.quoted(context.bytes(2)))' not found")
        }
        let request = Array(context.arguments[3...])
        guard var command = context.commands.lookup(request[0]) else {
            throw RedisError("ERR Command '\(RedisError.quoted(context.bytes(3)))' not found")
        }
        if !command.subcommands.isEmpty {
            guard request.count >= 2, let sub = command.subcommand(named: request[1]) else {
                throw RedisError("ERR Command '\(RedisError.quoted(context.bytes(3)))' not found")
            }
            command = sub
        }
        guard command.acceptsArgumentCount(request.count) else { throw RedisError.wrongArity(command.name) }
        if let denial = context.accessControl.denial(for: user, command: command, arguments: request) {
            context.reply.bulkString(AccessControl.dryRunMessage(for: denial, user: user, command: command,
                                                                 arguments: request))
        } else {
            context.reply.simpleString("OK")
        }
    }

    private static func generatePassword(_ context: CommandContext) throws {
        var bits = 256
        if context.argumentCount == 3 {
            let requested = try context.integer(2)
            guard requested > 0, requested <= 4096 else {
                throw RedisError("ERR ACL GENPASS argument must be the number of bits for the output password, "
                                 + "a positive number up to 4096")
            }
            bits = Int(requested)
        } else if context.argumentCount > 3 {
            throw RedisError.unknownSubcommandOrArity("genpass", of: "acl")
        }
        // Whole bytes from the system's secure generator, shown in hex and cut to the hex digits the bits need.
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(bits + 7) / 8).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        context.reply.bulkString(String(SHA256.hex(bytes).prefix((bits + 3) / 4)))
    }

    private static func log(_ context: CommandContext) throws {
        guard context.argumentCount <= 3 else { throw RedisError.unknownSubcommandOrArity("log", of: "acl") }
        var count = 10  // Redis' default
        if context.argumentCount == 3 {
            if context.argument(2, is: "reset") {
                context.accessControl.log.reset()
                context.reply.simpleString("OK")
                return
            }
            count = Int(max(0, try context.integer(2)))
        }
        let entries = context.accessControl.log.entries.prefix(count)
        let now = Clock.milliseconds()
        context.reply.arrayHeader(entries.count)
        for entry in entries {
            context.reply.mapHeader(10)
            context.reply.bulkString("count"); context.reply.integer(Int64(entry.count))
            context.reply.bulkString("reason"); context.reply.bulkString(entry.reason)
            context.reply.bulkString("context"); context.reply.bulkString(entry.context)
            context.reply.bulkString("object"); context.reply.bulkString(entry.object)
            context.reply.bulkString("username"); context.reply.bulkString(entry.username)
            context.reply.bulkString("age-seconds"); context.reply.double(Double(now - entry.createdAt) / 1000)
            context.reply.bulkString("client-info"); context.reply.bulkString(entry.clientInfo)
            context.reply.bulkString("entry-id"); context.reply.integer(entry.entryID)
            context.reply.bulkString("timestamp-created"); context.reply.integer(entry.createdAt)
            context.reply.bulkString("timestamp-last-updated"); context.reply.integer(entry.updatedAt)
        }
    }
}
