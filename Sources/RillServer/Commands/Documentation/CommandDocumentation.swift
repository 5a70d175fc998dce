/// What COMMAND DOCS and COMMAND INFO tell about a command beyond its row: the argument tree redis-cli draws its hints
/// from, the key specifications cluster clients route by, the tips, complexity and history.
///
/// The tables (one file per Redis command group, keyed by the full name: "xadd", "xinfo|stream") are kept apart from
/// the rows so that commands and their documentation can be added without touching the same lines; `CommandTable`
/// attaches each entry to its row. Facts (names, types, tokens, flags, versions, complexity, key specs) are those
/// Redis gives; the prose (summary, history changes, key-spec notes) is Rill's own.
struct CommandDocumentation: Sendable {
    /// One line saying what the command does.
    let summary: String
    /// Redis' complexity statement, as Redis gives it (clients show it verbatim); nil where Redis gives none.
    let complexity: String?
    /// "deprecated", "syscmd" (COMMAND DOCS doc_flags); empty for most commands.
    let docFlags: [String]
    /// The version that deprecated the command, nil while it is current.
    let deprecatedSince: String?
    /// What to use instead of a deprecated command.
    let replacedBy: String?
    /// Changes after `since`, oldest first: (version, what changed).
    let history: [(version: String, change: String)]
    let arguments: [ArgumentDoc]
    /// In the order `ArgumentDoc.keySpecIndex` refers to them.
    let keySpecs: [KeySpec]
    /// COMMAND INFO tips ("nondeterministic_output", "request_policy:all_shards", ...).
    let tips: [String]

    init(summary: String, complexity: String? = nil, docFlags: [String] = [], deprecatedSince: String? = nil,
         replacedBy: String? = nil, history: [(version: String, change: String)] = [],
         arguments: [ArgumentDoc] = [], keySpecs: [KeySpec] = [], tips: [String] = []) {
        self.summary = summary
        self.complexity = complexity
        self.docFlags = docFlags
        self.deprecatedSince = deprecatedSince
        self.replacedBy = replacedBy
        self.history = history
        self.arguments = arguments
        self.keySpecs = keySpecs
        self.tips = tips
    }

    /// Every table, by full command name.
    static let table: [String: CommandDocumentation] = {
        let groups = [
            GenericDocumentation.entries, StringDocumentation.entries, ListDocumentation.entries,
            SetDocumentation.entries, StreamDocumentation.entries, ConnectionDocumentation.entries,
            ServerDocumentation.entries, ScriptingDocumentation.entries, TransactionsDocumentation.entries,
            PubSubDocumentation.entries, ACLDocumentation.entries,
        ]
        return groups.reduce(into: [:]) { table, group in
            table.merge(group) { _, _ in preconditionFailure("a command is documented in two groups") }
        }
    }()
}

/// One node of a command's argument tree (COMMAND DOCS "arguments"): a value, a token, or a group of them.
struct ArgumentDoc: Sendable {
    enum Kind: String, Sendable {
        case key, string, integer, double, pattern
        case unixTime = "unix-time"
        case pureToken = "pure-token"
        /// Exactly one of `arguments`.
        case oneOf = "oneof"
        /// All of `arguments`, in order.
        case block
    }

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let optional = Flags(rawValue: 1 << 0)
        static let multiple = Flags(rawValue: 1 << 1)
        /// With `multiple`: the token is repeated before each value (`GET pattern GET pattern`).
        static let multipleToken = Flags(rawValue: 1 << 2)

        static let names: [(Flags, String)] = [
            (.optional, "optional"), (.multiple, "multiple"), (.multipleToken, "multiple_token"),
        ]
    }

    let name: String
    let kind: Kind
    /// What redis-cli shows for the value; nil for oneof and block, which show their members.
    let displayText: String?
    /// Index into `CommandDocumentation.keySpecs` for a key argument.
    let keySpecIndex: Int?
    /// The literal word before the value (or the word itself for a pure token).
    let token: String?
    let summary: String?
    let since: String?
    let deprecatedSince: String?
    let flags: Flags
    let arguments: [ArgumentDoc]

    init(_ kind: Kind, _ name: String, token: String? = nil, display: String? = nil, keySpec: Int? = nil,
         since: String? = nil, deprecatedSince: String? = nil, summary: String? = nil, flags: Flags = [],
         arguments: [ArgumentDoc] = []) {
        self.name = name
        self.kind = kind
        self.displayText = kind == .oneOf || kind == .block ? nil : display ?? name
        self.keySpecIndex = keySpec
        self.token = token
        self.summary = summary
        self.since = since
        self.deprecatedSince = deprecatedSince
        self.flags = flags
        self.arguments = arguments
    }

    static func key(_ name: String, keySpec: Int, token: String? = nil, since: String? = nil,
                    flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.key, name, token: token, keySpec: keySpec, since: since, flags: flags)
    }

    static func string(_ name: String, token: String? = nil, display: String? = nil, since: String? = nil,
                       deprecatedSince: String? = nil, flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.string, name, token: token, display: display, since: since, deprecatedSince: deprecatedSince,
                    flags: flags)
    }

    static func integer(_ name: String, token: String? = nil, display: String? = nil, since: String? = nil,
                        flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.integer, name, token: token, display: display, since: since, flags: flags)
    }

    static func double(_ name: String, token: String? = nil, since: String? = nil, flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.double, name, token: token, since: since, flags: flags)
    }

    static func pattern(_ name: String, token: String? = nil, since: String? = nil, flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.pattern, name, token: token, since: since, flags: flags)
    }

    static func unixTime(_ name: String, token: String? = nil, since: String? = nil, flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.unixTime, name, token: token, since: since, flags: flags)
    }

    /// A literal word; its name is the token in lower case unless given.
    static func token(_ token: String, name: String? = nil, since: String? = nil, flags: Flags = []) -> ArgumentDoc {
        ArgumentDoc(.pureToken, name ?? token.lowercased(), token: token, since: since, flags: flags)
    }

    static func oneOf(_ name: String, token: String? = nil, since: String? = nil, flags: Flags = [],
                      _ arguments: [ArgumentDoc]) -> ArgumentDoc {
        ArgumentDoc(.oneOf, name, token: token, since: since, flags: flags, arguments: arguments)
    }

    static func block(_ name: String, token: String? = nil, since: String? = nil, flags: Flags = [],
                      _ arguments: [ArgumentDoc]) -> ArgumentDoc {
        ArgumentDoc(.block, name, token: token, since: since, flags: flags, arguments: arguments)
    }
}

/// Where a command's keys are in its arguments and what it does to them (COMMAND INFO key specifications): first
/// find where the keys begin, then which arguments from there are keys.
struct KeySpec: Sendable {
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt16
        /// Read only / read-write / overwrite (written without reading) / removed.
        static let ro = Flags(rawValue: 1 << 0)
        static let rw = Flags(rawValue: 1 << 1)
        static let ow = Flags(rawValue: 1 << 2)
        static let rm = Flags(rawValue: 1 << 3)
        /// What the command does with the value: returns or reads it, updates it, adds to it, deletes from it.
        static let access = Flags(rawValue: 1 << 4)
        static let update = Flags(rawValue: 1 << 5)
        static let insert = Flags(rawValue: 1 << 6)
        static let delete = Flags(rawValue: 1 << 7)
        /// The argument names a key's slot without touching the key.
        static let notKey = Flags(rawValue: 1 << 8)
        /// The spec may miss some keys.
        static let incomplete = Flags(rawValue: 1 << 9)
        /// The flags depend on other arguments.
        static let variableFlags = Flags(rawValue: 1 << 10)

        /// COMMAND INFO's names, in Redis' order.
        static let names: [(Flags, String)] = [
            (.ro, "RO"), (.rw, "RW"), (.ow, "OW"), (.rm, "RM"), (.access, "access"), (.update, "update"),
            (.insert, "insert"), (.delete, "delete"), (.notKey, "not_key"), (.incomplete, "incomplete"),
            (.variableFlags, "variable_flags"),
        ]
    }

    enum BeginSearch: Sendable, Equatable {
        /// The first key is at this argument (the command name is 0).
        case index(Int)
        /// The first key follows `keyword`, searched from `startFrom` (negative: from the end, backwards).
        case keyword(String, startFrom: Int)
        case unknown
    }

    enum FindKeys: Sendable, Equatable {
        /// Keys from the first to `lastKey` (relative to the first; negative counts from the end) every `step`
        /// arguments; with `lastKey` -1, a non-zero `limit` takes only 1/limit of the remaining arguments.
        case range(lastKey: Int, step: Int, limit: Int)
        /// The argument at `keyNumIndex` (relative to the first) says how many keys follow from `firstKey`.
        case keyNum(keyNumIndex: Int, firstKey: Int, step: Int)
        case unknown
    }

    let flags: Flags
    let beginSearch: BeginSearch
    let findKeys: FindKeys
    /// Why the flags are what they are, where that is not obvious.
    let notes: String?

    init(_ flags: Flags, _ beginSearch: BeginSearch, _ findKeys: FindKeys, notes: String? = nil) {
        self.flags = flags
        self.beginSearch = beginSearch
        self.findKeys = findKeys
        self.notes = notes
    }

    /// The commonest spec: one key at `index`.
    static func single(_ flags: Flags, at index: Int, notes: String? = nil) -> KeySpec {
        KeySpec(flags, .index(index), .range(lastKey: 0, step: 1, limit: 0), notes: notes)
    }
}
