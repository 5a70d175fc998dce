/// Documentation of the string commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum StringDocumentation {
    /// The arguments of DECR, GET, INCR.
    private static let singleKeyArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
    ]

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["decr"] = CommandDocumentation(
            summary: "Subtracts one from the integer held at a key (a missing key counts as 0).",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.rw, .access, .update], at: 1)])
        docs["decrby"] = CommandDocumentation(
            summary: "Subtracts a number from the integer held at a key (a missing key counts as 0).",
            complexity: "O(1)",
            arguments: [
                .key("key", keySpec: 0),
                .integer("decrement"),
            ],
            keySpecs: [.single([.rw, .access, .update], at: 1)])
        docs["get"] = CommandDocumentation(
            summary: "Answers the string held at a key.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["strlen"] = CommandDocumentation(
            summary: "Counts the bytes of the string held at a key (0 for a missing key).",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 1)])
        docs["incr"] = CommandDocumentation(
            summary: "Adds one to the integer held at a key (a missing key counts as 0).",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.rw, .access, .update], at: 1)])
        docs["incrby"] = CommandDocumentation(
            summary: "Adds a number to the integer held at a key (a missing key counts as 0).",
            complexity: "O(1)",
            arguments: [
                .key("key", keySpec: 0),
                .integer("increment"),
            ],
            keySpecs: [.single([.rw, .access, .update], at: 1)])
        docs["set"] = CommandDocumentation(
            summary: "Stores a string at a key, whatever the key held before.",
            complexity: "O(1)",
            history: [
                ("2.6.12", "New `EX`, `PX`, `NX` and `XX` options."),
                ("6.0.0", "New `KEEPTTL` option."),
                ("6.2.0", "New `GET`, `EXAT` and `PXAT` options."),
                ("7.0.0", "`NX` and `GET` may be combined."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("value"),
                .oneOf("condition", since: "2.6.12", flags: .optional, [
                    .token("NX"),
                    .token("XX"),
                ]),
                .token("GET", since: "6.2.0", flags: .optional),
                .oneOf("expiration", flags: .optional, [
                    .integer("seconds", token: "EX", since: "2.6.12"),
                    .integer("milliseconds", token: "PX", since: "2.6.12"),
                    .unixTime("unix-time-seconds", token: "EXAT", since: "6.2.0"),
                    .unixTime("unix-time-milliseconds", token: "PXAT", since: "6.2.0"),
                    .token("KEEPTTL", since: "6.0.0"),
                ]),
            ],
            keySpecs: [
                .single([.rw, .access, .update, .variableFlags], at: 1, notes: "Reads the old value too when `GET` is given, hence RW with access."),
            ])
        return docs
    }
}
