import RillTestSupport
import Testing
@testable import RillPersistence

/// Encodes commands as an append-only file holds them: RESP arrays of bulk strings.
private func encode(_ commands: [[[UInt8]]]) -> [UInt8] {
    var bytes: [UInt8] = []
    for command in commands {
        bytes += Array("*\(command.count)\r\n".utf8)
        for argument in command {
            bytes += Array("$\(argument.count)\r\n".utf8)
            bytes += argument
            bytes += [13, 10]
        }
    }
    return bytes
}

private func randomCommands(_ rng: inout SeededGenerator, count: Int) -> [[[UInt8]]] {
    (0..<count).map { _ in
        [Array("XADD".utf8)] + (0..<Int.random(in: 0..<6, using: &rng)).map { _ in randomBytes(&rng) }
    }
}

@Test func readsEveryCommandWithItsOffset() throws {
    var rng = SeededGenerator(seed: 11)
    let commands = randomCommands(&rng, count: 200)
    let bytes = encode(commands)
    let result = try AppendOnlyFileReader.parse(bytes, allowTruncatedTail: false)
    #expect(result.commands.map(\.arguments) == commands)
    #expect(result.validLength == bytes.count)
    #expect(result.truncatedBytes == 0)
    var expectedOffset = 0
    for (index, command) in commands.enumerated() {
        #expect(result.commands[index].offset == expectedOffset)
        expectedOffset += encode([command]).count
    }
}

@Test func emptyFileHasNoCommands() throws {
    let result = try AppendOnlyFileReader.parse([], allowTruncatedTail: false)
    #expect(result.commands.isEmpty)
    #expect(result.validLength == 0)
}

/// Cutting the file at every possible byte gives the complete commands before the cut, never an error when the
/// tail may be dropped, and a truncation error at the incomplete command's offset otherwise.
@Test func everyPrefixIsATruncationNotACorruption() throws {
    var rng = SeededGenerator(seed: 12)
    let commands = randomCommands(&rng, count: 12)
    let bytes = encode(commands)
    var ends: [Int] = []
    var end = 0
    for command in commands {
        end += encode([command]).count
        ends.append(end)
    }
    for cut in 0...bytes.count {
        let prefix = Array(bytes[0..<cut])
        let complete = ends.filter { $0 <= cut }.count
        let validLength = complete == 0 ? 0 : ends[complete - 1]
        let result = try AppendOnlyFileReader.parse(prefix, allowTruncatedTail: true)
        #expect(result.commands.map(\.arguments) == Array(commands[0..<complete]), "cut at \(cut)")
        #expect(result.validLength == validLength)
        #expect(result.truncatedBytes == cut - validLength)
        if cut != validLength {
            #expect(throws: AppendOnlyFileError(
                offset: validLength, reason: "truncated command (the file ends inside it)", kind: .truncated)
            ) {
                try AppendOnlyFileReader.parse(prefix, allowTruncatedTail: false)
            }
        }
    }
}

@Test func corruptionIsReportedWithItsOffsetEvenWhenTruncationIsAllowed() {
    let good = encode([[Array("SET".utf8), Array("k".utf8), Array("v".utf8)]])
    let cases: [(bytes: [UInt8], offset: Int)] = [
        (good + Array("+OK\r\n".utf8), good.count),                          // not an array
        (good + Array("*2\r\n$3\r\nGET\r\n:1\r\n".utf8), good.count + 13),   // not a bulk string
        (good + Array("*x\r\n".utf8), good.count + 1),                       // not a count
        (good + Array("*1\n".utf8), good.count + 2),                         // LF without CR
        (good + Array("*1\r\r".utf8), good.count + 3),                       // CR without LF
        (good + Array("*0\r\n".utf8), good.count),                           // empty command
        (good + Array("*1\r\n$3\r\nGETxx".utf8), good.count + 11),           // wrong terminator
        (good + Array("*1\r\n$99999999999\r\n".utf8), good.count + 14),      // absurd length: 10th digit
    ]
    for (bytes, offset) in cases {
        do {
            _ = try AppendOnlyFileReader.parse(bytes, allowTruncatedTail: true)
            Issue.record("accepted corrupt input \(bytes)")
        } catch {
            #expect(error.kind == .corrupt)
            #expect(error.offset == offset, "\(error)")
        }
    }
}

/// Flipping one byte anywhere either still parses (a byte inside an argument value) or is detected; it never
/// makes the reader crash or read past the end, and the commands before the damaged one come out intact.
@Test func flippedBytesNeverCrashTheReader() throws {
    var rng = SeededGenerator(seed: 13)
    let commands = randomCommands(&rng, count: 30)
    let bytes = encode(commands)
    var starts: [Int] = []
    var start = 0
    for command in commands {
        starts.append(start)
        start += encode([command]).count
    }
    for position in 0..<bytes.count {
        var damaged = bytes
        damaged[position] ^= UInt8.random(in: 1...255, using: &rng)
        // Index of the command holding the flipped byte; every command before it is untouched.
        let damagedCommand = starts.lastIndex { $0 <= position }!  // starts[0] == 0 <= position
        do {
            let result = try AppendOnlyFileReader.parse(damaged, allowTruncatedTail: true)
            #expect(result.validLength + result.truncatedBytes == damaged.count, "flip at \(position)")
            #expect(result.commands.prefix(damagedCommand).map(\.arguments) == Array(commands.prefix(damagedCommand)),
                    "flip at \(position)")
        } catch {
            // Truncation is allowed, so only corruption is thrown, and never before the damaged command.
            #expect(error.kind == .corrupt, "flip at \(position)")
            #expect(error.offset >= starts[damagedCommand] && error.offset < damaged.count, "flip at \(position): \(error)")
        }
    }
}
