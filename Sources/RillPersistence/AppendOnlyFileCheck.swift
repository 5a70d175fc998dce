/// What checking a whole append-only file found (rill-check).
public struct AppendOnlyFileCheck: Sendable, Hashable {
    /// Complete commands before the first problem (all of them when there is none).
    public var commandCount: Int
    /// Bytes up to the end of the last complete command that is not inside an unfinished MULTI: the length
    /// repairing the file by truncation keeps.
    public var validLength: Int
    /// The first problem; nil when the file is sound.
    public var problem: AppendOnlyFileError?
}

extension AppendOnlyFileReader {
    /// Checks every byte of an append-only file, as loading would, and also that MULTI and EXEC pair up (a file
    /// ending inside a transaction counts as truncated at its MULTI).
    /// - Complexity: O(bytes.count).
    public static func check(_ bytes: [UInt8]) -> AppendOnlyFileCheck {
        var parsed: AppendOnlyFileParseResult
        var problem: AppendOnlyFileError?
        do {
            parsed = try parse(bytes, allowTruncatedTail: true)
            if parsed.truncatedBytes > 0 {
                problem = AppendOnlyFileError(
                    offset: parsed.validLength, reason: "truncated command (the file ends inside it)", kind: .truncated)
            }
        } catch {
            // Every byte before the bad one is a valid prefix, so this parse succeeds and ends where the bad
            // command starts.
            problem = error
            parsed = (try? parse(Array(bytes[..<error.offset]), allowTruncatedTail: true))
                ?? AppendOnlyFileParseResult(commands: [], validLength: 0, truncatedBytes: 0)
        }
        var validLength = 0
        var openMulti: AppendOnlyFileCommand?
        for (index, command) in parsed.commands.enumerated() {
            let end = index + 1 < parsed.commands.count ? parsed.commands[index + 1].offset : parsed.validLength
            let name = String(decoding: command.arguments[0], as: UTF8.self).lowercased()
            if name == "multi" {
                guard openMulti == nil else {
                    return AppendOnlyFileCheck(commandCount: index, validLength: validLength, problem: AppendOnlyFileError(
                        offset: command.offset, reason: "MULTI inside a MULTI", kind: .corrupt))
                }
                openMulti = command
            } else if name == "exec" {
                guard openMulti != nil else {
                    return AppendOnlyFileCheck(commandCount: index, validLength: validLength, problem: AppendOnlyFileError(
                        offset: command.offset, reason: "EXEC without MULTI", kind: .corrupt))
                }
                openMulti = nil
            }
            if openMulti == nil { validLength = end }
        }
        if let openMulti, problem == nil {
            problem = AppendOnlyFileError(offset: openMulti.offset, reason: "MULTI without EXEC", kind: .truncated)
        }
        return AppendOnlyFileCheck(commandCount: parsed.commands.count, validLength: validLength, problem: problem)
    }
}

/// The persistence files Rill writes, told apart by their content (rill-check).
public enum PersistenceFileKind: Sendable, Hashable {
    /// A snapshot: an RDB file (`dbfilename` or an append-only base) or an earlier Rill's RILLSNAP file.
    case snapshot
    /// RESP commands: an incremental append-only file (or the single file of older versions).
    case appendOnlyFile
    /// An append-only manifest.
    case manifest

    /// Bytes `detect` needs from the start of a file.
    public static let leadingByteCount = SnapshotFormat.magic.count

    /// Snapshots start with their magic and append-only files with a command's `*` (an empty file is an empty
    /// append-only file); a manifest is recognised by its name or its first word.
    public static func detect(leadingBytes: [UInt8], fileName: String) -> PersistenceFileKind {
        if leadingBytes.starts(with: SnapshotFormat.magic) || leadingBytes.starts(with: RDBFileFormat.magic) {
            return .snapshot
        }
        if fileName.hasSuffix(".manifest") || leadingBytes.starts(with: Array("file ".utf8))
            || leadingBytes.first == UInt8(ascii: "#") {
            return .manifest
        }
        return .appendOnlyFile
    }
}
