import NIOCore
import RillProtocol
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Throughput numbers for the decoder and writer; only runs when RILL_BENCHMARK is set, because timing is
/// meaningless in debug builds. Run with: RILL_BENCHMARK=1 swift test -c release --filter DecoderBenchmark
/// (or RILL_BENCHMARK=100000 under `valgrind --tool=callgrind` for instruction counts).
@Suite("DecoderBenchmark", .enabled(if: getenv("RILL_BENCHMARK") != nil))
struct DecoderBenchmark {
    /// Commands per measurement: RILL_BENCHMARK's value when it is a number (small counts suit valgrind), else 2M.
    let count = getenv("RILL_BENCHMARK").flatMap { Int(String(cString: $0)) } ?? 2_000_000

    func measure(_ label: String, commands: Int, _ body: () -> Int) {
        let start = ContinuousClock.now
        let checksum = body()
        let elapsed = ContinuousClock.now - start
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print("\(label): \((nanoseconds / Double(commands) * 10).rounded() / 10) ns/command (checksum \(checksum))")
        #expect(checksum > 0)
    }

    @Test func pipelinedRequests() throws {
        for (label, request) in [
            ("PING multibulk", multibulk("PING")),
            ("PING inline", Array("PING\r\n")),
            ("XADD 5 args", multibulk("XADD", "mystream", "*", "field", "value")),
        ] {
            // 16 KiB reads, like a busy pipelined connection.
            let perRead = max(1, 16384 / request.count)
            let read = ByteBuffer(bytes: Array([[UInt8]](repeating: request, count: perRead).joined()))
            measure(label, commands: count) {
                var decoder = RESPRequestDecoder()
                var cumulation = ByteBufferAllocator().buffer(capacity: 65536)
                var decoded = 0
                while decoded < count {
                    var chunk = read
                    cumulation.writeBuffer(&chunk)
                    while let arguments = try? decoder.decode(&cumulation) {
                        decoded += arguments.count > 0 ? 1 : 0
                    }
                    cumulation.discardReadBytes()
                }
                return decoded
            }
        }
    }

    @Test func replies() {
        measure("+PONG / :small / $bulk replies", commands: count) {
            var writer = RESPWriter(buffer: ByteBufferAllocator().buffer(capacity: 1 << 20), version: .v2)
            let value: [UInt8] = Array("some value")
            var total = 0
            for index in 0..<count {
                switch index % 3 {
                case 0: writer.simpleString("PONG")
                case 1: writer.integer(Int64(index & 1023))
                default: writer.bulkString(value)
                }
                if writer.buffer.readableBytes > 60000 {
                    total += writer.buffer.readableBytes
                    writer.buffer.clear()
                }
            }
            return total + writer.buffer.readableBytes
        }
    }
}
