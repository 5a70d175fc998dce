import Testing
@testable import RillPersistence

/// The writer and the reader are the two halves of one format: what one writes the other parses back, offsets
/// included, and the bytes are the RESP that `redis-cli --pipe` sends.
@Suite("AppendOnlyFileWriter")
struct AppendOnlyFileWriterTests {
    private func write(_ commands: [[[UInt8]]]) -> AppendOnlyFileWriter {
        var writer = AppendOnlyFileWriter()
        for command in commands {
            writer.appendArrayHeader(command.count)
            for argument in command { argument.withUnsafeBytes { writer.appendArgument($0) } }
        }
        return writer
    }

    @Test func bytesAreRESPArraysOfBulkStrings() {
        let writer = write([[Array("SET".utf8), Array("k".utf8), Array("0123456789".utf8)]])
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n")
    }

    @Test func wordsEncodeLikeArguments() {
        var words = AppendOnlyFileWriter()
        words.appendCommand(["SELECT", "12"])
        let arguments = write([[Array("SELECT".utf8), Array("12".utf8)]])
        #expect(words.bytes == arguments.bytes)
    }

    @Test func readerParsesBackWhatTheWriterWrote() throws {
        let commands: [[[UInt8]]] = [
            [Array("XADD".utf8), Array("orders".utf8), Array("1-1".utf8), Array("f".utf8), []],
            [Array("SET".utf8), [0, 13, 10, 255], Array(repeating: 0x61, count: 100_000)],
            [Array("MULTI".utf8)],
            Array(repeating: Array("x".utf8), count: 12),
        ]
        let writer = write(commands)
        let parsed = try AppendOnlyFileReader.parse(writer.bytes, allowTruncatedTail: false)
        #expect(parsed.commands.map(\.arguments) == commands)
        #expect(parsed.validLength == writer.bytes.count)
        #expect(parsed.commands.first?.offset == 0)
    }

    @Test func removeAllEmptiesTheBuffer() {
        var writer = write([[Array("PING".utf8)]])
        #expect(!writer.isEmpty)
        writer.removeAll()
        #expect(writer.isEmpty)
        #expect(writer.bytes.isEmpty)
    }
}
