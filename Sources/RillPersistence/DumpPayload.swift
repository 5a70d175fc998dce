import RillCore

/// DUMP / RESTORE payloads: one value in the snapshot value encoding, followed by the format version and a CRC-32C
/// (layout in SnapshotFormat.swift).
public enum DumpPayload {
    /// Bytes of the version and checksum trailer.
    static let trailerSize = 6

    /// The payload DUMP replies with.
    /// - Complexity: O(size of the value).
    public static func encode(_ value: RedisValue) -> [UInt8] {
        var sink = ByteSink()
        sink.byte(ValueCodec.typeCode(of: value).rawValue)
        ValueCodec.encodeBody(value, to: &sink)
        sink.littleEndian(UInt16(SnapshotFormat.version))
        sink.littleEndian(CRC32C.checksum(of: sink.bytes))
        return sink.bytes
    }

    /// Whether the trailer names a version this build reads and the checksum matches: Redis checks exactly this
    /// before decoding ("DUMP payload version or checksum are wrong").
    public static func hasValidTrailer(_ payload: [UInt8]) -> Bool {
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
    public static func decode(_ payload: [UInt8]) throws(SnapshotError) -> RedisValue {
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
