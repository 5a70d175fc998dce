import NIOCore
import RillCore
import RillProtocol

/// Runs one request: lookup, arity, authentication, MULTI queueing, the handler, blocking and statistics.
/// The checks happen once here so handlers only parse their own options.
extension ServerState {
    func execute(_ context: CommandContext) {
        guard context.client.replyMode != .on else {
            dispatch(context)
            if !context.client.deferredMessages.isEmpty { writeDeferredMessages(context) }
            return
        }
        // CLIENT REPLY OFF or SKIP: the command runs, its reply (whatever it wrote, errors too) is dropped.
        let client = context.client
        let replyStart = context.reply.buffer.writerIndex
        dispatch(context)
        if client.replyMode == .off || client.replyMode == .skip {
            context.reply.buffer.moveWriterIndex(to: replyStart)
        }
        if client.replyMode == .skip {
            client.replyMode = .on
        } else if client.replyMode == .skipNext {
            client.replyMode = .skip
        }
        // Messages are pushes: CLIENT REPLY does not hold them back.
        if !client.deferredMessages.isEmpty { writeDeferredMessages(context) }
    }

    private func dispatch(_ context: CommandContext) {
        let client = context.client
        let arguments = context.arguments
        guard let command = commands.lookup(arguments[0]) else {
            reject(context, unknownCommandError(arguments))
            return
        }
        guard command.acceptsArgumentCount(arguments.count) else {
            reject(context, .wrongArity(command.name), counting: command)
            return
        }
        if !client.authenticated && !command.flags.contains(.noAuth) {
            reject(context, .noAuth, counting: command)
            return
        }
        if command.flags.contains(.protected) && !configuration.enableDebugCommand.allows(client) {
            reject(context, .protectedCommandNotAllowed(command.name, directive: "enable-debug-command"),
                   counting: command)
            return
        }
        var resolved = command  // a subcommand replaces it below
        if !command.subcommands.isEmpty && !(arguments.count == 1 && command.arity == -1) {
            guard arguments.count >= 2, let sub = command.subcommand(named: arguments[1]) else {
                reject(context, .unknownSubcommand(arguments.count >= 2 ? String(buffer: arguments[1]) : "", of: command.name))
                return
            }
            guard sub.acceptsArgumentCount(arguments.count) else {
                reject(context, .wrongArity(sub.name), counting: sub)
                return
            }
            resolved = sub
        }
        if client.transaction != nil && resolved.flags.contains(.noMulti) {
            reject(context, .notAllowedInTransaction, counting: resolved)
            return
        }
        if runsEmbedded, let refusal = EmbeddedServer.refusal(of: resolved, arguments: arguments) {
            reject(context, refusal, counting: resolved)
            return
        }
        // One flag for a user allowed everything (the default user): the ACL costs XADD nothing more.
        if let user = client.user, !user.allowsEverything,
           let denial = accessControl.denial(for: user, command: resolved, arguments: arguments) {
            reject(context, refusal(denial, user: user, command: resolved, context: context,
                                    logContext: client.transaction == nil ? "toplevel" : "multi"),
                   counting: resolved)
            return
        }
        if configuration.maxMemoryBytes != 0 && !memoryAllowsRunning(resolved, client: client) {
            reject(context, .outOfMemory)
            return
        }
        if let denial = persistence.diskErrorDenyingWrites, !client.isPrimaryLink, !persistence.loadingAppendOnlyFile,
           resolved.flags.contains(.write) || resolved.name == "ping"
            || (resolved.name == "exec" && queuedCommands(of: client, contain: .write)) {
            // As Redis: PING too, so health checks see that the server cannot persist. A replica applies its
            // primary's stream regardless (Redis' repl-ignore-disk-write-error; the primary decides).
            reject(context, denial, counting: resolved)
            return
        }
        if let link = primaryLink, !client.isPrimaryLink {
            if configuration.replicaReadOnly && resolved.flags.contains(.write) {
                reject(context, .readOnlyReplica, counting: resolved)
                return
            }
            if !link.isUp && !configuration.replicaServeStaleData && !resolved.flags.contains(.stale) {
                reject(context, .primaryLinkDown, counting: resolved)
                return
            }
        }
        if configuration.minReplicasToWrite > 0 && primaryLink == nil && resolved.flags.contains(.write)
            && lacksGoodReplicas {
            reject(context, .notEnoughGoodReplicas, counting: resolved)
            return
        }
        if context.reply.version == .v2 && !client.subscriptions.isEmpty
            && !resolved.flags.contains(.allowedWhileSubscribed) {
            reject(context, .notAllowedWhileSubscribed(resolved.name), counting: resolved)
            return
        }
        if let pause, pause.holds(resolved, client: client, commands: commands) {
            postpone(context, command: resolved)
            return
        }
        if client.transaction != nil && !resolved.flags.contains(.notQueuedInMulti) {
            // Copy the arguments out of the read buffer: it is reused once this batch is parsed.
            client.transaction!.queued.append(arguments.map { ByteBuffer(buffer: $0) })  // checked non-nil above
            context.reply.simpleString("QUEUED")
            return
        }
        run(resolved, context, allowBlocking: true)
        if blocking.hasReadyKeys { serveReadyKeys() }
    }

    /// Runs a resolved command; inside EXEC blocking is not allowed and a blocking command times out at once.
    func run(_ command: Command, _ context: CommandContext, allowBlocking: Bool) {
        let client = context.client
        // One clock read gives both the command's "now" and the start of its timing (two reads per command, as
        // in Redis; a third, monotonic one cost more than the counters it fed).
        let startedMicroseconds = Clock.microseconds()
        if allowBlocking {
            // Inside EXEC (no blocking) every command keeps EXEC's time, as in Redis.
            context.nowMilliseconds = startedMicroseconds / 1000
        }
        let changesBefore = changes.changeCount
        let replicationOffsetBefore = replication.offset
        client.lastInteraction = context.nowMilliseconds
        client.lastCommandName = command.name
        stats.totalCommandsProcessed += 1
        updateAccessTracking(for: command, client: client)
        var failed = false
        do {
            try command.handler(context)
        } catch {
            failed = true
            writeError(context, RedisError.from(error))
        }
        if changes.changeCount != changesBefore { client.repliesAcknowledgeChanges = true }
        if changes.isRecording {
            // Inside EXEC the feed wraps the whole transaction, not each command's effects.
            recordEffects(of: context, database: client.databaseIndex,
                          recordingRequest: command.flags.contains(.write)
                              && (!failed || changes.changeCount != changesBefore))
            // WAIT waits for the replicas to acknowledge the offset of this client's last write, as Redis' woff.
            if replication.offset != replicationOffsetBefore { client.replicationWriteOffset = replication.offset }
        }
        if let request = context.blockRequest {
            context.blockRequest = nil
            if allowBlocking && !persistence.loadingAppendOnlyFile {
                block(client, request, command: command, context: context)
            } else {
                request.onDenied(context)
            }
        }
        command.counters.calls += 1
        client.totalCommands += 1
        if failed { command.counters.failedCalls += 1 }
        // Redis counts a call's own execution, not its wait: a call that blocks adds this first attempt now and the
        // attempt that answers it when it is served (`serveReadyKeys`). Wall-clock time can step back (NTP); a
        // negative duration counts as zero.
        let elapsedMicroseconds = max(0, Clock.microseconds() - startedMicroseconds)
        command.counters.microseconds += elapsedMicroseconds
        callFinished(command, context, microseconds: elapsedMicroseconds)
    }

    /// Whether the command's key lookups record access times (OBJECT IDLETIME): not for a CLIENT NO-TOUCH client
    /// (except its TOUCH), nor while a background job serialises a copy of the keyspace, as Redis skips it while a
    /// fork child runs. The flag is written only when it changes.
    @inline(__always)
    private func updateAccessTracking(for command: Command, client: ClientSession) {
        let touches = !(client.noTouch && command.name != "touch")
            && !persistence.snapshots.backgroundSaveInProgress && !persistence.appendOnlyRewrite.inProgress
        keyspace.setTouchesKeys(touches, inDatabase: client.databaseIndex)
    }

    /// The NOPERM error for `denial`, recorded in ACL LOG. Inside EXEC, permissions are checked again (they may have
    /// changed since the command was queued), with `logContext` "multi".
    func refusal(_ denial: ACLDenial, user: ACLUser, command: Command, context: CommandContext,
                 logContext: String) -> RedisError {
        let object: String
        switch denial {
        case .command: object = command.name
        case .key(let position), .channel(let position): object = String(buffer: context.arguments[position])
        }
        let reason: String
        switch denial {
        case .command: reason = "command"
        case .key: reason = "key"
        case .channel: reason = "channel"
        }
        context.nowMilliseconds = Clock.milliseconds()
        // The client-info line names the refused command, as Redis records it before checking.
        context.client.lastCommandName = command.name
        accessControl.recordRefusal(reason: reason, context: logContext, object: object, username: user.name,
                                    clientInfo: ConnectionCommands.describe(context.client, context: context),
                                    now: context.nowMilliseconds, maxLogLength: configuration.aclLogMaxLength)
        return AccessControl.error(for: denial, user: user, command: command)
    }

    /// Writes an error reply and counts it (INFO stats total_error_replies and errorstats).
    func writeError(_ context: CommandContext, _ error: RedisError) {
        stats.totalErrorReplies += 1
        stats.errorCounts[String(error.prefix), default: 0] += 1
        context.reply.error(error.message)
    }

    /// An error found before the command ran: inside MULTI it also dooms the transaction (EXECABORT). A request
    /// whose command is known counts as one of its rejected calls (INFO commandstats), as in Redis.
    private func reject(_ context: CommandContext, _ error: RedisError, counting command: Command? = nil) {
        command?.counters.rejectedCalls += 1
        let client = context.client
        if command?.name == "exec" {
            // A refused EXEC ends the transaction (if any), its reply saying why, as Redis' execCommandAbort.
            client.transaction = nil
            unwatchAll(client)
            writeError(context, .execAborted(because: error))
            return
        }
        client.transaction?.rejected = true
        writeError(context, error)
    }

    /// Whether a command queued by `client`'s open transaction has `flag` (EXEC counts as a write, or as growing
    /// memory, when one of them does).
    func queuedCommands(of client: ClientSession, contain flag: Command.Flags) -> Bool {
        guard let queued = client.transaction?.queued else { return false }
        return queued.contains { arguments in
            guard var command = commands.lookup(arguments[0]) else { return false }
            if arguments.count >= 2, let sub = command.subcommand(named: arguments[1]) { command = sub }
            return command.flags.contains(flag)
        }
    }

    private func unknownCommandError(_ arguments: [ByteBuffer]) -> RedisError {
        var shownArguments = ""
        for argument in arguments.dropFirst() where shownArguments.utf8.count < 128 {
            let room = 128 - shownArguments.utf8.count
            shownArguments += "'\(String(decoding: argument.readableBytesView.prefix(room), as: UTF8.self))' "
        }
        let name = String(decoding: arguments[0].readableBytesView.prefix(128), as: UTF8.self)
        return RedisError(sanitised(RedisError.unknownCommand(name, argumentsShown: shownArguments).message))
    }

    /// Error replies are one line: Redis replaces CR and LF taken from user input with spaces.
    private func sanitised(_ message: String) -> String {
        String(message.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}

extension ServerState {
    /// After a command (or a blocked command retried) ran for a client of `database`: records the keys it found
    /// past their deadline as DEL (first: they were removed when looked up), then its effects or, when it has
    /// none and `recordingRequest`, the request as sent.
    func recordEffects(of context: CommandContext, database: Int, recordingRequest: Bool) {
        recordExpiredKeys(database: database)
        changes.commandFinished(request: context.arguments, database: database, recordingRequest: recordingRequest)
    }

    /// Records as DEL the keys of `database` removed for being past their deadline since the last call.
    func recordExpiredKeys(database: Int) {
        guard changes.isRecording else { return }
        for key in keyspace[database].takeExpiredKeys() { changes.emit(Propagation.delete(key), database: database) }
    }
}
