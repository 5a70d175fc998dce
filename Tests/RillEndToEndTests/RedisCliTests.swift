import Foundation
import Testing

extension EndToEnd {
    /// Drives the server with the stock redis-cli, as a user would from a shell.
    @Suite("redis-cli end to end", .enabled(if: CommandLineTool.find("redis-cli") != nil, "redis-cli is not installed"))
    struct RedisCliTests {
        /// Found on PATH; the suite is disabled when it is missing.
        let cli = CommandLineTool.find("redis-cli")!

        @Test("redis-cli runs stream commands and prints their replies")
        func redisCliRunsStreamCommands() async throws {
            try await withServer { server in
                let port = String(server.port)
                // With stdout not a terminal, redis-cli prints raw replies, one element per line.
                #expect(try cli.run(["-p", port, "PING"]).stdout == "PONG\n")
                #expect(try cli.run(["-p", port, "XADD", "s", "1-1", "field", "hello world"]).stdout == "1-1\n")
                #expect(try cli.run(["-p", port, "XADD", "s", "2-0", "n", "2"]).stdout == "2-0\n")
                #expect(try cli.run(["-p", port, "XLEN", "s"]).stdout == "2\n")
                #expect(try cli.run(["-p", port, "XRANGE", "s", "-", "+"]).stdout == "1-1\nfield\nhello world\n2-0\nn\n2\n")
                #expect(try cli.run(["-p", port, "XREAD", "COUNT", "1", "STREAMS", "s", "1-1"]).stdout == "s\n2-0\nn\n2\n")
                let error = try cli.run(["-p", port, "XADD", "s", "1-1", "f", "v"])
                #expect(error.stdout.hasPrefix("ERR The ID specified in XADD is equal or smaller than the target stream top item\n"))
            }
        }

        @Test("redis-cli reads commands from stdin")
        func redisCliReadsCommandsFromStdin() async throws {
            try await withServer { server in
                let script = FileManager.default.temporaryDirectory.appendingPathComponent("rill-cli-\(UUID()).txt")
                defer { try? FileManager.default.removeItem(at: script) }
                try "XADD s 1-1 a 1\nXADD s 1-2 b 2\nXLEN s\n".write(to: script, atomically: true, encoding: .utf8)
                let output = try cli.run(["-p", String(server.port)], input: script)
                #expect(output.stdout == "1-1\n1-2\n2\n")
            }
        }

        @Test("redis-cli --pipe mass-inserts 100k XADDs")
        func redisCliPipeMassInsertion() async throws {
            try await withServer { server in
                let count = 100_000
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("rill-pipe-\(UUID()).resp")
                defer { try? FileManager.default.removeItem(at: file) }
                var protocolText = [UInt8]()
                protocolText.reserveCapacity(count * 60)
                for index in 1...count {
                    let id = "\(index)-0"
                    let value = "value-\(index)"
                    protocolText += Array("*5\r\n$4\r\nXADD\r\n$6\r\nevents\r\n$\(id.utf8.count)\r\n\(id)\r\n".utf8)
                    protocolText += Array("$1\r\nv\r\n$\(value.utf8.count)\r\n\(value)\r\n".utf8)
                }
                try Data(protocolText).write(to: file)

                let output = try cli.run(["-p", String(server.port), "--pipe"], input: file)
                #expect(output.status == 0, "stderr: \(output.stderr)")
                #expect(output.stdout.contains("errors: 0, replies: \(count)"), "stdout: \(output.stdout)")

                let client = try server.client()
                #expect(try client.command("XLEN", "events") == .integer(Int64(count)))
                #expect(try client.command("XREVRANGE", "events", "+", "-", "COUNT", "1")
                        == .array([.array([.text("100000-0"), .array([.text("v"), .text("value-100000")])])]))
            }
        }
    }
}
