/// A compiled Redis glob pattern (KEYS, SCAN MATCH, CONFIG GET), matching byte strings the way redis-server 7's
/// `stringmatchlen` does.
///
/// Syntax: `*` any run of bytes, `?` any one byte, `[abc]` one of the listed bytes, `[^abc]` one byte not listed,
/// `[a-z]` a range (ends may be given in either order), `\x` the byte `x` literally, anything else itself. Redis's
/// corner cases are kept on purpose, since clients see them:
/// - an unterminated class (`[ab`) is a class of what was listed so far and ends the pattern;
/// - `[a-]...` reads `]` as the end of the range `a-]`, so the class continues past that `]`;
/// - range ends compare as signed C chars, so a range reaching a byte >= 0x80 (negative) is reordered accordingly;
/// - a trailing `\` is a literal backslash; inside a class `\x` ignores case-insensitivity;
/// - with `caseInsensitive`, ASCII letters fold (C locale); a range is reordered before its ends are folded;
/// - the empty subject matches only the empty pattern, except that the pattern `*` alone matches everything: Redis's
///   matcher never reaches its trailing-star rule for an empty subject, but KEYS and SCAN skip matching for `*`.
///
/// The pattern is compiled once into single-byte tokens and stars; classes become 256-bit membership sets, so each
/// token tests a byte in O(1). Matching is iterative with one backtrack point (the latest star), so it takes
/// O(pattern tokens × subject length) time in the worst case and never recurses, whatever the number of stars.
/// Redis instead recurses and gives up (no match) past 1000 nested stars; Rill matches those patterns correctly.
public struct GlobPattern: Sendable, Hashable {
    /// One compiled step of the pattern: a star or a test of exactly one subject byte.
    enum Token: Sendable, Hashable {
        /// Matches any run of bytes, including none. Consecutive stars are compiled into one.
        case star
        /// Matches any single byte (`?`).
        case anyByte
        /// Matches exactly this byte.
        case byte(UInt8)
        /// Matches one byte that is in the set (classes, and letters under case-insensitivity).
        case oneOf(ByteSet)
    }

    /// The compiled pattern in order; never holds two stars in a row.
    let tokens: [Token]
    /// Whether the pattern was exactly `*`, which KEYS and SCAN treat as "every key" without matching.
    let isLoneStar: Bool

    /// Compiles `pattern`. Every byte sequence is a valid pattern.
    ///
    /// - Complexity: O(`pattern.count`).
    public init(_ pattern: some Collection<UInt8>, caseInsensitive: Bool = false) {
        let bytes = Array(pattern)
        tokens = GlobPattern.compile(bytes, caseInsensitive: caseInsensitive)
        isLoneStar = bytes == [UInt8(ascii: "*")]
    }

    /// Whether the pattern matches every byte string, empty included; true exactly for the pattern `*`. Lets KEYS
    /// and SCAN skip matching altogether.
    public var matchesEverything: Bool { isLoneStar }

    /// Whether `subject` as a whole matches the pattern.
    ///
    /// - Complexity: O(`subject.count`) for patterns with at most one star; O(`subject.count` × pattern length)
    ///   worst case.
    public func matches(_ subject: [UInt8]) -> Bool {
        subject.withUnsafeBufferPointer { matches(bytes: $0) }
    }

    /// `matches(_:)` over bytes the caller already holds in memory (a network buffer).
    public func matches(bytes subject: UnsafeBufferPointer<UInt8>) -> Bool {
        if subject.isEmpty { return tokens.isEmpty || isLoneStar }
        var tokenIndex = 0
        var subjectIndex = 0
        // Where to resume after the latest star: the token after it, and the first subject byte that star has not
        // yet swallowed. Only the latest star matters: stars earlier in the pattern can only absorb bytes the later
        // star would otherwise absorb, so backtracking into them never finds a match the latest one misses.
        var resumeToken = -1
        var resumeSubject = 0
        while subjectIndex < subject.count {
            if tokenIndex < tokens.count {
                switch tokens[tokenIndex] {
                case .star:
                    tokenIndex += 1
                    resumeToken = tokenIndex
                    resumeSubject = subjectIndex
                    continue
                case .anyByte:
                    tokenIndex += 1
                    subjectIndex += 1
                    continue
                case .byte(let expected) where expected == subject[subjectIndex]:
                    tokenIndex += 1
                    subjectIndex += 1
                    continue
                case .oneOf(let set) where set.contains(subject[subjectIndex]):
                    tokenIndex += 1
                    subjectIndex += 1
                    continue
                default:
                    break
                }
            }
            guard resumeToken >= 0 else { return false }
            resumeSubject += 1
            subjectIndex = resumeSubject
            tokenIndex = resumeToken
        }
        while tokenIndex < tokens.count, tokens[tokenIndex] == .star {
            tokenIndex += 1
        }
        return tokenIndex == tokens.count
    }

    /// Turns pattern bytes into tokens, reproducing where Redis's matcher starts and ends each pattern element.
    private static func compile(_ pattern: [UInt8], caseInsensitive: Bool) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        func literal(_ byte: UInt8) -> Token {
            let lower = ASCII.lowercased(byte)
            guard caseInsensitive, lower &- UInt8(ascii: "a") < 26 else { return .byte(byte) }
            var set = ByteSet()
            set.insert(lower)
            set.insert(lower & ~0x20)
            return .oneOf(set)
        }
        while index < pattern.count {
            switch pattern[index] {
            case UInt8(ascii: "*"):
                if tokens.last != .star { tokens.append(.star) }
                index += 1
            case UInt8(ascii: "?"):
                tokens.append(.anyByte)
                index += 1
            case UInt8(ascii: "["):
                let (set, end) = compileClass(pattern, openingAt: index, caseInsensitive: caseInsensitive)
                tokens.append(.oneOf(set))
                index = end
            case UInt8(ascii: "\\") where pattern.count - index >= 2:
                tokens.append(literal(pattern[index + 1]))
                index += 2
            default:
                tokens.append(literal(pattern[index]))
                index += 1
            }
        }
        return tokens
    }

    /// Compiles the class whose `[` is at `open`; returns its members and the index just past it.
    private static func compileClass(
        _ pattern: [UInt8], openingAt open: Int, caseInsensitive: Bool
    ) -> (ByteSet, end: Int) {
        var index = open + 1
        let negated = index < pattern.count && pattern[index] == UInt8(ascii: "^")
        if negated { index += 1 }
        var members = ByteSet()
        while true {
            let remaining = pattern.count - index
            if remaining >= 2 && pattern[index] == UInt8(ascii: "\\") {
                // An escaped member compares exactly, even under case-insensitivity (as in Redis).
                members.insert(pattern[index + 1])
                index += 2
            } else if remaining == 0 {
                break  // unterminated: the class runs to the end of the pattern
            } else if pattern[index] == UInt8(ascii: "]") {
                index += 1
                break
            } else if remaining >= 3 && pattern[index + 1] == UInt8(ascii: "-") {
                members.formUnion(rangeMembers(from: pattern[index], to: pattern[index + 2], caseInsensitive))
                index += 3
            } else {
                let member = pattern[index]
                members.insert(member)
                if caseInsensitive { members.formUnion(caseVariants(of: member)) }
                index += 1
            }
        }
        if negated { members.invert() }
        return (members, index)
    }

    /// The bytes a class range accepts. Redis reads the ends and the subject byte as signed C chars, swaps the ends
    /// if reversed, then folds all three to lower case when matching without case.
    private static func rangeMembers(from first: UInt8, to last: UInt8, _ caseInsensitive: Bool) -> ByteSet {
        func signed(_ byte: UInt8) -> Int { Int(Int8(bitPattern: byte)) }
        func folded(_ byte: UInt8) -> Int { signed(caseInsensitive ? ASCII.lowercased(byte) : byte) }
        var low = first
        var high = last
        if signed(low) > signed(high) { swap(&low, &high) }
        let lowerBound = folded(low)
        let upperBound = folded(high)
        var members = ByteSet()
        for candidate in UInt8.min...UInt8.max {
            let value = folded(candidate)
            if value >= lowerBound && value <= upperBound { members.insert(candidate) }
        }
        return members
    }

    /// Every byte equal to `byte` once both are folded to lower case.
    private static func caseVariants(of byte: UInt8) -> ByteSet {
        var variants = ByteSet()
        let lower = ASCII.lowercased(byte)
        variants.insert(lower)
        if lower &- UInt8(ascii: "a") < 26 { variants.insert(lower & ~0x20) }
        return variants
    }
}

/// A set of byte values as a 256-bit map.
struct ByteSet: Sendable, Hashable {
    /// Bit `b % 64` of word `b / 64` is set when byte `b` is a member; all zero is the empty set.
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func formUnion(_ other: ByteSet) {
        words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
    }

    mutating func invert() {
        words = (~words.0, ~words.1, ~words.2, ~words.3)
    }

    static func == (lhs: ByteSet, rhs: ByteSet) -> Bool {
        lhs.words == rhs.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
