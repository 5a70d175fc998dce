import Collections
import NIOCore

/// CLIENT PAUSE: while a pause lasts, commands it covers are held, not refused: the client waits (CLIENT LIST flag
/// b, INFO blocked_clients) with its request kept, and when the pause ends (its deadline or CLIENT UNPAUSE) the held
/// clients run their requests in the order they arrived, then their pipelines. As in Redis, WRITE holds commands
/// that may write or are sent to replicas (PUBLISH), and EXEC of a transaction that queued one, and queueing one
/// inside MULTI; ALL holds every
/// command, CLIENT UNPAUSE included. Keys are not expired meanwhile: active expiry does not run, and a key past its
/// deadline reads as missing but stays until the pause ends (`Database.keepsExpiredKeys`).
struct ClientPause {
    enum Mode {
        case write, all
    }

    var mode: Mode
    /// Unix milliseconds at which the pause ends.
    var endMilliseconds: Int64
    /// Fires at `endMilliseconds`.
    var timer: Scheduled<Void>?

    /// Whether `command` (already resolved to its subcommand), sent by `client`, waits for the end of the pause.
    func holds(_ command: Command, client: ClientSession, commands: CommandTable) -> Bool {
        switch mode {
        case .all:
            return true
        case .write:
            let heldFlags: Command.Flags = [.write, .mayReplicate]
            if !command.flags.isDisjoint(with: heldFlags) { return true }
            guard command.name == "exec", let transaction = client.transaction else { return false }
            return transaction.queued.contains { request in
                guard let queued = commands.lookup(request[0]) else { return false }
                let resolved = request.count >= 2 ? queued.subcommand(named: request[1]) ?? queued : queued
                return !resolved.flags.isDisjoint(with: heldFlags)
            }
        }
    }
}

extension ServerState {
    /// CLIENT PAUSE: a later pause keeps the later deadline of the two and takes the new mode, as Redis does.
    func pauseClients(_ mode: ClientPause.Mode, forMilliseconds duration: Int64, now: Int64) {
        let end = max(now &+ duration, pause?.endMilliseconds ?? Int64.min)
        pause?.timer?.cancel()
        let delay = TimeAmount.milliseconds(max(0, end - now))
        // A later pause cancels this timer, so a timer that fires belongs to the pause in force.
        let timer = eventLoop.scheduleTask(in: delay) { [weak self] () -> Void in self?.unpauseClients() }
        pause = ClientPause(mode: mode, endMilliseconds: end, timer: timer)
        keyspace.setKeepsExpiredKeys(true)
    }

    /// CLIENT UNPAUSE or the deadline: ends the pause and runs the held requests in arrival order.
    func unpauseClients() {
        pause?.timer?.cancel()
        pause = nil
        keyspace.setKeepsExpiredKeys(false)
        // A held request may pause again (CLIENT PAUSE held by ALL): clients it holds wait for that pause.
        let held = postponedClients
        postponedClients = []
        for client in held {
            guard let request = client.postponedRequest, let context = client.context else { continue }
            client.postponedRequest = nil
            context.arguments = request
            context.nowMilliseconds = Clock.milliseconds()
            execute(context)
            context.arguments.removeAll(keepingCapacity: true)
            client.flushOutput()
            if client.postponedRequest == nil {
                // Its later pipelined requests run after every held request, in a later turn of the loop.
                eventLoop.execute { client.resumeInput() }
            }
        }
    }

    /// Holds `context`'s request until the pause ends: the arguments are copied out of the read buffer, which is
    /// reused once this batch is parsed.
    func postpone(_ context: CommandContext, command: Command) {
        let client = context.client
        client.postponedRequest = context.arguments.map { ByteBuffer(buffer: $0) }
        client.lastCommandName = command.name
        postponedClients.append(client)
    }

    /// A held client disconnected.
    func forgetPostponed(_ client: ClientSession) {
        guard client.postponedRequest != nil else { return }
        client.postponedRequest = nil
        postponedClients.removeAll { $0 === client }
    }
}
