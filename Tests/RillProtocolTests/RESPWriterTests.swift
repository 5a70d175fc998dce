import NIOCore
import RillProtocol
import Testing

@Suite("RESPWriter")
struct RESPWriterTests {
    /// What `write` appends, for the given protocol version.
    func bytes(_ version: RESPVersion, _ write: (inout RESPWriter) -> Void) -> [UInt8] {
        var writer = RESPWriter(buffer: ByteBufferAllocator().buffer(capacity: 0), version: version)
        write(&writer)
        return Array(writer.buffer.readableBytesView)
    }

    /// Checks the bytes `write` produces under RESP2 and under RESP3.
    func expect(
        _ write: (inout RESPWriter) -> Void,
        v2: String,
        v3: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(bytes(.v2, write) == Array(v2), "RESP2", sourceLocation: sourceLocation)
        #expect(bytes(.v3, write) == Array(v3), "RESP3", sourceLocation: sourceLocation)
    }

    @Test func simpleStrings() {
        expect({ $0.simpleString("OK") }, v2: "+OK\r\n", v3: "+OK\r\n")
        expect({ $0.simpleString(Array("PONG")) }, v2: "+PONG\r\n", v3: "+PONG\r\n")
        expect({ $0.simpleString("QUEUED".utf8) }, v2: "+QUEUED\r\n", v3: "+QUEUED\r\n")
        expect({ $0.simpleString("") }, v2: "+\r\n", v3: "+\r\n")
        expect({ $0.simpleString("Q") }, v2: "+Q\r\n", v3: "+Q\r\n")
        let scalarForm: StaticString = "\u{51}"
        expect({ $0.simpleString(scalarForm) }, v2: "+Q\r\n", v3: "+Q\r\n")
    }

    @Test func errors() {
        expect({ $0.error("ERR unknown command") }, v2: "-ERR unknown command\r\n", v3: "-ERR unknown command\r\n")
        expect({ $0.error("WRONGTYPE Operation against a key holding the wrong kind of value") },
            v2: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            v3: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        // Redis replaces line breaks in error text with spaces ("unknown command 'a\r\nb'" -> "'a  b'").
        expect({ $0.error("ERR unknown command 'a\r\nb'") },
            v2: "-ERR unknown command 'a  b'\r\n", v3: "-ERR unknown command 'a  b'\r\n")
        expect({ $0.error("ERR é\n") }, v2: "-ERR é \r\n", v3: "-ERR é \r\n")
    }

    @Test func protocolErrorsAreByteExact() {
        expect({ $0.error(RESPProtocolError.invalidBulkLength) },
            v2: "-ERR Protocol error: invalid bulk length\r\n", v3: "-ERR Protocol error: invalid bulk length\r\n")
        // Redis 7.0.15 answered "*1\r\n\xff\r\n" with the raw byte 0xFF inside the quotes.
        let highByte = bytes(.v2) { $0.error(RESPProtocolError.expectedDollar(got: 0xFF)) }
        #expect(highByte == Array("-ERR Protocol error: expected '$', got '") + [0xFF] + Array("'\r\n"))
    }

    @Test func integers() {
        let values: [Int64] = [0, 1, 9, 10, 42, 99, 100, 12345, -1, -10, Int64.max, Int64.min, 1_000_000_000_000]
        for value in values {
            expect({ $0.integer(value) }, v2: ":\(value)\r\n", v3: ":\(value)\r\n")
            expect({ $0.integer(Int(value)) }, v2: ":\(value)\r\n", v3: ":\(value)\r\n")
        }
    }

    @Test func bulkStrings() {
        expect({ $0.bulkString(Array("hello")) }, v2: "$5\r\nhello\r\n", v3: "$5\r\nhello\r\n")
        expect({ $0.bulkString([UInt8]()) }, v2: "$0\r\n\r\n", v3: "$0\r\n\r\n")
        expect({ $0.bulkString(Array("xhellox")[1..<6]) }, v2: "$5\r\nhello\r\n", v3: "$5\r\nhello\r\n")
        expect({ $0.bulkString(Array("abc").lazy.map { $0 }) }, v2: "$3\r\nabc\r\n", v3: "$3\r\nabc\r\n")
        expect({ $0.bulkString("héllo") }, v2: "$6\r\nhéllo\r\n", v3: "$6\r\nhéllo\r\n")
        let long = String(repeating: "0123456789", count: 120)
        expect({ $0.bulkString(long) }, v2: "$1200\r\n\(long)\r\n", v3: "$1200\r\n\(long)\r\n")
        expect({ $0.bulkString(Array("a\r\nb")) }, v2: "$4\r\na\r\nb\r\n", v3: "$4\r\na\r\nb\r\n")
        Array("raw").withUnsafeBytes { raw in
            expect({ $0.bulkString(raw) }, v2: "$3\r\nraw\r\n", v3: "$3\r\nraw\r\n")
        }
        expect({ $0.bulkString(decimal: 1_526_919_030_474) }, v2: "$13\r\n1526919030474\r\n", v3: "$13\r\n1526919030474\r\n")
        expect({ $0.bulkString(decimal: -7) }, v2: "$2\r\n-7\r\n", v3: "$2\r\n-7\r\n")
        expect({
            $0.bulkStringHeader(length: 15)
            $0.buffer.writeDecimal(UInt64(1_526_919_030_474))
            $0.buffer.writeString("-0")
            $0.endBulkString()
        }, v2: "$15\r\n1526919030474-0\r\n", v3: "$15\r\n1526919030474-0\r\n")
    }

    @Test func bulkStringFromByteBufferDoesNotConsumeIt() {
        var source = ByteBuffer(string: "xxvalue")
        source.moveReaderIndex(forwardBy: 2)
        expect({ $0.bulkString(source) }, v2: "$5\r\nvalue\r\n", v3: "$5\r\nvalue\r\n")
        #expect(source.readableBytes == 5)
    }

    @Test func nulls() {
        expect({ $0.nullBulkString() }, v2: "$-1\r\n", v3: "_\r\n")
        expect({ $0.nullArray() }, v2: "*-1\r\n", v3: "_\r\n")
    }

    @Test func aggregateHeaders() {
        expect({ $0.arrayHeader(0) }, v2: "*0\r\n", v3: "*0\r\n")
        expect({ $0.arrayHeader(3) }, v2: "*3\r\n", v3: "*3\r\n")
        expect({ $0.arrayHeader(1234) }, v2: "*1234\r\n", v3: "*1234\r\n")
        expect({ $0.mapHeader(7) }, v2: "*14\r\n", v3: "%7\r\n")
        expect({ $0.mapHeader(0) }, v2: "*0\r\n", v3: "%0\r\n")
        expect({ $0.setHeader(2) }, v2: "*2\r\n", v3: "~2\r\n")
        expect({ $0.pushHeader(3) }, v2: "*3\r\n", v3: ">3\r\n")
    }

    @Test func listsOfBulkStrings() {
        let elements = [Array("a"), [], Array("0123456789")]
        expect({ $0.bulkStrings(elements) }, v2: "*3\r\n$1\r\na\r\n$0\r\n\r\n$10\r\n0123456789\r\n",
               v3: "*3\r\n$1\r\na\r\n$0\r\n\r\n$10\r\n0123456789\r\n")
        expect({ $0.bulkStrings(elements, asSet: true) }, v2: "*3\r\n$1\r\na\r\n$0\r\n\r\n$10\r\n0123456789\r\n",
               v3: "~3\r\n$1\r\na\r\n$0\r\n\r\n$10\r\n0123456789\r\n")
        expect({ $0.bulkStrings([]) }, v2: "*0\r\n", v3: "*0\r\n")
    }

    @Test("an array counted while written gets the header of the count its elements report")
    func arrayCountedWhileWritten() {
        func elements(_ count: Int) -> (inout RESPWriter) -> Int {
            { writer in
                for index in 0..<count { writer.bulkString(decimal: Int64(index)) }
                return count
            }
        }
        // As expected: the header written first stands.
        expect({ $0.arrayHeader(expectedCount: 2, elements: elements(2)) },
            v2: "*2\r\n$1\r\n0\r\n$1\r\n1\r\n", v3: "*2\r\n$1\r\n0\r\n$1\r\n1\r\n")
        // Fewer, same header width: rewritten in place.
        expect({ $0.arrayHeader(expectedCount: 5, elements: elements(1)) }, v2: "*1\r\n$1\r\n0\r\n", v3: "*1\r\n$1\r\n0\r\n")
        // Fewer, narrower header: the elements move left.
        expect({ $0.arrayHeader(expectedCount: 100, elements: elements(2)) },
            v2: "*2\r\n$1\r\n0\r\n$1\r\n1\r\n", v3: "*2\r\n$1\r\n0\r\n$1\r\n1\r\n")
        expect({ $0.arrayHeader(expectedCount: 10, elements: elements(0)) }, v2: "*0\r\n", v3: "*0\r\n")
        // More than expected, wider header: the elements move right.
        let twelve = (0..<12).map { "$\(String($0).count)\r\n\($0)\r\n" }.joined()
        expect({ $0.arrayHeader(expectedCount: 3, elements: elements(12)) }, v2: "*12\r\n" + twelve, v3: "*12\r\n" + twelve)
        // Whatever the buffer held before is kept.
        expect({ writer in
            writer.simpleString("OK")
            writer.arrayHeader(expectedCount: 10, elements: elements(1))
            writer.integer(7)
        }, v2: "+OK\r\n*1\r\n$1\r\n0\r\n:7\r\n", v3: "+OK\r\n*1\r\n$1\r\n0\r\n:7\r\n")
    }

    @Test("doubles use Redis 7.0's %.17g text (recorded from ZSCORE on redis-server 7.0.15)")
    func doubles() {
        let cases: [(Double, String)] = [
            (1.1, "1.1000000000000001"), (100, "100"), (1e16, "10000000000000000"), (0.1, "0.10000000000000001"),
            (1e-5, "1.0000000000000001e-05"), (123_456_789_012_345_678, "1.2345678901234568e+17"),
            (.infinity, "inf"), (-.infinity, "-inf"), (0, "0"), (-2.5, "-2.5"), (.nan, "nan"),
            (-4.9406564584124654e-324, "-4.9406564584124654e-324"),
        ]
        for (value, text) in cases {
            expect({ $0.double(value) }, v2: "$\(text.utf8.count)\r\n\(text)\r\n", v3: ",\(text)\r\n")
        }
    }

    @Test func booleans() {
        expect({ $0.boolean(true) }, v2: ":1\r\n", v3: "#t\r\n")
        expect({ $0.boolean(false) }, v2: ":0\r\n", v3: "#f\r\n")
    }

    @Test func verbatimStrings() {
        expect({ $0.verbatimString(Array("abc")) }, v2: "$3\r\nabc\r\n", v3: "=7\r\ntxt:abc\r\n")
        expect({ $0.verbatimString("# Server\r\n", format: "mkd") },
            v2: "$10\r\n# Server\r\n\r\n", v3: "=14\r\nmkd:# Server\r\n\r\n")
        expect({ $0.verbatimString("") }, v2: "$0\r\n\r\n", v3: "=4\r\ntxt:\r\n")
    }

    @Test("a reply built from several calls appends to existing content")
    func composedReply() {
        var buffer = ByteBuffer(string: "already-sent")
        buffer.moveReaderIndex(forwardBy: 8)  // the writer must not assume readerIndex == 0
        var writer = RESPWriter(buffer: buffer, version: .v3)
        writer.mapHeader(2)
        writer.bulkString("server")
        writer.bulkString("rill")
        writer.bulkString("proto")
        writer.integer(3)
        writer.error("ERR a\nb")
        #expect(String(buffer: writer.buffer) == "sent%2\r\n$6\r\nserver\r\n$4\r\nrill\r\n$5\r\nproto\r\n:3\r\n-ERR a b\r\n")
    }

    @Test("writeDecimal and digitCount agree with Swift's own formatting at every digit-count boundary")
    func decimals() {
        var unsignedValues: [UInt64] = [0, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<20 {
            unsignedValues += [power - 1, power, power + 1]
            if power > UInt64.max / 10 { break }
            power *= 10
        }
        for value in unsignedValues {
            var buffer = ByteBuffer()
            let written = buffer.writeDecimal(value)
            #expect(String(buffer: buffer) == String(value))
            #expect(written == String(value).utf8.count)
            #expect(RESPDecimal.digitCount(value) == String(value).utf8.count)
        }
        let signedValues: [Int64] = [0, -1, 9, -9, 10, -10, Int64.max, Int64.min, Int64.min + 1, -999, 1000]
        for value in signedValues {
            var buffer = ByteBuffer()
            #expect(buffer.writeDecimal(value) == String(value).utf8.count)
            buffer.writeDecimal(Int(value))
            #expect(String(buffer: buffer) == String(value) + String(value))
            #expect(RESPDecimal.digitCount(value) == String(value).utf8.count)
        }
    }
}
