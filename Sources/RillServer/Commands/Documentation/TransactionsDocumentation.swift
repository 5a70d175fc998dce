/// Documentation of the transactions commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum TransactionsDocumentation {
    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["discard"] = CommandDocumentation(
            summary: "Drops the commands queued since MULTI.",
            complexity: "O(N), when N is the number of queued commands")
        docs["exec"] = CommandDocumentation(
            summary: "Runs the commands queued since MULTI.",
            complexity: "Depends on commands in the transaction")
        docs["multi"] = CommandDocumentation(
            summary: "Opens a transaction: later commands are queued until EXEC.",
            complexity: "O(1)")
        docs["unwatch"] = CommandDocumentation(
            summary: "Stops watching every key this connection watches.",
            complexity: "O(1)")
        docs["watch"] = CommandDocumentation(
            summary: "Makes the next EXEC fail if any of these keys changes first.",
            complexity: "O(1) for every key.",
            arguments: [
                .key("key", keySpec: 0, flags: .multiple),
            ],
            keySpecs: [KeySpec([.ro], .index(1), .range(lastKey: -1, step: 1, limit: 0))])
        return docs
    }
}
