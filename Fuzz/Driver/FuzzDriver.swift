#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillFuzzTargets

// rill-fuzz: runs one fuzz target.
//   rill-fuzz --list
//   rill-fuzz <target> FILE|DIR...                         replays inputs (a crash found by libFuzzer, a corpus)
//   rill-fuzz <target> --seed S --runs N [--print-inputs] [DIR...]   seeded mutations of the corpus, as the tests run
// Built by scripts/fuzz.sh with --sanitize=fuzzer and -D RILL_LIBFUZZER, it is a libFuzzer binary instead:
//   RILL_FUZZ_TARGET=<target> rill-fuzz [libFuzzer options] [CORPUS_DIR...]

func usage() -> Never {
    print("usage: rill-fuzz --list | <target> [FILE|DIR...] | <target> --seed S --runs N [--print-inputs] [DIR...]")
    exit(2)
}

#if RILL_LIBFUZZER
/// The target libFuzzer runs, named by `RILL_FUZZ_TARGET` (libFuzzer owns main and argv in this build).
let selectedTarget: FuzzTarget = {
    let name = getenv("RILL_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTargets.named(name) else {
        print("set RILL_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: " "))")
        exit(2)
    }
    return target
}()

/// libFuzzer's per-input entry.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
enum FuzzDriver {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let first = arguments.first else { usage() }
        if first == "--list" {
            for target in FuzzTargets.all { print("\(target.name)\n    \(target.summary)") }
            exit(0)
        }
        guard let target = FuzzTargets.named(first) else {
            print("unknown target '\(first)'; rill-fuzz --list names them")
            exit(2)
        }

        var seed: UInt64?
        var runs = 0
        var printInputs = false
        var paths: [String] = []
        var remaining = arguments.dropFirst()[...]
        while let argument = remaining.popFirst() {
            switch argument {
            case "--seed": guard let value = remaining.popFirst().flatMap({ UInt64($0) }) else { usage() }; seed = value
            case "--runs": guard let value = remaining.popFirst().flatMap({ Int($0) }) else { usage() }; runs = value
            case "--print-inputs": printInputs = true
            default: paths.append(argument)
            }
        }
        let inputs = paths.flatMap(FuzzCorpus.read(path:))
        if let seed {
            var mutations = SeededMutations(seed: seed)
            mutations.run(target, corpus: inputs, runs: runs) { input in
                if printInputs { print(input.map { String($0, radix: 16) }.joined(separator: " ")) }
            }
            print("\(target.name): \(runs) mutated inputs from \(inputs.count) corpus entries, seed \(seed): no failure")
        } else {
            for input in inputs { target.run(input) }
            print("\(target.name): \(inputs.count) inputs replayed: no failure")
        }
    }
}
#endif
