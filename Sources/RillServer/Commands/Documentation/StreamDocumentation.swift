/// Documentation of the stream commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum StreamDocumentation {
    /// The arguments of XGROUP CREATECONSUMER, XGROUP DELCONSUMER.
    private static let keyGroupAndConsumerArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .string("group"),
        .string("consumer"),
    ]

    /// The arguments of XGROUP DESTROY, XINFO CONSUMERS.
    private static let keyAndGroupArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .string("group"),
    ]

    /// The arguments of XINFO GROUPS, XLEN.
    private static let singleKeyArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
    ]

    private static let conditionArgument: ArgumentDoc = .oneOf("condition", flags: .optional, [
        .token("KEEPREF"),
        .token("DELREF"),
        .token("ACKED"),
    ])

    private static let idsArgument: ArgumentDoc = .block("ids", token: "IDS", [
        .integer("numids"),
        .string("id", flags: .multiple),
    ])

    private static let strategyArgument: ArgumentDoc = .oneOf("strategy", [
        .token("MAXLEN"),
        .token("MINID", since: "6.2.0"),
    ])

    private static let operatorArgument: ArgumentDoc = .oneOf("operator", flags: .optional, [
        .token("=", name: "equal"),
        .token("~", name: "approximately"),
    ])

    private static let idSelectorArgument: ArgumentDoc = .oneOf("id-selector", [
        .string("id"),
        .token("$", name: "new-id"),
    ])

    private static let streamsArgument: ArgumentDoc = .block("streams", token: "STREAMS", [
        .key("key", keySpec: 0, flags: .multiple),
        .string("id", flags: .multiple),
    ])

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["xack"] = CommandDocumentation(
            summary: "Marks entries as processed, removing them from a group's pending list.",
            complexity: "O(1) for each message ID processed.",
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                .string("id", flags: .multiple),
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["xackdel"] = CommandDocumentation(
            summary: "Acknowledges entries for a group and deletes them from the stream.",
            complexity: "O(1) for each message ID processed.",
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                conditionArgument,
                idsArgument,
            ],
            keySpecs: [.single([.rw, .update, .delete], at: 1)])
        docs["xadd"] = CommandDocumentation(
            summary: "Appends an entry to a stream, creating the stream when missing.",
            complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
            history: [
                ("6.2.0", "New `NOMKSTREAM` option, `MINID` trimming and `LIMIT`."),
                ("7.0.0", "Explicit IDs may be given as `<ms>-*`."),
                ("8.2.0", "New `KEEPREF`, `DELREF` and `ACKED` options."),
                ("8.6.0", "New `IDMP` and `IDMPAUTO` options."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .token("NOMKSTREAM", since: "6.2.0", flags: .optional),
                conditionArgument,
                .block("trim", flags: .optional, [
                    strategyArgument,
                    operatorArgument,
                    .string("threshold"),
                    .integer("count", token: "LIMIT", since: "6.2.0", flags: .optional),
                ]),
                .oneOf("idempotency", since: "8.6.0", flags: .optional, [
                    .block("idmp", token: "IDMP", [
                        .string("producer-id"),
                        .string("idempotent-id"),
                    ]),
                    .string("producer-id", token: "IDMPAUTO"),
                ]),
                .oneOf("id-selector", [
                    .token("*", name: "auto-id"),
                    .string("id"),
                ]),
                .block("data", flags: .multiple, [
                    .string("field"),
                    .string("value"),
                ]),
            ],
            keySpecs: [
                .single([.rw, .update], at: 1, notes: "Trimming may remove entries, so the key is updated rather than only inserted into."),
            ],
            tips: ["nondeterministic_output"])
        docs["xautoclaim"] = CommandDocumentation(
            summary: "Hands a group's entries that were idle long enough to another consumer, scanning from a cursor.",
            complexity: "O(1) if COUNT is small.",
            history: [
                ("7.0.0", "The reply gains a third element: ids of deleted entries dropped from the pending list."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                .string("consumer"),
                .string("min-idle-time"),
                .string("start"),
                .integer("count", token: "COUNT", flags: .optional),
                .token("JUSTID", flags: .optional),
            ],
            keySpecs: [.single([.rw, .delete], at: 1)],
            tips: ["nondeterministic_output"])
        docs["xclaim"] = CommandDocumentation(
            summary: "Hands pending entries of a group to another consumer.",
            complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.",
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                .string("consumer"),
                .string("min-idle-time"),
                .string("id", flags: .multiple),
                .integer("ms", token: "IDLE", flags: .optional),
                .unixTime("unix-time-milliseconds", token: "TIME", flags: .optional),
                .integer("count", token: "RETRYCOUNT", flags: .optional),
                .token("FORCE", flags: .optional),
                .token("JUSTID", flags: .optional),
                .string("lastid", token: "LASTID", flags: .optional),
            ],
            keySpecs: [.single([.rw, .update], at: 1)],
            tips: ["nondeterministic_output"])
        docs["xdel"] = CommandDocumentation(
            summary: "Deletes entries from a stream and answers how many were deleted.",
            complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
            arguments: [
                .key("key", keySpec: 0),
                .string("id", flags: .multiple),
            ],
            keySpecs: [.single([.rw, .delete], at: 1)])
        docs["xdelex"] = CommandDocumentation(
            summary: "Deletes entries from a stream, choosing what happens to their group references.",
            complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
            arguments: [
                .key("key", keySpec: 0),
                conditionArgument,
                idsArgument,
            ],
            keySpecs: [.single([.rw, .delete], at: 1)])
        docs["xgroup"] = CommandDocumentation(
            summary: "Groups the commands that manage consumer groups.",
            complexity: "Depends on subcommand.")
        docs["xgroup|create"] = CommandDocumentation(
            summary: "Adds a consumer group to a stream.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `ENTRIESREAD` argument."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                idSelectorArgument,
                .token("MKSTREAM", flags: .optional),
                .integer("entriesread", token: "ENTRIESREAD", display: "entries-read", flags: .optional),
            ],
            keySpecs: [.single([.rw, .insert], at: 2)])
        docs["xgroup|createconsumer"] = CommandDocumentation(
            summary: "Adds a consumer to a consumer group.",
            complexity: "O(1)",
            arguments: keyGroupAndConsumerArguments,
            keySpecs: [.single([.rw, .insert], at: 2)])
        docs["xgroup|delconsumer"] = CommandDocumentation(
            summary: "Removes a consumer from a consumer group.",
            complexity: "O(1)",
            arguments: keyGroupAndConsumerArguments,
            keySpecs: [.single([.rw, .delete], at: 2)])
        docs["xgroup|destroy"] = CommandDocumentation(
            summary: "Removes a consumer group from a stream.",
            complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).",
            arguments: keyAndGroupArguments,
            keySpecs: [.single([.rw, .delete], at: 2)])
        docs["xgroup|help"] = CommandDocumentation(
            summary: "Lists the XGROUP subcommands with a short description.",
            complexity: "O(1)")
        docs["xgroup|setid"] = CommandDocumentation(
            summary: "Moves a consumer group's last-delivered ID.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `ENTRIESREAD` argument."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                idSelectorArgument,
                .integer("entriesread", token: "ENTRIESREAD", display: "entries-read", flags: .optional),
            ],
            keySpecs: [.single([.rw, .update], at: 2)])
        docs["xinfo"] = CommandDocumentation(
            summary: "Groups the commands that describe streams, groups and consumers.",
            complexity: "Depends on subcommand.")
        docs["xinfo|consumers"] = CommandDocumentation(
            summary: "Describes the consumers of a consumer group.",
            complexity: "O(1)",
            history: [
                ("7.2.0", "New `inactive` field; `idle` counts from the last attempt."),
            ],
            arguments: keyAndGroupArguments,
            keySpecs: [.single([.ro, .access], at: 2)],
            tips: ["nondeterministic_output"])
        docs["xinfo|groups"] = CommandDocumentation(
            summary: "Describes the consumer groups of a stream.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `entries-read` and `lag` fields."),
            ],
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 2)])
        docs["xinfo|help"] = CommandDocumentation(
            summary: "Lists the XINFO subcommands with a short description.",
            complexity: "O(1)")
        docs["xinfo|stream"] = CommandDocumentation(
            summary: "Describes a stream.",
            complexity: "O(1)",
            history: [
                ("6.0.0", "New `FULL` form."),
                ("7.0.0", "New `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields."),
                ("7.2.0", "New `active-time` field; `seen-time` counts from the last attempt."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .block("full-block", flags: .optional, [
                    .token("FULL"),
                    .integer("count", token: "COUNT", flags: .optional),
                ]),
            ],
            keySpecs: [.single([.ro, .access], at: 2)])
        docs["xlen"] = CommandDocumentation(
            summary: "Answers how many entries a stream holds.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 1)])
        docs["xpending"] = CommandDocumentation(
            summary: "Answers a summary of a group's pending entries, or the entries themselves.",
            complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
            history: [
                ("6.2.0", "New `IDLE` filter; ranges may be exclusive."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                .block("filters", flags: .optional, [
                    .integer("min-idle-time", token: "IDLE", since: "6.2.0", flags: .optional),
                    .string("start"),
                    .string("end"),
                    .integer("count"),
                    .string("consumer", flags: .optional),
                ]),
            ],
            keySpecs: [.single([.ro, .access], at: 1)],
            tips: ["nondeterministic_output"])
        docs["xrange"] = CommandDocumentation(
            summary: "Answers the entries of a stream between two IDs.",
            complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
            history: [
                ("6.2.0", "Ranges may be exclusive."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("start"),
                .string("end"),
                .integer("count", token: "COUNT", flags: .optional),
            ],
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["xread"] = CommandDocumentation(
            summary: "Answers entries newer than the given IDs from one or more streams, waiting for them if asked.",
            history: [
                ("8.10.0", "New `MAXCOUNT` and `MAXSIZE` caps."),
            ],
            arguments: [
                .integer("count", token: "COUNT", flags: .optional),
                .integer("maxcount", token: "MAXCOUNT", since: "8.10.0", flags: .optional),
                .integer("maxsize", token: "MAXSIZE", since: "8.10.0", flags: .optional),
                .integer("milliseconds", token: "BLOCK", flags: .optional),
                streamsArgument,
            ],
            keySpecs: [KeySpec([.ro, .access], .keyword("STREAMS", startFrom: 1), .range(lastKey: -1, step: 1, limit: 2))])
        docs["xreadgroup"] = CommandDocumentation(
            summary: "Delivers a group's new entries (or a consumer's pending ones) to a consumer, waiting for them if asked.",
            complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
            history: [
                ("8.4.0", "New `CLAIM` option."),
                ("8.10.0", "New `MAXCOUNT` and `MAXSIZE` caps."),
            ],
            arguments: [
                .block("group-block", token: "GROUP", [
                    .string("group"),
                    .string("consumer"),
                ]),
                .integer("count", token: "COUNT", flags: .optional),
                .integer("maxcount", token: "MAXCOUNT", since: "8.10.0", flags: .optional),
                .integer("maxsize", token: "MAXSIZE", since: "8.10.0", flags: .optional),
                .integer("milliseconds", token: "BLOCK", flags: .optional),
                .integer("min-idle-time", token: "CLAIM", since: "8.4.0", flags: .optional),
                .token("NOACK", flags: .optional),
                streamsArgument,
            ],
            keySpecs: [KeySpec([.ro, .access], .keyword("STREAMS", startFrom: 4), .range(lastKey: -1, step: 1, limit: 2))])
        docs["xrevrange"] = CommandDocumentation(
            summary: "Answers the entries of a stream between two IDs, newest first.",
            complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
            history: [
                ("6.2.0", "Ranges may be exclusive."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("end"),
                .string("start"),
                .integer("count", token: "COUNT", flags: .optional),
            ],
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["xsetid"] = CommandDocumentation(
            summary: "Sets a stream's last ID and counters (used by replication).",
            complexity: "O(1)",
            history: [
                ("7.0.0", "New `ENTRIESADDED` and `MAXDELETEDID` arguments."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .string("last-id"),
                .integer("entries-added", token: "ENTRIESADDED", since: "7.0.0", flags: .optional),
                .string("max-deleted-id", token: "MAXDELETEDID", since: "7.0.0", flags: .optional),
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["xtrim"] = CommandDocumentation(
            summary: "Removes the oldest entries of a stream.",
            complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
            history: [
                ("6.2.0", "New `MINID` trimming and `LIMIT`."),
                ("8.2.0", "New `KEEPREF`, `DELREF` and `ACKED` options."),
            ],
            arguments: [
                .key("key", keySpec: 0),
                .block("trim", [
                    strategyArgument,
                    operatorArgument,
                    .string("threshold"),
                    .integer("count", token: "LIMIT", since: "6.2.0", flags: .optional),
                    conditionArgument,
                ]),
            ],
            keySpecs: [.single([.rw, .delete], at: 1)],
            tips: ["nondeterministic_output"])
        docs["xnack"] = CommandDocumentation(
            summary: "Gives pending entries back to the group without acknowledging them, so they can be delivered again.",
            complexity: "O(1) for each message ID processed.",
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                .oneOf("mode", [
                    .token("SILENT"),
                    .token("FAIL"),
                    .token("FATAL"),
                ]),
                idsArgument,
                .integer("count", token: "RETRYCOUNT", flags: .optional),
                .token("FORCE", flags: .optional),
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["xcfgset"] = CommandDocumentation(
            summary: "Sets how long and how many idempotent-producer pairs a stream remembers.",
            complexity: "O(1)",
            arguments: [
                .key("key", keySpec: 0),
                .integer("duration", token: "IDMP-DURATION", flags: .optional),
                .integer("maxsize", token: "IDMP-MAXSIZE", flags: .optional),
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["xidmprecord"] = CommandDocumentation(
            summary: "Records an idempotent-producer pair for an existing entry (replayed from the append-only file).",
            complexity: "O(1)",
            docFlags: ["syscmd"],
            arguments: [
                .key("key", keySpec: 0),
                .string("producer-id"),
                .string("idempotent-id"),
                .string("id"),
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["xgroup|setpolicy"] = CommandDocumentation(
            summary: "Sets a consumer group's dead-letter and idle-consumer policy (Rill only).",
            complexity: "O(1)",
            arguments: [
                .key("key", keySpec: 0),
                .string("group"),
                .integer("maxdeliveries", token: "MAXDELIVERIES", flags: .optional),
                .string("deadletter-key", token: "DEADLETTER", flags: .optional),
                .integer("consumer-idle-timeout", token: "CONSUMER-IDLE-TIMEOUT", flags: .optional),
                .integer("deadlettered", token: "DEADLETTERED", flags: .optional),
            ],
            keySpecs: [.single([.rw, .update], at: 2)])
        return docs
    }
}
