/// Documentation of the list commands (see `CommandDocumentation`): facts as Redis 8.2.3 gives them, prose in
/// Rill's own words.
enum ListDocumentation {
    /// The arguments of LPOP, RPOP.
    private static let lpopArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .integer("count", since: "6.2.0", flags: .optional),
    ]

    /// The arguments of LPUSH, RPUSH, LPUSHX, RPUSHX.
    private static let lpushArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .string("element", flags: .multiple),
    ]

    /// The arguments of LRANGE, LTRIM.
    private static let lrangeArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0),
        .integer("start"),
        .integer("stop"),
    ]

    /// The arguments of BLPOP, BRPOP.
    private static let blpopArguments: [ArgumentDoc] = [
        .key("key", keySpec: 0, flags: .multiple),
        .double("timeout"),
    ]

    private static let wherefromArgument: ArgumentDoc = .oneOf("wherefrom", [
        .token("LEFT"),
        .token("RIGHT"),
    ])

    private static let wheretoArgument: ArgumentDoc = .oneOf("whereto", [
        .token("LEFT"),
        .token("RIGHT"),
    ])

    private static let whereArgument: ArgumentDoc = .oneOf("where", [
        .token("LEFT"),
        .token("RIGHT"),
    ])

    static var entries: [String: CommandDocumentation] {
        var docs: [String: CommandDocumentation] = [:]
        docs["llen"] = CommandDocumentation(
            summary: "Answers how many elements a list holds.",
            complexity: "O(1)",
            arguments: [
                .key("key", keySpec: 0),
            ],
            keySpecs: [.single([.ro], at: 1)])
        docs["lpop"] = CommandDocumentation(
            summary: "Removes and answers elements from the head of a list; an emptied list is deleted.",
            complexity: "O(N) where N is the number of elements returned",
            history: [
                ("6.2.0", "New `count` argument."),
            ],
            arguments: lpopArguments,
            keySpecs: [.single([.rw, .access, .delete], at: 1)])
        docs["lpush"] = CommandDocumentation(
            summary: "Adds elements at the head of a list, creating it when missing.",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            history: [
                ("2.4.0", "Takes several elements."),
            ],
            arguments: lpushArguments,
            keySpecs: [.single([.rw, .insert], at: 1)])
        docs["lrange"] = CommandDocumentation(
            summary: "Answers the elements of a list between two indexes.",
            complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
            arguments: lrangeArguments,
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["rpop"] = CommandDocumentation(
            summary: "Removes and answers elements from the tail of a list; an emptied list is deleted.",
            complexity: "O(N) where N is the number of elements returned",
            history: [
                ("6.2.0", "New `count` argument."),
            ],
            arguments: lpopArguments,
            keySpecs: [.single([.rw, .access, .delete], at: 1)])
        docs["rpush"] = CommandDocumentation(
            summary: "Adds elements at the tail of a list, creating it when missing.",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            history: [
                ("2.4.0", "Takes several elements."),
            ],
            arguments: lpushArguments,
            keySpecs: [.single([.rw, .insert], at: 1)])
        docs["blpop"] = CommandDocumentation(
            summary: "Removes and answers the head of the first non-empty list, waiting if all are empty; an emptied list is deleted.",
            complexity: "O(N) where N is the number of provided keys.",
            history: [
                ("6.0.0", "The timeout may be fractional."),
            ],
            arguments: blpopArguments,
            keySpecs: [KeySpec([.rw, .access, .delete], .index(1), .range(lastKey: -2, step: 1, limit: 0))])
        docs["brpop"] = CommandDocumentation(
            summary: "Removes and answers the tail of the first non-empty list, waiting if all are empty; an emptied list is deleted.",
            complexity: "O(N) where N is the number of provided keys.",
            history: [
                ("6.0.0", "The timeout may be fractional."),
            ],
            arguments: blpopArguments,
            keySpecs: [KeySpec([.rw, .access, .delete], .index(1), .range(lastKey: -2, step: 1, limit: 0))])
        docs["blmove"] = CommandDocumentation(
            summary: "Moves an element from one list to another and answers it, waiting if the source is empty.",
            complexity: "O(1)",
            arguments: [
                .key("source", keySpec: 0),
                .key("destination", keySpec: 1),
                wherefromArgument,
                wheretoArgument,
                .double("timeout"),
            ],
            keySpecs: [
                .single([.rw, .access, .delete], at: 1),
                .single([.rw, .insert], at: 2),
            ])
        docs["brpoplpush"] = CommandDocumentation(
            summary: "Moves the tail of one list to the head of another and answers it, waiting if the source is empty.",
            complexity: "O(1)",
            docFlags: ["deprecated"],
            deprecatedSince: "6.2.0",
            replacedBy: "`BLMOVE` with `RIGHT` then `LEFT`",
            history: [
                ("6.0.0", "The timeout may be fractional."),
            ],
            arguments: [
                .key("source", keySpec: 0),
                .key("destination", keySpec: 1),
                .double("timeout"),
            ],
            keySpecs: [
                .single([.rw, .access, .delete], at: 1),
                .single([.rw, .insert], at: 2),
            ])
        docs["blmpop"] = CommandDocumentation(
            summary: "Pops elements from the first non-empty list of several, waiting if all are empty.",
            complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
            arguments: [
                .double("timeout"),
                .integer("numkeys"),
                .key("key", keySpec: 0, flags: .multiple),
                whereArgument,
                .integer("count", token: "COUNT", flags: .optional),
            ],
            keySpecs: [KeySpec([.rw, .access, .delete], .index(2), .keyNum(keyNumIndex: 0, firstKey: 1, step: 1))])
        docs["lmpop"] = CommandDocumentation(
            summary: "Pops elements from the first non-empty list of several.",
            complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
            arguments: [
                .integer("numkeys"),
                .key("key", keySpec: 0, flags: .multiple),
                whereArgument,
                .integer("count", token: "COUNT", flags: .optional),
            ],
            keySpecs: [KeySpec([.rw, .access, .delete], .index(1), .keyNum(keyNumIndex: 0, firstKey: 1, step: 1))])
        docs["lmove"] = CommandDocumentation(
            summary: "Moves an element from one list to another and answers it; an emptied list is deleted.",
            complexity: "O(1)",
            arguments: [
                .key("source", keySpec: 0),
                .key("destination", keySpec: 1),
                wherefromArgument,
                wheretoArgument,
            ],
            keySpecs: [
                .single([.rw, .access, .delete], at: 1),
                .single([.rw, .insert], at: 2),
            ])
        docs["rpoplpush"] = CommandDocumentation(
            summary: "Moves the tail of one list to the head of another and answers it.",
            complexity: "O(1)",
            docFlags: ["deprecated"],
            deprecatedSince: "6.2.0",
            replacedBy: "`LMOVE` with `RIGHT` then `LEFT`",
            arguments: [
                .key("source", keySpec: 0),
                .key("destination", keySpec: 1),
            ],
            keySpecs: [
                .single([.rw, .access, .delete], at: 1),
                .single([.rw, .insert], at: 2),
            ])
        docs["lpos"] = CommandDocumentation(
            summary: "Answers the positions of the elements equal to a value in a list.",
            complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
            arguments: [
                .key("key", keySpec: 0),
                .string("element"),
                .integer("rank", token: "RANK", flags: .optional),
                .integer("num-matches", token: "COUNT", flags: .optional),
                .integer("len", token: "MAXLEN", flags: .optional),
            ],
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["linsert"] = CommandDocumentation(
            summary: "Puts an element before or after a pivot element of a list.",
            complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
            arguments: [
                .key("key", keySpec: 0),
                .oneOf("where", [
                    .token("BEFORE"),
                    .token("AFTER"),
                ]),
                .string("pivot"),
                .string("element"),
            ],
            keySpecs: [.single([.rw, .insert], at: 1)])
        docs["lset"] = CommandDocumentation(
            summary: "Replaces the list element at an index.",
            complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
            arguments: [
                .key("key", keySpec: 0),
                .integer("index"),
                .string("element"),
            ],
            keySpecs: [.single([.rw, .update], at: 1)])
        docs["ltrim"] = CommandDocumentation(
            summary: "Keeps only the elements of a list between two indexes; an emptied list is deleted.",
            complexity: "O(N) where N is the number of elements to be removed by the operation.",
            arguments: lrangeArguments,
            keySpecs: [.single([.rw, .delete], at: 1)])
        docs["lrem"] = CommandDocumentation(
            summary: "Removes elements equal to a value from a list; an emptied list is deleted.",
            complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
            arguments: [
                .key("key", keySpec: 0),
                .integer("count"),
                .string("element"),
            ],
            keySpecs: [.single([.rw, .delete], at: 1)])
        docs["lindex"] = CommandDocumentation(
            summary: "Answers the list element at an index.",
            complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
            arguments: [
                .key("key", keySpec: 0),
                .integer("index"),
            ],
            keySpecs: [.single([.ro, .access], at: 1)])
        docs["lpushx"] = CommandDocumentation(
            summary: "Adds elements at the head of a list, only if the list exists.",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            history: [
                ("4.0.0", "Takes several elements."),
            ],
            arguments: lpushArguments,
            keySpecs: [.single([.rw, .insert], at: 1)])
        docs["rpushx"] = CommandDocumentation(
            summary: "Adds elements at the tail of a list, only if the list exists.",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            history: [
                ("4.0.0", "Takes several elements."),
            ],
            arguments: lpushArguments,
            keySpecs: [.single([.rw, .insert], at: 1)])
        return docs
    }
}
