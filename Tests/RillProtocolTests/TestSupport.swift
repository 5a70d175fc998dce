import NIOCore
import RillProtocol

/// Everything a decoder produced from one input: the commands, then the error that stopped it (if any), and how
/// many bytes were still unconsumed at the end.
struct DecodeOutcome: Equatable, CustomStringConvertible {
    var commands: [[[UInt8]]] = []
    var error: RESPProtocolError? = nil
    var leftoverBytes: Int = 0

    var description: String {
        let rendered = self.commands.map { command in
            command.map { String(decoding: $0, as: UTF8.self).debugDescription }.joined(separator: " ")
        }
        return "commands: \(rendered), error: \(self.error.map(\.message) ?? "none"), leftover: \(self.leftoverBytes)"
    }
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of `text`, for readable test inputs.
    init(_ text: String) { self = Array(text.utf8) }
}

/// Feeds `input` to a fresh decoder the way a ByteToMessageDecoder does: each chunk is appended to one cumulation
/// buffer, then `decode` runs until it returns nil. With `compact`, consumed bytes are discarded between reads (which
/// moves the unread bytes to index 0) to prove the decoder only keeps offsets relative to the reader index.
/// With `validating`, the decoder's invariants are checked after every read (O(arguments) each time).
func decode(
    _ input: [UInt8],
    chunkSizes: [Int]? = nil,
    limits: RESPDecoderLimits = .redisDefaults,
    compact: Bool = false,
    validating: Bool = true
) -> DecodeOutcome {
    var decoder = RESPRequestDecoder(limits: limits)
    var buffer = ByteBufferAllocator().buffer(capacity: 16)
    var outcome = DecodeOutcome()
    var offset = 0
    var chunkIndex = 0
    while offset < input.count {
        let size = min(chunkSizes.map { $0[chunkIndex % $0.count] } ?? input.count, input.count - offset)
        chunkIndex += 1
        buffer.writeBytes(input[offset..<(offset + size)])
        offset += size
        do {
            while let arguments = try decoder.decode(&buffer) {
                outcome.commands.append(arguments.map { Array($0.readableBytesView) })
            }
        } catch {
            outcome.error = error
            outcome.leftoverBytes = buffer.readableBytes
            return outcome
        }
        if validating { decoder.validate() }
        if compact { buffer.discardReadBytes() }
    }
    outcome.leftoverBytes = buffer.readableBytes
    return outcome
}

/// The multibulk encoding of a command.
func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
    var bytes = Array("*\(arguments.count)\r\n")
    for argument in arguments {
        bytes += Array("$\(argument.count)\r\n") + argument + Array("\r\n")
    }
    return bytes
}

func multibulk(_ arguments: String...) -> [UInt8] { multibulk(arguments.map { Array($0) }) }

/// An inline line carrying exactly `arguments`: each one in double quotes, with `\xHH` for every byte that is not
/// printable ASCII and backslash escapes for `"` and `\`.
func quotedInlineLine(_ arguments: [[UInt8]], terminator: String = "\r\n") -> [UInt8] {
    var line: [UInt8] = []
    for (index, argument) in arguments.enumerated() {
        if index > 0 { line.append(UInt8(ascii: " ")) }
        line.append(UInt8(ascii: "\""))
        for byte in argument {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                line += [UInt8(ascii: "\\"), byte]
            case 0x20...0x7E:
                line.append(byte)
            default:
                let hex = Array("0123456789abcdef".utf8)
                line += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        line.append(UInt8(ascii: "\""))
    }
    return line + Array(terminator)
}

/// Chunk-size patterns every decoding property is checked under.
let everyFeedingPattern: [(name: String, sizes: [Int]?, compact: Bool)] = [
    ("whole", nil, false),
    ("byte by byte", [1], false),
    ("byte by byte, compacting", [1], true),
    ("primes", [2, 3, 5, 7, 11, 13], true),
    ("large", [4096], false),
]
