/// Size limits the request decoder enforces. The defaults are Redis 7's.
///
/// Invariant: every limit is >= 0 (a negative limit would reject everything; it is clamped nowhere, so don't).
public struct RESPDecoderLimits: Sendable, Equatable {
    /// Largest accepted `$` argument length, in bytes (Redis `proto-max-bulk-len`). Default 512 MiB (536870912);
    /// a length equal to it is accepted. Zero allows only empty arguments.
    public var maxBulkLength: Int
    /// Largest accepted `*` argument count. Default `Int(Int32.max)` (2147483647), Redis's fixed INT_MAX limit.
    /// Counts <= 0 are never an error: Redis skips such a request.
    public var maxMultibulkLength: Int
    /// Longest inline line, `*` line or `$` line, in bytes before its terminator (Redis PROTO_INLINE_MAX_SIZE).
    /// Default 64 KiB (65536): a line of exactly that length is accepted, one byte more is an error.
    public var maxInlineLength: Int
    /// Whether the request comes from a client that has yet to authenticate (a password is required and AUTH has
    /// not succeeded). Redis then refuses a `*` count over ``maxUnauthenticatedMultibulkLength`` and a `$` length
    /// over ``maxUnauthenticatedBulkLength``, so a stranger cannot make the server buffer a large request. Checked
    /// after the limits above, as Redis orders them. Default false.
    public var unauthenticated: Bool

    /// Redis' fixed limits before authentication: 10 arguments, 16 KiB per argument (a length equal to them is
    /// accepted).
    public static let maxUnauthenticatedMultibulkLength = 10
    public static let maxUnauthenticatedBulkLength = 16 * 1024

    /// Redis 7's defaults: 512 MiB bulks, INT_MAX arguments, 64 KiB lines.
    public static let redisDefaults = RESPDecoderLimits()

    public init(
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxMultibulkLength: Int = Int(Int32.max),
        maxInlineLength: Int = 64 * 1024,
        unauthenticated: Bool = false
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxMultibulkLength = maxMultibulkLength
        self.maxInlineLength = maxInlineLength
        self.unauthenticated = unauthenticated
    }
}
