import Foundation

/// Runs a command-line program (redis-cli) to completion and captures its output.
struct CommandLineTool {
    /// Absolute path of the program.
    let path: String

    /// The program named `name` on PATH, or nil when it is not installed.
    static func find(_ name: String) -> CommandLineTool? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return CommandLineTool(path: candidate) }
        }
        return nil
    }

    struct Output {
        /// Exit status of the program.
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs with `arguments`, feeding `input` (a file) on stdin when given.
    func run(_ arguments: [String], input: URL? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = try input.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
        try process.run()
        // Read before waiting, so the program cannot block on a full stdout pipe (its stderr stays small).
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }
}
