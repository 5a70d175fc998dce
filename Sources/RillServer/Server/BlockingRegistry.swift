import Collections
import NIOCore

/// Clients waiting in a blocking command (XREAD BLOCK, XREADGROUP BLOCK, BLPOP and the other list pops) per key, and
/// the keys written since they were last served, as Redis' `blocking_keys` and `ready_keys`. Stream readers and list
/// poppers share the queues: each waiter's retry decides whether the key's new value serves it.
///
/// The registry only keeps the books; the server decides when to serve (after each command, `serveReadyKeys`) and
/// what serving runs (the command's retry).
///
/// Invariants: a client is in the queue of each key of its `blocked.request` exactly once, in the order clients
/// blocked, and in no other queue; a queue is never empty (an emptied one is removed); `readyKeys` lists only keys
/// that had waiters when they were written (a key may appear more than once).
final class BlockingRegistry {
    /// Clients blocked on each key, oldest first.
    private var waitersByKey: [BlockingKey: Deque<ClientSession>] = [:]
    /// Keys written since the last `takeReadyKeys`, with blocked clients waiting on them.
    private(set) var readyKeys: [BlockingKey] = []

    /// INFO blocking_keys.
    var keyCount: Int { waitersByKey.count }

    var hasReadyKeys: Bool { !readyKeys.isEmpty }

    /// Queues `client` on every key of `request`, behind the clients already waiting there. The caller sets
    /// `client.blocked`, with the timeout it schedules.
    func add(_ client: ClientSession, keys: [[UInt8]], database: Int) {
        for (index, key) in keys.enumerated() {
            // A key named twice (BLPOP k k 0) queues the client once, as Redis does. Key lists are short.
            if keys[..<index].contains(key) { continue }
            waitersByKey[BlockingKey(database: database, key: key), default: []].append(client)
        }
    }

    /// Removes `client` from every queue and cancels its timeout; no reply is written.
    func remove(_ client: ClientSession) {
        guard let blocked = client.blocked else { return }
        blocked.timeout?.cancel()
        for (index, key) in blocked.request.keys.enumerated() where !blocked.request.keys[..<index].contains(key) {
            let blockingKey = BlockingKey(database: blocked.database, key: key)
            guard var queue = waitersByKey[blockingKey] else { continue }
            queue.removeAll { $0 === client }
            waitersByKey[blockingKey] = queue.isEmpty ? nil : queue
        }
        client.blocked = nil
    }

    /// A write to `key`: its waiters, if any, are to be served.
    @inline(__always)
    func keyWritten(_ key: [UInt8], database: Int) {
        if waitersByKey.isEmpty { return }
        let blockingKey = BlockingKey(database: database, key: key)
        if waitersByKey[blockingKey] != nil { readyKeys.append(blockingKey) }
    }

    /// Every key of `database` (of all databases when nil) written at once (FLUSHDB, FLUSHALL).
    func allKeysWritten(database: Int?) {
        for key in waitersByKey.keys where database == nil || key.database == database {
            readyKeys.append(key)
        }
    }

    /// The keys written since the last call, in write order; the list starts empty again.
    func takeReadyKeys() -> [BlockingKey] {
        let keys = readyKeys
        readyKeys.removeAll(keepingCapacity: true)
        return keys
    }

    /// The clients waiting on `key`, oldest first.
    func waiters(of key: BlockingKey) -> Deque<ClientSession> {
        waitersByKey[key] ?? []
    }
}

struct BlockingKey: Hashable {
    let database: Int
    let key: [UInt8]
}
