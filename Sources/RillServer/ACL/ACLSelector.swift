import NIOCore
import RillCore

/// One set of permissions of a user: the commands it may run, the keys and the Pub/Sub channels they may touch.
/// A user has a root selector and any number of extra ones (`(...)` in ACL SETUSER); a request is allowed when one
/// selector allows all of it, as in Redis 7.
struct ACLSelector: Sendable {
    /// Commands and subcommands allowed, by `Command.aclID`.
    var allowedCommands: ACLCommandSet
    /// Set by `+@all` / `allcommands`, cleared by `-@all` / `nocommands`: whether the description starts from
    /// `+@all` (so commands added later are allowed, as in Redis) rather than `-@all`.
    var startsFromAllCommands = false
    /// The command and category rules given since the last `+@all` / `-@all`, each lower-cased with its sign
    /// ("+@stream", "-xdel"), a later rule for the same name replacing an earlier one: replayed over the start,
    /// they give `allowedCommands` back, which is how ACL LIST describes them.
    var commandRules: [String] = []
    /// First arguments allowed for a command not allowed otherwise ("+select|0", deprecated by Redis since 7.0 but
    /// still accepted), by `Command.aclID`, each ASCII-lower-cased and matched ignoring ASCII case. A later change
    /// of the command's own permission (`+select`, `-@keyspace`, `-@all`) forgets them, as in Redis.
    var allowedFirstArguments: [Int: [[UInt8]]] = [:]
    /// `~*` / `allkeys`: every key, read and write.
    var allKeys = false
    var keyPatterns: [ACLKeyPattern] = []
    /// `&*` / `allchannels`: every channel.
    var allChannels = false
    var channelPatterns: [ACLChannelPattern] = []

    /// No command, no key, no channel (a new user, `reset`, a new selector).
    init(commandCount: Int) {
        allowedCommands = ACLCommandSet(capacity: commandCount)
    }

    /// Whether the selector allows everything (the default user): the permission check then stops at a flag.
    func allowsEverything(commandCount: Int) -> Bool {
        allKeys && allChannels && allowedCommands.containsAll(below: commandCount)
    }

    // MARK: Rules

    /// Applies one rule that concerns a selector (commands, categories, keys, channels).
    /// - Returns: whether the rule allowed a command's first argument (deprecated: the caller logs a warning).
    /// - Throws: `ACLRuleError` as Redis words it; the selector may then be partly changed, so callers apply rules
    ///   to a copy.
    @discardableResult
    mutating func apply(_ rule: String, catalog: ACLCommandCatalog) throws(ACLRuleError) -> Bool {
        let lowered = rule.lowercased()
        switch lowered {
        case "allkeys", "~*":
            allKeys = true
            keyPatterns = []
        case "resetkeys":
            allKeys = false
            keyPatterns = []
        case "allchannels", "&*":
            allChannels = true
            channelPatterns = []
        case "resetchannels":
            allChannels = false
            channelPatterns = []
        case "allcommands", "+@all":
            setAllCommands(true, catalog: catalog)
        case "nocommands", "-@all":
            setAllCommands(false, catalog: catalog)
        default:
            if rule.hasPrefix("~") || rule.hasPrefix("%") {
                try addKeyPattern(rule)
            } else if rule.hasPrefix("&") {
                guard !allChannels else { throw .patternAfterAllChannels }
                let pattern = ACLChannelPattern(Array(rule.utf8.dropFirst()))
                if !channelPatterns.contains(where: { $0.bytes == pattern.bytes }) { channelPatterns.append(pattern) }
            } else if let sign = lowered.first, sign == "+" || sign == "-" {
                // ASCII only, as Redis lowers rules byte by byte: a first argument "É" stays "É".
                let name = String(decoding: rule.utf8.dropFirst().map(ASCII.lowercased), as: UTF8.self)
                return try changeCommands(name, allow: sign == "+", catalog: catalog)
            } else {
                throw .syntax
            }
        }
        return false
    }

    private mutating func setAllCommands(_ allowed: Bool, catalog: ACLCommandCatalog) {
        allowedCommands = ACLCommandSet(capacity: catalog.commandCount)
        if allowed { for id in 0..<catalog.commandCount { allowedCommands.insert(id) } }
        startsFromAllCommands = allowed
        commandRules = []
        allowedFirstArguments = [:]
    }

    /// `+name` / `-name` for a command, "container|sub", "@category", or `+command|first-argument` for a command
    /// without subcommands. Returns whether it was the last kind.
    private mutating func changeCommands(_ name: String, allow: Bool,
                                         catalog: ACLCommandCatalog) throws(ACLRuleError) -> Bool {
        var ids: [Int]
        var allowsFirstArgument = false
        if name.hasPrefix("@") {
            guard let members = catalog.ids(inCategory: String(name.dropFirst())) else { throw .unknownCommand }
            ids = members
        } else if let command = catalog.command(named: name) {
            ids = [command.aclID] + command.subcommands.map(\.aclID)
        } else if allow, let bar = name.lastIndex(of: "|") {
            try allowFirstArgument(String(name[name.index(after: bar)...]), of: String(name[..<bar]), catalog: catalog)
            ids = []
            allowsFirstArgument = true
        } else {
            throw .unknownCommand
        }
        for id in ids {
            if allow { allowedCommands.insert(id) } else { allowedCommands.remove(id) }
            allowedFirstArguments[id] = nil
        }
        // A rule replaces the earlier one for the same name and, for a command, those for its subcommands or
        // first arguments ("+select" drops "+select|0").
        commandRules.removeAll { $0.dropFirst() == name || $0.dropFirst().hasPrefix(name + "|") }
        commandRules.append((allow ? "+" : "-") + name)
        return allowsFirstArgument
    }

    /// `+command|first-argument`, checked in Redis' order: the command must exist and not be a subcommand, the
    /// argument must not be empty, and a command with subcommands takes only their names (not found earlier).
    ///
    /// Redis 8.2.3 also accepts a first argument holding a space, a quote or a control character, then fails an
    /// assertion (and stops) when ACL LIST or ACL GETUSER writes it back as words; Rill refuses such an argument.
    private mutating func allowFirstArgument(_ argument: String, of commandName: String,
                                             catalog: ACLCommandCatalog) throws(ACLRuleError) {
        guard let command = catalog.command(named: commandName) else { throw .unknownCommand }
        guard !command.name.contains("|") else { throw .firstArgumentOfSubcommand }
        guard !argument.isEmpty else { throw .syntax }
        guard command.subcommands.isEmpty else { throw .unknownCommand }
        guard argument.unicodeScalars.allSatisfy(Self.canWriteInRule) else { throw .unwritableFirstArgument }
        let bytes = Array(argument.utf8)
        if !allowedFirstArguments[command.aclID, default: []].contains(bytes) {
            allowedFirstArguments[command.aclID, default: []].append(bytes)
        }
    }

    /// Whether a first argument's character survives ACL LIST's words being split again (ACL LOAD, start-up): no
    /// white space, quote or control character, and no U+FFFD standing for bytes that were not UTF-8.
    private static func canWriteInRule(_ scalar: Unicode.Scalar) -> Bool {
        !scalar.properties.isWhitespace && scalar != "\"" && scalar != "'" && scalar.value >= 0x20
            && scalar.value != 0x7F && scalar != "\u{FFFD}" && !(0x80...0x9F).contains(scalar.value)
    }

    /// `~pattern` (read and write), `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    private mutating func addKeyPattern(_ rule: String) throws(ACLRuleError) {
        guard !allKeys else { throw .patternAfterAllKeys }
        var bytes = Array(rule.utf8)[...]
        var access: ACLKeyPattern.Access = []
        if bytes.first == UInt8(ascii: "%") {
            bytes = bytes.dropFirst()
            while let letter = bytes.first, letter != UInt8(ascii: "~") {
                switch letter {
                case UInt8(ascii: "R"), UInt8(ascii: "r") where !access.contains(.read): access.insert(.read)
                case UInt8(ascii: "W"), UInt8(ascii: "w") where !access.contains(.write): access.insert(.write)
                default: throw .syntax
                }
                bytes = bytes.dropFirst()
            }
            guard bytes.first == UInt8(ascii: "~"), !access.isEmpty else { throw .syntax }
        } else {
            access = [.read, .write]
        }
        let pattern = Array(bytes.dropFirst())
        if pattern == Array("*".utf8) && access == [.read, .write] {
            allKeys = true
            keyPatterns = []
        } else if let index = keyPatterns.firstIndex(where: { $0.bytes == pattern }) {
            keyPatterns[index].access.formUnion(access)
        } else {
            keyPatterns.append(ACLKeyPattern(pattern, access: access))
        }
    }

    // MARK: Description

    /// The selector as ACL LIST writes it: keys, channels, then commands ("~app:* resetchannels &ch* -@all +xadd").
    var description: String {
        ([keysDescription] + [allChannels ? "&*" : "resetchannels"] + channelPatterns.map(\.description)
            + [commandsDescription]).filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// The key patterns as ACL GETUSER shows them ("~*", "~app:* %R~ro:*", "" for none).
    var keysDescription: String {
        allKeys ? "~*" : keyPatterns.map(\.description).joined(separator: " ")
    }

    /// The channel patterns as ACL GETUSER shows them ("&*", "&ch*", "" for none).
    var channelsDescription: String {
        allChannels ? "&*" : channelPatterns.map(\.description).joined(separator: " ")
    }

    /// The command rules as ACL GETUSER shows them ("+@all -@dangerous", "-@all +xadd").
    var commandsDescription: String {
        ([startsFromAllCommands ? "+@all" : "-@all"] + commandRules).joined(separator: " ")
    }

    // MARK: Checking a request

    /// Why the selector refuses `arguments` (the request, name first) of `command`, or nil when it allows it.
    func denial(of command: Command, arguments: [ByteBuffer], catalog: ACLCommandCatalog) -> ACLDenial? {
        // Commands allowed before AUTH (AUTH, HELLO, QUIT, RESET) are allowed to every user, as in Redis.
        guard allowedCommands.contains(command.aclID) || command.flags.contains(.noAuth)
                || allowsFirstArgument(of: command, arguments: arguments) else { return .command }
        if !allKeys {
            if let range = catalog.fixedKeyRanges[command.aclID] {
                let last = range.lastPosition(argumentCount: arguments.count)
                for position in stride(from: range.first, through: last, by: range.step) where position < arguments.count {
                    if !allowsKey(arguments[position], access: range.access) { return .key(position: position) }
                }
            } else if let specs = command.documentation?.keySpecs, !specs.isEmpty {
                for (position, flags) in command.keyArguments(in: arguments) {
                    if !allowsKey(arguments[position], access: ACLKeyPattern.Access(keySpecFlags: flags)) {
                        return .key(position: position)
                    }
                }
            }
        }
        if !allChannels, let channels = catalog.channelArguments[command.aclID] {
            let last = channels == .first ? 1 : arguments.count - 1
            for position in stride(from: 1, through: last, by: 1) where position < arguments.count {
                let channel = Array(arguments[position].readableBytesView)
                let allowed = channels == .allPatterns
                    ? channelPatterns.contains { $0.bytes == channel }
                    : channelPatterns.contains { $0.glob.matches(channel) }
                if !allowed { return .channel(position: position) }
            }
        }
        return nil
    }

    /// Whether `+command|first-argument` allows the request: its first argument equals an allowed one, ignoring
    /// ASCII case (Redis compares with strcasecmp, which also stops at a NUL byte; Rill compares every byte).
    private func allowsFirstArgument(of command: Command, arguments: [ByteBuffer]) -> Bool {
        guard !allowedFirstArguments.isEmpty, arguments.count >= 2,
              let allowed = allowedFirstArguments[command.aclID] else { return false }
        return arguments[1].withUnsafeReadableBytes { first in
            allowed.contains { ASCII.equalIgnoringCase($0, first) }
        }
    }

    @inline(__always)
    private func allowsKey(_ key: ByteBuffer, access needed: ACLKeyPattern.Access) -> Bool {
        key.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            return keyPatterns.contains { $0.access.isSuperset(of: needed) && $0.glob.matches(bytes: bytes) }
        }
    }

    /// Whether a client subscribed to `channel` (a pattern when `isPattern`) may stay subscribed: after ACL SETUSER
    /// narrows a user's channels, Redis disconnects its clients that listen to a channel no longer allowed.
    func allowsSubscription(to channel: [UInt8], isPattern: Bool) -> Bool {
        allChannels || channelPatterns.contains { isPattern ? $0.bytes == channel : $0.glob.matches(channel) }
    }
}

/// A `~pattern` with the access it grants.
struct ACLKeyPattern: Sendable {
    struct Access: OptionSet, Sendable {
        let rawValue: UInt8
        init(rawValue: UInt8) { self.rawValue = rawValue }
        static let read = Access(rawValue: 1)
        static let write = Access(rawValue: 2)

        /// What a key spec's flags need, as Redis decides it: reading the value needs read access, inserting,
        /// updating or deleting needs write access; a key whose value is neither (EXISTS) needs only a pattern.
        init(keySpecFlags flags: KeySpec.Flags) {
            self = []
            if flags.contains(.access) { insert(.read) }
            if !flags.isDisjoint(with: [.insert, .delete, .update]) { insert(.write) }
        }
    }

    let bytes: [UInt8]
    let glob: GlobPattern
    var access: Access

    init(_ bytes: [UInt8], access: Access) {
        self.bytes = bytes
        self.glob = GlobPattern(bytes)
        self.access = access
    }

    /// "~p" for read and write, "%R~p" or "%W~p" otherwise.
    var description: String {
        let prefix = access == [.read, .write] ? "~" : access == .read ? "%R~" : "%W~"
        return prefix + String(decoding: bytes, as: UTF8.self)
    }
}

/// A `&pattern` of Pub/Sub channels.
struct ACLChannelPattern: Sendable {
    let bytes: [UInt8]
    let glob: GlobPattern

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.glob = GlobPattern(bytes)
    }

    var description: String { "&" + String(decoding: bytes, as: UTF8.self) }
}

/// What a selector refused, with the argument that was refused (the ACL LOG object, DRYRUN's text).
enum ACLDenial: Equatable {
    case command
    case key(position: Int)
    case channel(position: Int)

    /// Redis reports, of several selectors' refusals, the one that got furthest: a key beats a command, a channel a
    /// key, and a later argument an earlier one.
    var rank: (Int, Int) {
        switch self {
        case .command: return (1, 0)
        case .key(let position): return (2, position)
        case .channel(let position): return (4, position)
        }
    }
}

/// A rule ACL SETUSER refuses, with Redis' wording.
enum ACLRuleError: Error, Equatable {
    case syntax, unknownCommand, patternAfterAllKeys, patternAfterAllChannels, passwordNotFound, badPasswordHash
    case firstArgumentOfSubcommand, unwritableFirstArgument

    var message: String {
        switch self {
        case .syntax: return "Syntax error"
        case .unknownCommand: return "Unknown command or category name in ACL"
        case .patternAfterAllKeys:
            return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
                + "effect. Try 'resetkeys' to start with an empty list of patterns"
        case .patternAfterAllChannels:
            return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have "
                + "any effect. Try 'resetchannels' to start with an empty list of channels"
        case .passwordNotFound: return "The password you are trying to remove from the user does not exist"
        case .firstArgumentOfSubcommand: return "Allowing first-arg of a subcommand is not supported"
        case .unwritableFirstArgument:
            return "A first-arg can't contain spaces, quotes or control characters (ACL LIST could not write it back)"
        case .badPasswordHash:
            return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
        }
    }
}
