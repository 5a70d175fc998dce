import Logging
import NIOCore
import NIOEmbedded

/// The whole server on an `EmbeddedEventLoop`: connections are `EmbeddedChannel`s running the real
/// `ConnectionHandler`, fed request bytes and returning reply bytes, with time moved on explicitly. No sockets, no
/// threads, nothing scheduled behind the caller's back, so a run is a pure function of its inputs.
///
/// The command-sequence fuzzer (`Fuzz/`) drives it; debug builds check the core's invariants after every mutation
/// (`RILL_INTERNAL_CHECKS`), so a command that breaks one traps there.
public final class EmbeddedServer {
    private let loop = EmbeddedEventLoop()
    private let server: ServerState
    private var connections: [EmbeddedChannel] = []

    /// A server on the default configuration changed by `directives` (name, arguments), each applied as
    /// `CONFIG SET` would apply it.
    public init(directives: [(name: String, arguments: [String])] = []) throws {
        var configuration = ServerConfiguration()
        for (name, arguments) in directives { try configuration.set(name, arguments) }
        server = ServerState(configuration: configuration, configFile: nil,
                             logger: Logger(label: "rill.embedded", factory: { _ in SwiftLogNoOpLogHandler() }),
                             eventLoop: loop)
        server.runsEmbedded = true
    }

    /// Commands whose work leaves the process: files in the working directory (SAVE, BGSAVE, BGREWRITEAOF), threads
    /// that hand their result back to the event loop (the background saves, SYNC and PSYNC's snapshot transfer),
    /// sockets (REPLICAOF, SLAVEOF, FAILOVER), ending the process (SHUTDOWN) or stopping it on purpose (DEBUG).
    /// The embedded loop is single-threaded and owns no files or sockets, so these are refused with an error.
    public static let commandsNeedingTheProcess: Set<String> = [
        "shutdown", "save", "bgsave", "bgrewriteaof", "replicaof", "slaveof", "sync", "psync", "debug", "failover",
        "config|rewrite",
    ]

    /// CONFIG SET parameters that start the same work: `save` schedules background saves, `appendonly yes` opens
    /// the append-only file and its fsync thread.
    static let parametersNeedingTheProcess: Set<String> = ["save", "appendonly"]

    /// The error the embedded server answers `command` with instead of running it, or nil when it runs.
    static func refusal(of command: Command, arguments: [ByteBuffer]) -> RedisError? {
        if commandsNeedingTheProcess.contains(command.name) {
            let words = command.name.split(separator: "|").joined(separator: " ").uppercased()
            return RedisError("ERR \(words) is not available in the embedded server (no files, "
                + "threads, sockets or process of its own)")
        }
        if command.name == "config|set" {
            for index in stride(from: 2, to: arguments.count, by: 2) {
                let parameter = String(buffer: arguments[index]).lowercased()
                if parametersNeedingTheProcess.contains(parameter) {
                    return RedisError("ERR CONFIG SET \(parameter) is not available in the embedded server (no "
                        + "files or threads of its own)")
                }
            }
        }
        return nil
    }

    /// Closes the connections and shuts the loop down: scheduled jobs hold the server, the server holds the loop and
    /// the sessions, so without this every server a fuzzer starts would stay in memory.
    deinit {
        for channel in connections where channel.isActive { _ = try? channel.finish() }
        loop.run()
        try? loop.syncShutdownGracefully()
    }

    /// Opens one more client connection; returns its index for `send(_:on:)`.
    public func connect() throws -> Int {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: server))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50_000 + connections.count)).wait()
        connections.append(channel)
        return connections.count - 1
    }

    /// Whether the server still holds connection `index` open (QUIT, CLIENT KILL and protocol errors close it).
    public func isOpen(_ index: Int) -> Bool { connections[index].isActive }

    /// Delivers `bytes` to connection `index` as one read and returns everything written to that connection since
    /// the previous call (replies, and pushes caused by other connections' commands). A closed connection gets
    /// nothing and answers nothing.
    public func send(_ bytes: [UInt8], on index: Int) throws -> [UInt8] {
        let channel = connections[index]
        if channel.isActive {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            channel.pipeline.fireChannelReadComplete()
        }
        loop.run()
        return try output(of: index)
    }

    /// What was written to connection `index` and not yet returned.
    public func output(of index: Int) throws -> [UInt8] {
        var written: [UInt8] = []
        while var chunk = try connections[index].readOutbound(as: ByteBuffer.self) {
            written += chunk.readBytes(length: chunk.readableBytes) ?? []
        }
        return written
    }

    /// Moves the clock on, running the timeouts and periodic jobs that fall due.
    public func advance(milliseconds: Int64) {
        loop.advanceTime(by: .milliseconds(milliseconds))
    }

    /// Every command and subcommand of the table (lower case, `parent|sub` for subcommands) with its arity (Redis'
    /// convention: N exactly, -N at least N) and the literal option words of its documented arguments (`MAXLEN`,
    /// `COUNT`, `STREAMS`...), from which a fuzzer builds plausible requests.
    public static var commandGrammar: [(name: String, arity: Int, tokens: [String])] {
        CommandCatalog.all.flatMap { command in
            [command] + command.subcommands
        }.map { command in
            (command.name, command.arity, tokens(in: command.documentation?.arguments ?? []))
        }
    }

    private static func tokens(in arguments: [ArgumentDoc]) -> [String] {
        arguments.flatMap { argument in
            (argument.token.map { [$0] } ?? []) + tokens(in: argument.arguments)
        }
    }

    /// Reads `text` as a configuration file would be read at start-up; nil when accepted, else the error a person
    /// would see.
    public static func configurationError(fileAt path: String) -> String? {
        do {
            _ = try ConfigLoader.load(commandLine: [path])
            return nil
        } catch {
            return error.description
        }
    }
}
