import NIOCore

/// The memory clients hold: `client-output-buffer-limit` per class, `maxmemory-clients`, and the recent peaks INFO
/// clients reports. The connection handler calls `outputAdded` after each write; the cron checks every client,
/// since output drains (and soft limits expire) without any write.
extension ServerState {
    /// After output was added to `client`: applies its class's output limit and, when `maxmemory-clients` is set,
    /// updates the clients' total memory and evicts if it is over. Costs nothing more when both are off.
    func outputAdded(to client: ClientSession) {
        closeIfOverOutputLimit(client)
        if clientEvictionLimit > 0 {
            // A client already closing counts as gone (its connection closes in a later turn).
            clients.record(memory: client.closeAfterReply ? 0 : client.memoryUsage, of: client)
            if clients.recordedEvictableMemory >= clientEvictionLimit { evictClients() }
        }
    }

    /// Closes `client` if its output is past its class's `client-output-buffer-limit`; true when it is (or was
    /// already) closing. The connection closes in a later turn, as Redis closes it "ASAP": a publisher running now
    /// still counts it, and the reply being written is not cut.
    /// `nowSeconds` is read from the clock when not given, and only when a limit applies.
    @discardableResult
    func closeIfOverOutputLimit(_ client: ClientSession, nowSeconds: Int64? = nil) -> Bool {
        if client.closeAfterReply { return true }
        // The primary's link is never limited: its replies are not sent (Redis' master client likewise).
        guard !client.isPrimaryLink else { return false }
        let limit = configuration.outputBufferLimits[client.type]
        guard limit.hardBytes > 0 || limit.softBytes > 0 else { return false }
        // After the limit test: loading the weak reference takes the slow, side-table reference counting path, and
        // this runs after every command (several percent of the server's CPU under pipelined XADD when it came first).
        guard client.context != nil else { return false }
        let nowSeconds = nowSeconds ?? Clock.milliseconds() / 1000
        guard limit.isExceeded(unsentBytes: client.outputBytes, softSince: &client.outputSoftLimitSince,
                               now: nowSeconds) else { return false }
        logger.warning("Client \(ConnectionCommands.describe(client, now: nowSeconds * 1000)) scheduled to be closed ASAP for overcoming of output buffer limits.")
        stats.outputBufferLimitDisconnections += 1
        client.closeAfterReply = true
        eventLoop.execute { client.closeConnection() }
        return true
    }

    /// `maxmemory-clients` in bytes as it applies now; 0 when off.
    var clientEvictionLimit: Int {
        configuration.maxMemoryClients.effectiveBytes(maxMemoryBytes: configuration.maxMemoryBytes)
    }

    /// While the normal and Pub/Sub clients together hold `maxmemory-clients` or more, closes the evictable one
    /// holding the most, as Redis evicts from its largest bucket first. Measures every client afresh.
    func evictClients() {
        let limit = clientEvictionLimit
        guard limit > 0 else { return }
        var candidates: [(client: ClientSession, memory: Int)] = []
        for client in clients.values where client.type == .normal || client.type == .pubsub {
            let memory = client.closeAfterReply ? 0 : client.memoryUsage
            clients.record(memory: memory, of: client)
            if client.isEvictable && !client.closeAfterReply { candidates.append((client, memory)) }
        }
        guard clients.recordedEvictableMemory >= limit else { return }
        candidates.sort { $0.memory > $1.memory }
        for (client, _) in candidates where clients.recordedEvictableMemory >= limit {
            logger.notice("Evicting client: \(ConnectionCommands.describe(client, now: Clock.milliseconds()))")
            stats.evictedClients += 1
            client.closeAfterReply = true
            // Counted as gone now: the connection closes in a later turn.
            clients.record(memory: 0, of: client)
            eventLoop.execute { client.closeConnection() }
        }
    }

    /// The cron's pass over the clients (Redis' clientsCron): output limits (a soft limit expires without any
    /// write), the recent peaks of INFO clients, the reply buffer peaks of CLIENT LIST, and client eviction.
    func clientsCron(now: Int64) {
        let nowSeconds = now / 1000
        let resetReplyPeaks = now - clientPeaks.lastReplyPeakReset >= 5000
        if resetReplyPeaks { clientPeaks.lastReplyPeakReset = now }
        var largestInput = 0
        var largestOutput = 0
        for client in clients.values {
            closeIfOverOutputLimit(client, nowSeconds: nowSeconds)
            largestInput = max(largestInput, client.queryBufferLength + client.queryBufferFree)
            largestOutput = max(largestOutput, client.outputBytes)
            if resetReplyPeaks { client.replyBufferPeak = client.gatheredReplyBytes }
        }
        clientPeaks.record(input: largestInput, output: largestOutput, second: nowSeconds)
        if clientEvictionLimit > 0 { evictClients() }
    }
}

/// The largest input and output buffers of any client over the last few seconds (INFO clients
/// client_recent_max_input_buffer and client_recent_max_output_buffer), kept per second in a ring as Redis keeps
/// them, so a burst stays visible for a while after it ends.
///
/// Invariant: `slots[second % slotCount]` holds the peaks of `second`, for the seconds recorded in the last
/// `slotCount`; older slots are overwritten or ignored.
struct RecentClientPeaks {
    static let slotCount = 8
    private var slots = [(second: Int64, input: Int, output: Int)](repeating: (-1, 0, 0), count: slotCount)
    /// Unix milliseconds of the last reset of the clients' reply buffer peaks (CLIENT LIST rbp).
    var lastReplyPeakReset: Int64 = 0

    mutating func record(input: Int, output: Int, second: Int64) {
        let index = Int(second % Int64(Self.slotCount))
        if slots[index].second != second { slots[index] = (second, 0, 0) }
        slots[index].input = max(slots[index].input, input)
        slots[index].output = max(slots[index].output, output)
    }

    /// The largest figures recorded in the `slotCount` seconds up to `second`.
    func peaks(at second: Int64) -> (input: Int, output: Int) {
        var peaks = (input: 0, output: 0)
        for slot in slots where slot.second > second - Int64(Self.slotCount) && slot.second <= second {
            peaks.input = max(peaks.input, slot.input)
            peaks.output = max(peaks.output, slot.output)
        }
        return peaks
    }
}
