/// One fuzz target: arbitrary bytes in, a trap (`precondition`) out when a property of the code under test breaks.
/// Returning normally means the input was handled: accepted, or refused with an error, both fine.
///
/// The same targets run under libFuzzer (`scripts/fuzz.sh`, coverage-guided, with AddressSanitizer) and in the test
/// suite (`RillFuzzTests`: the committed corpora, the regressions, then seeded mutations of them for a fixed number
/// of runs), so a crash found once stays found.
public struct FuzzTarget: Sendable {
    /// Also the corpus directory: `Fuzz/Corpus/<name>/`, regressions in `Fuzz/Regressions/<name>/`.
    public let name: String
    /// What is fed and which properties are checked.
    public let summary: String
    public let run: @Sendable ([UInt8]) -> Void

    public init(name: String, summary: String, run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }
}

public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        respRequests, inlineArguments, dumpPayloads, rdbFiles, legacySnapshots, appendOnlyFiles, appendOnlyManifests,
        configurationFiles, commandSequences,
    ]

    public static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}

/// Reads an input from the front, for targets that take decisions from it (split points, choices); past the end
/// every read is zero, so any input is a complete program.
struct InputCursor {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    /// A choice in `0..<count` (`count` >= 1).
    mutating func choice(_ count: Int) -> Int {
        count <= 256 ? Int(byte()) % count : (Int(byte()) << 8 | Int(byte())) % count
    }

    /// Up to `count` raw bytes.
    mutating func bytes(upTo count: Int) -> [UInt8] {
        let end = min(bytes.count, position + count)
        defer { position = max(position, end) }
        return position < end ? Array(bytes[position..<end]) : []
    }
}
