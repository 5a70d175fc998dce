import Testing
@testable import RillServer

/// `CommandContext.lookupBytes`: arguments copied into one buffer the connection reuses for key lookups.
@Suite("Lookup bytes")
struct LookupBytesTests {
    /// The copy is the argument's bytes, and a copy the caller keeps does not change when the buffer is reused.
    @Test func eachCopyHoldsItsArgumentAndKeepsIt() throws {
        let harness = try InProcessServer()
        let client = try harness.connect()
        let context = try #require(harness.server.clients.values.first?.context)
        context.arguments = [.init(string: "XLEN"), .init(string: "first-key"), .init(string: "k2")]
        let first = context.lookupBytes(1)
        let second = context.lookupBytes(2)
        #expect(first == Array("first-key".utf8))
        #expect(second == Array("k2".utf8))
        // The connection still answers normally afterwards.
        context.arguments = []
        #expect(try client.call("PING") == .status("PONG"))
    }

    /// XADD looks its key up through the reused buffer; a stream it creates stores a copy of the key's own size,
    /// so MEMORY USAGE is the same whatever longer key the connection looked up before.
    @Test func aKeyCreatedAfterALongLookupIsStoredAtItsOwnSize() throws {
        let plain = try InProcessServer().connect()
        #expect(try plain.call("XADD", "s", "1-1", "f", "v").text == "1-1")
        let expected = try plain.call("MEMORY", "USAGE", "s")

        let client = try InProcessServer().connect()
        let longKey = String(repeating: "k", count: 3000)
        #expect(try client.call("XLEN", longKey) == .integer(0))
        #expect(try client.call("XADD", "s", "1-1", "f", "v").text == "1-1")
        #expect(try client.call("MEMORY", "USAGE", "s") == expected)
        // The reused buffer did not alias the stored key: later lookups leave it intact.
        #expect(try client.call("XLEN", "other") == .integer(0))
        #expect(try client.call("XLEN", "s") == .integer(1))
        #expect(try client.call("KEYS", "*") == .array([.bulk("s")]))
    }
}
