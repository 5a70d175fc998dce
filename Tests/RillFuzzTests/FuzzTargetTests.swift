import RillFuzzTargets
import XCTest

/// Every fuzz target on its committed corpus and regressions, then on seeded mutations of them: the short fixed
/// budget the suite spends on fuzzing (coverage-guided runs are `scripts/fuzz.sh`). Debug builds check the core's
/// invariants inside every target, so these runs check them too.
final class FuzzTargetTests: XCTestCase {
    /// Mutated inputs per target per run of the suite.
    static let mutatedRuns = 1500

    func testEveryTargetHasACorpus() {
        for target in FuzzTargets.all {
            XCTAssertFalse(corpus(of: target).isEmpty, "Fuzz/Corpus/\(target.name) is empty")
        }
    }

    func testCorporaAndRegressionsReplay() {
        for target in FuzzTargets.all {
            for input in corpus(of: target) + regressions(of: target) { target.run(input) }
        }
    }

    func testSeededMutations() {
        for (index, target) in FuzzTargets.all.enumerated() {
            // The seed changes with the target only, so a failure replays with
            // `rill-fuzz <target> --seed <seed> --runs <runs> --print-inputs Fuzz/Corpus/<target>`.
            let seed = UInt64(index + 1) * 0x5EED
            var mutations = SeededMutations(seed: seed)
            let runs = target.name == "command-sequences" ? Self.mutatedRuns / 5 : Self.mutatedRuns
            print("\(target.name): seed \(seed), \(runs) runs")
            mutations.run(target, corpus: corpus(of: target), runs: runs)
        }
    }

    func testMalformedRepliesAreRecognised() {
        // The reply check of the command-sequence target must itself be able to fail.
        let target = FuzzTargets.named("command-sequences")!
        XCTAssertNotNil(target)
        for good in ["+OK\r\n", "$3\r\nabc\r\n*2\r\n:1\r\n$-1\r\n", "%1\r\n+a\r\n_\r\n", "|1\r\n+k\r\n+v\r\n:3\r\n"] {
            XCTAssertTrue(FuzzTargets.isWellFormedReplyStream(Array(good.utf8)), good)
        }
        for bad in ["+OK", "$3\r\nabcd\r\n", "*2\r\n:1\r\n", "?x\r\n", "$-2\r\n"] {
            XCTAssertFalse(FuzzTargets.isWellFormedReplyStream(Array(bad.utf8)), bad)
        }
    }

    private func corpus(of target: FuzzTarget) -> [[UInt8]] {
        FuzzCorpus.read(path: "\(FuzzCorpus.fuzzDirectory)/Corpus/\(target.name)")
    }

    private func regressions(of target: FuzzTarget) -> [[UInt8]] {
        FuzzCorpus.read(path: "\(FuzzCorpus.fuzzDirectory)/Regressions/\(target.name)")
    }
}
