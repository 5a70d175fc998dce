import NIOCore
import Testing
@testable import RillServer

private func session(_ registry: ClientRegistry) -> ClientSession {
    registry.register(remoteAddress: "127.0.0.1:1", localAddress: "127.0.0.1:6379", now: 0, authenticated: true)
}

@Suite("Client memory")
struct ClientMemoryTests {
    /// The registry's total follows each client's latest figure, counts normal and Pub/Sub clients only, and drops a
    /// client's share when it leaves.
    @Test func registryTotalFollowsRecordedFigures() {
        let registry = ClientRegistry()
        let (a, b, replica) = (session(registry), session(registry), session(registry))
        replica.replicaLink = ReplicaLink(client: replica, state: .online, now: 0)
        registry.record(memory: 100, of: a)
        registry.record(memory: 50, of: b)
        registry.record(memory: 1000, of: replica)
        #expect(registry.recordedEvictableMemory == 150)
        registry.record(memory: 30, of: a)
        #expect(registry.recordedEvictableMemory == 80)
        registry.remove(b)
        #expect(registry.recordedEvictableMemory == 30)
        registry.record(memory: 0, of: a)
        #expect(registry.recordedEvictableMemory == 0)
    }

    /// CLIENT NO-EVICT, replicas and the primary's link are never evicted.
    @Test func evictableClients() {
        let registry = ClientRegistry()
        let client = session(registry)
        #expect(client.isEvictable)
        client.noEvict = true
        #expect(!client.isEvictable)
        client.noEvict = false
        client.isPrimaryLink = true
        #expect(!client.isEvictable)
        client.isPrimaryLink = false
        client.replicaLink = ReplicaLink(client: client, state: .online, now: 0)
        #expect(!client.isEvictable)
    }

    /// A replica's output counts the stream held back during its snapshot and leaves out the snapshot in flight.
    @Test func replicaOutputLeavesTheSnapshotOut() {
        let registry = ClientRegistry()
        let client = session(registry)
        var unsent = 5000
        client.pendingOutputBytes = { unsent }
        let link = ReplicaLink(client: client, state: .waitingForSnapshot, now: 0)
        client.replicaLink = link
        link.pendingStream = Array(repeating: 0, count: 300)
        client.snapshotBytesInFlight = 4000
        #expect(client.outputBytes == 1000 + 300)
        unsent = 100  // part of the snapshot left: never negative
        #expect(client.outputBytes == 300)
    }

    /// Peaks stay visible for the ring's seconds, then age out; a second's slot is reused once it comes round.
    @Test func recentPeaksAgeOut() {
        var peaks = RecentClientPeaks()
        peaks.record(input: 10, output: 500, second: 100)
        peaks.record(input: 70, output: 5, second: 101)
        #expect(peaks.peaks(at: 101) == (input: 70, output: 500))
        #expect(peaks.peaks(at: 107) == (input: 70, output: 500))
        #expect(peaks.peaks(at: 108) == (input: 70, output: 5))
        #expect(peaks.peaks(at: 109) == (input: 0, output: 0))
        peaks.record(input: 1, output: 1, second: 108)  // the slot of second 100
        #expect(peaks.peaks(at: 108) == (input: 70, output: 5))
    }

    /// `maxmemory-clients` as Redis takes it: bytes, or a percentage of maxmemory (off while that is 0), never
    /// below 128kb once on.
    @Test func clientMemoryLimitParsesAndApplies() throws {
        #expect(try ClientMemoryLimit(parsing: "4mb") == .bytes(4 << 20))
        #expect(try ClientMemoryLimit(parsing: "10%") == .percentOfMaxMemory(10))
        #expect(throws: ConfigError(message: "percentage argument must be less or equal to 100")) {
            try ClientMemoryLimit(parsing: "101%")
        }
        #expect(throws: ConfigError(message: "argument must be a memory or percent value")) {
            try ClientMemoryLimit(parsing: "-1%")
        }
        #expect(ClientMemoryLimit.bytes(0).effectiveBytes(maxMemoryBytes: 1 << 30) == 0)
        #expect(ClientMemoryLimit.bytes(1000).effectiveBytes(maxMemoryBytes: 0) == 128 * 1024)
        #expect(ClientMemoryLimit.percentOfMaxMemory(10).effectiveBytes(maxMemoryBytes: 0) == 0)
        #expect(ClientMemoryLimit.percentOfMaxMemory(10).effectiveBytes(maxMemoryBytes: 100 << 20) == 10 << 20)
    }

    /// Each class's limit; the primary's link falls under the normal one, as in Redis.
    @Test func outputLimitPerClass() {
        var limits = OutputBufferLimits()
        limits.normal = OutputBufferLimit(hardBytes: 1, softBytes: 2, softSeconds: 3)
        #expect(limits[.normal] == limits.normal && limits[.master] == limits.normal)
        #expect(limits[.replica] == limits.replica && limits[.pubsub] == limits.pubsub)
    }
}
