import Foundation
import Testing

/// Every end-to-end suite nests here: the tests block threads (hiredis calls, child processes), and run in
/// parallel on a 2-core machine they starve the cooperative pool, so they run one at a time.
@Suite(.serialized) enum EndToEnd {}

extension EndToEnd {
    /// Drives the server with hiredis, the C client many Redis bindings are built on.
    @Suite("hiredis end to end")
    struct HiredisStreamTests {
        @Test("XADD then XRANGE returns binary-safe fields and values byte for byte")
        func xaddXrangeRoundTripIsBinarySafe() async throws {
            try await withServer { server in
                let client = try server.client()
                let key: [UInt8] = Array("bin\0key".utf8)
                let field: [UInt8] = [0, 13, 10, 255, 0]
                let everyByte = [UInt8]((0...255).map { UInt8($0) })
                let megabyte = [UInt8]((0..<1_048_576).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
                let empty: [UInt8] = []

                #expect(try client.command([Array("XADD".utf8), key, Array("1-1".utf8), field, everyByte]) == .text("1-1"))
                #expect(try client.command([Array("XADD".utf8), key, Array("2-0".utf8), Array("big".utf8), megabyte,
                                            empty, empty]) == .text("2-0"))

                let range = try client.command([Array("XRANGE".utf8), key, Array("-".utf8), Array("+".utf8)])
                #expect(range == .array([
                    .array([.text("1-1"), .array([.string(field), .string(everyByte)])]),
                    .array([.text("2-0"), .array([.text("big"), .string(megabyte), .string(empty), .string(empty)])]),
                ]))
                #expect(try client.command([Array("XLEN".utf8), key]) == .integer(2))
            }
        }

        @Test("10k pipelined XADDs are answered in order")
        func pipelinedXaddsAreAnsweredInOrder() async throws {
            try await withServer { server in
                let client = try server.client()
                let count = 10_000
                for index in 1...count {
                    try client.append("XADD", "s", "\(index)-1", "n", String(index))
                }
                try client.append("XLEN", "s")
                var mismatches: [String] = []
                for index in 1...count {
                    let reply = try client.nextReply()
                    if reply != .text("\(index)-1") { mismatches.append("#\(index): \(reply)") }
                }
                #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
                #expect(try client.nextReply() == .integer(Int64(count)))

                let lastTwo = try client.command("XREVRANGE", "s", "+", "-", "COUNT", "2")
                #expect(lastTwo == .array([
                    .array([.text("10000-1"), .array([.text("n"), .text("10000")])]),
                    .array([.text("9999-1"), .array([.text("n"), .text("9999")])]),
                ]))
            }
        }

        @Test("XREAD BLOCK 0 is woken by XADD from a second connection")
        func xreadBlockIsWokenByXaddFromAnotherConnection() async throws {
            try await withServer { server in
                let writer = try server.client()
                try writer.command("XADD", "s", "1-0", "old", "1")
                let port = server.port
                // hiredis blocks its calling thread, so the reader gets a thread of its own.
                let readerResult = ThreadResult<Result<Reply, Error>>()
                let reader = Thread {
                    readerResult.set(Result {
                        let client = try HiredisClient(port: port, timeoutSeconds: 20)
                        return try client.command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
                    })
                }
                reader.start()
                try await waitForBlockedClients(writer, count: 1)
                try writer.command("XADD", "s", "2-0", "new", "2")
                let reply = try await readerResult.value(timeoutSeconds: 10).get()
                #expect(reply == .array([.array([.text("s"), .array([.array([.text("2-0"),
                                                                            .array([.text("new"), .text("2")])])])])]))
                try await waitForBlockedClients(writer, count: 0)
            }
        }

        @Test("XREAD BLOCK with a timeout replies null when nothing arrives")
        func xreadBlockTimesOutWithNull() async throws {
            try await withServer { server in
                let client = try server.client()
                let start = Date()
                #expect(try client.command("XREAD", "BLOCK", "100", "STREAMS", "s", "$") == .null)
                #expect(Date().timeIntervalSince(start) >= 0.09)
            }
        }

        @Test("error replies carry the Redis prefixes and texts")
        func errorRepliesCarryRedisPrefixesAndTexts() async throws {
            try await withServer { server in
                let client = try server.client()
                #expect(try client.command("XADD", "s", "0-0", "f", "v")
                        == .error("ERR The ID specified in XADD must be greater than 0-0"))
                try client.command("XADD", "s", "5-0", "f", "v")
                #expect(try client.command("XADD", "s", "5-0", "f", "v")
                        == .error("ERR The ID specified in XADD is equal or smaller than the target stream top item"))
                #expect(try client.command("XADD", "s", "abc", "f", "v")
                        == .error("ERR Invalid stream ID specified as stream command argument"))
                #expect(try client.command("XADD", "s") == .error("ERR wrong number of arguments for 'xadd' command"))
                #expect(try client.command("NOSUCH", "a") == .error("ERR unknown command 'NOSUCH', with args beginning with: 'a' "))
                try client.command("SET", "str", "v")
                #expect(try client.command("XLEN", "str")
                        == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
                #expect(try client.command("XINFO", "STREAM", "missing") == .error("ERR no such key"))
                // The connection stays usable after error replies.
                #expect(try client.command("PING") == .status("PONG"))
                #expect(try client.command("XADD", "s", "NOMKSTREAM", "6-0", "f", "v") == .text("6-0"))
                #expect(try client.command("XADD", "missing", "NOMKSTREAM", "*", "f", "v") == .null)
            }
        }
    }
}

/// Polls INFO clients until `blocked_clients` equals `count` (at most 5 s).
func waitForBlockedClients(_ client: HiredisClient, count: Int) async throws {
    let deadline = Date().addingTimeInterval(5)
    var last = "?"
    while Date() < deadline {
        if case .string(let bytes) = try client.command("INFO", "clients") {
            let text = String(decoding: bytes, as: UTF8.self)
            if let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("blocked_clients:") }) {
                last = String(line.dropFirst("blocked_clients:".count))
                if Int(last) == count { return }
            }
        }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    throw ServerError(message: "blocked_clients stayed \(last), expected \(count)")
}

/// A value produced on another thread, awaited with a timeout.
final class ThreadResult<Value>: @unchecked Sendable {
    /// Guards `stored`.
    private let lock = NSLock()
    /// The value once `set` ran; nil before.
    private var stored: Value?

    func set(_ value: Value) {
        lock.withLock { stored = value }
    }

    func value(timeoutSeconds: Double) async throws -> Value {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if let current = lock.withLock({ stored }) { return current }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        throw ServerError(message: "no result from the other thread within \(timeoutSeconds) s")
    }
}
