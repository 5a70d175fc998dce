import RillFuzzTargets
import RillServer
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

    func testEmbeddedServerRefusesWorkThatNeedsTheProcess() throws {
        // SYNC once started a snapshot thread that called back into the single-threaded embedded loop (the crash
        // of Fuzz/Regressions/command-sequences); these commands answer an error there and change nothing.
        let server = try EmbeddedServer(directives: [("save", [""]), ("appendonly", ["no"])])
        let connection = try server.connect()
        func reply(_ request: String) throws -> String {
            String(decoding: try server.send(Array(request.utf8), on: connection), as: UTF8.self)
        }
        for request in ["SYNC", "PSYNC ? -1", "SAVE", "BGSAVE", "BGREWRITEAOF", "REPLICAOF 127.0.0.1 9",
                        "SHUTDOWN NOSAVE", "CONFIG REWRITE"] {
            let name = request.hasPrefix("CONFIG") ? "CONFIG REWRITE" : request.split(separator: " ")[0]
            let expected = "-ERR \(name) is not available in the embedded server"
            XCTAssertTrue(try reply(request + "\r\n").hasPrefix(expected), request)
        }
        // DEBUG is refused before that, as everywhere while enable-debug-command is off; allowed, it is refused here.
        XCTAssertTrue(try reply("DEBUG SLEEP 0\r\n").hasPrefix("-ERR DEBUG command not allowed"))
        XCTAssertTrue(try reply("CONFIG SET maxmemory 0 appendonly yes\r\n")
            .hasPrefix("-ERR CONFIG SET appendonly is not available in the embedded server"))
        XCTAssertTrue(try reply("CONFIG SET save \"1 1\"\r\n")
            .hasPrefix("-ERR CONFIG SET save is not available in the embedded server"))
        XCTAssertEqual(try reply("CONFIG GET appendonly\r\n"), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")
        XCTAssertEqual(try reply("CONFIG SET maxmemory 100mb\r\n"), "+OK\r\n")
        // Queued in MULTI, a refused command dooms the transaction as any command refused before running does.
        XCTAssertEqual(try reply("MULTI\r\n"), "+OK\r\n")
        XCTAssertTrue(try reply("BGSAVE\r\n").hasPrefix("-ERR BGSAVE is not available"))
        XCTAssertTrue(try reply("EXEC\r\n").hasPrefix("-EXECABORT"))
        XCTAssertEqual(try reply("PING\r\n"), "+PONG\r\n")
    }

    private func corpus(of target: FuzzTarget) -> [[UInt8]] {
        FuzzCorpus.read(path: "\(FuzzCorpus.fuzzDirectory)/Corpus/\(target.name)")
    }

    private func regressions(of target: FuzzTarget) -> [[UInt8]] {
        FuzzCorpus.read(path: "\(FuzzCorpus.fuzzDirectory)/Regressions/\(target.name)")
    }
}
