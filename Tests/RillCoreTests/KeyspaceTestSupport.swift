@testable import RillCore

/// SplitMix64: a small seeded generator so random tests replay identically (the name avoids clashing with other
/// suites' helpers in this target).
struct KeyspaceTestRandom: RandomNumberGenerator {
    /// The generator's whole state; advances by a fixed odd constant per draw.
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// The bytes of `text`, for readable keys and values in tests.
func keyspaceBytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
