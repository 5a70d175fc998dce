/// Documentation of the scripting commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum ScriptingDocumentation {
    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["function"] = CommandDocumentation(
            summary: "Groups the commands that manage function libraries.",
            complexity: "Depends on subcommand.")
        docs["function|flush"] = CommandDocumentation(
            summary: "Removes every function library.",
            complexity: "O(N) where N is the number of functions deleted",
            arguments: [
                .oneOf("flush-type", flags: .optional, [
                    .token("ASYNC"),
                    .token("SYNC"),
                ]),
            ],
            tips: ["request_policy:all_shards", "response_policy:all_succeeded"])
        docs["script"] = CommandDocumentation(
            summary: "Groups the commands that manage the Lua script cache.",
            complexity: "Depends on subcommand.")
        docs["script|flush"] = CommandDocumentation(
            summary: "Empties the Lua script cache.",
            complexity: "O(N) with N being the number of scripts in cache",
            history: [
                ("6.2.0", "New `ASYNC` and `SYNC` modes."),
            ],
            arguments: [
                .oneOf("flush-type", since: "6.2.0", flags: .optional, [
                    .token("ASYNC"),
                    .token("SYNC"),
                ]),
            ],
            tips: ["request_policy:all_nodes", "response_policy:all_succeeded"])
        docs["script|kill"] = CommandDocumentation(
            summary: "Stops the Lua script running now, if it has not written anything.",
            complexity: "O(1)",
            tips: ["request_policy:all_shards", "response_policy:one_succeeded"])
        return docs
    }
}
