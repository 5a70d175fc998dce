import Collections
import NIOCore
import RillCore
import RillProtocol

/// The three namespaces of Pub/Sub. Channels and shard channels are separate (PUBLISH never reaches an SSUBSCRIBE
/// client, as in Redis, which keeps them in separate tables even without a cluster); patterns match channels only.
enum PubSubKind: Sendable {
    case channel, pattern, shardChannel

    /// The kind word of subscribe and unsubscribe replies, and of the messages delivered.
    var subscribeWord: String {
        switch self {
        case .channel: return "subscribe"
        case .pattern: return "psubscribe"
        case .shardChannel: return "ssubscribe"
        }
    }

    var unsubscribeWord: String {
        switch self {
        case .channel: return "unsubscribe"
        case .pattern: return "punsubscribe"
        case .shardChannel: return "sunsubscribe"
        }
    }
}

/// What one client listens to, in the order it subscribed (UNSUBSCRIBE without arguments leaves them in that order).
struct ClientSubscriptions {
    var channels: OrderedSet<[UInt8]> = []
    var patterns: OrderedSet<[UInt8]> = []
    var shardChannels: OrderedSet<[UInt8]> = []

    subscript(kind: PubSubKind) -> OrderedSet<[UInt8]> {
        get {
            switch kind {
            case .channel: return channels
            case .pattern: return patterns
            case .shardChannel: return shardChannels
            }
        }
        // In place: a client with many subscriptions must not copy its set for each one added or removed.
        _modify {
            switch kind {
            case .channel: yield &channels
            case .pattern: yield &patterns
            case .shardChannel: yield &shardChannels
            }
        }
    }

    /// Whether the client listens to anything (CLIENT LIST flag P, CLIENT KILL TYPE pubsub, and in RESP2 the
    /// subscribed state that limits the commands it may send).
    var isEmpty: Bool { channels.isEmpty && patterns.isEmpty && shardChannels.isEmpty }

    /// The count SUBSCRIBE, PSUBSCRIBE and their unsubscribes answer: channels and patterns together, as Redis
    /// counts them; the shard commands answer the shard channels alone.
    func replyCount(for kind: PubSubKind) -> Int {
        kind == .shardChannel ? shardChannels.count : channels.count + patterns.count
    }
}

/// One message on its way to a subscriber: `message channel payload`, `pmessage pattern channel payload` or
/// `smessage channel payload`.
struct PubSubMessage {
    let kind: PubSubKind
    /// The pattern that matched, for `pmessage`; nil otherwise.
    let pattern: [UInt8]?
    let channel: ByteBuffer
    let payload: ByteBuffer

    /// Writes the message as a push (RESP3 `>`, RESP2 array).
    func write(to reply: inout RESPWriter) {
        switch kind {
        case .channel:
            reply.pushHeader(3)
            reply.bulkString("message")
        case .pattern:
            reply.pushHeader(4)
            reply.bulkString("pmessage")
            reply.bulkString(pattern ?? [])
        case .shardChannel:
            reply.pushHeader(3)
            reply.bulkString("smessage")
        }
        reply.bulkString(channel)
        reply.bulkString(payload)
    }
}

/// Who listens to which channel, pattern and shard channel, and the fan-out of PUBLISH and SPUBLISH.
///
/// Invariants: a client is among the listeners of `name` in the table of a kind (`channelSubscribers`,
/// `patternSubscribers`, `shardChannelSubscribers`) exactly when `name` is in its `subscriptions[kind]`; no table
/// holds a name without listeners (it is removed, so PUBSUB CHANNELS lists active channels only and INFO counts
/// them); `subscribedClients` counts the clients with non-empty subscriptions. PubSubRegistryTests checks them
/// after random operations.
final class PubSubRegistry {
    private var channelSubscribers: [[UInt8]: [UInt64: ClientSession]] = [:]
    private var shardChannelSubscribers: [[UInt8]: [UInt64: ClientSession]] = [:]
    /// Patterns with their compiled matcher.
    private var patternSubscribers: [[UInt8]: (matcher: GlobPattern, clients: [UInt64: ClientSession])] = [:]
    /// INFO clients pubsub_clients.
    private(set) var subscribedClients = 0

    /// INFO stats pubsub_channels, pubsub_patterns, pubsubshard_channels; PUBSUB NUMPAT.
    var channelCount: Int { channelSubscribers.count }
    var patternCount: Int { patternSubscribers.count }
    var shardChannelCount: Int { shardChannelSubscribers.count }

    // MARK: Subscribing

    /// Adds `name` to what `client` listens to; false when it already did.
    @discardableResult
    func subscribe(_ client: ClientSession, to name: [UInt8], kind: PubSubKind) -> Bool {
        let wasSubscribed = !client.subscriptions.isEmpty
        guard client.subscriptions[kind].append(name).inserted else { return false }
        switch kind {
        case .channel: channelSubscribers[name, default: [:]][client.id] = client
        case .shardChannel: shardChannelSubscribers[name, default: [:]][client.id] = client
        case .pattern:
            if patternSubscribers[name] == nil {
                patternSubscribers[name] = (GlobPattern(name), [:])
            }
            patternSubscribers[name]!.clients[client.id] = client  // non-nil: set just above
        }
        if !wasSubscribed { subscribedClients += 1 }
        return true
    }

    /// Removes `name` from what `client` listens to; false when it did not.
    @discardableResult
    func unsubscribe(_ client: ClientSession, from name: [UInt8], kind: PubSubKind) -> Bool {
        guard client.subscriptions[kind].remove(name) != nil else { return false }
        removeFromTable(client, name, kind)
        if client.subscriptions.isEmpty { subscribedClients -= 1 }
        return true
    }

    /// Drops every subscription of `kind` of `client` at once; answers the names it had, in subscription order.
    /// - Complexity: O(names), where leaving them one by one would shift the ordered set each time.
    @discardableResult
    func unsubscribeAll(_ client: ClientSession, kind: PubSubKind) -> OrderedSet<[UInt8]> {
        let names = client.subscriptions[kind]
        guard !names.isEmpty else { return names }
        for name in names { removeFromTable(client, name, kind) }
        client.subscriptions[kind] = []
        if client.subscriptions.isEmpty { subscribedClients -= 1 }
        return names
    }

    /// Drops every subscription of `client`, silently (RESET, disconnection).
    func unsubscribeAll(_ client: ClientSession) {
        for kind in [PubSubKind.channel, .pattern, .shardChannel] { unsubscribeAll(client, kind: kind) }
    }

    /// The reverse view's half of leaving: `client` out of `name`'s listeners, the name gone once nobody listens.
    private func removeFromTable(_ client: ClientSession, _ name: [UInt8], _ kind: PubSubKind) {
        switch kind {
        case .channel: Self.remove(client, from: name, in: &channelSubscribers)
        case .shardChannel: Self.remove(client, from: name, in: &shardChannelSubscribers)
        case .pattern:
            patternSubscribers[name]?.clients[client.id] = nil
            if patternSubscribers[name]?.clients.isEmpty == true { patternSubscribers[name] = nil }
        }
    }

    private static func remove(_ client: ClientSession, from name: [UInt8],
                               in table: inout [[UInt8]: [UInt64: ClientSession]]) {
        table[name]?[client.id] = nil
        if table[name]?.isEmpty == true { table[name] = nil }
    }

    // MARK: Publishing

    /// Sends `payload` to the subscribers of `channel` and, for a channel, of every pattern matching it; answers
    /// how many deliveries were made (a client reached through two patterns counts twice, as in Redis).
    /// `deliver` writes one message to one client.
    func publish(_ payload: ByteBuffer, to channel: ByteBuffer, shard: Bool,
                 deliver: (ClientSession, PubSubMessage) -> Void) -> Int {
        let name = Array(channel.readableBytesView)
        var receivers = 0
        let kind: PubSubKind = shard ? .shardChannel : .channel
        if let clients = shard ? shardChannelSubscribers[name] : channelSubscribers[name] {
            let message = PubSubMessage(kind: kind, pattern: nil, channel: channel, payload: payload)
            for client in clients.values {
                deliver(client, message)
                receivers += 1
            }
        }
        if !shard {
            for (pattern, subscribed) in patternSubscribers where subscribed.matcher.matches(name) {
                let message = PubSubMessage(kind: .pattern, pattern: pattern, channel: channel, payload: payload)
                for client in subscribed.clients.values {
                    deliver(client, message)
                    receivers += 1
                }
            }
        }
        return receivers
    }

    // MARK: Introspection

    /// PUBSUB CHANNELS / SHARDCHANNELS: the active names of `kind` (channel or shard channel) matching `pattern`
    /// (all when nil).
    func activeNames(_ kind: PubSubKind, matching pattern: [UInt8]?) -> [[UInt8]] {
        let table = kind == .shardChannel ? shardChannelSubscribers : channelSubscribers
        guard let pattern else { return Array(table.keys) }
        let matcher = GlobPattern(pattern)
        return table.keys.filter { matcher.matches($0) }
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: the clients subscribed to `name` directly (patterns not counted).
    func subscriberCount(of name: [UInt8], kind: PubSubKind) -> Int {
        (kind == .shardChannel ? shardChannelSubscribers[name] : channelSubscribers[name])?.count ?? 0
    }
}
