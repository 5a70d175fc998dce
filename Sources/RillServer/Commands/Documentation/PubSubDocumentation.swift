/// Documentation of the Pub/Sub commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum PubSubDocumentation {
    /// Shard channels name a cluster slot without being keys.
    private static func shardChannelSpec(lastKey: Int) -> KeySpec {
        KeySpec(.notKey, .index(1), .range(lastKey: lastKey, step: 1, limit: 0))
    }

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["subscribe"] = CommandDocumentation(
            summary: "Starts receiving the messages published to the given channels.",
            complexity: "O(N) where N is the number of channels to subscribe to.",
            arguments: [.string("channel", flags: .multiple)])
        docs["psubscribe"] = CommandDocumentation(
            summary: "Starts receiving the messages published to channels matching the given glob patterns.",
            complexity: "O(N) where N is the number of patterns to subscribe to.",
            arguments: [.pattern("pattern", flags: .multiple)])
        docs["ssubscribe"] = CommandDocumentation(
            summary: "Starts receiving the messages published to the given shard channels.",
            complexity: "O(N) where N is the number of shard channels to subscribe to.",
            arguments: [.string("shardchannel", flags: .multiple)],
            keySpecs: [shardChannelSpec(lastKey: -1)])
        docs["unsubscribe"] = CommandDocumentation(
            summary: "Stops receiving the messages of the given channels, or of all of them.",
            complexity: "O(N) where N is the number of channels to unsubscribe.",
            arguments: [.string("channel", flags: [.optional, .multiple])])
        docs["punsubscribe"] = CommandDocumentation(
            summary: "Stops receiving the messages of the given patterns, or of all of them.",
            complexity: "O(N) where N is the number of patterns to unsubscribe.",
            arguments: [.pattern("pattern", flags: [.optional, .multiple])])
        docs["sunsubscribe"] = CommandDocumentation(
            summary: "Stops receiving the messages of the given shard channels, or of all of them.",
            complexity: "O(N) where N is the number of shard channels to unsubscribe.",
            arguments: [.string("shardchannel", flags: [.optional, .multiple])],
            keySpecs: [shardChannelSpec(lastKey: -1)])
        docs["publish"] = CommandDocumentation(
            summary: "Sends a message to the subscribers of a channel and of the patterns matching it.",
            complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
            arguments: [.string("channel"), .string("message")])
        docs["spublish"] = CommandDocumentation(
            summary: "Sends a message to the subscribers of a shard channel.",
            complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
            arguments: [.string("shardchannel"), .string("message")],
            keySpecs: [shardChannelSpec(lastKey: 0)])
        docs["pubsub"] = CommandDocumentation(
            summary: "Groups the commands that inspect Pub/Sub subscriptions.",
            complexity: "Depends on subcommand.")
        docs["pubsub|channels"] = CommandDocumentation(
            summary: "Lists the channels that have subscribers, optionally only those matching a pattern.",
            complexity: "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
            arguments: [.pattern("pattern", flags: .optional)])
        docs["pubsub|numpat"] = CommandDocumentation(
            summary: "Answers how many distinct patterns have subscribers.",
            complexity: "O(1)")
        docs["pubsub|numsub"] = CommandDocumentation(
            summary: "Answers how many clients subscribe to each given channel.",
            complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
            arguments: [.string("channel", flags: [.optional, .multiple])])
        docs["pubsub|shardchannels"] = CommandDocumentation(
            summary: "Lists the shard channels that have subscribers, optionally only those matching a pattern.",
            complexity: "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
            arguments: [.pattern("pattern", flags: .optional)])
        docs["pubsub|shardnumsub"] = CommandDocumentation(
            summary: "Answers how many clients subscribe to each given shard channel.",
            complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
            arguments: [.string("shardchannel", flags: [.optional, .multiple])])
        docs["pubsub|help"] = CommandDocumentation(
            summary: "Lists the PUBSUB subcommands with a short description.",
            complexity: "O(1)")
        return docs
    }
}
