import NIOCore
import RillProtocol

/// PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and CLIENT: commands about the connection itself.
enum ConnectionCommands {
    static let all: [Command] = [
        Command("ping", arity: -1, flags: [.fast, .allowedWhileSubscribed], categories: ["connection"],
                group: "connection", summary: "Returns the server's liveliness response.", handler: ping),
        Command("echo", arity: 2, flags: [.fast, .stale, .loading], categories: ["connection"],
                group: "connection", summary: "Returns the given string.") { context in
            context.reply.bulkString(context.arguments[1])
        },
        Command("hello", arity: -1, flags: [.noAuth, .fast, .stale, .loading, .noScript, .allowBusy],
                categories: ["connection"], group: "connection", since: "6.0.0",
                summary: "Handshakes with the server, optionally choosing the protocol version.", handler: hello),
        Command("auth", arity: -2, flags: [.noAuth, .fast, .stale, .loading, .noScript, .allowBusy],
                categories: ["connection"], group: "connection", summary: "Authenticates the connection.",
                handler: auth),
        Command("select", arity: 2, flags: [.fast, .stale, .loading], categories: ["connection"],
                group: "connection", summary: "Changes the selected database.") { context in
            let index = try context.integer(1)
            guard index >= 0, index < context.keyspace.databaseCount else { throw RedisError.dbIndexOutOfRange }
            context.client.databaseIndex = Int(index)
            context.reply.simpleString("OK")
        },
        Command("quit", arity: -1, flags: [.noAuth, .fast, .stale, .loading, .notQueuedInMulti, .noScript, .allowBusy,
                                           .allowedWhileSubscribed],
                categories: ["connection"], group: "connection",
                summary: "Closes the connection.") { context in
            context.reply.simpleString("OK")
            context.client.closeAfterReply = true
        },
        Command("reset", arity: 1, flags: [.noScript, .loading, .stale, .fast, .noAuth, .allowBusy, .notQueuedInMulti,
                                           .allowedWhileSubscribed],
                categories: ["connection"], group: "connection", since: "6.2.0",
                summary: "Resets the connection.", handler: reset),
        Command("client", arity: -2, flags: [], group: "connection", since: "2.4.0",
                summary: "A container for client connection commands.", subcommands: clientSubcommands) { _ in },
    ]

    private static func ping(_ context: CommandContext) throws {
        guard context.argumentCount <= 2 else { throw RedisError.wrongArity("ping") }
        if context.reply.version == .v2 && !context.client.subscriptions.isEmpty {
            // A RESP2 subscriber reads every reply as a message: PING answers in that shape.
            context.reply.arrayHeader(2)
            context.reply.bulkString("pong")
            context.reply.bulkString(context.argumentCount == 2 ? context.arguments[1] : ByteBuffer())
        } else if context.argumentCount == 2 {
            context.reply.bulkString(context.arguments[1])
        } else {
            context.reply.simpleString("PONG")
        }
    }

    /// RESET: the connection as a new one would be, except its library name and version (Redis keeps them): out of
    /// MULTI (WATCHes dropped), MONITOR and every subscription (without unsubscribe replies), database 0, RESP2,
    /// no name, CLIENT REPLY ON, NO-EVICT and NO-TOUCH off, and authenticated only if no password is required.
    private static func reset(_ context: CommandContext) throws {
        let client = context.client
        client.transaction = nil
        context.control.unwatchAll(client)
        context.monitors.remove(client)
        context.pubSub.unsubscribeAll(client)
        client.databaseIndex = 0
        context.reply.version = .v2
        client.name = nil
        client.replyMode = .on
        client.noEvict = false
        client.noTouch = false
        client.user = context.accessControl.defaultUser
        client.authenticated = !context.accessControl.newClientsNeedAuthentication
        context.reply.simpleString("RESET")
    }

    private static func hello(_ context: CommandContext) throws {
        let client = context.client
        var version = context.reply.version
        var index = 1
        if context.argumentCount >= 2 {
            let requested = try context.integer(1, error: RedisError.protocolVersionNotInteger)
            guard requested == 2 || requested == 3 else { throw RedisError.unsupportedProtocolVersion }
            version = requested == 2 ? .v2 : .v3
            index = 2
        }
        var newName: String?
        var credentials: (String, String)?
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            if context.argument(index, is: "auth"), remaining >= 2 {
                credentials = (context.string(index + 1), context.string(index + 2))
                index += 3
            } else if context.argument(index, is: "setname"), remaining >= 1 {
                newName = context.string(index + 1)
                index += 2
            } else {
                throw RedisError.helloSyntax(option: context.string(index))
            }
        }
        if let (user, password) = credentials {
            try authenticate(context, user: user, password: password)
        }
        guard client.authenticated else {
            throw RedisError.helloWithoutAuthentication
        }
        if let newName {
            try validateClientName(newName)
            client.name = newName.isEmpty ? nil : newName
        }
        context.reply.version = version
        context.reply.mapHeader(7)
        context.reply.bulkString("server"); context.reply.bulkString("redis")
        context.reply.bulkString("version"); context.reply.bulkString(announcedRedisVersion)
        context.reply.bulkString("proto"); context.reply.integer(Int64(version.rawValue))
        context.reply.bulkString("id"); context.reply.integer(Int64(client.id))
        context.reply.bulkString("mode"); context.reply.bulkString("standalone")
        context.reply.bulkString("role"); context.reply.bulkString("master")
        context.reply.bulkString("modules"); context.reply.arrayHeader(0)
    }

    private static func auth(_ context: CommandContext) throws {
        guard context.argumentCount <= 3 else { throw RedisError.syntax }
        let user = context.argumentCount == 3 ? context.string(1) : "default"
        let password = context.string(context.argumentCount - 1)
        if context.argumentCount == 2 && context.accessControl.defaultUser.definition.noPass {
            throw RedisError.authWithoutPassword
        }
        try authenticate(context, user: user, password: password)
        context.reply.simpleString("OK")
    }

    /// Logs the client in as `user` (ACL); a failure is recorded in ACL LOG with the name tried.
    private static func authenticate(_ context: CommandContext, user name: String, password: String) throws {
        guard let user = context.accessControl.authenticate(user: name, password: Array(password.utf8)) else {
            context.logger.debug("Failed authentication attempt from \(context.client.remoteAddress)")
            context.accessControl.recordRefusal(reason: "auth", context: "toplevel", object: context.string(0),
                                                username: name, clientInfo: describe(context.client, context: context),
                                                now: context.nowMilliseconds,
                                                maxLogLength: context.configuration.aclLogMaxLength)
            throw RedisError.wrongPass
        }
        context.client.user = user
        context.client.authenticated = true
    }

    private static func validateClientName(_ name: String) throws {
        for byte in name.utf8 where byte < 33 || byte > 126 {
            throw RedisError.invalidClientName
        }
    }

    // MARK: CLIENT

    private static let clientSubcommands: [Command] = [
        Command("client|id", arity: 2, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection", since: "5.0.0",
                summary: "Returns the unique client ID of the connection.") { context in
            context.reply.integer(Int64(context.client.id))
        },
        Command("client|setname", arity: 3, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "2.6.9", summary: "Sets the connection name.") { context in
            let name = context.string(2)
            try validateClientName(name)
            context.client.name = name.isEmpty ? nil : name
            context.reply.simpleString("OK")
        },
        Command("client|getname", arity: 2, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "2.6.9", summary: "Returns the name of the connection.") { context in
            if let name = context.client.name {
                context.reply.bulkString(name)
            } else {
                context.reply.nullBulkString()
            }
        },
        Command("client|setinfo", arity: 4, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "7.2.0", summary: "Sets information specific to the client or connection.") { context in
            let value = context.string(3)
            if context.argument(2, is: "lib-name") {
                try validateClientName(value)
                context.client.libraryName = value
            } else if context.argument(2, is: "lib-ver") {
                try validateClientName(value)
                context.client.libraryVersion = value
            } else {
                throw RedisError.unrecognizedClientOption(context.string(2))
            }
            context.reply.simpleString("OK")
        },
        Command("client|info", arity: 2, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "6.2.0", summary: "Returns information about the connection.") { context in
            context.reply.verbatimString(describe(context.client, context: context) + "\n")
        },
        Command("client|list", arity: -2, flags: [.admin, .noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "2.4.0", summary: "Lists open connections.", handler: clientList),
        Command("client|kill", arity: -3, flags: [.admin, .noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "2.4.0", summary: "Terminates open connections.", handler: clientKill),
        Command("client|unblock", arity: -3, flags: [.admin, .noScript, .loading, .stale],
                categories: ["connection"], group: "connection",
                since: "5.0.0", summary: "Unblocks a client blocked by a blocking command from a different connection.",
                handler: clientUnblock),
        Command("client|no-touch", arity: 3, flags: [.noScript, .loading, .stale], categories: ["connection"],
                group: "connection", since: "7.2.0",
                summary: "Turns off (ON) or back on (OFF) the access-time updates of this client's commands.") { context in
            guard context.argument(2, is: "on") || context.argument(2, is: "off") else { throw RedisError.syntax }
            context.client.noTouch = context.argument(2, is: "on")
            context.reply.simpleString("OK")
        },
        Command("client|pause", arity: -3, flags: [.admin, .noScript, .loading, .stale],
                categories: ["connection"], group: "connection", since: "3.0.0",
                summary: "Holds the commands of every client for a while.", handler: clientPause),
        Command("client|unpause", arity: 2, flags: [.admin, .noScript, .loading, .stale],
                categories: ["connection"], group: "connection", since: "6.2.0",
                summary: "Ends CLIENT PAUSE: held commands run.") { context in
            context.control.unpauseClients()
            context.reply.simpleString("OK")
        },
        Command("client|reply", arity: 3, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection", since: "3.2.0",
                summary: "Chooses whether the server replies to this connection's commands.") { context in
            if context.argument(2, is: "on") {
                context.client.replyMode = .on
                context.reply.simpleString("OK")
            } else if context.argument(2, is: "off") {
                context.client.replyMode = .off
            } else if context.argument(2, is: "skip") {
                // Answering OFF stays off; otherwise only the next command goes unanswered.
                if context.client.replyMode != .off { context.client.replyMode = .skipNext }
            } else {
                throw RedisError.syntax
            }
        },
        Command("client|no-evict", arity: 3, flags: [.admin, .noScript, .loading, .stale],
                categories: ["connection"], group: "connection", since: "7.0.0",
                summary: "Marks this connection as one the server must not evict.") { context in
            if context.argument(2, is: "on") {
                context.client.noEvict = true
            } else if context.argument(2, is: "off") {
                context.client.noEvict = false
            } else {
                throw RedisError.syntax
            }
            context.reply.simpleString("OK")
        },
        Command("client|getredir", arity: 2, flags: [.noScript, .loading, .stale],
                categories: ["connection"], group: "connection", since: "6.0.0",
                summary: "Returns the client ID tracking invalidations are redirected to.") { context in
            // Rill has no client-side caching (CLIENT TRACKING): nothing is ever redirected.
            context.reply.integer(-1)
        },
        Command("client|help", arity: 2, flags: [.loading, .stale],
                categories: ["connection"], group: "connection", since: "5.0.0",
                summary: "Returns helpful text about the different subcommands.") { context in
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME", "    Answer the name of this connection (nil when it has none).",
                "GETREDIR", "    Answer -1: Rill does not redirect tracking invalidations.",
                "ID", "    Answer the unique id of this connection.",
                "INFO", "    Describe this connection, as one line of CLIENT LIST.",
                "KILL <ip:port>", "    Close the connection coming from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Close every connection matching all the filters: ID, ADDR, LADDR, TYPE, USER,",
                "    MAXAGE, and SKIPME (yes by default: this connection is spared).",
                "LIST [TYPE normal|master|replica|pubsub] [ID <id> [<id> ...]]",
                "    Describe the connections, one line each.",
                "NO-EVICT (ON|OFF)", "    Mark this connection as one never to evict, or clear the mark.",
                "NO-TOUCH (ON|OFF)", "    While ON, this connection's commands (except TOUCH) leave keys' access times alone.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Hold the commands of every client (ALL, the default) or only those that may write (WRITE)",
                "    for <timeout> milliseconds.",
                "REPLY (ON|OFF|SKIP)", "    Send replies, stop sending them, or leave out only the next one.",
                "SETINFO <option> <value>", "    Record the client library's name (LIB-NAME) or version (LIB-VER).",
                "SETNAME <name>", "    Name this connection <name>.",
                "UNPAUSE", "    End the pause now: held commands run in the order they came.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Wake the blocked client <clientid> as if it timed out, or with an error.",
                "HELP", "    Print this help.",
            ]
            context.replyHelp(lines)
        },
    ]

    private static func clientPause(_ context: CommandContext) throws {
        guard context.argumentCount <= 4 else {
            throw RedisError.unknownSubcommandOrArity(context.string(1), of: "CLIENT")
        }
        var mode = ClientPause.Mode.all
        if context.argumentCount == 4 {
            if context.argument(3, is: "write") {
                mode = .write
            } else if !context.argument(3, is: "all") {
                throw RedisError.clientPauseMode
            }
        }
        let duration = try context.integer(2, error: .timeoutNotInteger)
        guard duration >= 0 else { throw RedisError.timeoutNegative }
        let now = context.nowMilliseconds
        guard duration <= Int64.max - now else { throw RedisError.timeoutOutOfRange }
        context.control.pauseClients(mode, forMilliseconds: duration, now: now)
        context.reply.simpleString("OK")
    }

    /// One CLIENT LIST line, fields in Redis' order.
    static func describe(_ client: ClientSession, context: CommandContext) -> String {
        describe(client, now: context.nowMilliseconds)
    }

    /// One CLIENT LIST line at Unix milliseconds `now`, as log lines about a client also print it.
    static func describe(_ client: ClientSession, now: Int64) -> String {
        let age = max(0, (now - client.connectedAt) / 1000)
        let idle = max(0, (now - client.lastInteraction) / 1000)
        let multi = client.transaction.map { String($0.queued.count) } ?? "-1"
        let resp = client.context?.reply.version.rawValue ?? 2
        return "id=\(client.id) addr=\(client.remoteAddress) laddr=\(client.localAddress) fd=-1 name=\(client.name ?? "") "
            + "age=\(age) idle=\(idle) flags=\(client.flagLetters) db=\(client.databaseIndex) "
            + "sub=\(client.subscriptions.channels.count) psub=\(client.subscriptions.patterns.count) "
            + "ssub=\(client.subscriptions.shardChannels.count) "
            + "multi=\(multi) watch=\(client.watchedKeys.count) qbuf=\(client.queryBufferLength) "
            + "qbuf-free=\(client.queryBufferFree) argv-mem=\(client.argumentBytes) multi-mem=\(client.transactionBytes) "
            + "rbs=\(client.replyBufferSize) rbp=\(client.replyBufferPeak) obl=\(client.gatheredReplyBytes) "
            + "oll=\(client.queuedWriteCount()) omem=\(max(0, client.outputBytes - client.gatheredReplyBytes)) "
            + "tot-mem=\(client.memoryUsage) events=\(client.pendingOutputBytes() > 0 ? "rw" : "r") cmd=\(client.lastCommandName) user=\(client.user?.name ?? "(superuser)") "
            + "redir=-1 resp=\(resp) lib-name=\(client.libraryName) lib-ver=\(client.libraryVersion) io-thread=0 "
            + "tot-net-in=\(client.totalNetInput) tot-net-out=\(client.totalNetOutput) tot-cmds=\(client.totalCommands)"
    }

    private static func clientList(_ context: CommandContext) throws {
        var selected = context.clients.values.sorted { $0.id < $1.id }
        var index = 2
        while index < context.argumentCount {
            if context.argument(index, is: "type"), index + 1 < context.argumentCount {
                guard let type = ClientType(word: context.string(index + 1)) else {
                    throw RedisError.unknownClientType(context.string(index + 1))
                }
                selected = selected.filter { $0.type == type }
                index += 2
            } else if context.argument(index, is: "id"), index + 1 < context.argumentCount {
                var ids: Set<UInt64> = []
                index += 1
                while index < context.argumentCount {
                    let id = try context.integer(index, error: RedisError.invalidClientID)
                    guard id > 0 else { throw RedisError.invalidClientID }
                    ids.insert(UInt64(id))
                    index += 1
                }
                selected = selected.filter { ids.contains($0.id) }
            } else {
                throw RedisError.syntax
            }
        }
        var text = ""
        for client in selected { text += describe(client, context: context) + "\n" }
        context.reply.verbatimString(text)
    }

    private static func clientKill(_ context: CommandContext) throws {
        if context.argumentCount == 3 {
            // Old form: CLIENT KILL ip:port, answering OK or an error.
            let address = context.string(2)
            guard let target = context.clients.values.first(where: { $0.remoteAddress == address }) else {
                throw RedisError.noSuchClient
            }
            context.reply.simpleString("OK")
            kill(target, by: context)
            return
        }
        var filters: [(ClientSession) -> Bool] = []
        var skipMe = true
        try context.forEachOptionPair(from: 2) { index in
            let value = context.string(index + 1)
            if context.argument(index, is: "id") {
                let id = try context.integer(index + 1, error: RedisError.clientIDNotPositive)
                guard id > 0 else { throw RedisError.clientIDNotPositive }
                filters.append { $0.id == UInt64(id) }
            } else if context.argument(index, is: "addr") {
                filters.append { $0.remoteAddress == value }
            } else if context.argument(index, is: "laddr") {
                filters.append { $0.localAddress == value }
            } else if context.argument(index, is: "type") {
                guard let type = ClientType(word: value) else { throw RedisError.unknownClientType(value) }
                filters.append { $0.type == type }
            } else if context.argument(index, is: "user") {
                filters.append { _ in value == "default" }
            } else if context.argument(index, is: "skipme") {
                switch value.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: throw RedisError.syntax
                }
            } else if context.argument(index, is: "maxage") {
                let maxAge = try context.integer(index + 1)
                let now = context.nowMilliseconds
                filters.append { maxAge > 0 && (now - $0.connectedAt) / 1000 >= maxAge }
            } else {
                return false
            }
            return true
        }
        let targets = context.clients.values.filter { client in
            !(skipMe && client === context.client) && filters.allSatisfy { $0(client) }
        }
        context.reply.integer(Int64(targets.count))
        for target in targets { kill(target, by: context) }
    }

    private static func kill(_ target: ClientSession, by context: CommandContext) {
        context.blocking.remove(target)
        if target === context.client {
            // The reply is already written; the connection closes after it is flushed.
            target.closeAfterReply = true
        } else {
            target.closeConnection()
        }
    }

    private static func clientUnblock(_ context: CommandContext) throws {
        guard context.argumentCount <= 4 else { throw RedisError.syntax }
        let id = try context.integer(2)
        var withError = false
        if context.argumentCount == 4 {
            if context.argument(3, is: "error") {
                withError = true
            } else if !context.argument(3, is: "timeout") {
                throw RedisError.invalidUnblockReason
            }
        }
        guard id > 0, let target = context.clients[UInt64(id)], let blocked = target.blocked,
              let targetContext = target.context else {
            context.reply.integer(0)
            return
        }
        context.blocking.remove(target)
        if withError {
            targetContext.replyError(RedisError.unblockedByClientUnblock)
        } else {
            blocked.request.onTimeout(targetContext)
        }
        context.control.blockedCallAnswered(blocked, client: target, finalAttemptMicroseconds: 0)
        target.flushOutput()
        context.eventLoop.execute { target.resumeInput() }
        context.reply.integer(1)
    }
}
