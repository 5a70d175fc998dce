/// Documentation of the connection commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum ConnectionDocumentation {
    /// The arguments of CLIENT NO-EVICT, CLIENT NO-TOUCH.
    private static let clientNoEvictArguments: [ArgumentDoc] = [
        .oneOf("enabled", [
            .token("ON"),
            .token("OFF"),
        ]),
    ]

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["auth"] = CommandDocumentation(
            summary: "Proves the connection's identity with a password (and user name).",
            complexity: "O(N) where N is the number of passwords defined for the user",
            history: [
                ("6.0.0", "Takes a user name as well as a password (ACL form)."),
            ],
            arguments: [
                .string("username", since: "6.0.0", flags: .optional),
                .string("password"),
            ])
        docs["client"] = CommandDocumentation(
            summary: "Groups the commands that inspect and manage client connections.",
            complexity: "Depends on subcommand.")
        docs["client|getname"] = CommandDocumentation(
            summary: "Answers the name this connection was given.",
            complexity: "O(1)")
        docs["client|help"] = CommandDocumentation(
            summary: "Lists the CLIENT subcommands with a short description.",
            complexity: "O(1)")
        docs["client|id"] = CommandDocumentation(
            summary: "Answers this connection's numeric id.",
            complexity: "O(1)")
        docs["client|info"] = CommandDocumentation(
            summary: "Describes this connection in one CLIENT LIST line.",
            complexity: "O(1)",
            tips: ["nondeterministic_output"])
        docs["client|kill"] = CommandDocumentation(
            summary: "Closes the connections that match the given filters.",
            complexity: "O(N) where N is the number of client connections",
            history: [
                ("2.8.12", "Filters given as name/value pairs."),
                ("2.8.12", "New `ID` filter."),
                ("3.2.0", "`TYPE` accepts `master`."),
                ("5.0.0", "`TYPE` says `replica` for `slave` (which is still understood)."),
                ("6.2.0", "New `LADDR` filter."),
                ("7.4.0", "New `MAXAGE` filter."),
            ],
            arguments: [
                .oneOf("filter", [
                    .string("old-format", display: "ip:port", deprecatedSince: "2.8.12"),
                    .oneOf("new-format", flags: .multiple, [
                        .integer("client-id", token: "ID", since: "2.8.12", flags: .optional),
                        .oneOf("client-type", token: "TYPE", since: "2.8.12", flags: .optional, [
                            .token("NORMAL"),
                            .token("MASTER", since: "3.2.0"),
                            .token("SLAVE"),
                            .token("REPLICA", since: "5.0.0"),
                            .token("PUBSUB"),
                        ]),
                        .string("username", token: "USER", flags: .optional),
                        .string("addr", token: "ADDR", display: "ip:port", flags: .optional),
                        .string("laddr", token: "LADDR", display: "ip:port", since: "6.2.0", flags: .optional),
                        .oneOf("skipme", token: "SKIPME", flags: .optional, [
                            .token("YES"),
                            .token("NO"),
                        ]),
                        .integer("maxage", token: "MAXAGE", since: "7.4.0", flags: .optional),
                    ]),
                ]),
            ])
        docs["client|list"] = CommandDocumentation(
            summary: "Describes the open connections, one line each.",
            complexity: "O(N) where N is the number of client connections",
            history: [
                ("2.8.12", "Each line shows the client `id`."),
                ("5.0.0", "New `TYPE` filter."),
                ("6.0.0", "Lines show the `user`."),
                ("6.2.0", "Lines show `argv-mem`, `tot-mem`, `laddr` and `redir`; new `ID` filter."),
                ("7.0.0", "Lines show `resp`, `multi-mem`, `rbs` and `rbp`."),
                ("7.0.3", "Lines show `ssub`."),
                ("7.2.0", "Lines show `lib-name` and `lib-ver`."),
                ("7.4.0", "Lines show `watch`."),
                ("8.0.0", "Lines show `io-thread`."),
            ],
            arguments: [
                .oneOf("client-type", token: "TYPE", since: "5.0.0", flags: .optional, [
                    .token("NORMAL"),
                    .token("MASTER"),
                    .token("REPLICA"),
                    .token("PUBSUB"),
                ]),
                .integer("client-id", token: "ID", since: "6.2.0", flags: [.optional, .multiple]),
            ],
            tips: ["nondeterministic_output"])
        docs["client|setinfo"] = CommandDocumentation(
            summary: "Records the client library's name or version on the connection.",
            complexity: "O(1)",
            arguments: [
                .oneOf("attr", [
                    .string("libname", token: "LIB-NAME"),
                    .string("libver", token: "LIB-VER"),
                ]),
            ],
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["client|setname"] = CommandDocumentation(
            summary: "Gives this connection a name.",
            complexity: "O(1)",
            arguments: [
                .string("connection-name"),
            ],
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["client|unblock"] = CommandDocumentation(
            summary: "Wakes a client that is waiting in a blocking command.",
            complexity: "O(log N) where N is the number of client connections",
            arguments: [
                .integer("client-id"),
                .oneOf("unblock-type", flags: .optional, [
                    .token("TIMEOUT"),
                    .token("ERROR"),
                ]),
            ])
        docs["echo"] = CommandDocumentation(
            summary: "Answers its argument.",
            complexity: "O(1)",
            arguments: [
                .string("message"),
            ])
        docs["hello"] = CommandDocumentation(
            summary: "Negotiates the protocol version and answers the server's details.",
            complexity: "O(1)",
            history: [
                ("6.2.0", "The protocol version became optional; without it the reply describes the connection as it is."),
            ],
            arguments: [
                .block("arguments", flags: .optional, [
                    .integer("protover"),
                    .block("auth", token: "AUTH", flags: .optional, [
                        .string("username"),
                        .string("password"),
                    ]),
                    .string("clientname", token: "SETNAME", flags: .optional),
                ]),
            ])
        docs["ping"] = CommandDocumentation(
            summary: "Checks that the server answers.",
            complexity: "O(1)",
            arguments: [
                .string("message", flags: .optional),
            ],
            tips: ["request_policy:all_shards", "response_policy:all_succeeded"])
        docs["quit"] = CommandDocumentation(
            summary: "Asks the server to close the connection.",
            complexity: "O(1)",
            docFlags: ["deprecated"],
            deprecatedSince: "7.2.0",
            replacedBy: "closing the connection from the client")
        docs["reset"] = CommandDocumentation(
            summary: "Puts the connection back in the state of a new one.",
            complexity: "O(1)")
        docs["select"] = CommandDocumentation(
            summary: "Switches the connection to another database.",
            complexity: "O(1)",
            arguments: [
                .integer("index"),
            ])
        docs["client|pause"] = CommandDocumentation(
            summary: "Holds other clients' commands for a while.",
            complexity: "O(1)",
            history: [
                ("6.2.0", "New `WRITE` mode (the `mode` argument)."),
            ],
            arguments: [
                .integer("timeout"),
                .oneOf("mode", since: "6.2.0", flags: .optional, [
                    .token("WRITE"),
                    .token("ALL"),
                ]),
            ])
        docs["client|unpause"] = CommandDocumentation(
            summary: "Lets paused clients' commands run again.",
            complexity: "O(N) Where N is the number of paused clients")
        docs["client|reply"] = CommandDocumentation(
            summary: "Turns the replies to this connection's commands on or off.",
            complexity: "O(1)",
            arguments: [
                .oneOf("action", [
                    .token("ON"),
                    .token("OFF"),
                    .token("SKIP"),
                ]),
            ])
        docs["client|no-evict"] = CommandDocumentation(
            summary: "Exempts this connection from client eviction, or not.",
            complexity: "O(1)",
            arguments: clientNoEvictArguments)
        docs["client|no-touch"] = CommandDocumentation(
            summary: "Keeps this connection's commands from changing keys' last-access time, or not.",
            complexity: "O(1)",
            arguments: clientNoEvictArguments)
        docs["client|getredir"] = CommandDocumentation(
            summary: "Answers the id of the client that receives this connection's tracking notifications.",
            complexity: "O(1)")
        return docs
    }
}
