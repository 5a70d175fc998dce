import NIOCore
import Testing
@testable import RillServer

private func request(_ words: String...) -> [ByteBuffer] {
    words.map { ByteBuffer(string: $0) }
}

@Suite("SHA256")
struct SHA256Tests {
    /// FIPS 180-4's examples, and lengths where the padding changes shape (55 bytes fit one block with the length,
    /// 56 do not, 64 fill a block), digests from Python's hashlib.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
    ])
    func knownDigests(message: String, expected: String) {
        #expect(SHA256.hexDigest(Array(message.utf8)) == expected)
    }

    @Test func longMessage() {
        #expect(SHA256.hexDigest([UInt8](repeating: 0x61, count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite("ACL users and selectors")
struct ACLModelTests {
    let access = AccessControl(commands: CommandTable(CommandCatalog.all), requirePass: nil)

    private func command(_ name: String) -> Command {
        access.catalog.command(named: name)!  // the names below are in the table
    }

    @Test func theDefaultUserIsAllowedEverythingUntilRestricted() throws {
        #expect(access.defaultUser.allowsEverything)
        #expect(access.defaultUser.description == "user default on nopass sanitize-payload ~* &* +@all")
        try access.setUser("default", rules: ["-xdel"])
        #expect(!access.defaultUser.allowsEverything)
        #expect(access.denial(for: access.defaultUser, command: command("xdel"), arguments: request("xdel", "k", "1-1"))
            == .command)
    }

    @Test func laterRulesForTheSameNameReplaceEarlierOnes() throws {
        let user = try access.setUser("u", rules: ["+@all", "-@all", "+client", "-client|kill", "+client|kill",
                                                   "+@stream", "-xdel"])
        #expect(user.definition.root.commandsDescription == "-@all +client +client|kill +@stream -xdel")
        #expect(access.denial(for: user, command: command("client|kill"), arguments: request("client", "kill", "x"))
            == nil)
        #expect(access.denial(for: user, command: command("client|list"), arguments: request("client", "list")) == nil)
        #expect(access.denial(for: user, command: command("xdel"), arguments: request("xdel", "k", "1-1")) == .command)
        #expect(access.denial(for: user, command: command("get"), arguments: request("get", "k")) == .command)
    }

    @Test func firstArgumentRulesMatchEveryByteIgnoringASCIICaseUntilTheCommandChanges() throws {
        let user = try access.setUser("f", rules: ["~*", "+select|0", "+get|Ab"])
        #expect(user.definition.root.commandsDescription == "-@all +select|0 +get|ab")
        #expect(access.denial(for: user, command: command("select"), arguments: request("select", "0")) == nil)
        #expect(access.denial(for: user, command: command("get"), arguments: request("get", "aB")) == nil)
        // Every byte counts (Redis' strcasecmp would stop at the NUL and allow it).
        #expect(access.denial(for: user, command: command("select"), arguments: request("select", "0\u{0}1"))
            == .command)
        #expect(access.denial(for: user, command: command("select"), arguments: request("select", "1")) == .command)
        // A category rule covering GET forgets its first arguments but keeps the text, which replays the same way.
        try access.setUser("f", rules: ["-@string"])
        #expect(user.definition.root.commandsDescription == "-@all +select|0 +get|ab -@string")
        #expect(access.denial(for: user, command: command("get"), arguments: request("get", "ab")) == .command)
        #expect(throws: RedisError.self) { try access.setUser("f", rules: ["+select|a b"]) }
    }

    @Test func keyPatternsGrantReadAndWriteSeparately() throws {
        let user = try access.setUser("u", rules: ["on", "+@all", "%R~ro:*", "%W~wo:*", "~rw:*"])
        #expect(user.definition.root.keysDescription == "%R~ro:* %W~wo:* ~rw:*")
        let get = command("get"), set = command("set"), exists = command("exists")
        #expect(access.denial(for: user, command: get, arguments: request("get", "ro:1")) == nil)
        #expect(access.denial(for: user, command: set, arguments: request("set", "ro:1", "v")) == .key(position: 1))
        #expect(access.denial(for: user, command: set, arguments: request("set", "wo:1", "v")) == nil)
        // SET ... GET reads the old value too.
        #expect(access.denial(for: user, command: set, arguments: request("set", "wo:1", "v", "get")) == .key(position: 1))
        #expect(access.denial(for: user, command: get, arguments: request("get", "wo:1")) == .key(position: 1))
        // EXISTS neither reads nor writes the value: any matching pattern allows it.
        #expect(access.denial(for: user, command: exists, arguments: request("exists", "wo:1", "ro:2")) == nil)
        #expect(access.denial(for: user, command: exists, arguments: request("exists", "wo:1", "x")) == .key(position: 2))
    }

    @Test func aSelectorAllowsARequestOnItsOwnAndTheFurthestRefusalIsReported() throws {
        let user = try access.setUser("u", rules: ["on", "~a:*", "+get", "(", "~b:*", "+set", ")"])
        #expect(user.description == "user u on sanitize-payload ~a:* resetchannels -@all +get (~b:* resetchannels -@all +set)")
        let get = command("get"), set = command("set")
        #expect(access.denial(for: user, command: get, arguments: request("get", "a:1")) == nil)
        #expect(access.denial(for: user, command: set, arguments: request("set", "b:1", "v")) == nil)
        // The root refuses the key, the selector the command: the key refusal got further.
        #expect(access.denial(for: user, command: get, arguments: request("get", "b:1")) == .key(position: 1))
        #expect(access.denial(for: user, command: command("del"), arguments: request("del", "a:1")) == .command)
    }

    @Test func channelsMatchAsGlobsExceptPatternSubscriptions() throws {
        let user = try access.setUser("u", rules: ["on", "+@pubsub", "&news.*"])
        #expect(access.denial(for: user, command: command("publish"), arguments: request("publish", "news.a", "m")) == nil)
        #expect(access.denial(for: user, command: command("subscribe"), arguments: request("subscribe", "news.a", "x"))
            == .channel(position: 2))
        #expect(access.denial(for: user, command: command("psubscribe"), arguments: request("psubscribe", "news.*")) == nil)
        #expect(access.denial(for: user, command: command("psubscribe"), arguments: request("psubscribe", "news.a"))
            == .channel(position: 1))
    }

    @Test func aFailingRuleChangesNothing() throws {
        let user = try access.setUser("u", rules: ["on", ">secret", "+get"])
        let before = user.description
        for rules in [["+set", "+nosuch"], ["~*", "~x"], ["#abc"], ["<other"], ["(+get"], ["%X~k"], ["bogus"]] {
            #expect(throws: RedisError.self) { try access.setUser("u", rules: rules) }
        }
        #expect(user.description == before)
        #expect(access.authenticate(user: "u", password: Array("secret".utf8)) === user)
        #expect(access.authenticate(user: "u", password: Array("wrong".utf8)) == nil)
    }

    @Test func requirePassIsTheDefaultUsersPassword() {
        let guarded = AccessControl(commands: CommandTable(CommandCatalog.all), requirePass: "s3cret")
        #expect(guarded.newClientsNeedAuthentication)
        #expect(guarded.authenticate(user: "default", password: Array("s3cret".utf8)) === guarded.defaultUser)
        guarded.setDefaultPassword(nil)
        #expect(!guarded.newClientsNeedAuthentication)
    }

    @Test func selectorsSpreadOverArgumentsAreJoined() throws {
        #expect(try ACLUserDefinition.mergingSelectors(["on", "(+get", "~k*)", "(+set)"]) == ["on", "(+get ~k*)", "(+set)"])
        #expect(throws: RedisError.self) { try ACLUserDefinition.mergingSelectors(["(+get", "~k"]) }
    }

    @Test func theLogGroupsLikeRefusalsWithinAMinute() {
        let log = ACLLog()
        log.add(reason: "key", context: "toplevel", object: "k", username: "u", clientInfo: "a", now: 1_000, maxLength: 3)
        log.add(reason: "key", context: "toplevel", object: "k", username: "u", clientInfo: "b", now: 2_000, maxLength: 3)
        #expect(log.entries.count == 1 && log.entries[0].count == 2 && log.entries[0].clientInfo == "b")
        log.add(reason: "key", context: "toplevel", object: "k", username: "u", clientInfo: "c", now: 70_000, maxLength: 3)
        #expect(log.entries.map(\.entryID) == [1, 0])
        for object in ["x", "y", "z"] {
            log.add(reason: "command", context: "multi", object: object, username: "u", clientInfo: "", now: 70_000,
                    maxLength: 3)
        }
        #expect(log.entries.map(\.object) == ["z", "y", "x"])
    }
}
