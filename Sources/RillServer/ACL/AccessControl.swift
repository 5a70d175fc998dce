import Logging
import NIOCore

/// The users and what they may do (Redis' ACL): the user table, the permission check the executor runs before
/// each command, and the log of refusals. Lives on the event loop.
///
/// The `default` user always exists: clients start as it, and `requirepass` is its password. While it is on and
/// takes no password, new clients need no AUTH.
final class AccessControl {
    let catalog: ACLCommandCatalog
    /// Every user by name, `default` included.
    var users: [String: ACLUser]
    let defaultUser: ACLUser
    /// ACL LOG's entries.
    let log = ACLLog()
    /// Refusals since start-up or CONFIG RESETSTAT by reason ("auth", "command", "key", "channel"), for INFO stats
    /// `acl_access_denied_*`.
    var refusalCounts: [String: Int64] = [:]

    /// Counts a refusal and records it in ACL LOG.
    func recordRefusal(reason: String, context: String, object: String, username: String, clientInfo: String,
                       now: Int64, maxLogLength: Int) {
        refusalCounts[reason, default: 0] += 1
        log.add(reason: reason, context: context, object: object, username: username, clientInfo: clientInfo,
                now: now, maxLength: maxLogLength)
    }

    /// Where rules Redis deprecated are warned of.
    let logger: Logger

    /// Users `default` with every permission and no password, or `requirePass`.
    init(commands: CommandTable, requirePass: String?,
         logger: Logger = Logger(label: "rill.acl", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.logger = logger
        catalog = ACLCommandCatalog(commands)
        defaultUser = ACLUser(name: "default", definition: Self.standardDefaultDefinition(catalog: catalog),
                              commandCount: catalog.commandCount)
        users = ["default": defaultUser]
        setDefaultPassword(requirePass)
    }

    /// The default user of a server without configured users: on, no password, every command, key and channel.
    static func standardDefaultDefinition(catalog: ACLCommandCatalog) -> ACLUserDefinition {
        var definition = ACLUserDefinition(commandCount: catalog.commandCount)
        for rule in ["on", "nopass", "~*", "&*", "+@all"] {
            try! definition.apply(rule, catalog: catalog)  // the rules above are valid
        }
        return definition
    }

    func addUser(_ user: ACLUser) {
        users[user.name] = user
    }

    /// Whether a new connection must authenticate first: the default user is off or needs a password.
    var newClientsNeedAuthentication: Bool {
        !defaultUser.definition.enabled || !defaultUser.definition.noPass
    }

    /// `requirepass`: the default user's only password, or none needed when nil (Redis' resetpass then
    /// `>password` or `nopass`).
    func setDefaultPassword(_ password: String?) {
        var definition = defaultUser.definition
        definition.passwordHashes = []
        definition.noPass = password == nil
        if let password { definition.passwordHashes = [SHA256.hexDigest(Array(password.utf8))] }
        defaultUser.replaceDefinition(with: definition, commandCount: catalog.commandCount)
    }

    /// The user `name` authenticates as with `password`; nil when unknown, off or the password is wrong.
    func authenticate(user name: String, password: [UInt8]) -> ACLUser? {
        guard let user = users[name], user.accepts(password: password) else { return nil }
        return user
    }

    // MARK: Users

    /// ACL SETUSER: applies `rules` to `name` (created when new), all or none.
    /// - Returns: the user and whether it was created.
    /// - Throws: the error Redis answers for the first rule that fails; nothing changes then.
    @discardableResult
    func setUser(_ name: String, rules: [String]) throws(RedisError) -> ACLUser {
        guard !name.utf8.contains(where: { $0 == 0x20 || $0 == 0 }) else {
            throw RedisError("ERR Usernames can't contain spaces or null characters")
        }
        let merged = try ACLUserDefinition.mergingSelectors(rules)
        let existing = users[name]
        var definition = existing?.definition ?? ACLUserDefinition(commandCount: catalog.commandCount)
        for rule in merged {
            do {
                warnOfDeprecatedRules(try definition.apply(rule, catalog: catalog))
            } catch {
                throw RedisError("ERR Error in ACL SETUSER modifier '\(RedisError.quoted(Array(rule.utf8)))': \(error.message)")
            }
        }
        if let existing {
            existing.replaceDefinition(with: definition, commandCount: catalog.commandCount)
            return existing
        }
        let user = ACLUser(name: name, definition: definition, commandCount: catalog.commandCount)
        addUser(user)
        return user
    }

    /// Logs, for each `+command|first-argument` rule applied, that Redis deprecated such rules (it may drop them):
    /// `+@all -select +select|0` still works, but the supported way is a selector or a narrower category.
    func warnOfDeprecatedRules(_ rules: [String]) {
        for rule in rules {
            logger.warning("Deprecation warning: the ACL rule '\(rule)' allows a command for one first argument only; Redis deprecated such rules since 7.0 and may stop accepting them")
        }
    }

    /// ACL DELUSER of one name: the removed user, nil when there was none. The default user cannot be removed.
    func removeUser(_ name: String) throws(RedisError) -> ACLUser? {
        guard name != "default" else { throw RedisError("ERR The 'default' user cannot be removed") }
        return users.removeValue(forKey: name)
    }

    /// Users sorted by name, as ACL LIST and ACL USERS give them.
    var sortedUsers: [ACLUser] { users.values.sorted { $0.name < $1.name } }

    // MARK: The permission check

    /// Why `user` may not run `arguments` (the request, name first) as `command`, or nil when it may. Of the
    /// selectors' refusals, the one Redis reports (`ACLDenial.rank`).
    ///
    /// - Complexity: O(1) for a user allowed everything (the executor tests `allowsEverything` itself first);
    ///   otherwise a bit test per selector, plus the key and channel patterns against the request's keys and
    ///   channels when the selector restricts them.
    func denial(for user: ACLUser, command: Command, arguments: [ByteBuffer]) -> ACLDenial? {
        if user.allowsEverything { return nil }
        let definition = user.definition
        guard var reported = definition.root.denial(of: command, arguments: arguments, catalog: catalog) else {
            return nil
        }
        for selector in definition.selectors {
            guard let denial = selector.denial(of: command, arguments: arguments, catalog: catalog) else { return nil }
            if denial.rank > reported.rank { reported = denial }
        }
        return reported
    }

    /// The NOPERM error a client gets for `denial`.
    static func error(for denial: ACLDenial, user: ACLUser, command: Command) -> RedisError {
        switch denial {
        case .command: return RedisError("NOPERM User \(user.name) has no permissions to run the '\(command.name)' command")
        case .key: return RedisError("NOPERM No permissions to access a key")
        case .channel: return RedisError("NOPERM No permissions to access a channel")
        }
    }

    /// ACL DRYRUN's text for `denial`: names the key or channel.
    static func dryRunMessage(for denial: ACLDenial, user: ACLUser, command: Command, arguments: [ByteBuffer]) -> String {
        switch denial {
        case .command: return "User \(user.name) has no permissions to run the '\(command.name)' command"
        case .key(let position):
            return "User \(user.name) has no permissions to access the '\(String(buffer: arguments[position]))' key"
        case .channel(let position):
            return "User \(user.name) has no permissions to access the '\(String(buffer: arguments[position]))' channel"
        }
    }
}
