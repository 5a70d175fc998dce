import NIOCore
import RillCore
import RillProtocol

/// COMMAND GETKEYS / GETKEYSANDFLAGS: the keys a request would touch, found from the command's key specifications,
/// as cluster clients find them to route a request.
extension ServerCommands {
    static func writeKeys(_ context: CommandContext, withFlags: Bool) throws {
        let request = Array(context.arguments[2...])
        guard var command = context.commands.lookup(request[0]) else { throw RedisError.getKeysInvalidCommand }
        if !command.subcommands.isEmpty && request.count >= 2 {
            guard let sub = command.subcommand(named: request[1]) else { throw RedisError.getKeysInvalidCommand }
            command = sub
        }
        let specs = command.documentation?.keySpecs ?? []
        guard specs.contains(where: { !$0.flags.contains(.notKey) }) else { throw RedisError.getKeysNoKeyArguments }
        guard command.acceptsArgumentCount(request.count) else { throw RedisError.getKeysWrongArity }
        let keys = command.keyArguments(in: request)
        guard !keys.isEmpty else { throw RedisError.getKeysInvalidArguments }
        context.reply.arrayHeader(keys.count)
        for (position, flags) in keys {
            if withFlags {
                context.reply.arrayHeader(2)
                context.reply.bulkString(request[position])
                KeySpec.writeFlags(flags, to: &context.reply)
            } else {
                context.reply.bulkString(request[position])
            }
        }
    }

}

extension Command {
    /// The keys of `request` (the name first; for a subcommand, container and subcommand names first) as
    /// (position, flags), found from the key specs, with the flags the request actually implies where the spec says
    /// they vary; empty when the arguments contradict the specs. COMMAND GETKEYS and the ACL key checks use it.
    func keyArguments(in request: [ByteBuffer]) -> [(position: Int, flags: KeySpec.Flags)] {
        let keys = KeySpec.keyPositions(documentation?.keySpecs ?? [], in: request, arity: arity) ?? []
        guard let resolve = Self.variableKeyFlags[name] else { return keys }
        return keys.map { ($0.position, resolve(request)) }
    }

    /// The actual key flags of commands whose spec says `variableFlags`, by what the request asks.
    private static let variableKeyFlags: [String: ([ByteBuffer]) -> KeySpec.Flags] = [
        // SET reads the old value only with GET (any argument after the value spelled GET counts, as in Redis).
        "set": { request in
            let get = Array("get".utf8)
            let reads = request.dropFirst(3).contains { word in
                word.withUnsafeReadableBytes { ASCII.equalIgnoringCase($0, get) }
            }
            return reads ? [.rw, .access, .update] : [.ow, .update]
        },
    ]
}
