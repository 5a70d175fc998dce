import NIOCore
import Testing
@testable import RillProtocol

@Suite("Decoding into a reused argument array")
struct ReusedArgumentArrayTests {
    @Test func eachRequestReplacesThePreviousArguments() throws {
        var decoder = RESPRequestDecoder()
        var buffer = ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nPING\r\n*2\r\n$4\r\nECHO\r\n")
        var arguments: [ByteBuffer] = []
        #expect(try decoder.decode(&buffer, into: &arguments))
        #expect(arguments.map { String(buffer: $0) } == ["SET", "k", "v"])
        #expect(try decoder.decode(&buffer, into: &arguments))
        #expect(arguments.map { String(buffer: $0) } == ["PING"])
        // The third request is incomplete: nothing is returned and no stale argument survives.
        #expect(try decoder.decode(&buffer, into: &arguments) == false)
        #expect(arguments.isEmpty)
        buffer.writeString("$2\r\nhi\r\n")
        #expect(try decoder.decode(&buffer, into: &arguments))
        #expect(arguments.map { String(buffer: $0) } == ["ECHO", "hi"])
    }
}
