import RillCore

/// Why RESTORE refuses a payload.
public enum DumpPayloadError: Error, Equatable, CustomStringConvertible {
    /// The footer's version is newer than RDB 12 or its CRC-64 does not match (Redis: "DUMP payload version or
    /// checksum are wrong").
    case badFooter
    /// A valid Redis value of a type Rill does not hold.
    case unsupportedType(name: String)
    /// The object is damaged or inconsistent (Redis: "Bad data format").
    case corrupt(RDBError)

    public var description: String {
        switch self {
        case .badFooter: return "DUMP payload version or checksum are wrong"
        case .unsupportedType(let name): return "Rill cannot hold a \(name) value"
        case .corrupt(let error): return error.description
        }
    }
}

/// DUMP / RESTORE payloads in Redis' format:
///
///     type byte | object (RDB encoding) | [Rill state] | RDB version (u16 LE) | CRC-64 of all before it (u64 LE)
///
/// so payloads move both ways between Redis and Rill (and MIGRATE-style tools work). DUMP states the oldest RDB
/// version that reads the value (`RDBObjectCodec.minimumVersion`): 9 for strings, lists and sets, 10 for streams,
/// 11 for streams whose consumers' active times differ from their seen times; Redis refuses newer versions than its
/// own, so Redis 7.0 (RDB 10) reads most streams Rill dumps and 7.2+ all of them.
///
/// Rill state (`RDBObjectCodec.rillOnlyState`) follows the object behind `rillStateMarker`: Redis' RESTORE stops
/// reading after the object and ignores the rest up to the footer (checked with Redis 7.0.15 and 8.2.3, with
/// `sanitize-dump-payload yes`), so Redis loads such a payload without that state and Rill keeps it.
public enum DumpPayload {
    /// Version and CRC-64.
    static let footerSize = 10
    /// Introduces Rill state after the object; then an RDB length and that many bytes, up to the footer.
    static let rillStateMarker: [UInt8] = Array("RILL-STATE".utf8)

    /// The payload DUMP replies with.
    /// - Complexity: O(size of the value).
    public static func encode(_ value: RedisValue, compress: Bool = true) -> [UInt8] {
        var output = RDBOutput()
        output.byte(RDBObjectCodec.type(of: value, version: .lowest).rawValue)
        RDBObjectCodec.write(value, to: &output, compress: compress, version: .lowest)
        if case .stream(let stream) = value, let state = RDBObjectCodec.rillOnlyState(of: stream) {
            output.raw(rillStateMarker)
            output.length(state.count)
            output.raw(state)
        }
        output.littleEndian(RDBObjectCodec.minimumVersion(of: value, version: .lowest))
        output.littleEndian(CRC64.checksum(of: output.bytes))
        return output.bytes
    }

    /// Bytes of `value`'s RDB object encoding, without type byte (DEBUG OBJECT's serializedlength, as Redis').
    /// - Complexity: O(size of the value).
    public static func serializedLength(of value: RedisValue) -> Int {
        var output = RDBOutput()
        RDBObjectCodec.write(value, to: &output, compress: true, version: .lowest)
        return output.bytes.count
    }

    /// Whether the footer names an RDB version up to 12 and the CRC-64 matches (or the payload is one of Rill's
    /// older format), which Redis checks before anything else.
    public static func hasValidFooter(_ payload: [UInt8]) -> Bool {
        rdbVersion(of: payload) != nil || LegacyDumpPayload.hasValidTrailer(payload)
    }

    /// The RDB version of a payload whose footer is valid, else nil.
    static func rdbVersion(of payload: [UInt8]) -> UInt16? {
        guard payload.count > footerSize else { return nil }
        let versionAt = payload.count - footerSize
        let version = UInt16(payload[versionAt]) | UInt16(payload[versionAt + 1]) << 8
        guard version <= RDBVersion.newest else { return nil }
        var stored: UInt64 = 0
        for index in 0..<8 { stored |= UInt64(payload[versionAt + 2 + index]) << (8 * UInt64(index)) }
        var checksum = CRC64()
        checksum.update(payload, 0..<(versionAt + 2))
        return checksum.value == stored ? version : nil
    }

    /// The value of a payload, checked in Redis' order: footer, then the object, deeply.
    /// - Complexity: O(payload size).
    public static func decode(_ payload: [UInt8]) throws(DumpPayloadError) -> RedisValue {
        guard rdbVersion(of: payload) != nil else {
            guard LegacyDumpPayload.hasValidTrailer(payload) else { throw .badFooter }
            do {
                return try LegacyDumpPayload.decode(payload)
            } catch {
                throw .corrupt(RDBError(offset: error.offset ?? 0, reason: error.reason))
            }
        }
        var input = RDBInput(payload, end: payload.count - footerSize)
        var value: RedisValue
        do {
            let type = try input.byte()
            value = try RDBObjectCodec.read(type: type, from: &input)
            if case .stream(var stream) = value, let state = try rillState(from: &input) {
                value = .string([])  // drop the second reference so the stream is mutated in place
                do {
                    try RDBObjectCodec.applyRillOnlyState(state.bytes, to: &stream)
                } catch {
                    throw RDBError(offset: state.offset + error.offset, reason: "Rill state: \(error.reason)")
                }
                value = .stream(stream)
            }
        } catch let error as RDBObjectError {
            switch error {
            case .corrupt(let failure): throw .corrupt(failure)
            case .unsupportedType(_, let name): throw .unsupportedType(name: name)
            }
        } catch let error as RDBError {
            throw .corrupt(error)
        } catch {
            throw .corrupt(RDBError(offset: input.offset, reason: "\(error)"))
        }
        return value
    }

    /// The Rill state after the object, if the rest starts with the marker; other trailing bytes are ignored, as
    /// Redis ignores them.
    private static func rillState(from input: inout RDBInput) throws(RDBError) -> (bytes: [UInt8], offset: Int)? {
        guard input.remaining >= rillStateMarker.count,
              input.bytes[input.offset..<(input.offset + rillStateMarker.count)].elementsEqual(rillStateMarker)
        else { return nil }
        input.offset += rillStateMarker.count
        let lengthStart = input.offset
        let length = try input.length()
        guard length == UInt64(input.remaining) else {
            throw input.failure("Rill state of \(length) bytes, \(input.remaining) before the footer", at: lengthStart)
        }
        let offset = input.offset
        return (Array(try input.take(Int(length))), offset)
    }
}
