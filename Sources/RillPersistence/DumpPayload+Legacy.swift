import RillCore

/// DUMP payloads of Rill before it spoke Redis' format: one value in the snapshot value encoding, followed by the
/// format version (1) and a CRC-32C (layout in SnapshotFormat.swift). DUMP no longer writes them; RESTORE still
/// reads them so that append-only files written by older versions (which log RESTORE with its payload) replay.
enum LegacyDumpPayload {
    /// Bytes of the version and checksum trailer.
    static let trailerSize = 6

    /// Whether the trailer names a version this build reads and the checksum matches: Redis checks exactly this
    /// before decoding ("DUMP payload version or checksum are wrong").
    static func hasValidTrailer(_ payload: [UInt8]) -> Bool {
        guard payload.count > trailerSize else { return false }
        let bodyEnd = payload.count - trailerSize
        let version = UInt16(payload[bodyEnd]) | UInt16(payload[bodyEnd + 1]) << 8
        guard version == UInt16(SnapshotFormat.version) else { return false }
        var stored: UInt32 = 0
        for index in 0..<4 { stored |= UInt32(payload[bodyEnd + 2 + index]) << (8 * UInt32(index)) }
        var checksum = CRC32C()
        checksum.update(payload, 0..<(bodyEnd + 2))
        return checksum.value == stored
    }

    /// The value of a payload whose trailer is valid.
    /// - Throws: `SnapshotError` for a bad trailer or a body that does not decode to a valid value.
    /// - Complexity: O(payload size).
    static func decode(_ payload: [UInt8]) throws(SnapshotError) -> RedisValue {
        guard hasValidTrailer(payload) else { throw SnapshotError(offset: nil, reason: "DUMP payload version or checksum are wrong") }
        let outcome = payload.withUnsafeBytes { raw -> Result<RedisValue, DecodeFailure> in
            Result { () throws(DecodeFailure) -> RedisValue in
                var source = ByteSource(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - trailerSize)]))
                let typeByte = try source.byte()
                guard let type = ValueCodec.TypeCode(rawValue: typeByte) else {
                    throw source.failure("unknown value type \(typeByte)", at: 0)
                }
                let value = try ValueCodec.decodeBody(type, from: &source)
                guard source.isAtEnd else { throw source.failure("unexpected bytes after the value") }
                return value
            }
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error): throw SnapshotError(offset: error.offset, reason: error.reason)
        }
    }
}
