/// Splits an inline request line into arguments with the rules of Redis's `sdssplitargs`.
///
/// The line is treated like a C string: reading past its end yields NUL, which ends the line. (The decoder never
/// passes a line that contains a NUL, see ``RESPRequestDecoder``.)
///
/// Rules, as observed on Redis 7:
/// - before an argument, whitespace in the C `isspace` sense is skipped: space, `\t`, `\n`, `\v`, `\f`, `\r`;
/// - an unquoted argument ends at space, `\t`, `\n`, `\r` or the line end (so `\v` and `\f` inside it are kept);
/// - a `"` or `'` anywhere in an argument opens a quoted part; after the closing quote the argument ends, and the
///   next character must be `isspace` whitespace or the line end, else the request has unbalanced quotes;
/// - inside double quotes: `\xHH` (two hex digits) is that byte, `\n \r \t \b \a` are control characters, and a
///   backslash before any other character yields that character;
/// - inside single quotes only `\'` is an escape; every other byte, backslashes included, is literal.
public enum InlineArgumentSplitter {
    /// Splits a line that contains no quote character: arguments are maximal runs of non-separators, so each one is
    /// a plain sub-range of the line.
    ///
    /// - Complexity: O(line length).
    static func splitPlain(
        _ line: UnsafeRawBufferPointer,
        into arguments: inout RESPRequestDecoder.ArgumentList
    ) {
        let end = line.count
        var index = 0
        while true {
            while index < end && isSpace(line[index]) { index += 1 }
            if index == end { return }
            let start = index
            while index < end && !endsUnquotedArgument(line[index]) { index += 1 }
            arguments.append(.init(offset: start, length: index - start))
        }
    }

    /// Splits a line containing quotes, unescaping each argument over its own source bytes.
    ///
    /// - Complexity: O(line length).
    static func splitQuoted(
        _ line: UnsafeMutableRawBufferPointer,
        into arguments: inout RESPRequestDecoder.ArgumentList
    ) throws(RESPProtocolError) {
        let end = line.count
        /// The byte at `index`, or NUL past the end, mirroring a NUL-terminated C string.
        @inline(__always) func byte(_ index: Int) -> UInt8 { index < end ? line[index] : ASCII.nul }

        var index = 0
        while true {
            while index < end && isSpace(line[index]) { index += 1 }
            if index == end { return }
            let start = index
            // Unescaped output goes to `write`, which never passes `index`: every output byte consumes >= 1 input byte.
            var write = start
            /// The quote that opened the part being read (double or single), nil outside quotes.
            var openQuote: UInt8?
            var done = false
            while !done {
                let current = byte(index)
                if let quote = openQuote {
                    if quote == ASCII.doubleQuote && current == ASCII.backslash && byte(index + 1) == UInt8(ascii: "x"),
                        let high = hexValue(byte(index + 2)), let low = hexValue(byte(index + 3))
                    {
                        line[write] = high << 4 | low
                        write += 1
                        index += 3
                    } else if quote == ASCII.doubleQuote && current == ASCII.backslash && byte(index + 1) != ASCII.nul {
                        index += 1
                        line[write] = unescapedInDoubleQuotes(line[index])
                        write += 1
                    } else if quote == ASCII.singleQuote && current == ASCII.backslash
                        && byte(index + 1) == ASCII.singleQuote
                    {
                        index += 1
                        line[write] = ASCII.singleQuote
                        write += 1
                    } else if current == quote {
                        // As Redis: a closing quote must end the argument (`"a"b` is refused).
                        let following = byte(index + 1)
                        if following != ASCII.nul && !isSpace(following) { throw .unbalancedQuotes }
                        done = true
                    } else if current == ASCII.nul {
                        throw .unbalancedQuotes
                    } else {
                        line[write] = current
                        write += 1
                    }
                } else {
                    switch current {
                    case ASCII.space, ASCII.lineFeed, ASCII.carriageReturn, ASCII.tab, ASCII.nul:
                        done = true
                    case ASCII.doubleQuote, ASCII.singleQuote:
                        openQuote = current
                    default:
                        line[write] = current
                        write += 1
                    }
                }
                if index < end { index += 1 }
            }
            arguments.append(.init(offset: start, length: write - start))
        }
    }

    /// C `isspace` in the "C" locale.
    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == ASCII.space || (byte >= ASCII.tab && byte <= ASCII.carriageReturn)
    }

    /// The separators that end an unquoted argument (NUL cannot occur inside a line we are given).
    @inline(__always)
    static func endsUnquotedArgument(_ byte: UInt8) -> Bool {
        byte == ASCII.space || byte == ASCII.tab || byte == ASCII.lineFeed || byte == ASCII.carriageReturn
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    @inline(__always)
    static func unescapedInDoubleQuotes(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "n"): return ASCII.lineFeed
        case UInt8(ascii: "r"): return ASCII.carriageReturn
        case UInt8(ascii: "t"): return ASCII.tab
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "a"): return 0x07
        default: return byte
        }
    }
}

extension InlineArgumentSplitter {
    /// Splits one line (an inline request, or a redis.conf line) into its arguments with the same quoting rules;
    /// nil when its quotes are unbalanced.
    ///
    /// - Complexity: O(line length).
    public static func split(_ line: [UInt8]) -> [[UInt8]]? {
        var bytes = line
        var bounds = RESPRequestDecoder.ArgumentList()
        // A typed-throws closure here crashes the 6.3 compiler; carry the outcome out as a flag instead.
        let balanced = bytes.withUnsafeMutableBytes { buffer -> Bool in
            do {
                try splitQuoted(buffer, into: &bounds)
                return true
            } catch {
                return false
            }
        }
        guard balanced else { return nil }
        return (0..<bounds.count).map { index in
            let argument = bounds[index]
            return Array(bytes[argument.offset..<(argument.offset + argument.length)])
        }
    }
}
