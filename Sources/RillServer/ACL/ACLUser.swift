/// A user: its name, its flags and passwords, and its permissions. Clients hold the user they authenticated as;
/// ACL SETUSER changes it in place, so their next command is checked against the new rules, as in Redis.
final class ACLUser {
    let name: String
    /// Replaced as a whole by ACL SETUSER once every rule of the call applied. Mutated only on the event loop.
    private(set) var definition: ACLUserDefinition
    /// Whether the root selector allows every command, key and channel: the permission check is then this flag.
    private(set) var allowsEverything: Bool

    init(name: String, definition: ACLUserDefinition, commandCount: Int) {
        self.name = name
        self.definition = definition
        self.allowsEverything = definition.root.allowsEverything(commandCount: commandCount)
    }

    func replaceDefinition(with definition: ACLUserDefinition, commandCount: Int) {
        self.definition = definition
        allowsEverything = definition.root.allowsEverything(commandCount: commandCount)
    }

    /// Whether AUTH with `password` logs in as this user: it is on, and takes no password or this one.
    func accepts(password: [UInt8]) -> Bool {
        guard definition.enabled else { return false }
        return definition.noPass || definition.passwordHashes.contains(SHA256.hexDigest(password))
    }

    /// The user as ACL LIST and ACL SAVE write it ("user alice on #… ~app:* resetchannels -@all +xadd").
    var description: String {
        (["user", name] + definition.flagNames + definition.passwordHashes.map { "#" + $0 }
            + [definition.root.description] + definition.selectors.map { "(" + $0.description + ")" })
            .joined(separator: " ")
    }
}

/// What ACL SETUSER sets: a value, so a call's rules apply to a copy and take effect only when all of them do.
struct ACLUserDefinition: Sendable {
    /// `on` / `off`: only an enabled user can be authenticated as.
    var enabled = false
    /// `nopass`: any password is accepted.
    var noPass = false
    /// Hex SHA-256 digests of the accepted passwords, in the order added, without repeats.
    var passwordHashes: [String] = []
    /// `sanitize-payload` / `skip-sanitize-payload`: whether RESTORE payloads are checked deeply. Rill always checks
    /// them; the flag is kept and shown as Redis shows it.
    var sanitizePayload = true
    var root: ACLSelector
    /// Extra selectors (`(...)`), each allowing a request on its own.
    var selectors: [ACLSelector] = []

    /// A new user: off, no password, no command, key or channel (Redis' ACL SETUSER of an unknown name).
    init(commandCount: Int) {
        root = ACLSelector(commandCount: commandCount)
    }

    /// ACL GETUSER's flags, in Redis' order.
    var flagNames: [String] {
        [enabled ? "on" : "off"] + (noPass ? ["nopass"] : []) + [sanitizePayload ? "sanitize-payload" : "skip-sanitize-payload"]
    }

    /// Applies one ACL SETUSER rule (user flags, passwords, `(selector)`, or a root selector rule).
    /// - Returns: the rules among it that allowed a command's first argument, deprecated, for the caller to warn of.
    /// - Throws: `ACLRuleError`; callers apply rules to a copy and keep the original when one fails.
    @discardableResult
    mutating func apply(_ rule: String, catalog: ACLCommandCatalog) throws(ACLRuleError) -> [String] {
        let lowered = rule.lowercased()
        switch lowered {
        case "on": enabled = true
        case "off": enabled = false
        case "nopass":
            noPass = true
            passwordHashes = []
        case "resetpass":
            noPass = false
            passwordHashes = []
        case "sanitize-payload": sanitizePayload = true
        case "skip-sanitize-payload": sanitizePayload = false
        case "clearselectors": selectors = []
        case "reset":
            self = ACLUserDefinition(commandCount: catalog.commandCount)
        default:
            guard let first = rule.first else { throw .syntax }
            switch first {
            case ">":
                addPasswordHash(SHA256.hexDigest(Array(rule.utf8.dropFirst())))
            case "#":
                addPasswordHash(try Self.validatedHash(rule.dropFirst()))
            case "<":
                try removePasswordHash(SHA256.hexDigest(Array(rule.utf8.dropFirst())))
            case "!":
                try removePasswordHash(try Self.validatedHash(rule.dropFirst()))
            case "(":
                guard rule.hasSuffix(")"), rule.count >= 2 else { throw .syntax }
                var selector = ACLSelector(commandCount: catalog.commandCount)
                var deprecated: [String] = []
                for part in rule.dropFirst().dropLast().split(separator: " ") {
                    if try selector.apply(String(part), catalog: catalog) { deprecated.append(String(part)) }
                }
                selectors.append(selector)
                return deprecated
            default:
                return try root.apply(rule, catalog: catalog) ? [rule] : []
            }
        }
        return []
    }

    private mutating func addPasswordHash(_ hash: String) {
        noPass = false
        if !passwordHashes.contains(hash) { passwordHashes.append(hash) }
    }

    private mutating func removePasswordHash(_ hash: String) throws(ACLRuleError) {
        guard let index = passwordHashes.firstIndex(of: hash) else { throw .passwordNotFound }
        passwordHashes.remove(at: index)
        noPass = false
    }

    private static func validatedHash(_ text: Substring) throws(ACLRuleError) -> String {
        let isLowerHex = text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        guard text.utf8.count == 64, isLowerHex else { throw .badPasswordHash }
        return String(text)
    }
}

extension ACLUserDefinition {
    /// ACL SETUSER's arguments with each parenthesised selector spread over several arguments joined into one
    /// ("(+get", "~k*)" → "(+get ~k*)"), as Redis accepts them.
    /// - Throws: the error naming the argument that opened a selector never closed.
    static func mergingSelectors(_ arguments: [String]) throws(RedisError) -> [String] {
        var merged: [String] = []
        var open: [String]?
        for argument in arguments {
            if var parts = open {
                parts.append(argument)
                if argument.hasSuffix(")") {
                    merged.append(parts.joined(separator: " "))
                    open = nil
                } else {
                    open = parts
                }
            } else if argument.hasPrefix("(") && !argument.hasSuffix(")") {
                open = [argument]
            } else {
                merged.append(argument)
            }
        }
        if let open { throw RedisError("ERR Unmatched parenthesis in acl selector starting at '\(open[0])'.") }
        return merged
    }
}
