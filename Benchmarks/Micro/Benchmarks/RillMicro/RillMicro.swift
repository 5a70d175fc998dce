// Micro benchmarks of the layers under the server: the stream core (append, range reads, XACK, XCLAIM) and the
// RESP request decoder and reply writer. Run from Benchmarks/Micro with `swift package benchmark`.
//
// Each benchmark does `scaledIterations` operations per measured run; state that an operation consumes (pending
// entries to acknowledge or claim) is built before `startMeasurement()`, so only the operation itself is timed.
import Benchmark
import NIOCore
import RillCore
import RillProtocol

/// The entry every benchmark appends: three fields, the shape the side-by-side harness sends with XADD.
let orderFields: [[UInt8]] = ["event", "order_placed", "order_id", "1001", "amount", "25"].map { Array($0.utf8) }

/// A stream of `count` entries with ids 1-0, 2-0, ... (small ids, so XRANGE starts are easy to pick).
func makeStream(entries count: Int) -> Stream {
    var stream = Stream()
    for n in 1...count {
        try! stream.append(id: StreamID(ms: UInt64(n), seq: 0), fieldsAndValues: orderFields)
    }
    return stream
}

let rangeStreamEntries = 100_000
let rangeStream = makeStream(entries: rangeStreamEntries)
let groupName = Array("workers".utf8)
let consumerA = Array("consumer-a".utf8)
let consumerB = Array("consumer-b".utf8)

/// A stream of `count` entries that one group has delivered to consumer-a and nobody acknowledged.
func makeStreamWithPendingEntries(_ count: Int) -> (Stream, [StreamID]) {
    var stream = makeStream(entries: count)
    try! stream.createGroup(named: groupName, lastDeliveredID: .zero, entriesRead: nil)
    let ids = try! stream.readNewEntries(
        group: groupName, consumer: consumerA, count: 0, noAcknowledgement: false, nowMilliseconds: 1_000)!
    return (stream, ids)
}

/// `count` pipelined `XADD orders * event order_placed order_id <n> amount <n>` requests, as a client sends them.
func pipelinedXADDRequests(_ count: Int) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: count * 100)
    for n in 0..<count {
        let arguments = ["XADD", "orders", "*", "event", "order_placed", "order_id", "\(n)", "amount", "\(n % 1000)"]
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.utf8.count)\r\n\(argument)\r\n")
        }
    }
    return buffer
}

/// Operations per measured run: entries appended, ranges read, ids acknowledged or claimed, requests decoded...
var batchConfiguration: Benchmark.Configuration {
    .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(2))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark("Core append (3 fields, XADD *)", configuration: batchConfiguration) { benchmark in
        var stream = Stream()
        var now: UInt64 = 1_700_000_000_000
        for _ in benchmark.scaledIterations {
            now &+= 1
            blackHole(try! stream.append(.automatic, fieldsAndValues: orderFields, nowMilliseconds: now))
        }
    }

    Benchmark("Core range COUNT 10 (100k-entry stream)", configuration: batchConfiguration) { benchmark in
        var start: UInt64 = 1
        for _ in benchmark.scaledIterations {
            start = (start + 7_919) % UInt64(rangeStreamEntries - 10) + 1  // a prime stride spreads starts over blocks
            var bytes = 0
            rangeStream.forEachEntry(from: StreamID(ms: start, seq: 0), limit: 10) { _, fields in
                fields.forEachPair { field, value in
                    bytes &+= field.withUnsafeBytes { $0.count } &+ value.withUnsafeBytes { $0.count }
                }
            }
            blackHole(bytes)
        }
    }

    Benchmark("Core reverse range COUNT 10 (100k-entry stream)", configuration: batchConfiguration) { benchmark in
        var end: UInt64 = 1
        for _ in benchmark.scaledIterations {
            end = (end + 7_919) % UInt64(rangeStreamEntries - 10) + 11
            blackHole(rangeStream.forEachEntry(to: StreamID(ms: end, seq: 0), reverse: true, limit: 10) { _, _ in })
        }
    }

    // Per acknowledged or claimed id, in commands of 100 ids as drain_worker.c sends them.
    Benchmark("Core ack (per id, XACK of 100 ids)", configuration: batchConfiguration) { benchmark in
        var (stream, ids) = makeStreamWithPendingEntries(benchmark.scaledIterations.count)
        benchmark.startMeasurement()
        for batch in stride(from: 0, to: ids.count, by: 100) {
            blackHole(stream.acknowledge(group: groupName, ids: Array(ids[batch..<min(batch + 100, ids.count)])))
        }
        benchmark.stopMeasurement()
        precondition(try! stream.pendingSummary(group: groupName).count == 0, "every id was acknowledged")
    }

    Benchmark("Core claim (per id, XCLAIM of 100 ids to another consumer)", configuration: batchConfiguration) {
        benchmark in
        var (stream, ids) = makeStreamWithPendingEntries(benchmark.scaledIterations.count)
        benchmark.startMeasurement()
        for batch in stride(from: 0, to: ids.count, by: 100) {
            blackHole(try! stream.claim(
                group: groupName, consumer: consumerB, ids: Array(ids[batch..<min(batch + 100, ids.count)]),
                minimumIdle: 0, options: ClaimOptions(), nowMilliseconds: 2_000))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("RESP decode (pipelined XADD requests)", configuration: batchConfiguration) { benchmark in
        let requests = pipelinedXADDRequests(benchmark.scaledIterations.count)
        var decoder = RESPRequestDecoder()
        var arguments: [ByteBuffer] = []
        var buffer = requests
        benchmark.startMeasurement()
        var decoded = 0
        while try! decoder.decode(&buffer, into: &arguments) { decoded &+= arguments.count }
        benchmark.stopMeasurement()
        precondition(decoded == benchmark.scaledIterations.count * 9, "every request has nine arguments")
    }

    Benchmark("RESP encode (XRANGE COUNT 10 reply, RESP2)", configuration: batchConfiguration) { benchmark in
        var entries: [(StreamID, [[UInt8]])] = []
        rangeStream.forEachEntry(from: StreamID(ms: 500, seq: 0), limit: 10) { id, fields in
            entries.append((id, fields.flattened()))
        }
        var writer = RESPWriter(buffer: ByteBufferAllocator().buffer(capacity: 4096), version: .v2)
        for _ in benchmark.scaledIterations {
            writer.buffer.clear()
            writer.arrayHeader(entries.count)
            for (id, fields) in entries {
                writer.arrayHeader(2)
                id.withASCIIBytes { writer.bulkString($0) }
                writer.arrayHeader(fields.count)
                for element in fields { writer.bulkString(element) }
            }
            blackHole(writer.buffer.readableBytes)
        }
    }
}
