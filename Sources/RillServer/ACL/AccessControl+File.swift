import RillPersistence
import RillProtocol

/// Users from the configuration: `user` lines of the config file, or the ACL file (`aclfile`), which ACL LOAD reads
/// again and ACL SAVE writes (the ACL LIST lines).
extension AccessControl {
    /// The definitions of ACL file text, in file order. Every user starts without permissions; `default`, when the
    /// file does not name it, is the usual one (on, no password, everything).
    /// - Throws: every problem of the file, each with its line, as Redis lists them; nothing was applied then.
    func definitions(fromFileText text: String, path: String) throws(RedisError) -> [(String, ACLUserDefinition)] {
        var definitions: [(String, ACLUserDefinition)] = []
        var problems = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty { continue }
            guard let words = InlineArgumentSplitter.split(Array(line.utf8))?.map({ String(decoding: $0, as: UTF8.self) })
            else {
                problems += "\(path):\(lineNumber): unbalanced quotes in acl line. "
                continue
            }
            guard words.count >= 2, words[0] == "user" else {
                problems += "\(path):\(lineNumber) should start with user keyword followed by the username. "
                continue
            }
            let name = words[1]
            if definitions.contains(where: { $0.0 == name }) {
                problems += "WARNING: Duplicate user '\(name)' found on line \(lineNumber). "
                continue
            }
            do throws(ACLFileProblem) {
                definitions.append((name, try definition(rules: Array(words.dropFirst(2)))))
            } catch {
                problems += "\(path):\(lineNumber): \(error.message). "
            }
        }
        guard problems.isEmpty else {
            throw RedisError("ERR \(problems)WARNING: ACL errors detected, no change to the previously active ACL "
                             + "rules was performed")
        }
        if !definitions.contains(where: { $0.0 == "default" }) {
            definitions.append(("default", Self.standardDefaultDefinition(catalog: catalog)))
        }
        return definitions
    }

    /// A definition from no permissions and `rules` (a `user` line's words after the name).
    func definition(rules: [String]) throws(ACLFileProblem) -> ACLUserDefinition {
        let merged: [String]
        do {
            merged = try ACLUserDefinition.mergingSelectors(rules)
        } catch {
            throw ACLFileProblem(message: String(error.message.dropFirst("ERR ".count).dropLast()))
        }
        var definition = ACLUserDefinition(commandCount: catalog.commandCount)
        for rule in merged {
            do throws(ACLRuleError) {
                warnOfDeprecatedRules(try definition.apply(rule, catalog: catalog))
            } catch {
                throw ACLFileProblem(message: "Error in applying operation '\(rule)': \(error.message)")
            }
        }
        return definition
    }

    /// Makes `definitions` the users: existing users take their new definition in place (their clients stay, with
    /// the new rights), users not in the list are removed and returned, so their clients can be disconnected.
    func replaceUsers(with definitions: [(String, ACLUserDefinition)]) -> [ACLUser] {
        let kept = Set(definitions.map(\.0))
        let removed = users.values.filter { !kept.contains($0.name) }
        for user in removed { users.removeValue(forKey: user.name) }
        for (name, definition) in definitions {
            if let existing = users[name] {
                existing.replaceDefinition(with: definition, commandCount: catalog.commandCount)
            } else {
                addUser(ACLUser(name: name, definition: definition, commandCount: catalog.commandCount))
            }
        }
        return removed
    }

    /// The ACL file's text: one ACL LIST line per user.
    var fileText: String {
        sortedUsers.map { $0.description + "\n" }.joined()
    }

    /// At start-up: the `user` lines of the configuration, or the ACL file. Returns the reason to abort, if any.
    func loadConfiguredUsers(_ configuration: ServerConfiguration) -> String? {
        if let path = configuration.aclFile {
            guard configuration.userLines.isEmpty else {
                return "Configuring Rill with users defined in the configuration file and an ACL file at the same "
                    + "time is invalid: define users in one place only."
            }
            do throws(RedisError) {
                _ = replaceUsers(with: try definitions(fromFile: path))
            } catch {
                return "Aborting Rill startup because of ACL errors: \(error.message.dropFirst("ERR ".count))"
            }
            return nil
        }
        var seen: Set<String> = []
        for words in configuration.userLines {
            let name = words[0]  // the loader keeps only lines with a name
            guard seen.insert(name).inserted else {
                return "Error in user declaration '\(name)': Duplicate user found. A user can only be defined once in "
                    + "config files"
            }
            do throws(ACLFileProblem) {
                let definition = try definition(rules: Array(words.dropFirst()))
                if let existing = users[name] {
                    existing.replaceDefinition(with: definition, commandCount: catalog.commandCount)
                } else {
                    addUser(ACLUser(name: name, definition: definition, commandCount: catalog.commandCount))
                }
            } catch {
                return "Error in user declaration '\(name)': \(error.message)"
            }
        }
        return nil
    }

    /// ACL LOAD's reading of the file at `path`.
    func definitions(fromFile path: String) throws(RedisError) -> [(String, ACLUserDefinition)] {
        guard let bytes = readWholeFile(atPath: path) else {
            throw RedisError("ERR Error loading ACLs, opening file '\(path)': \(lastSystemErrorText())")
        }
        return try definitions(fromFileText: String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// ACL SAVE: the users written to `path` atomically.
    func save(toPath path: String) throws(RedisError) {
        let text = fileText
        do {
            try SnapshotFiles.writeAtomically(toPath: path) { emit in emit(Array(text.utf8)) }
        } catch {
            throw RedisError("ERR There was an error trying to save the ACLs. Please check the server logs for more "
                             + "information")
        }
    }
}

/// A line of users that does not apply, worded as Redis reports it.
struct ACLFileProblem: Error {
    let message: String
}

private extension Substring {
    func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        guard let first = firstIndex(where: { !set.contains($0) }), let last = lastIndex(where: { !set.contains($0) })
        else { return "" }
        return String(self[first...last])
    }
}
