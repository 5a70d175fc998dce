import RillCore

// Stream extension 0x04: Rill's consumer-group policy (layout in SnapshotFormat.swift). Written only
// for streams with a group that used them, so every other stream encodes exactly as before and older files load.
extension ValueCodec {
    /// The 0x04 extension when `stream` needs it.
    static func workQueueStreamExtensions(_ stream: RillCore.Stream) -> [(StreamExtensionTag, [UInt8])] {
        let groups = stream.consumerGroups.filter { !$0.policy.isOff || $0.deadLetteredCount > 0 }
        guard !groups.isEmpty else { return [] }
        var payload = ByteSink()
        payload.varint(groups.count)
        for group in groups {
            payload.string(group.name)
            if let deadLetterKey = group.policy.deadLetterKey {
                payload.byte(1)
                payload.varint(group.policy.maxDeliveries)
                payload.string(deadLetterKey)
            } else {
                payload.byte(0)
            }
            payload.varint(UInt64(group.policy.consumerIdleTimeout))  // >= 0 (invariant)
            payload.varint(group.deadLetteredCount)
        }
        return [(.groupPolicies, payload.bytes)]
    }

    /// Tag 0x04 payload; the groups it names were decoded from tag 0x01 before it.
    static func decodeGroupPolicies(from source: inout ByteSource, into stream: inout RillCore.Stream,
                                    at start: Int) throws(DecodeFailure) {
        let groupCount = try source.count()
        var seen = Set<[UInt8]>()
        for _ in 0..<groupCount {
            let name = try source.string()
            guard seen.insert(name).inserted else { throw source.failure("group policy repeated", at: start) }
            let flags = try source.byte()
            guard flags <= 1 else { throw source.failure("unknown group policy flags \(flags)", at: start) }
            var policy = GroupPolicy()
            if flags == 1 {
                policy.maxDeliveries = try source.varint()
                policy.deadLetterKey = try source.string()
            }
            let timeout = try source.varint()
            guard timeout <= UInt64(Int64.max) else { throw source.failure("consumer-idle-timeout overflows", at: start) }
            policy.consumerIdleTimeout = Int64(timeout)
            let deadLettered = try source.varint()
            do {
                try stream.restoreGroupPolicy(group: name, policy: policy, deadLetteredCount: deadLettered)
            } catch {
                throw source.failure("group policy: \(error)", at: start)
            }
        }
    }
}
