import NIOCore
import Testing
@testable import RillServer

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Checks the registry's documented invariant against the clients' own view, for the names a test used.
private func expectConsistent(_ registry: PubSubRegistry, _ clients: [ClientSession], names: [String]) {
    for name in names {
        for kind in [PubSubKind.channel, .shardChannel] {
            let listening = clients.filter { $0.subscriptions[kind].contains(bytes(name)) }.count
            #expect(registry.subscriberCount(of: bytes(name), kind: kind) == listening)
        }
    }
    #expect(registry.subscribedClients == clients.filter { !$0.subscriptions.isEmpty }.count)
    let active = Set(clients.flatMap { $0.subscriptions.channels })
    #expect(Set(registry.activeNames(.channel, matching: nil)) == active)
    #expect(registry.patternCount == Set(clients.flatMap { $0.subscriptions.patterns }).count)
}

@Suite("PubSubRegistry")
struct PubSubRegistryTests {
    let clients = ClientRegistry()

    private func client() -> ClientSession {
        clients.register(remoteAddress: "127.0.0.1:1", localAddress: "127.0.0.1:6379", now: 0, authenticated: true)
    }

    @Test func subscribingTwiceCountsOnceAndEmptyNamesDisappear() {
        let registry = PubSubRegistry()
        let (a, b) = (client(), client())
        #expect(registry.subscribe(a, to: bytes("news"), kind: .channel))
        #expect(!registry.subscribe(a, to: bytes("news"), kind: .channel))
        registry.subscribe(b, to: bytes("news"), kind: .channel)
        registry.subscribe(b, to: bytes("n*"), kind: .pattern)
        registry.subscribe(b, to: bytes("news"), kind: .shardChannel)
        expectConsistent(registry, [a, b], names: ["news"])
        #expect(b.subscriptions.replyCount(for: .channel) == 2)
        #expect(b.subscriptions.replyCount(for: .shardChannel) == 1)
        #expect(!registry.unsubscribe(a, from: bytes("other"), kind: .channel))
        registry.unsubscribe(a, from: bytes("news"), kind: .channel)
        registry.unsubscribeAll(b)
        expectConsistent(registry, [a, b], names: ["news"])
        #expect(registry.channelCount == 0 && registry.patternCount == 0 && registry.shardChannelCount == 0)
        #expect(a.type == .normal && b.type == .normal)
    }

    @Test func publishReachesChannelThenPatternSubscribersAndCountsEachDelivery() {
        let registry = PubSubRegistry()
        let (direct, patterned, shard) = (client(), client(), client())
        registry.subscribe(direct, to: bytes("a.b"), kind: .channel)
        registry.subscribe(patterned, to: bytes("a.*"), kind: .pattern)
        registry.subscribe(patterned, to: bytes("*b"), kind: .pattern)
        registry.subscribe(shard, to: bytes("a.b"), kind: .shardChannel)
        var delivered: [(UInt64, PubSubKind, String?)] = []
        let count = registry.publish(ByteBuffer(string: "m"), to: ByteBuffer(string: "a.b"), shard: false) {
            delivered.append(($0.id, $1.kind, $1.pattern.map { String(decoding: $0, as: UTF8.self) }))
        }
        #expect(count == 3)
        #expect(delivered.first.map { $0.0 == direct.id && $0.1 == .channel } == true)
        #expect(Set(delivered.dropFirst().compactMap(\.2)) == ["a.*", "*b"])
        delivered.removeAll()
        #expect(registry.publish(ByteBuffer(string: "m"), to: ByteBuffer(string: "a.b"), shard: true) {
            delivered.append(($0.id, $1.kind, nil))
        } == 1)
        #expect(delivered.map(\.0) == [shard.id])
        #expect(patterned.type == .pubsub)
    }

    @Test func randomOperationsKeepBothViewsInStep() {
        var generator = SystemRandomNumberGenerator()
        let registry = PubSubRegistry()
        let people = (0..<5).map { _ in client() }
        let names = ["a", "b", "c", "a*"]
        let kinds: [PubSubKind] = [.channel, .pattern, .shardChannel]
        for _ in 0..<500 {
            let who = people.randomElement(using: &generator)!  // non-empty
            let name = bytes(names.randomElement(using: &generator)!)  // non-empty
            let kind = kinds.randomElement(using: &generator)!  // non-empty
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: registry.unsubscribeAll(who)
            case 1...5: registry.subscribe(who, to: name, kind: kind)
            default: registry.unsubscribe(who, from: name, kind: kind)
            }
        }
        expectConsistent(registry, people, names: names)
    }
}
