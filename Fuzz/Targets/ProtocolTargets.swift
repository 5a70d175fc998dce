import NIOCore
import RillProtocol

extension FuzzTargets {
    /// Small limits, so that inputs of a few hundred bytes reach every limit error.
    static let smallDecoderLimits = RESPDecoderLimits(maxBulkLength: 512, maxMultibulkLength: 64, maxInlineLength: 128)

    static let respRequests = FuzzTarget(
        name: "resp-requests",
        summary: """
            The request decoder (multibulk and inline) fed the input whole, then in reads of 1 to 16 bytes (the \
            first byte chooses): the commands and the error must be the same however the bytes arrive, as its \
            documentation promises, and its invariants hold between reads.
            """
    ) { input in
        guard let first = input.first else { return }
        let body = Array(input.dropFirst())
        let whole = decodedRequests(body, readSize: max(body.count, 1))
        let split = decodedRequests(body, readSize: Int(first % 16) + 1)
        precondition(whole == split, "decoding depends on how the bytes were split: \(whole) vs \(split)")
    }

    /// What a connection would see: each command's arguments, then the error that ends it, or `pending` bytes of
    /// an incomplete request.
    private static func decodedRequests(_ bytes: [UInt8], readSize: Int) -> [String] {
        var decoder = RESPRequestDecoder(limits: smallDecoderLimits)
        var cumulation = ByteBuffer()
        var outcomes: [String] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + readSize)
            cumulation.writeBytes(bytes[offset..<end])
            offset = end
            do {
                while var arguments = try decoder.decode(&cumulation) {
                    precondition(!arguments.isEmpty, "a decoded command without arguments")
                    outcomes.append(arguments.indices.map { index in
                        String(reflecting: arguments[index].readBytes(length: arguments[index].readableBytes)!)
                    }.joined(separator: " "))
                }
            } catch {
                outcomes.append("error: \(error)")
                return outcomes
            }
            decoder.validate()
            // A connection's cumulation buffer drops consumed bytes now and then; the decoder must not care.
            if end % 3 == 0 { cumulation.discardReadBytes() }
        }
        outcomes.append("pending: \(cumulation.readableBytes)")
        return outcomes
    }

    static let inlineArguments = FuzzTarget(
        name: "inline-arguments",
        summary: """
            The inline splitter (sdssplitargs rules) on one line; when it accepts the line, every argument \
            written back double-quoted with \\xHH escapes must split to the same arguments.
            """
    ) { input in
        guard let arguments = InlineArgumentSplitter.split(input) else { return }
        var quoted: [UInt8] = []
        for argument in arguments {
            if !quoted.isEmpty { quoted.append(UInt8(ascii: " ")) }
            quoted.append(UInt8(ascii: "\""))
            for byte in argument {
                quoted += Array("\\x".utf8) + Array(String(byte, radix: 16).leftPadded(to: 2).utf8)
            }
            quoted.append(UInt8(ascii: "\""))
        }
        let again = InlineArgumentSplitter.split(quoted)
        precondition(again == arguments, "quoted arguments split differently: \(arguments) vs \(String(describing: again))")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
