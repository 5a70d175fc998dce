import RillTestSupport
import Testing

@testable import RillCore

/// Readable cases, each outcome checked against redis-server 7.0.15's KEYS command (case-sensitive matching).
private let readableKeysCases: [(pattern: String, subject: String, matches: Bool)] = [
        (#"*"#, #""#, true),
        (#"*"#, #"a"#, true),
        (#"*"#, #"hello"#, true),
        (#"h?llo"#, #"hello"#, true),
        (#"h?llo"#, #"hallo"#, true),
        (#"h?llo"#, #"hllo"#, false),
        (#"h?llo"#, #"heello"#, false),
        (#"h*llo"#, #"hllo"#, true),
        (#"h*llo"#, #"heeeello"#, true),
        (#"h*llo"#, #"hello"#, true),
        (#"h*llo"#, #"hellox"#, false),
        (#"h[ae]llo"#, #"hello"#, true),
        (#"h[ae]llo"#, #"hallo"#, true),
        (#"h[ae]llo"#, #"hillo"#, false),
        (#"h[^e]llo"#, #"hallo"#, true),
        (#"h[^e]llo"#, #"hbllo"#, true),
        (#"h[^e]llo"#, #"hello"#, false),
        (#"h[^e]llo"#, #"hllo"#, false),
        (#"h[a-b]llo"#, #"hallo"#, true),
        (#"h[a-b]llo"#, #"hbllo"#, true),
        (#"h[a-b]llo"#, #"hcllo"#, false),
        (#"h[b-a]llo"#, #"hallo"#, true),
        (#"h[b-a]llo"#, #"hbllo"#, true),
        (#"h[b-a]llo"#, #"hcllo"#, false),
        (#"[a-]"#, #"a"#, true),
        (#"[a-]"#, #"-"#, false),
        (#"[a-]"#, #"]"#, true),
        (#"[a-]"#, #"^"#, true),
        (#"[a-]"#, #"b"#, false),
        (#"[a-]b]"#, #"ab]"#, false),
        (#"[a-]b]"#, #"b"#, true),
        (#"[a-]b]"#, #"]"#, true),
        (#"[a-]b]"#, #"^"#, true),
        (#"[a-]b]"#, #"a"#, true),
        (#"[a-]b]"#, #"c"#, false),
        (#"[]a]"#, #"]"#, false),
        (#"[]a]"#, #"a"#, false),
        (#"[]a]"#, #"]a]"#, false),
        (#"[]a]"#, #"a]"#, false),
        (#"[]"#, #"]"#, false),
        (#"[]"#, #""#, false),
        (#"[]"#, #"x"#, false),
        (#"["#, #"["#, false),
        (#"["#, #""#, false),
        (#"["#, #"a"#, false),
        (#"[^"#, #"a"#, true),
        (#"[^"#, #"^"#, true),
        (#"[^"#, #""#, false),
        (#"[^"#, #"ab"#, false),
        (#"[ab"#, #"a"#, true),
        (#"[ab"#, #"b"#, true),
        (#"[ab"#, #"c"#, false),
        (#"[ab"#, #"ab"#, false),
        (#"a[bc"#, #"ab"#, true),
        (#"a[bc"#, #"ac"#, true),
        (#"a[bc"#, #"abc"#, false),
        (#"a[bc"#, #"a"#, false),
        (#"\*"#, #"*"#, true),
        (#"\*"#, #"a"#, false),
        (#"\*"#, #"\*"#, false),
        (#"\"#, #"\"#, true),
        (#"\"#, #""#, false),
        (#"\"#, #"a"#, false),
        (#"a\"#, #"a\"#, true),
        (#"a\"#, #"a"#, false),
        (#"a\"#, #"a\\"#, false),
        (#"[\]]"#, #"]"#, true),
        (#"[\]]"#, #"\"#, false),
        (#"[\]]"#, #"\]"#, false),
        (#"[\"#, #"\"#, true),
        (#"[\"#, #"["#, false),
        (#"[\"#, #""#, false),
        (#"[a\-z]"#, #"a"#, true),
        (#"[a\-z]"#, #"-"#, true),
        (#"[a\-z]"#, #"z"#, true),
        (#"[a\-z]"#, #"b"#, false),
        (#"[a\-z]"#, #"\"#, false),
        (#"*a*b*c*"#, #"abc"#, true),
        (#"*a*b*c*"#, #"aabbcc"#, true),
        (#"*a*b*c*"#, #"xaxbxcx"#, true),
        (#"*a*b*c*"#, #"acb"#, false),
        (#"*a*b*c*"#, #""#, false),
        (#"**"#, #""#, false),
        (#""#, #""#, true),
        (#""#, #"x"#, false),
        (#"?*"#, #""#, false),
        (#"**"#, #"x"#, true),
        (#"a**b"#, #"ab"#, true),
        (#"a**b"#, #"axxb"#, true),
        (#"a**b"#, #"a"#, false),
        (#"a**b"#, #"b"#, false),
        (#"*?"#, #""#, false),
        (#"*?"#, #"a"#, true),
        (#"*?"#, #"ab"#, true),
        (#"?*?"#, #"a"#, false),
        (#"?*?"#, #"ab"#, true),
        (#"?*?"#, #"abc"#, true),
        (#"[*]"#, #"*"#, true),
        (#"[*]"#, #"a"#, false),
        (#"[?]"#, #"?"#, true),
        (#"[?]"#, #"a"#, false),
        (#"[-a]"#, #"-"#, true),
        (#"[-a]"#, #"a"#, true),
        (#"[-a]"#, #"b"#, false),
        (#"[a-c-e]"#, #"a"#, true),
        (#"[a-c-e]"#, #"b"#, true),
        (#"[a-c-e]"#, #"-"#, true),
        (#"[a-c-e]"#, #"d"#, false),
        (#"[a-c-e]"#, #"e"#, true),
        (#"[a-c-e]"#, #"c"#, true),
        (#"[^a-c]x"#, #"ax"#, false),
        (#"[^a-c]x"#, #"dx"#, true),
        (#"[^a-c]x"#, #"x"#, false),
        (#"[^a-c]x"#, #"-x"#, true),
        (#"[!a]"#, #"!"#, true),
        (#"[!a]"#, #"a"#, true),
        (#"[!a]"#, #"b"#, false),
        (#"user:*:name"#, #"user:1:name"#, true),
        (#"user:*:name"#, #"user::name"#, true),
        (#"user:*:name"#, #"user:1:names"#, false),
        (#"user:*:name"#, #"user:name"#, false),
        (#"*:*"#, #":"#, true),
        (#"*:*"#, #"a:b"#, true),
        (#"*:*"#, #"ab"#, false),
        (#"Hello"#, #"hello"#, false),
        (#"Hello"#, #"Hello"#, true),
        (#"Hello"#, #"HELLO"#, false),
        (#"[A-Z]"#, #"a"#, false),
        (#"[A-Z]"#, #"A"#, true),
        (#"[A-Z]"#, #"Z"#, true),
        (#"[A-Z]"#, #"["#, false),
]

/// Case-insensitive cases, checked against redis-server 7.0.15's CONFIG GET (which matches names without case) on
/// the names maxmemory, maxmemory-eviction-tenacity, appendonly and replica-ignore-maxmemory.
private let caseInsensitiveCases: [(pattern: String, subject: String, matches: Bool)] = [
    (#"[L-M]axmemory"#, "maxmemory", true),
    (#"[Z-a]axmemory"#, "maxmemory", false),  // ends reordered first (no swap), then folded: z..a is empty
    (#"[a-Z]axmemory"#, "maxmemory", false),  // swapped to Z..a, folded to z..a: empty
    (#"[_-a]ppendonly"#, "appendonly", true),
    (#"[a-_]ppendonly"#, "appendonly", true),
    (#"[A-C]ppendonly"#, "appendonly", true),
    (#"[^A]ppendonly"#, "appendonly", false),
    (#"[^a]ppendonly"#, "appendonly", false),
    (#"Maxmemory-polic?"#, "maxmemory-policy", true),
    (#"\Maxmemor*"#, "maxmemory-eviction-tenacity", true),  // escaped literal outside a class folds
    (#"[\M]axmemor*"#, "maxmemory-eviction-tenacity", false),  // escaped member inside a class does not
    (#"[\m]axmemor*"#, "maxmemory-eviction-tenacity", true),
    (#"*MEMORY"#, "replica-ignore-maxmemory", true),
    (#"MAX?EMORY"#, "maxmemory", true),
    (#"[^M]axmemor*"#, "maxmemory-eviction-tenacity", false),
    (#"[^N]AXMEMOR*"#, "maxmemory-eviction-tenacity", true),
    (#"[L-M]AXMEMOR*"#, "maxmemory-eviction-tenacity", true),
]

private func bytes(fromHex hex: Substring) -> [UInt8] {
    guard hex != "-" else { return [] }
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}

@Suite("GlobPattern")
struct GlobPatternTests {
    @Test("readable cases match as redis-server's KEYS does")
    func readableCases() {
        for (pattern, subject, expected) in readableKeysCases {
            let glob = GlobPattern(Array(pattern.utf8))
            #expect(glob.matches(Array(subject.utf8)) == expected, "pattern \(pattern) subject \(subject)")
        }
    }

    @Test("random byte patterns match as redis-server's KEYS does")
    func recordedRandomCases() {
        var checked = 0
        for line in redisKeysGlobTable.split(separator: "\n") {
            let fields = line.split(separator: " ")
            let pattern = bytes(fromHex: fields[0])
            let subject = bytes(fromHex: fields[1])
            let expected = fields[2] == "1"
            #expect(GlobPattern(pattern).matches(subject) == expected, "pattern \(fields[0]) subject \(fields[1])")
            checked += 1
        }
        #expect(checked > 900)
    }

    @Test("case-insensitive matching folds like redis-server's CONFIG GET")
    func caseInsensitiveMatching() {
        for (pattern, subject, expected) in caseInsensitiveCases {
            let glob = GlobPattern(Array(pattern.utf8), caseInsensitive: true)
            #expect(glob.matches(Array(subject.utf8)) == expected, "pattern \(pattern) subject \(subject)")
        }
        // Case-sensitive by default.
        #expect(!GlobPattern(Array("MAX*".utf8)).matches(Array("maxmemory".utf8)))
        #expect(GlobPattern(Array("MAX*".utf8), caseInsensitive: true).matches(Array("maxmemory".utf8)))
        // Bytes >= 0x80 are never folded.
        #expect(!GlobPattern([0xC0], caseInsensitive: true).matches([0xE0]))
    }

    @Test("signed-char ranges: a range reaching a byte >= 0x80 is reordered as Redis reads it")
    func signedRanges() {
        // "[a-\xff]": 0xff is -1 as a C char, so the range is -1...97: it holds 0xff and bytes up to 'a', not 0x80.
        let glob = GlobPattern([UInt8(ascii: "["), UInt8(ascii: "a"), UInt8(ascii: "-"), 0xFF, UInt8(ascii: "]")])
        #expect(glob.matches([0xFF]))
        #expect(glob.matches([UInt8(ascii: "0")]))
        #expect(!glob.matches([0x80]))
        #expect(!glob.matches([UInt8(ascii: "b")]))
    }

    @Test("many stars stay fast: matching is not exponential")
    func manyStars() {
        let pattern = Array(String(repeating: "a*", count: 200).utf8) + [UInt8(ascii: "b")]
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(!GlobPattern(pattern).matches(subject))
            #expect(GlobPattern(pattern).matches(subject + [UInt8(ascii: "b")]))
        }
        #expect(elapsed < .seconds(5))
    }

    @Test("matchesEverything only for the lone star; the empty subject matches only the empty pattern and `*`")
    func matchesEverything() {
        #expect(GlobPattern(Array("*".utf8)).matchesEverything)
        #expect(!GlobPattern(Array("***".utf8)).matchesEverything)
        #expect(!GlobPattern(Array("***".utf8)).matches([]))
        #expect(GlobPattern(Array("*".utf8)).matches([]))
        #expect(!GlobPattern(Array("*a".utf8)).matchesEverything)
        #expect(!GlobPattern(Array("\\*".utf8)).matchesEverything)
        #expect(!GlobPattern([]).matchesEverything)
        #expect(GlobPattern([]).matches([]))
        #expect(!GlobPattern([]).matches([1]))
    }

    @Test("a model matcher written from the rules agrees on random inputs")
    func agreesWithRecursiveModel() {
        var generator = SeededGenerator(seed: 7)
        let alphabet: [UInt8] = Array("ab*?[]^-\\".utf8)
        for _ in 0..<3000 {
            let pattern = (0..<Int.random(in: 0...7, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let subject = (0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            #expect(
                GlobPattern(pattern).matches(subject) == modelMatch(pattern, subject),
                "pattern \(String(decoding: pattern, as: UTF8.self)) subject \(String(decoding: subject, as: UTF8.self))")
        }
    }
}

/// The model's entry point: Redis's matcher rejects an empty subject unless the pattern is empty, and KEYS/SCAN
/// accept everything for the pattern `*`.
private func modelMatch(_ pattern: [UInt8], _ subject: [UInt8]) -> Bool {
    if pattern == [UInt8(ascii: "*")] { return true }
    if subject.isEmpty { return pattern.isEmpty }
    return recursiveModelMatch(pattern[...], subject[...])
}

/// A deliberately naive, exponential recursive reading of Redis's glob rules (case-sensitive, ASCII only), used as
/// an independent model for the compiled matcher.
private func recursiveModelMatch(_ pattern: ArraySlice<UInt8>, _ subject: ArraySlice<UInt8>) -> Bool {
    guard let head = pattern.first else { return subject.isEmpty }
    let rest = pattern.dropFirst()
    switch head {
    case UInt8(ascii: "*"):
        var suffix = subject
        while true {
            if recursiveModelMatch(rest, suffix) { return true }
            guard !suffix.isEmpty else { return false }
            suffix = suffix.dropFirst()
        }
    case UInt8(ascii: "?"):
        return !subject.isEmpty && recursiveModelMatch(rest, subject.dropFirst())
    case UInt8(ascii: "["):
        guard let byte = subject.first else { return false }
        var cursor = rest
        let negated = cursor.first == UInt8(ascii: "^")
        if negated { cursor = cursor.dropFirst() }
        var found = false
        while let member = cursor.first {
            if member == UInt8(ascii: "\\") && cursor.count >= 2 {
                found = found || cursor.dropFirst().first == byte
                cursor = cursor.dropFirst(2)
            } else if member == UInt8(ascii: "]") {
                cursor = cursor.dropFirst()
                break
            } else if cursor.count >= 3 && cursor.dropFirst().first == UInt8(ascii: "-") {
                let ends = [member, cursor.dropFirst(2).first!].sorted()
                found = found || (ends[0]...ends[1]).contains(byte)
                cursor = cursor.dropFirst(3)
            } else {
                found = found || member == byte
                cursor = cursor.dropFirst()
            }
        }
        return found != negated && recursiveModelMatch(cursor, subject.dropFirst())
    case UInt8(ascii: "\\") where rest.count >= 1:
        return subject.first == rest.first && recursiveModelMatch(rest.dropFirst(), subject.dropFirst())
    default:
        return subject.first == head && recursiveModelMatch(rest, subject.dropFirst())
    }
}
