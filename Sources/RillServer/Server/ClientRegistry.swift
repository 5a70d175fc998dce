/// The connected clients by id, as CLIENT LIST, CLIENT KILL, CLIENT UNBLOCK and INFO clients see them, and the ids
/// given to new ones.
///
/// Invariants: ids are unique and increase from 1 in connection order, never reused; `values` holds exactly the
/// clients registered and not yet removed.
final class ClientRegistry {
    private var byID: [UInt64: ClientSession] = [:]
    private var nextID: UInt64 = 1

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
    }

    subscript(id: UInt64) -> ClientSession? { byID[id] }

    /// Every connected client, in no particular order.
    var values: Dictionary<UInt64, ClientSession>.Values { byID.values }

    /// INFO connected_clients.
    var count: Int { byID.count }

    /// INFO blocked_clients: clients waiting in a blocking command.
    var blockedCount: Int { byID.values.reduce(0) { $0 + ($1.blocked == nil ? 0 : 1) } }
}
