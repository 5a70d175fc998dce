/// Documentation of the set commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum SetDocumentation {
    /// The arguments of SADD, SREM.
    private static let saddArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .string("member", flags: .multiple),
    ]

    /// The arguments of SCARD, SMEMBERS.
    private static let singleKeyArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
    ]

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["sadd"] = CommandDocumentation(
            summary: "Adds members to a set, creating it when missing.",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            history: [
                ("2.4.0", "Takes several members."),
            ],
            arguments: saddArguments,
            keySpecs: [.single([.rw, .insert], at: 1)])
        docs["scard"] = CommandDocumentation(
            summary: "Answers how many members a set holds.",
            complexity: "O(1)",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro], at: 1)])
        docs["sismember"] = CommandDocumentation(
            summary: "Tells whether a value is a member of a set.",
            complexity: "O(1)",
            arguments: [
                .key("key", keySpec: 0),
                .string("member"),
            ],
            keySpecs: [.single([.ro], at: 1)])
        docs["smembers"] = CommandDocumentation(
            summary: "Answers every member of a set.",
            complexity: "O(N) where N is the set cardinality.",
            arguments: singleKeyArguments,
            keySpecs: [.single([.ro, .access], at: 1)],
            tips: ["nondeterministic_output_order"])
        docs["srem"] = CommandDocumentation(
            summary: "Removes members from a set; an emptied set is deleted.",
            complexity: "O(N) where N is the number of members to be removed.",
            history: [
                ("2.4.0", "Takes several members."),
            ],
            arguments: saddArguments,
            keySpecs: [.single([.rw, .delete], at: 1)])
        return docs
    }
}
