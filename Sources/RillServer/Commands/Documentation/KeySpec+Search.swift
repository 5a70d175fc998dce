import NIOCore
import RillCore

/// Finding a request's keys from key specifications (COMMAND GETKEYS, GETKEYSANDFLAGS), and the legacy
/// first/last/step range COMMAND INFO derives from them.
extension KeySpec {
    /// The keys of `arguments` (the command name first; for a subcommand, container and subcommand names first) as
    /// (position, flags), in spec order; nil when the arguments contradict a spec (a key range past the end, a bad
    /// key count). A keyword spec whose keyword is absent contributes nothing.
    ///
    /// - Complexity: O(n) in the number of arguments per spec.
    static func keyPositions(_ specs: [KeySpec], in arguments: [ByteBuffer],
                             arity: Int) -> [(position: Int, flags: Flags)]? {
        let count = arguments.count
        var found: [(position: Int, flags: Flags)] = []
        for spec in specs where !spec.flags.contains(.notKey) {
            var first: Int
            switch spec.beginSearch {
            case .index(let index):
                first = index
            case .keyword(let keyword, let startFrom):
                guard let at = position(of: keyword, in: arguments, startingAt: startFrom) else { continue }
                first = at + 1
            case .unknown:
                return nil
            }
            let last: Int
            let step: Int
            switch spec.findKeys {
            case .range(let lastKey, let rangeStep, let limit):
                step = rangeStep
                if lastKey >= 0 {
                    last = first + lastKey
                } else if limit == 0 {
                    last = count + lastKey
                } else {
                    // Only 1/limit of what follows are keys (XREAD's STREAMS names keys, then as many IDs).
                    last = first + (count - first) / limit + lastKey
                }
            case .keyNum(let keyNumIndex, let firstKey, let numStep):
                step = numStep
                guard first + keyNumIndex < count,
                      let keyCount = Int(String(buffer: arguments[first + keyNumIndex])), keyCount >= 0
                else { return nil }
                first += firstKey
                last = first + keyCount - 1
            case .unknown:
                return nil
            }
            guard first < count, last < count, last >= first else { return nil }
            // A step that overshoots leaves the missing keys to the command's own syntax check.
            for position in stride(from: first, through: last, by: step) where position < count || arity >= 0 {
                found.append((position, spec.flags))
            }
        }
        return found
    }

    /// Index of `keyword` (any case) searched from `start` forwards, or for a negative start from `count + start`
    /// backwards; never the command name.
    private static func position(of keyword: String, in arguments: [ByteBuffer], startingAt start: Int) -> Int? {
        let count = arguments.count
        let indexes = start > 0 ? Array(stride(from: start, to: count, by: 1))
                                : Array(stride(from: count + start, through: 1, by: -1))
        let word = Array(keyword.utf8)
        return indexes.first { index in
            index >= 1 && index < count
                && arguments[index].withUnsafeReadableBytes { ASCII.equalIgnoringCase($0, word) }
        }
    }

    /// COMMAND INFO's first/last/step and whether the command's keys move (movablekeys): one index+range spec is
    /// the range; otherwise the consecutive step-1 index+range specs make one range, and any other spec (keyword,
    /// key count, a gap, an incomplete spec) means the keys can only be found by parsing the arguments.
    static func legacyRange(of specs: [KeySpec]) -> (first: Int, last: Int, step: Int, movable: Bool) {
        if specs.isEmpty { return (0, 0, 0, false) }
        if specs.count == 1, case .index(let index) = specs[0].beginSearch,
           case .range(let lastKey, let step, _) = specs[0].findKeys {
            return (index, lastKey >= 0 ? index + lastKey : lastKey, step, specs[0].flags.contains(.incomplete))
        }
        var movable = false
        var first = Int.max
        var last = 0
        var previousLast = 0
        for spec in specs {
            guard case .index(let index) = spec.beginSearch, case .range(let lastKey, let step, _) = spec.findKeys
            else {
                movable = true
                continue
            }
            if step != 1 || (previousLast != 0 && previousLast != index - 1) {
                movable = true
                continue
            }
            if spec.flags.contains(.incomplete) { movable = true }
            first = min(first, index)
            let absoluteLast = lastKey >= 0 ? index + lastKey : lastKey
            // Compared as unsigned, as Redis does: a last counted from the end (negative) outranks any absolute one.
            last = UInt32(truncatingIfNeeded: absoluteLast) > UInt32(truncatingIfNeeded: last) ? absoluteLast : last
            previousLast = last
        }
        if first == .max { return (0, 0, 0, true) }
        return (first, last, 1, movable)
    }
}
