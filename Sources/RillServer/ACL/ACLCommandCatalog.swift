import NIOCore
import RillProtocol

/// The command table as the ACL rules see it: every command and subcommand numbered (their `aclID`), looked up by
/// the names rules use ("xadd", "client|setname"), and the members of each category. Built once with the table.
struct ACLCommandCatalog: Sendable {
    /// Every command and subcommand, at the index of its `aclID`.
    let commandsByID: [Command]
    /// Lower-case full names ("client|setname") to ids.
    private let idsByName: [String: Int]
    /// Category name (without '@') to the ids of its commands and subcommands.
    private let idsByCategory: [String: [Int]]
    /// How each command that names Pub/Sub channels finds them, by id (Redis finds them by command, not key specs).
    let channelArguments: [Int: ChannelArguments]
    /// By id, the keys of commands whose single key spec is a fixed range (XADD, GET, DEL...): the check walks it
    /// without building the list of keys a general spec needs (nil for other commands).
    let fixedKeyRanges: [FixedKeyRange?]

    /// Keys at `first`, every `step` arguments up to `lastKey` (from the first; negative: from the end), all
    /// needing `access`.
    struct FixedKeyRange: Sendable {
        let first: Int
        let lastKey: Int
        let step: Int
        let access: ACLKeyPattern.Access

        /// The last key's position in a request of `count` arguments.
        @inline(__always)
        func lastPosition(argumentCount count: Int) -> Int {
            lastKey >= 0 ? first + lastKey : count + lastKey
        }
    }

    /// Where a command's channels are, for the `&pattern` checks of publish and subscribe commands.
    enum ChannelArguments: Sendable {
        /// The first argument (PUBLISH, SPUBLISH).
        case first
        /// Every argument (SUBSCRIBE, SSUBSCRIBE).
        case all
        /// Every argument, each a pattern that must equal an allowed pattern literally (PSUBSCRIBE).
        case allPatterns
    }

    init(_ table: CommandTable) {
        var commands: [Command] = []
        for command in table.commands {
            commands.append(command)
            commands.append(contentsOf: command.subcommands)
        }
        var idsByName: [String: Int] = [:]
        var idsByCategory: [String: [Int]] = [:]
        for (id, command) in commands.enumerated() {
            command.aclID = id
            idsByName[command.name] = id
            for category in command.categories { idsByCategory[category, default: []].append(id) }
        }
        commandsByID = commands
        fixedKeyRanges = commands.map { command in
            guard let specs = command.documentation?.keySpecs, specs.count == 1,
                  !specs[0].flags.contains(.notKey), !specs[0].flags.contains(.variableFlags),
                  case .index(let first) = specs[0].beginSearch,
                  case .range(let lastKey, let step, 0) = specs[0].findKeys, step > 0 else { return nil }
            return FixedKeyRange(first: first, lastKey: lastKey, step: step,
                                 access: ACLKeyPattern.Access(keySpecFlags: specs[0].flags))
        }
        self.idsByName = idsByName
        self.idsByCategory = idsByCategory
        let channelCommands: [(String, ChannelArguments)] = [
            ("publish", .first), ("spublish", .first), ("subscribe", .all), ("ssubscribe", .all),
            ("psubscribe", .allPatterns),
        ]
        channelArguments = Dictionary(uniqueKeysWithValues: channelCommands.compactMap { name, kind in
            idsByName[name].map { ($0, kind) }
        })
    }

    var commandCount: Int { commandsByID.count }

    /// The command a rule names, case-insensitively ("XADD", "client|SetName"); nil for an unknown one.
    func command(named name: String) -> Command? {
        idsByName[name.lowercased()].map { commandsByID[$0] }
    }

    /// The ids of a category's commands; nil for an unknown category.
    func ids(inCategory category: String) -> [Int]? {
        idsByCategory[category.lowercased()]
    }

    /// ACL CAT <category>: the category's commands as Redis lists them, subcommands by full name and their
    /// containers left out.
    func commandNames(inCategory category: String) -> [String]? {
        ids(inCategory: category)?.map { commandsByID[$0] }.filter { $0.subcommands.isEmpty }.map(\.name)
    }
}

/// A set of command ids (`Command.aclID`): one bit per command, so the permission check is one load and a mask.
struct ACLCommandSet: Sendable, Equatable {
    private var words: [UInt64]

    init(capacity: Int) {
        words = [UInt64](repeating: 0, count: (capacity + 63) / 64)
    }

    @inline(__always)
    func contains(_ id: Int) -> Bool {
        words[id >> 6] & (1 << UInt64(id & 63)) != 0
    }

    mutating func insert(_ id: Int) { words[id >> 6] |= 1 << UInt64(id & 63) }
    mutating func remove(_ id: Int) { words[id >> 6] &= ~(1 << UInt64(id & 63)) }

    /// Whether every id below `count` is in the set.
    func containsAll(below count: Int) -> Bool {
        (0..<count).allSatisfy(contains)
    }
}
