/// Documentation of the server commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum ServerDocumentation {
    /// The arguments of COMMAND DOCS, COMMAND INFO.
    private static let commandDocsArguments: [ArgumentDoc] = [
        .string("command-name", flags: [.optional, .multiple]),
    ]

    /// The arguments of COMMAND GETKEYS, COMMAND GETKEYSANDFLAGS.
    private static let commandGetkeysArguments: [ArgumentDoc] = [
        .string("command"),
        .string("arg", flags: [.optional, .multiple]),
    ]

    /// The arguments of FLUSHALL, FLUSHDB.
    private static let flushallArguments: [ArgumentDoc] = [
        .oneOf("flush-type", flags: .optional, [
            .token("ASYNC", since: "4.0.0"),
            .token("SYNC", since: "6.2.0"),
        ]),
    ]

    /// The arguments of LATENCY GRAPH, LATENCY HISTORY.
    private static let latencyGraphArguments: [ArgumentDoc] = [
        .string("event"),
    ]

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["bgrewriteaof"] = CommandDocumentation(
            summary: "Rewrites the append-only file in the background.",
            complexity: "O(1)")
        docs["bgsave"] = CommandDocumentation(
            summary: "Writes a snapshot of the data to disk in the background.",
            complexity: "O(1)",
            history: [
                ("3.2.2", "New `SCHEDULE` option."),
            ],
            arguments: [
                .token("SCHEDULE", since: "3.2.2", flags: .optional),
            ])
        docs["command"] = CommandDocumentation(
            summary: "Describes every command the server knows.",
            complexity: "O(N) where N is the total number of Redis commands",
            tips: ["nondeterministic_output_order"])
        docs["command|count"] = CommandDocumentation(
            summary: "Answers how many commands the server knows.",
            complexity: "O(1)")
        docs["command|docs"] = CommandDocumentation(
            summary: "Answers the documentation of the named commands, or of all of them.",
            complexity: "O(N) where N is the number of commands to look up",
            arguments: commandDocsArguments,
            tips: ["nondeterministic_output_order"])
        docs["command|getkeys"] = CommandDocumentation(
            summary: "Answers the keys a command would use, given its arguments.",
            complexity: "O(N) where N is the number of arguments to the command",
            arguments: commandGetkeysArguments)
        docs["command|getkeysandflags"] = CommandDocumentation(
            summary: "Answers the keys a command would use, given its arguments, with what it does to each.",
            complexity: "O(N) where N is the number of arguments to the command",
            arguments: commandGetkeysArguments)
        docs["command|info"] = CommandDocumentation(
            summary: "Describes the named commands, or all of them.",
            complexity: "O(N) where N is the number of commands to look up",
            history: [
                ("7.0.0", "The command names became optional (none: every command)."),
            ],
            arguments: commandDocsArguments,
            tips: ["nondeterministic_output_order"])
        docs["command|list"] = CommandDocumentation(
            summary: "Answers the names of the commands, optionally filtered.",
            complexity: "O(N) where N is the total number of Redis commands",
            arguments: [
                .oneOf("filterby", token: "FILTERBY", flags: .optional, [
                    .string("module-name", token: "MODULE"),
                    .string("category", token: "ACLCAT"),
                    .pattern("pattern", token: "PATTERN"),
                ]),
            ],
            tips: ["nondeterministic_output_order"])
        docs["config"] = CommandDocumentation(
            summary: "Groups the commands that read and change the server configuration.",
            complexity: "Depends on subcommand.")
        docs["config|get"] = CommandDocumentation(
            summary: "Answers the configuration parameters matching the patterns.",
            complexity: "O(N) when N is the number of configuration parameters provided",
            history: [
                ("7.0.0", "Takes several patterns."),
            ],
            arguments: [
                .string("parameter", flags: .multiple),
            ])
        docs["config|resetstat"] = CommandDocumentation(
            summary: "Zeroes the server's statistics counters.",
            complexity: "O(1)",
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["config|rewrite"] = CommandDocumentation(
            summary: "Writes the running configuration back into the file the server started with.",
            complexity: "O(1)",
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["config|set"] = CommandDocumentation(
            summary: "Changes configuration parameters at run time.",
            complexity: "O(N) when N is the number of configuration parameters provided",
            history: [
                ("7.0.0", "Takes several name/value pairs."),
            ],
            arguments: [
                .block("data", flags: .multiple, [
                    .string("parameter"),
                    .string("value"),
                ]),
            ],
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["dbsize"] = CommandDocumentation(
            summary: "Answers how many keys the current database holds.",
            complexity: "O(1)",
            tips: ["request_policy:all_shards", "response_policy:agg_sum"])
        docs["flushall"] = CommandDocumentation(
            summary: "Removes every key of every database.",
            complexity: "O(N) where N is the total number of keys in all databases",
            history: [
                ("4.0.0", "New `ASYNC` mode."),
                ("6.2.0", "New `SYNC` mode."),
            ],
            arguments: flushallArguments,
            tips: ["request_policy:all_shards", "response_policy:all_succeeded"])
        docs["flushdb"] = CommandDocumentation(
            summary: "Removes every key of the current database.",
            complexity: "O(N) where N is the number of keys in the selected database",
            history: [
                ("4.0.0", "New `ASYNC` mode."),
                ("6.2.0", "New `SYNC` mode."),
            ],
            arguments: flushallArguments,
            tips: ["request_policy:all_shards", "response_policy:all_succeeded"])
        docs["info"] = CommandDocumentation(
            summary: "Answers the server's state and statistics, by section.",
            complexity: "O(1)",
            history: [
                ("7.0.0", "Takes several sections."),
            ],
            arguments: [
                .string("section", flags: [.optional, .multiple]),
            ],
            tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        docs["lastsave"] = CommandDocumentation(
            summary: "Answers the Unix time of the last successful snapshot.",
            complexity: "O(1)",
            tips: ["nondeterministic_output"])
        docs["psync"] = CommandDocumentation(
            summary: "Resumes replication from the backlog, or starts a full synchronisation.",
            arguments: [.string("replicationid"), .integer("offset")])
        docs["replconf"] = CommandDocumentation(
            summary: "Sets options of a replica connection before SYNC or PSYNC.",
            complexity: "O(1)", docFlags: ["syscmd"])
        docs["save"] = CommandDocumentation(
            summary: "Writes a snapshot of the data to disk before answering.",
            complexity: "O(N) where N is the total number of keys in all databases")
        docs["sync"] = CommandDocumentation(
            summary: "Starts a full synchronisation: the snapshot, then the stream of writes.")
        let primaryArguments: [ArgumentDoc] = [
            .oneOf("args", [
                .block("host-port", [.string("host"), .integer("port")]),
                .block("no-one", [.token("NO"), .token("ONE")]),
            ]),
        ]
        docs["replicaof"] = CommandDocumentation(
            summary: "Follows another server as its replica, or stops following and becomes a primary.",
            complexity: "O(1)",
            arguments: primaryArguments)
        docs["slaveof"] = CommandDocumentation(
            summary: "Follows another server as its replica, or stops following (old name of REPLICAOF).",
            complexity: "O(1)",
            docFlags: ["deprecated"],
            deprecatedSince: "5.0.0",
            replacedBy: "`REPLICAOF`",
            arguments: primaryArguments)
        docs["role"] = CommandDocumentation(
            summary: "Answers the replication role of the server.",
            complexity: "O(1)")
        docs["wait"] = CommandDocumentation(
            summary: "Waits until replicas acknowledge the writes made so far.",
            complexity: "O(1)",
            arguments: [.integer("numreplicas"), .integer("timeout")],
            tips: ["request_policy:all_shards", "response_policy:agg_min"])
        docs["shutdown"] = CommandDocumentation(
            summary: "Stops the server, saving first when persistence asks for it.",
            complexity: "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
            history: [
                ("7.0.0", "New `NOW`, `FORCE` and `ABORT` options."),
            ],
            arguments: [
                .oneOf("save-selector", flags: .optional, [
                    .token("NOSAVE"),
                    .token("SAVE"),
                ]),
                .token("NOW", since: "7.0.0", flags: .optional),
                .token("FORCE", since: "7.0.0", flags: .optional),
                .token("ABORT", since: "7.0.0", flags: .optional),
            ])
        docs["time"] = CommandDocumentation(
            summary: "Answers the server clock as seconds and microseconds.",
            complexity: "O(1)",
            tips: ["nondeterministic_output"])
        docs["slowlog"] = CommandDocumentation(
            summary: "Groups the commands that read and clear the slow log.",
            complexity: "Depends on subcommand.")
        docs["slowlog|get"] = CommandDocumentation(
            summary: "Answers the newest slow log entries.",
            complexity: "O(N) where N is the number of entries returned",
            history: [
                ("4.0.0", "Entries show the client's address and name."),
            ],
            arguments: [
                .integer("count", flags: .optional),
            ],
            tips: ["request_policy:all_nodes", "nondeterministic_output"])
        docs["slowlog|len"] = CommandDocumentation(
            summary: "Answers how many entries the slow log holds.",
            complexity: "O(1)",
            tips: ["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"])
        docs["slowlog|reset"] = CommandDocumentation(
            summary: "Empties the slow log.",
            complexity: "O(N) where N is the number of entries in the slowlog",
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["slowlog|help"] = CommandDocumentation(
            summary: "Lists the SLOWLOG subcommands with a short description.",
            complexity: "O(1)")
        docs["latency"] = CommandDocumentation(
            summary: "Groups the commands that report latency events.",
            complexity: "Depends on subcommand.")
        docs["latency|doctor"] = CommandDocumentation(
            summary: "Answers a readable report on the latency events seen.",
            complexity: "O(1)",
            tips: ["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        docs["latency|graph"] = CommandDocumentation(
            summary: "Draws the latency samples of an event as text.",
            complexity: "O(1)",
            arguments: latencyGraphArguments,
            tips: ["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        docs["latency|history"] = CommandDocumentation(
            summary: "Answers the time and latency of an event's samples.",
            complexity: "O(1)",
            arguments: latencyGraphArguments,
            tips: ["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        docs["latency|latest"] = CommandDocumentation(
            summary: "Answers the newest sample of every latency event.",
            complexity: "O(1)",
            tips: ["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        docs["latency|reset"] = CommandDocumentation(
            summary: "Forgets the samples of some or all latency events.",
            complexity: "O(1)",
            arguments: [
                .string("event", flags: [.optional, .multiple]),
            ],
            tips: ["request_policy:all_nodes", "response_policy:agg_sum"])
        docs["latency|help"] = CommandDocumentation(
            summary: "Lists the LATENCY subcommands with a short description.",
            complexity: "O(1)")
        docs["latency|histogram"] = CommandDocumentation(
            summary: "Answers per-command latency histograms.",
            complexity: "O(N) where N is the number of commands with latency information being retrieved.",
            arguments: [
                .string("command", flags: [.optional, .multiple]),
            ],
            tips: ["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"])
        docs["memory"] = CommandDocumentation(
            summary: "Groups the commands that report memory use.",
            complexity: "Depends on subcommand.")
        docs["memory|doctor"] = CommandDocumentation(
            summary: "Answers a readable report on memory problems.",
            complexity: "O(1)",
            tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        docs["memory|malloc-stats"] = CommandDocumentation(
            summary: "Answers the memory allocator's own statistics.",
            complexity: "Depends on how much memory is allocated, could be slow",
            tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        docs["memory|purge"] = CommandDocumentation(
            summary: "Asks the memory allocator to give unused memory back.",
            complexity: "Depends on how much memory is allocated, could be slow",
            tips: ["request_policy:all_shards", "response_policy:all_succeeded"])
        docs["memory|stats"] = CommandDocumentation(
            summary: "Answers a breakdown of the server's memory use.",
            complexity: "O(1)",
            tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"])
        docs["memory|usage"] = CommandDocumentation(
            summary: "Estimates how many bytes a key and its value take.",
            complexity: "O(N) where N is the number of samples.",
            arguments: [
                .key("key", keySpec: 0),
                .integer("count", token: "SAMPLES", flags: .optional),
            ],
            keySpecs: [.single([.ro], at: 2)])
        docs["memory|help"] = CommandDocumentation(
            summary: "Lists the MEMORY subcommands with a short description.",
            complexity: "O(1)")
        docs["debug"] = CommandDocumentation(
            summary: "Groups the commands meant for debugging the server.",
            complexity: "Depends on subcommand.",
            docFlags: ["syscmd"])
        docs["monitor"] = CommandDocumentation(
            summary: "Streams every command the server receives to this connection.",
)
        return docs
    }
}
