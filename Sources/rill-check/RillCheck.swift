import ArgumentParser
import Foundation
import RillPersistence

/// `rill-check <file>`: checks a snapshot (an RDB file, Rill's or Redis', or an earlier Rill's RILLSNAP file), an
/// append-only file or a manifest (with every file it names, the base being an RDB file or commands) and prints
/// OK or the offset of the first bad byte and why, as redis-check-rdb and redis-check-aof do. `--fix` truncates a damaged append-only file after the last
/// complete command, after asking, as redis-check-aof does.
@main
struct RillCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rill-check",
        abstract: "Check an RDB snapshot, append-only file or append-only manifest.",
        discussion: """
            The kind of file is detected from its content: an RDB snapshot (every object is decoded and validated \
            and the CRC-64 verified, by reading it fully; an earlier Rill's RILLSNAP file likewise), an \
            append-only file of RESP commands, or a manifest, whose listed files are all checked (the base is an \
            RDB file or commands). Exit status 0 when everything is sound, 1 otherwise.
            """)

    @Flag(name: .long, help: "Truncate a damaged append-only file after its last complete command (asks first).")
    var fix = false

    @Argument(help: "A snapshot (.rdb), an append-only file (.aof) or a manifest (.manifest).")
    var file: String

    func run() throws {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            print("\(file): can't open the file")
            throw ExitCode.failure
        }
        let leadingBytes = [UInt8](handle.readData(ofLength: PersistenceFileKind.leadingByteCount))
        handle.closeFile()
        var problems: [Problem] = []
        // A snapshot is streamed by its reader; the other kinds are small enough to check in memory.
        switch PersistenceFileKind.detect(leadingBytes: leadingBytes, fileName: file) {
        case .snapshot:
            problems = checkSnapshot(file).map { [$0] } ?? []
        case .appendOnlyFile:
            problems = checkAppendOnlyFile(file, try readFile(file)).map { [$0] } ?? []
        case .manifest:
            problems = checkManifest(file, try readFile(file))
        }
        guard let problem = problems.first else { return }
        guard fix else { throw ExitCode.failure }
        try repair(problem)
    }

    /// A bad file: where and why, and the length to truncate it to when truncation repairs it.
    struct Problem {
        var path: String
        var repairedLength: Int?
        var size: Int
        /// Whether the file is the last incremental file of the manifest being checked (the only one a crash can
        /// cut short).
        var isLastIncremental = true
    }

    private func checkSnapshot(_ path: String) -> Problem? {
        do {
            let result = try SnapshotLoader.load(path: path, databaseCount: nil, nowMilliseconds: nil)
            print("\(path): snapshot OK (\(result.keyCount) keys, \(result.byteCount) bytes, written by \(result.producer))")
            return nil
        } catch {
            print("\(path): bad snapshot: \(error)")
            return Problem(path: path, repairedLength: nil, size: 0)
        }
    }

    private func checkAppendOnlyFile(_ path: String, _ bytes: [UInt8]) -> Problem? {
        let check = AppendOnlyFileReader.check(bytes)
        guard let problem = check.problem else {
            print("\(path): append-only file OK (\(check.commandCount) commands, \(bytes.count) bytes)")
            return nil
        }
        print("\(path): bad append-only file: \(problem) (\(check.commandCount) complete commands before it, valid up to byte \(check.validLength) of \(bytes.count))")
        return Problem(path: path, repairedLength: check.validLength, size: bytes.count)
    }

    private func checkManifest(_ path: String, _ bytes: [UInt8]) -> [Problem] {
        let manifest: AppendOnlyManifest
        do {
            manifest = try AppendOnlyManifest.parse(bytes)
        } catch {
            print("\(path): bad manifest: \(error)")
            return [Problem(path: path, repairedLength: nil, size: bytes.count)]
        }
        let directory = (path as NSString).deletingLastPathComponent
        var problems: [Problem] = []
        for entry in manifest.loadOrder {
            let filePath = directory.isEmpty ? entry.name : directory + "/" + entry.name
            var found: Problem?
            if entry.type == .base && AppendOnlyCommandBase.isSnapshot(path: filePath) {
                found = checkSnapshot(filePath)
            } else if let fileBytes = try? readFile(filePath) {
                found = checkAppendOnlyFile(filePath, fileBytes)
            } else {
                found = Problem(path: filePath, repairedLength: nil, size: 0)
            }
            if var found {
                found.isLastIncremental = entry == manifest.incrementals.last
                problems.append(found)
            }
        }
        if problems.isEmpty {
            print("\(path): manifest OK (\(manifest.loadOrder.count) files)")
        }
        return problems
    }

    private func repair(_ problem: Problem) throws {
        guard let length = problem.repairedLength else {
            print("\(problem.path) cannot be repaired by truncation")
            throw ExitCode.failure
        }
        guard problem.isLastIncremental else {
            print("\(problem.path) is not the last incremental file: only that one can be truncated safely")
            throw ExitCode.failure
        }
        print("This will shrink the append-only file \(problem.path) from \(problem.size) bytes, with \(problem.size - length) bytes, to \(length) bytes")
        print("Continue? [y/N]: ", terminator: "")
        fflush(stdout)
        guard let answer = readLine(), answer.lowercased().hasPrefix("y") else {
            print("Aborting...")
            throw ExitCode.failure
        }
        guard truncate(problem.path, off_t(length)) == 0 else {
            print("Failed to truncate \(problem.path): \(String(cString: strerror(errno)))")
            throw ExitCode.failure
        }
        print("Successfully truncated \(problem.path)")
    }

    private func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            print("\(path): can't read the file")
            throw ExitCode.failure
        }
        return [UInt8](data)
    }
}
