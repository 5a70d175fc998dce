import RillProtocol
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads `rill-server [config-file] [--directive value ...]` the way redis-server does: the file first, then the
/// command-line directives, which override it because they are applied after it.
enum ConfigLoader {
    /// A start-up configuration problem, worded for a person: file, line and directive.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    static func load(commandLine arguments: [String]) throws(LoadError) -> (ServerConfiguration, configFile: String?) {
        var configuration = ServerConfiguration()
        var savePoints = SavePointLines()
        var remaining = arguments[...]
        var configFile: String?
        if let first = remaining.first, !first.hasPrefix("--") {
            configFile = first
            remaining = remaining.dropFirst()
            // Opened first for the system's reason (No such file, Permission denied), as Redis reports it. Read
            // with libc, not Foundation's String(contentsOfFile:), which leaks a buffer on an empty file (found by
            // the configuration fuzzer under LeakSanitizer); bytes that are not UTF-8 are kept as replacements.
            if let failure = openingError(atPath: first) {
                throw LoadError(description: "Fatal error, can't open config file '\(first)': \(failure)")
            }
            guard let bytes = readWholeFile(atPath: first) else {
                throw LoadError(description: "Fatal error, can't open config file '\(first)': \(lastSystemErrorText())")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            try apply(text: text, origin: first, to: &configuration, savePoints: &savePoints)
        }
        // Each `--name` opens a new directive line; the words after it, up to the next `--name`, are its arguments.
        var lines: [[String]] = []
        for argument in remaining {
            if argument.hasPrefix("--"), argument.count > 2 {
                lines.append([String(argument.dropFirst(2))])
            } else if lines.isEmpty {
                throw LoadError(description: "Invalid argument '\(argument)': directives are given as --name value")
            } else {
                lines[lines.count - 1].append(argument)
            }
        }
        for (number, words) in lines.enumerated() {
            try apply(words: words, origin: "command line", lineNumber: number + 1,
                      lineText: words.joined(separator: " "), to: &configuration, savePoints: &savePoints)
        }
        return (configuration, configFile)
    }

    /// `save` lines add up, as in redis.conf: the first one read replaces the default points, later ones (in the
    /// file, then on the command line) add theirs, and `save ""` removes every point.
    struct SavePointLines {
        var seen = false
    }

    /// Applies redis.conf-syntax text: one directive per line, `#` comments, quoted arguments.
    private static func apply(text: String, origin: String, to configuration: inout ServerConfiguration,
                              savePoints: inout SavePointLines) throws(LoadError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let words = InlineArgumentSplitter.split(Array(line.utf8)) else {
                throw fatal(origin: origin, lineNumber: index + 1, lineText: line, reason: "Unbalanced quotes in configuration line")
            }
            try apply(words: words.map { String(decoding: $0, as: UTF8.self) }, origin: origin,
                      lineNumber: index + 1, lineText: line, to: &configuration, savePoints: &savePoints)
        }
    }

    private static func apply(words: [String], origin: String, lineNumber: Int, lineText: String,
                              to configuration: inout ServerConfiguration,
                              savePoints: inout SavePointLines) throws(LoadError) {
        guard let name = words.first else { return }
        let lowered = name.lowercased()
        if lowered == "user" {
            // Users are built once the command table exists (AccessControl.loadConfiguredUsers).
            guard words.count >= 2 else {
                throw fatal(origin: origin, lineNumber: lineNumber, lineText: lineText,
                            reason: "Bad directive or wrong number of arguments")
            }
            configuration.userLines.append(Array(words.dropFirst()))
            return
        }
        guard let directive = ConfigDirective.named(lowered) else {
            throw fatal(origin: origin, lineNumber: lineNumber, lineText: lineText,
                        reason: "Bad directive or wrong number of arguments: unknown directive '\(name)'")
        }
        do {
            let earlierPoints = configuration.savePoints
            try directive.set(Array(words.dropFirst()), in: &configuration)
            if lowered == "save" {
                if savePoints.seen && !configuration.savePoints.isEmpty {
                    configuration.savePoints = earlierPoints + configuration.savePoints
                }
                savePoints.seen = true
            }
        } catch {
            throw fatal(origin: origin, lineNumber: lineNumber, lineText: lineText,
                        reason: "Invalid value for directive '\(lowered)': \(error.message)")
        }
    }

    private static func fatal(origin: String, lineNumber: Int, lineText: String, reason: String) -> LoadError {
        LoadError(description: """

            *** FATAL CONFIG FILE ERROR (Rill) ***
            Reading the configuration file '\(origin)', at line \(lineNumber)
            >>> '\(lineText)'
            \(reason)
            """)
    }
}

private extension Substring {
    /// Without leading and trailing white space and line ends.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else {
            return ""
        }
        return String(self[first...last])
    }
}
