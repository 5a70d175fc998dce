import RillCore

/// The file layer's use of the object codec (RDBObjectCodec): a key record is `<type> <key> <object>` where a DUMP
/// payload has `<type> <object>`, and the Rill-only part of a stream goes in the `rill-stream` AUX field after it.
///
/// Streams are written as STREAM_LISTPACKS_2 whatever their consumers' active times, so a file of strings, lists,
/// sets and streams is RDB 10 at most, which Redis 7.0 reads (Redis 7.2+ take a consumer's active time to be its
/// seen time then). Rill keeps the active times that differ from the seen times in the AUX field, so a Rill to Rill
/// round trip loses nothing; Redis loses them (7.0 has none, 7.2+ show the seen time).
enum RDBFileObjects {
    /// The version of a file holding nothing newer: Redis 6.2's, the oldest Rill reads.
    static let versionFloor = RDBVersion.oldestRead

    /// The lowest RDB version whose readers know the encoding `value` is written in.
    static func minimumVersion(of value: RedisValue) -> UInt16 {
        max(versionFloor, fileType(of: value).minimumVersion)
    }

    private static func fileType(of value: RedisValue) -> RDBType {
        if case .stream = value { return .streamListpacks2 }
        return RDBObjectCodec.type(of: value, version: .lowest)
    }

    /// Appends `value` under `key` as a key record.
    static func writeRecord(key: [UInt8], value: RedisValue, to output: inout RDBOutput, compress: Bool) {
        let type = fileType(of: value)
        output.byte(type.rawValue)
        output.string(key, compress: compress)
        if case .stream(let stream) = value {
            RDBObjectCodec.writeStream(stream, type: type, to: &output, compress: compress)
        } else {
            RDBObjectCodec.write(value, to: &output, compress: compress, version: .lowest)
        }
    }

    /// The object of RDB type `type`, after its key.
    static func read(type: UInt8, from input: inout RDBInput) throws(RDBError) -> RedisValue {
        do {
            return try RDBObjectCodec.read(type: type, from: &input)
        } catch {
            switch error {
            case .corrupt(let failure): throw failure
            case .unsupportedType(_, let name): throw input.failure("Rill cannot hold a \(name) value (RDB type \(type))")
            }
        }
    }

    /// The content of the `rill-stream` AUX field after the key's name, or nil when the stream needs none:
    ///
    ///     length n, then n × (group name, consumer name, active time: 8 bytes LE)   consumers whose active time
    ///                                                                              differs from their seen time
    ///     the rest: RDBObjectCodec.rillOnlyState (group policies, idempotent producers, released entries)
    static func rillState(of stream: Stream) -> [UInt8]? {
        var activeTimes: [(group: [UInt8], consumer: [UInt8], time: Int64)] = []
        for group in stream.consumerGroups {
            for consumer in group.consumers where consumer.activeTime != consumer.seenTime {
                activeTimes.append((group.name, consumer.name, consumer.activeTime))
            }
        }
        let codecState = RDBObjectCodec.rillOnlyState(of: stream)
        guard !activeTimes.isEmpty || codecState != nil else { return nil }
        var output = RDBOutput()
        output.length(activeTimes.count)
        for entry in activeTimes {
            output.string(entry.group, compress: false)
            output.string(entry.consumer, compress: false)
            output.millisecondTime(entry.time)
        }
        output.raw(codecState ?? [])
        return output.bytes
    }

    /// Applies what `rillState(of:)` wrote to the stream just loaded.
    static func applyRillState(from input: inout RDBInput, to stream: inout Stream) throws(RDBError) {
        let count = try input.count(minimumBytesEach: 10)
        for _ in 0..<count {
            let start = input.offset
            let group = try input.string()
            let consumer = try input.string()
            let time = try input.millisecondTime()
            guard stream.restoreActiveTime(time, group: group, consumer: consumer) else {
                throw input.failure("active time for a consumer the stream does not have", at: start)
            }
        }
        if !input.isAtEnd {
            try RDBObjectCodec.applyRillOnlyState(Array(try input.take(input.remaining)), to: &stream)
        }
    }
}
