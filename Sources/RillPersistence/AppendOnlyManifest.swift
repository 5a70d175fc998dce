#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// # The append-only manifest
//
// With `appendonly yes` the append-only data is several files in `dir`/`appenddirname`, listed by the manifest
// `<appendfilename>.manifest` in Redis 7's line format:
//
//     file appendonly.aof.3.base.rdb seq 3 type b
//     file appendonly.aof.3.incr.aof seq 3 type i
//     file appendonly.aof.4.incr.aof seq 4 type i
//
// - `type b`: the base, at most one: the keyspace when a rewrite started, loaded first. An RDB file
//   (`.base.rdb`, RDBFileFormat.swift) with `aof-use-rdb-preamble yes`, else the commands that rebuild it
//   (`.base.aof`); a base written by an earlier Rill (`.base.rill`, RILLSNAP) still loads. Loaders tell them apart
//   by content, as Redis does.
// - `type i`: incremental files, RESP commands (AppendOnlyFileReader.swift) replayed in manifest order after the
//   base; their sequence numbers strictly increase. Writes go to the last one.
// - `type h`: history, files replaced by a rewrite and about to be deleted; never loaded.
//
// Each line holds `key value` pairs (`file`, `seq`, `type`, in any order; Redis 8's `startoffset` and
// `endoffset`, replication offsets, are checked to be numbers and not kept) separated by single spaces and ends
// with a newline; a name with spaces or unusual bytes is written in double quotes with C-like escapes. Lines
// starting with `#` are comments. A manifest naming no base and no incremental file is refused, and so is a file
// name containing `/` (the files live beside the manifest).
//
// The manifest is replaced atomically (temporary file, fsync, rename, directory fsync): its rename is the commit
// point of a rewrite.

/// The list of files making up the append-only data; see the format description above.
public struct AppendOnlyManifest: Sendable, Hashable {
    public enum FileType: String, Sendable, Hashable {
        case base = "b"
        case incremental = "i"
        case history = "h"
    }

    public struct Entry: Sendable, Hashable {
        public var name: String
        public var sequence: Int64
        public var type: FileType

        public init(name: String, sequence: Int64, type: FileType) {
            self.name = name
            self.sequence = sequence
            self.type = type
        }
    }

    public var base: Entry?
    /// Incremental files in replay order (ascending sequence).
    public var incrementals: [Entry]
    /// Files replaced by a rewrite, waiting to be deleted.
    public var history: [Entry]

    public init(base: Entry? = nil, incrementals: [Entry] = [], history: [Entry] = []) {
        self.base = base
        self.incrementals = incrementals
        self.history = history
    }

    /// Longest line accepted; anything longer is not a manifest Rill wrote.
    public static let maxLineLength = 1024

    // MARK: File names

    public static func manifestFileName(appendFileName: String) -> String { appendFileName + ".manifest" }

    /// `rdbPreamble`: the base is an RDB file (`.base.rdb`), else commands (`.base.aof`), as Redis names them.
    public static func baseFileName(appendFileName: String, sequence: Int64, rdbPreamble: Bool) -> String {
        "\(appendFileName).\(sequence).base.\(rdbPreamble ? "rdb" : "aof")"
    }

    public static func incrementalFileName(appendFileName: String, sequence: Int64) -> String {
        "\(appendFileName).\(sequence).incr.aof"
    }

    /// Sequence number for the next base (one more than the current base's, 1 for the first).
    public var nextBaseSequence: Int64 { (base?.sequence ?? 0) + 1 }

    /// Sequence number for the next incremental file (one more than the last one's, 1 for the first).
    public var nextIncrementalSequence: Int64 { (incrementals.last?.sequence ?? 0) + 1 }

    /// Base then incremental files, in load order.
    public var loadOrder: [Entry] { (base.map { [$0] } ?? []) + incrementals }

    // MARK: Encoding

    /// The manifest as text: base, history, then incremental files, one line each.
    public func encoded() -> [UInt8] {
        var text = ""
        for entry in (base.map { [$0] } ?? []) + history + incrementals {
            text += Self.line(for: entry) + "\n"
        }
        return Array(text.utf8)
    }

    /// The line that lists `entry`, without its newline.
    private static func line(for entry: Entry) -> String {
        "file \(quotedIfNeeded(entry.name)) seq \(entry.sequence) type \(entry.type.rawValue)"
    }

    /// Writes the manifest to `path` atomically (temporary file, fsync, rename, directory fsync).
    /// - Throws: `SnapshotError` naming the failing system call.
    public func write(toPath path: String) throws(SnapshotError) {
        let bytes = encoded()
        try SnapshotFiles.writeAtomically(toPath: path) { emit in emit(bytes) }
    }

    private static func needsQuoting(_ name: String) -> Bool {
        name.isEmpty || name.utf8.contains { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }

    private static func quotedIfNeeded(_ name: String) -> String {
        guard needsQuoting(name) else { return name }
        var quoted = "\""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "\""): quoted += "\\\""
            case UInt8(ascii: "\\"): quoted += "\\\\"
            case 0x0A: quoted += "\\n"
            case 0x0D: quoted += "\\r"
            case 0x09: quoted += "\\t"
            case 0x21...0x7E, 0x20: quoted.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                quoted += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return quoted + "\""
    }

    // MARK: Parsing

    /// Parses manifest text.
    /// - Throws: `AppendOnlyManifestError` with the 1-based line number and the reason.
    /// - Complexity: O(text.count).
    public static func parse(_ text: [UInt8]) throws(AppendOnlyManifestError) -> AppendOnlyManifest {
        var manifest = AppendOnlyManifest()
        var lineStart = 0
        var lineNumber = 0
        var names: Set<String> = []
        while lineStart < text.count {
            lineNumber += 1
            guard let newline = text[lineStart...].firstIndex(of: 0x0A) else {
                throw AppendOnlyManifestError(line: lineNumber, reason: "the last line does not end with a newline")
            }
            let line = Array(text[lineStart..<newline])
            lineStart = newline + 1
            guard line.count <= maxLineLength else {
                throw AppendOnlyManifestError(line: lineNumber, reason: "line longer than \(maxLineLength) bytes")
            }
            if line.first == UInt8(ascii: "#") { continue }
            let entry = try parseLine(line, number: lineNumber)
            // A name read unquoted can need escapes once written (control bytes become \xHH): refused here rather
            // than accepted and then written as a line no reader takes (found by the manifest fuzzer).
            guard Self.line(for: entry).utf8.count <= maxLineLength else {
                throw AppendOnlyManifestError(line: lineNumber, reason: "line longer than \(maxLineLength) bytes once written")
            }
            guard names.insert(entry.name).inserted else {
                throw AppendOnlyManifestError(line: lineNumber, reason: "file \(entry.name) is listed twice")
            }
            switch entry.type {
            case .base:
                guard manifest.base == nil else {
                    throw AppendOnlyManifestError(line: lineNumber, reason: "a second base file")
                }
                manifest.base = entry
            case .incremental:
                if let previous = manifest.incrementals.last, entry.sequence <= previous.sequence {
                    throw AppendOnlyManifestError(
                        line: lineNumber,
                        reason: "incremental sequence \(entry.sequence) does not follow \(previous.sequence)")
                }
                manifest.incrementals.append(entry)
            case .history:
                manifest.history.append(entry)
            }
        }
        guard manifest.base != nil || !manifest.incrementals.isEmpty else {
            throw AppendOnlyManifestError(line: max(1, lineNumber), reason: "the manifest names no base and no incremental file")
        }
        return manifest
    }

    private static func parseLine(_ line: [UInt8], number: Int) throws(AppendOnlyManifestError) -> Entry {
        let tokens = try tokenise(line, number: number)
        guard !tokens.isEmpty else { throw AppendOnlyManifestError(line: number, reason: "empty line") }
        guard tokens.count % 2 == 0 else {
            throw AppendOnlyManifestError(line: number, reason: "expected key value pairs, found \(tokens.count) words")
        }
        var name: String?
        var sequence: Int64?
        var type: FileType?
        for index in stride(from: 0, to: tokens.count, by: 2) {
            let key = String(decoding: tokens[index], as: UTF8.self)
            let value = tokens[index + 1]
            func once<T>(_ current: T?, _ parsed: T?, _ what: String) throws(AppendOnlyManifestError) -> T {
                guard current == nil else { throw AppendOnlyManifestError(line: number, reason: "\(key) given twice") }
                guard let parsed else {
                    throw AppendOnlyManifestError(line: number, reason: "\(what): '\(String(decoding: value, as: UTF8.self))'")
                }
                return parsed
            }
            switch key {
            case "file":
                let text = String(decoding: value, as: UTF8.self)
                let valid = !value.isEmpty && !value.contains(UInt8(ascii: "/")) && !value.contains(0)
                    && text != "." && text != ".." && Array(text.utf8) == value
                name = try once(name, valid ? text : nil, "invalid file name")
            case "seq":
                let parsed = value.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
                    ? Int64(String(decoding: value, as: UTF8.self)).flatMap { $0 >= 1 ? $0 : nil } : nil
                sequence = try once(sequence, parsed, "invalid sequence number")
            case "type":
                type = try once(type, FileType(rawValue: String(decoding: value, as: UTF8.self)), "unknown file type")
            case "startoffset", "endoffset":
                guard !value.isEmpty, value.count <= 19,
                      value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                else {
                    throw AppendOnlyManifestError(line: number, reason: "invalid \(key): '\(String(decoding: value, as: UTF8.self))'")
                }
            default:
                throw AppendOnlyManifestError(line: number, reason: "unknown key '\(key)'")
            }
        }
        guard let name else { throw AppendOnlyManifestError(line: number, reason: "no file name") }
        guard let sequence else { throw AppendOnlyManifestError(line: number, reason: "no sequence number") }
        guard let type else { throw AppendOnlyManifestError(line: number, reason: "no file type") }
        return Entry(name: name, sequence: sequence, type: type)
    }

    /// Splits a line at single spaces; a word may be double-quoted with `\" \\ \n \r \t \xHH` escapes.
    private static func tokenise(_ line: [UInt8], number: Int) throws(AppendOnlyManifestError) -> [[UInt8]] {
        var tokens: [[UInt8]] = []
        var position = 0
        func failure(_ reason: String) -> AppendOnlyManifestError { AppendOnlyManifestError(line: number, reason: reason) }
        while position < line.count {
            if !tokens.isEmpty {
                guard line[position] == UInt8(ascii: " ") else { throw failure("expected a space at column \(position + 1)") }
                position += 1
            }
            guard position < line.count, line[position] != UInt8(ascii: " ") else {
                throw failure("unexpected space at column \(position + 1)")
            }
            var token: [UInt8] = []
            if line[position] == UInt8(ascii: "\"") {
                position += 1
                var closed = false
                while position < line.count {
                    let byte = line[position]
                    position += 1
                    if byte == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    guard byte == UInt8(ascii: "\\") else {
                        token.append(byte)
                        continue
                    }
                    guard position < line.count else { break }
                    let escaped = line[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "n"): token.append(0x0A)
                    case UInt8(ascii: "r"): token.append(0x0D)
                    case UInt8(ascii: "t"): token.append(0x09)
                    case UInt8(ascii: "x"):
                        guard position + 2 <= line.count,
                              let value = UInt8(String(decoding: line[position..<(position + 2)], as: UTF8.self), radix: 16)
                        else { throw failure("bad \\x escape at column \(position)") }
                        token.append(value)
                        position += 2
                    default: token.append(escaped)
                    }
                }
                guard closed else { throw failure("unbalanced quotes") }
                guard position == line.count || line[position] == UInt8(ascii: " ") else {
                    throw failure("closing quote not followed by a space at column \(position + 1)")
                }
            } else {
                while position < line.count && line[position] != UInt8(ascii: " ") {
                    guard line[position] != UInt8(ascii: "\"") else { throw failure("quote inside a word at column \(position + 1)") }
                    token.append(line[position])
                    position += 1
                }
            }
            tokens.append(token)
        }
        return tokens
    }
}

/// A manifest that cannot be used: the line and what is wrong with it.
public struct AppendOnlyManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}
