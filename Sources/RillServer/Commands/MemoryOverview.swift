import RillCore

/// Where the server's memory goes, as INFO memory and MEMORY STATS both report it: jemalloc's figures, the process'
/// resident size, and Rill's own accounting of what is not data (the empty server, client query buffers, the
/// append-only buffer, the key and expiry indexes). Redis' overheads Rill lacks (replication, Lua, cluster) are 0.
struct MemoryOverview {
    let allocator: Allocator.Figures
    let peak: Int
    let startup: Int
    let residentSetSize: Int
    /// What the clients hold (CLIENT LIST tot-mem summed), and the part of it held by replicas.
    let clientBuffers: Int
    let replicaClientBuffers: Int
    let appendOnlyBuffer: Int
    /// Non-empty databases by index with the bytes of their key-table and expiry-index slots.
    let databaseOverheads: [(index: Int, main: Int, expires: Int)]

    init(_ context: CommandContext) {
        allocator = context.control.allocatorFigures()
        peak = max(context.control.stats.peakAllocatedBytes, allocator.allocated)
        startup = Allocator.startupAllocated
        residentSetSize = ProcessFacts.residentSetSize()
        clientBuffers = context.clients.values.reduce(0) { $0 + $1.memoryUsage }
        replicaClientBuffers = context.clients.values.reduce(0) { $0 + ($1.type == .replica ? $1.memoryUsage : 0) }
        appendOnlyBuffer = context.persistence.appendOnlyLog?.pendingByteCount ?? 0
        databaseOverheads = context.keyspace.databases.enumerated().compactMap { index, database in
            guard !database.isEmpty else { return nil }
            let overhead = database.indexOverhead
            return (index, overhead.main, overhead.expires)
        }
    }

    var allocated: Int { allocator.allocated }
    /// Everything that is not keys and values.
    var overhead: Int {
        startup + clientBuffers + appendOnlyBuffer + databaseOverheads.reduce(0) { $0 + $1.main + $1.expires }
    }
    var dataset: Int { max(0, allocated - overhead) }
    /// Allocated beyond what the empty server took.
    var allocatedSinceStartup: Int { max(0, allocated - startup) }

    /// `numerator / denominator`, 0 when the denominator is 0.
    static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator > 0 ? Double(numerator) / Double(denominator) : 0
    }
}
