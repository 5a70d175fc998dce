import NIOCore
import RillCore
import RillProtocol

/// Runs one request: lookup, arity, authentication, MULTI queueing, the handler, blocking and statistics.
/// The checks happen once here so handlers only parse their own options.
extension ServerState {
    func execute(_ context: CommandContext) {
        let client = context.client
        let arguments = context.arguments
        guard let command = commands.lookup(arguments[0]) else {
            reject(context, unknownCommandError(arguments))
            return
        }
        guard command.acceptsArgumentCount(arguments.count) else {
            reject(context, .wrongArity(command.name))
            return
        }
        if !client.authenticated && !command.flags.contains(.noAuth) {
            reject(context, .noAuth)
            return
        }
        var resolved = command  // a subcommand replaces it below
        if !command.subcommands.isEmpty && !(arguments.count == 1 && command.arity == -1) {
            guard arguments.count >= 2, let sub = command.subcommand(named: arguments[1]) else {
                reject(context, .unknownSubcommand(arguments.count >= 2 ? String(buffer: arguments[1]) : "", of: command.name))
                return
            }
            guard sub.acceptsArgumentCount(arguments.count) else {
                reject(context, .wrongArity(sub.name))
                return
            }
            resolved = sub
        }
        if configuration.maxMemoryBytes != 0 && !memoryAllowsRunning(resolved, client: client) {
            reject(context, .outOfMemory)
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
        client.lastInteraction = context.nowMilliseconds
        client.lastCommandName = command.name
        stats.totalCommandsProcessed += 1
        var failed = false
        do {
            try command.handler(context)
        } catch {
            failed = true
            writeError(context, RedisError.from(error))
        }
        let waits = context.blockRequest != nil
        if changes.isRecording {
            // Inside EXEC the feed wraps the whole transaction, not each command's effects.
            recordEffects(of: context, database: client.databaseIndex,
                          recordingRequest: command.flags.contains(.write)
                              && (!failed || changes.changeCount != changesBefore))
        }
        if let request = context.blockRequest {
            context.blockRequest = nil
            if allowBlocking && !persistence.loadingAppendOnlyFile {
                block(client, request, command: command, context: context)
            } else {
                request.onTimeout(context)
            }
        }
        command.counters.calls += 1
        if failed { command.counters.failedCalls += 1 }
        // Redis counts a call's own execution, not its wait: a call that blocks adds this first attempt now and the
        // attempt that answers it when it is served (`serveReadyKeys`). Wall-clock time can step back (NTP); a
        // negative duration counts as zero.
        let elapsedMicroseconds = max(0, Clock.microseconds() - startedMicroseconds)
        command.counters.microseconds += elapsedMicroseconds
        // The latency histograms (Prometheus) take calls answered at once: a blocked call's latency is its wait.
        if !waits, let metrics { metrics.recordLatency(of: command, nanoseconds: UInt64(elapsedMicroseconds) * 1000) }
    }

    /// Writes an error reply and counts it (INFO stats total_error_replies and errorstats).
    func writeError(_ context: CommandContext, _ error: RedisError) {
        stats.totalErrorReplies += 1
        stats.errorCounts[String(error.prefix), default: 0] += 1
        context.reply.error(error.message)
    }

    /// An error found before the command ran: inside MULTI it also dooms the transaction (EXECABORT).
    private func reject(_ context: CommandContext, _ error: RedisError) {
        context.client.transaction?.rejected = true
        writeError(context, error)
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
