import RillTestSupport

/// A small, seeded, coverage-blind mutator: what the test suite uses to run each target past its corpus for a fixed
/// number of inputs without libFuzzer (the suite is built once, without `-sanitize=fuzzer`). Deterministic from the
/// seed, so a failure replays (`rill-fuzz <target> --seed S --runs N --print-inputs` shows the input that traps).
public struct SeededMutations {
    private var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Runs `target` on `runs` inputs, each a corpus entry changed by one to four mutations; `before` sees each
    /// input first.
    public mutating func run(_ target: FuzzTarget, corpus: [[UInt8]], runs: Int, before: ([UInt8]) -> Void = { _ in }) {
        let seeds = corpus.isEmpty ? [[]] : corpus
        for _ in 0..<runs {
            var input = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
            for _ in 0...Int.random(in: 0..<4, using: &generator) {
                mutate(&input, donors: seeds)
            }
            before(input)
            target.run(input)
        }
    }

    private mutating func mutate(_ input: inout [UInt8], donors: [[UInt8]]) {
        let choice = Int.random(in: 0..<6, using: &generator)
        if input.isEmpty || choice == 0 {
            let at = Int.random(in: 0...input.count, using: &generator)
            input.insert(contentsOf: (0..<Int.random(in: 1...8, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }, at: at)
            return
        }
        let at = Int.random(in: 0..<input.count, using: &generator)
        switch choice {
        case 1:
            input[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
        case 2:
            input[at] = [0, 1, 0x7F, 0x80, 0xFF, 13, 10, UInt8(ascii: "*"), UInt8(ascii: "$")]
                .randomElement(using: &generator)!
        case 3:
            input.removeSubrange(at..<min(input.count, at + Int.random(in: 1...16, using: &generator)))
        case 4:
            let end = min(input.count, at + Int.random(in: 1...32, using: &generator))
            input.insert(contentsOf: input[at..<end], at: Int.random(in: 0...input.count, using: &generator))
        default:
            // Splice a piece of another corpus entry in: combines structures that each seed has alone.
            let donor = donors.randomElement(using: &generator)!
            guard !donor.isEmpty else { return }
            let from = Int.random(in: 0..<donor.count, using: &generator)
            let piece = donor[from..<min(donor.count, from + Int.random(in: 1...64, using: &generator))]
            input.replaceSubrange(at..<min(input.count, at + piece.count), with: piece)
        }
    }
}
