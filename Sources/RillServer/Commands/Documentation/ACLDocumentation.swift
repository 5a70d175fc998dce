/// Documentation of ACL and its subcommands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum ACLDocumentation {
    private static let everyNode = ["request_policy:all_nodes", "response_policy:all_succeeded"]

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["acl"] = CommandDocumentation(
            summary: "Groups the commands that manage users and their permissions.",
            complexity: "Depends on subcommand.")
        docs["acl|cat"] = CommandDocumentation(
            summary: "Answers the permission categories, or the commands of one category.",
            complexity: "O(1) since the categories and commands are a fixed set.",
            arguments: [.string("category", flags: .optional)])
        docs["acl|deluser"] = CommandDocumentation(
            summary: "Removes users and closes the connections authenticated as them.",
            complexity: "O(1) amortized time considering the typical user.",
            arguments: [.string("username", flags: .multiple)],
            tips: everyNode)
        docs["acl|dryrun"] = CommandDocumentation(
            summary: "Tells whether a user may run a request, without running it.",
            complexity: "O(1).",
            arguments: [.string("username"), .string("command"), .string("arg", flags: [.optional, .multiple])])
        docs["acl|genpass"] = CommandDocumentation(
            summary: "Answers a random password from the system's secure generator.",
            complexity: "O(1)",
            arguments: [.integer("bits", flags: .optional)])
        docs["acl|getuser"] = CommandDocumentation(
            summary: "Answers a user's flags, passwords, commands, keys, channels and selectors.",
            complexity: "O(N). Where N is the number of password, command and pattern rules that the user has.",
            history: [("6.2.0", "Channel patterns."),
                      ("7.0.0", "Selectors; key and channel patterns shown as rules.")],
            arguments: [.string("username")])
        docs["acl|help"] = CommandDocumentation(
            summary: "Answers a summary of the ACL subcommands.",
            complexity: "O(1)")
        docs["acl|list"] = CommandDocumentation(
            summary: "Answers every user as a line of an ACL file.",
            complexity: "O(N). Where N is the number of configured users.")
        docs["acl|load"] = CommandDocumentation(
            summary: "Replaces the users with those of the ACL file.",
            complexity: "O(N). Where N is the number of configured users.")
        docs["acl|save"] = CommandDocumentation(
            summary: "Writes the users to the ACL file.",
            complexity: "O(N). Where N is the number of configured users.",
            tips: everyNode)
        docs["acl|log"] = CommandDocumentation(
            summary: "Answers the latest refused commands, keys, channels and logins, or empties the log.",
            complexity: "O(N) with N being the number of entries shown.",
            history: [("7.2.0", "Entry id and creation and update times.")],
            arguments: [.oneOf("operation", flags: .optional, [.integer("count"), .token("RESET")])])
        docs["acl|setuser"] = CommandDocumentation(
            summary: "Creates a user or changes its rules, all of them or none.",
            complexity: "O(N). Where N is the number of rules provided.",
            history: [("6.2.0", "Channel patterns."), ("7.0.0", "Selectors and read or write key patterns.")],
            arguments: [.string("username"), .string("rule", flags: [.optional, .multiple])],
            tips: everyNode)
        docs["acl|users"] = CommandDocumentation(
            summary: "Answers the user names.",
            complexity: "O(N). Where N is the number of configured users.")
        docs["acl|whoami"] = CommandDocumentation(
            summary: "Answers the user this connection is authenticated as.",
            complexity: "O(1)")
        return docs
    }
}
