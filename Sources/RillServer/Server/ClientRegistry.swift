/// The connected clients by id, as CLIENT LIST, CLIENT KILL, CLIENT UNBLOCK and INFO clients see them, and the ids
/// given to new ones.
///
/// Invariants: ids are unique and increase from 1 in connection order, never reused; `values` holds exactly the
/// clients registered and not yet removed; `recordedEvictableMemory` is the sum of their `recordedMemory`.
final class ClientRegistry {
    private var byID: [UInt64: ClientSession] = [:]
    private var nextID: UInt64 = 1
    /// The memory of the normal and Pub/Sub clients as last measured, which `maxmemory-clients` compares with its
    /// limit (Redis sums the same two classes, CLIENT NO-EVICT ones included).
    private(set) var recordedEvictableMemory = 0

    /// Registers a new connection under the next id.
    func register(remoteAddress: String, localAddress: String, now: Int64, authenticated: Bool) -> ClientSession {
        let client = ClientSession(id: nextID, remoteAddress: remoteAddress, localAddress: localAddress, now: now,
                                   authenticated: authenticated)
        nextID += 1
        byID[client.id] = client
        return client
    }

    func remove(_ client: ClientSession) {
        byID[client.id] = nil
        recordedEvictableMemory -= client.recordedMemory
        client.recordedMemory = 0
    }

    /// Records `memory` as what `client` holds now, counted in the total when it is a normal or Pub/Sub client.
    func record(memory: Int, of client: ClientSession) {
        let counted = client.type == .normal || client.type == .pubsub ? memory : 0
        recordedEvictableMemory += counted - client.recordedMemory
        client.recordedMemory = counted
    }

    subscript(id: UInt64) -> ClientSession? { byID[id] }

    /// Every connected client, in no particular order.
    var values: Dictionary<UInt64, ClientSession>.Values { byID.values }

    /// INFO connected_clients.
    var count: Int { byID.count }

    /// INFO blocked_clients: clients waiting in a blocking command or held by CLIENT PAUSE.
    var blockedCount: Int {
        byID.values.reduce(0) { $0 + ($1.blocked == nil && $1.postponedRequest == nil ? 0 : 1) }
    }
}
