#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RillPersistence

extension ConfigRewrite {
    /// Rewrites the configuration file at `path` in place (a temporary file renamed over it, as Redis does, so a
    /// crash leaves the old or the new file, never half of one). A file deleted since start-up is created again.
    /// - Throws: the system's reason, for the `Rewriting config file:` error reply.
    static func rewriteFile(atPath path: String, configuration: ServerConfiguration,
                            users: [String] = []) throws(ConfigRewriteError) {
        let original: String
        if let bytes = readWholeFile(atPath: path) {
            original = String(decoding: bytes, as: UTF8.self)
        } else if errno == ENOENT {
            original = ""
        } else {
            throw ConfigRewriteError(reason: lastSystemErrorText())
        }
        let text = rewrite(original, configuration: configuration,
                           absoluteDirectory: absolutePath(of: configuration.directory), users: users)
        do {
            try SnapshotFiles.writeAtomically(toPath: path) { emit in emit(Array(text.utf8)) }
        } catch {
            throw ConfigRewriteError(reason: error.reason)
        }
    }

    /// `directory` resolved to an absolute path (symbolic links followed), as Redis writes `dir` (its working
    /// directory); as given when it cannot be resolved.
    static func absolutePath(of directory: String) -> String {
        guard let resolved = realpath(directory, nil) else { return directory }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

struct ConfigRewriteError: Error {
    let reason: String
}
