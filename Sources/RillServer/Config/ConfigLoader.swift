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
        var remaining = arguments[...]
        var configFile: String?
        if let first = remaining.first, !first.hasPrefix("--") {
            configFile = first
            remaining = remaining.dropFirst()
            let text: String
            do {
                // Opened first for the system's reason (No such file, Permission denied), as Redis reports it.
                if let failure = openingError(atPath: first) {
                    throw LoadError(description: "Fatal error, can't open config file '\(first)': \(failure)")
                }
                text = try String(contentsOfFile: first, encoding: .utf8)
            } catch let error as LoadError {
                throw error
            } catch {
                throw LoadError(description: "Fatal error, can't open config file '\(first)': \(error)")
            }
            try apply(text: text, origin: first, to: &configuration)
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
                      lineText: words.joined(separator: " "), to: &configuration)
        }
        return (configuration, configFile)
    }

    /// Applies redis.conf-syntax text: one directive per line, `#` comments, quoted arguments.
    static func apply(text: String, origin: String, to configuration: inout ServerConfiguration) throws(LoadError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let words = InlineArgumentSplitter.split(Array(line.utf8)) else {
                throw fatal(origin: origin, lineNumber: index + 1, lineText: line, reason: "Unbalanced quotes in configuration line")
            }
            try apply(words: words.map { String(decoding: $0, as: UTF8.self) }, origin: origin,
                      lineNumber: index + 1, lineText: line, to: &configuration)
        }
    }

    private static func apply(words: [String], origin: String, lineNumber: Int, lineText: String,
                              to configuration: inout ServerConfiguration) throws(LoadError) {
        guard let name = words.first else { return }
        let lowered = name.lowercased()
        guard let directive = ConfigDirective.named(lowered) else {
            throw fatal(origin: origin, lineNumber: lineNumber, lineText: lineText,
                        reason: "Bad directive or wrong number of arguments: unknown directive '\(name)'")
        }
        do {
            try directive.set(Array(words.dropFirst()), in: &configuration)
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
