import RillCore
import RillTestSupport
import Testing
@testable import RillPersistence

/// Stream extension 0x04 (Rill's group policies and dead-lettered counters) round-trips through DUMP payloads,
/// is absent for groups that never used a policy, and is checked on load.
struct GroupPolicyPersistenceTests {

    static func streamWithPolicies() throws -> RillCore.Stream {
        var stream = RillCore.Stream()
        try stream.append(id: StreamID(ms: 1, seq: 0), fieldsAndValues: [bytes("f"), bytes("v")])
        for name in ["a", "b", "c"] { try stream.createGroup(named: bytes(name), lastDeliveredID: .zero, entriesRead: 0) }
        try stream.setGroupPolicy(bytes("a"), to: GroupPolicy(maxDeliveries: 3, deadLetterKey: bytes("dlq"),
                                                               consumerIdleTimeout: 60_000), deadLetteredCount: 7)
        try stream.setGroupPolicy(bytes("b"), to: GroupPolicy(consumerIdleTimeout: 5))
        return stream
    }

    static func roundTrip(_ stream: RillCore.Stream) throws -> RillCore.Stream {
        try IdempotencyAndReleasePersistenceTests.roundTrip(stream)
    }

    @Test func policiesAndCountersRoundTrip() throws {
        let copy = try Self.roundTrip(try Self.streamWithPolicies())
        #expect(copy.validate().isEmpty)
        let a = try #require(copy.group(named: bytes("a")))
        #expect(a.policy == GroupPolicy(maxDeliveries: 3, deadLetterKey: bytes("dlq"), consumerIdleTimeout: 60_000))
        #expect(a.deadLetteredCount == 7)
        #expect(copy.group(named: bytes("b"))?.policy == GroupPolicy(consumerIdleTimeout: 5))
        #expect(copy.group(named: bytes("c"))?.policy.isOff == true)
    }

    @Test func groupsWithoutPoliciesEncodeAsBefore() throws {
        var stream = RillCore.Stream()
        try stream.append(id: StreamID(ms: 1, seq: 0), fieldsAndValues: [bytes("f"), bytes("v")])
        try stream.createGroup(named: bytes("g"), lastDeliveredID: .zero, entriesRead: 0)
        #expect(ValueCodec.workQueueStreamExtensions(stream).isEmpty)
        // A counter alone (policy turned off after moves) is still kept.
        try stream.setGroupPolicy(bytes("g"), to: GroupPolicy(), deadLetteredCount: 2)
        #expect(try Self.roundTrip(stream).group(named: bytes("g"))?.deadLetteredCount == 2)
    }

    @Test func everyFlippedByteOfAPayloadWithPoliciesIsRefused() throws {
        let payload = DumpPayload.encode(.stream(try Self.streamWithPolicies()))
        for index in payload.indices {
            var damaged = payload
            damaged[index] ^= 0x41
            #expect(throws: DumpPayloadError.self) { try DumpPayload.decode(damaged) }
        }
    }

    @Test func inconsistentOrUnknownPoliciesAreRefusedEvenWithAValidChecksum() throws {
        var stream = RillCore.Stream()
        try stream.append(id: StreamID(ms: 1, seq: 0), fieldsAndValues: [bytes("f"), bytes("v")])
        try stream.createGroup(named: bytes("g"), lastDeliveredID: .zero, entriesRead: 0)
        func decode(_ payload: ByteSink) throws {
            var copy = stream
            let outcome = payload.bytes.withUnsafeBytes { raw -> Result<Void, DecodeFailure> in
                var source = ByteSource(raw)
                return Result { () throws(DecodeFailure) in
                    try ValueCodec.decodeGroupPolicies(from: &source, into: &copy, at: 0)
                }
            }
            try outcome.get()
        }
        var missingKey = ByteSink()
        missingKey.varint(1); missingKey.string(bytes("g")); missingKey.byte(1); missingKey.varint(0)
        missingKey.string(bytes("dlq")); missingKey.varint(0); missingKey.varint(0)
        #expect(throws: DecodeFailure.self) { try decode(missingKey) }
        var unknownGroup = ByteSink()
        unknownGroup.varint(1); unknownGroup.string(bytes("nope")); unknownGroup.byte(0)
        unknownGroup.varint(0); unknownGroup.varint(0)
        #expect(throws: DecodeFailure.self) { try decode(unknownGroup) }
        var badFlags = ByteSink()
        badFlags.varint(1); badFlags.string(bytes("g")); badFlags.byte(2); badFlags.varint(0); badFlags.varint(0)
        #expect(throws: DecodeFailure.self) { try decode(badFlags) }
    }
}
