/// Documentation of the generic commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum GenericDocumentation {
    /// The arguments of DEL, EXISTS, UNLINK.
    private static let delArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0, flags: .multiple),
    ]

    /// The arguments of DUMP, EXPIRETIME, PERSIST, PEXPIRETIME, PTTL, TTL, TYPE, OBJECT ENCODING, OBJECT FREQ, OBJECT
    /// IDLETIME, OBJECT REFCOUNT.
    private static let singleKeyArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
    ]

    /// The arguments of RENAME, RENAMENX.
    private static let renameArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .key("newkey", keySpec: 1),
    ]

    private static let conditionArgument: ArgumentDoc = .oneOf("condition", since: "7.0.0", flags: .optional, [
        .token("NX"),
        .token("XX"),
        .token("GT"),
        .token("LT"),
    ])

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["del"] = CommandDocumentation(
            summary: "Removes keys.",
            complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
            arguments: delArguments,
            keySpecs: [KeySpec([.rm, .delete], .index(1), .range(lastKey: -1, step: 1, limit: 0))],
            tips: ["request_policy:multi_shard", "response_policy:agg_sum"])
        docs["dump"] = CommandDocumentation(
            summary: "Answers a key's value in the server's serialized form.",
            complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)],
            tips: ["nondeterministic_output"])
        docs["exists"] = CommandDocumentation(
            summary: "Counts how many of the given keys exist.",
            complexity: "O(N) where N is the number of keys to check.",
            history: [
                ("3.0.3", "Takes several keys."),
            ],
            arguments: delArguments,
            keySpecs: [KeySpec([.ro], .index(1), .range(lastKey: -1, step: 1, limit: 0))],
            tips: ["request_policy:multi_shard", "response_policy:agg_sum"])
        docs["touch"] = CommandDocumentation(
            summary: "Marks keys as just used and counts how many of them exist.",
            complexity: "O(N) where N is the number of keys that will be touched.",
            arguments: delArguments,
            keySpecs: [KeySpec([.ro], .index(1), .range(lastKey: -1, step: 1, limit: 0))],
            tips: ["request_policy:multi_shard", "response_policy:agg_sum"])
        docs["expire"] = CommandDocumentation(
            summary: "Gives a key a time to live, in seconds.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `NX`, `XX`, `GT` and `LT` conditions."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .integer("seconds"),
                conditionArgument,
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["expireat"] = CommandDocumentation(
            summary: "Makes a key expire at a Unix time, in seconds.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `NX`, `XX`, `GT` and `LT` conditions."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .unixTime("unix-time-seconds"),
                conditionArgument,
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["expiretime"] = CommandDocumentation(
            summary: "Answers the Unix time, in seconds, at which a key expires.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["keys"] = CommandDocumentation(
            summary: "Answers the names of the keys matching a glob pattern.",
            complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
            arguments: [
                .pattern("pattern"),
            ],
            tips: ["request_policy:all_shards", "nondeterministic_output_order"])
        docs["persist"] = CommandDocumentation(
            summary: "Takes a key's time to live away, so it no longer expires.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["pexpire"] = CommandDocumentation(
            summary: "Gives a key a time to live, in milliseconds.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `NX`, `XX`, `GT` and `LT` conditions."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .integer("milliseconds"),
                conditionArgument,
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["pexpireat"] = CommandDocumentation(
            summary: "Makes a key expire at a Unix time, in milliseconds.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `NX`, `XX`, `GT` and `LT` conditions."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .unixTime("unix-time-milliseconds"),
                conditionArgument,
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["pexpiretime"] = CommandDocumentation(
            summary: "Answers the Unix time, in milliseconds, at which a key expires.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["pttl"] = CommandDocumentation(
            summary: "Answers a key's remaining time to live, in milliseconds.",
            complexity: "O(1)",
            history: [
                ("2.8.0", "Answers -2 for a missing key."),
            ],
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)],
            tips: ["nondeterministic_output"])
        docs["rename"] = CommandDocumentation(
            summary: "Gives a key another name, replacing any key of that name.",
            complexity: "O(1)",
            arguments: renameArguments,
            keySpecs: [
                .single([.rw, .access, .delete], at: 1),
                .single([.ow, .update], at: 2),
            ])
        docs["renamenx"] = CommandDocumentation(
            summary: "Gives a key another name unless that name is taken.",
            complexity: "O(1)",
            history: [
                ("3.2.0", "Renaming a key to its own name is no longer an error."),
            ],
            arguments: renameArguments,
            keySpecs: [
                .single([.rw, .access, .delete], at: 1),
                .single([.ow, .insert], at: 2),
            ])
        docs["restore"] = CommandDocumentation(
            summary: "Makes a key from a value serialized by DUMP.",
            complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
            history: [
                ("3.0.0", "New `REPLACE` option."),
                ("5.0.0", "New `ABSTTL` option."),
                ("5.0.0", "New `IDLETIME` and `FREQ` options."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .integer("ttl"),
                .string("serialized-value"),
                .token("REPLACE", since: "3.0.0", flags: .optional),
                .token("ABSTTL", since: "5.0.0", flags: .optional),
                .integer("seconds", token: "IDLETIME", since: "5.0.0", flags: .optional),
                .integer("frequency", token: "FREQ", since: "5.0.0", flags: .optional),
            ],
            keySpecs: [.single([.ow, .update], at: 1)])
        docs["scan"] = CommandDocumentation(
            summary: "Walks the key names of the database a batch at a time with a cursor.",
            complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
            history: [
                ("6.0.0", "New `TYPE` filter."),
            ],
            arguments: [
                .integer("cursor"),
                .pattern("pattern", token: "MATCH", flags: .optional),
                .integer("count", token: "COUNT", flags: .optional),
                .string("type", token: "TYPE", since: "6.0.0", flags: .optional),
            ],
            tips: ["nondeterministic_output", "request_policy:special", "response_policy:special"])
        docs["ttl"] = CommandDocumentation(
            summary: "Answers a key's remaining time to live, in seconds.",
            complexity: "O(1)",
            history: [
                ("2.8.0", "Answers -2 for a missing key."),
            ],
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)],
            tips: ["nondeterministic_output"])
        docs["type"] = CommandDocumentation(
            summary: "Answers the type of the value held at a key.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 1)])
        docs["unlink"] = CommandDocumentation(
            summary: "Removes keys, freeing their memory in the background.",
            complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
            arguments: delArguments,
            keySpecs: [KeySpec([.rm, .delete], .index(1), .range(lastKey: -1, step: 1, limit: 0))],
            tips: ["request_policy:multi_shard", "response_policy:agg_sum"])
        docs["object"] = CommandDocumentation(
            summary: "Groups the commands that describe how a key's value is stored.",
            complexity: "Depends on subcommand.")
        docs["object|encoding"] = CommandDocumentation(
            summary: "Answers how a key's value is encoded internally.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 2)],
            tips: ["nondeterministic_output"])
        docs["object|freq"] = CommandDocumentation(
            summary: "Answers a key's logarithmic access-frequency counter.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 2)],
            tips: ["nondeterministic_output"])
        docs["object|idletime"] = CommandDocumentation(
            summary: "Answers how many seconds ago a key was last used.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 2)],
            tips: ["nondeterministic_output"])
        docs["object|refcount"] = CommandDocumentation(
            summary: "Answers how many references a key's value has.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 2)],
            tips: ["nondeterministic_output"])
        docs["object|help"] = CommandDocumentation(
            summary: "Lists the OBJECT subcommands with a short description.",
            complexity: "O(1)")
        return docs
    }
}
