/// A request that breaks the RESP grammar. The server replies `-ERR <message>` and closes the connection, as Redis does.
///
/// ``message`` is the text Redis 7 sends after `-ERR `, byte for byte. It is plain ASCII except in
/// ``expectedDollar(got:)``, where the offending byte is carried as the Unicode scalar of the same value
/// (U+0000...U+00FF); ``RESPWriter/error(_:)-(RESPProtocolError)`` writes such scalars back as single bytes so the
/// reply matches Redis exactly even for bytes >= 0x80.
public struct RESPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The reply text after `-ERR `, e.g. `Protocol error: invalid bulk length`. Never empty, never holds CR or LF.
    public let message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { "ERR " + self.message }

    /// A `*` count that is not a plain decimal integer (no sign, spaces or leading zeros; `-0` is rejected) or exceeds
    /// ``RESPDecoderLimits/maxMultibulkLength``.
    public static let invalidMultibulkLength = RESPProtocolError(message: "Protocol error: invalid multibulk length")
    /// A `$` length that is not a plain decimal integer, is negative, or exceeds ``RESPDecoderLimits/maxBulkLength``.
    public static let invalidBulkLength = RESPProtocolError(message: "Protocol error: invalid bulk length")
    /// A `*` count over ``RESPDecoderLimits/maxUnauthenticatedMultibulkLength`` from a client that has not
    /// authenticated.
    public static let unauthenticatedMultibulkLength = RESPProtocolError(
        message: "Protocol error: unauthenticated multibulk length")
    /// A `$` length over ``RESPDecoderLimits/maxUnauthenticatedBulkLength`` from a client that has not
    /// authenticated.
    public static let unauthenticatedBulkLength = RESPProtocolError(
        message: "Protocol error: unauthenticated bulk length")
    /// An inline request with a quote that is never closed, or whose closing quote is glued to the next character.
    public static let unbalancedQuotes = RESPProtocolError(message: "Protocol error: unbalanced quotes in request")
    /// An inline line longer than ``RESPDecoderLimits/maxInlineLength``.
    public static let tooBigInlineRequest = RESPProtocolError(message: "Protocol error: too big inline request")
    /// A `*` count line longer than ``RESPDecoderLimits/maxInlineLength``.
    public static let tooBigMultibulkCount = RESPProtocolError(message: "Protocol error: too big mbulk count string")
    /// A `$` length line longer than ``RESPDecoderLimits/maxInlineLength``.
    public static let tooBigBulkCount = RESPProtocolError(message: "Protocol error: too big bulk count string")

    /// An argument header inside a multibulk request that does not start with `$`.
    ///
    /// Redis prints the byte itself, except that CR and LF become a space (it never lets a newline into an error
    /// reply). Bytes >= 0x80 are kept as the scalar of the same value; see the type's documentation.
    public static func expectedDollar(got byte: UInt8) -> RESPProtocolError {
        let shown: UInt8 = (byte == ASCII.carriageReturn || byte == ASCII.lineFeed) ? ASCII.space : byte
        var message = "Protocol error: expected '$', got '"
        message.unicodeScalars.append(Unicode.Scalar(shown))
        message += "'"
        return RESPProtocolError(message: message)
    }
}
