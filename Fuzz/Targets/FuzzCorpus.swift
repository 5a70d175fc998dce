import Foundation

/// Corpus files on disk: `Fuzz/Corpus/<target>/` holds seeds (and what libFuzzer keeps), `Fuzz/Regressions/<target>/`
/// the inputs that once crashed a target, each kept after its fix.
public enum FuzzCorpus {
    /// The inputs at `path`: the file itself, or every regular file in the directory, in name order. A missing path
    /// has none.
    public static func read(path: String) -> [[UInt8]] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return FileManager.default.contents(atPath: path).map { [Array($0)] } ?? [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().compactMap { name in
            FileManager.default.contents(atPath: path + "/" + name).map(Array.init)
        }
    }

    /// The repository's `Fuzz` directory, found from this source file (tests run from the package root or not).
    public static let fuzzDirectory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
    }()
}
