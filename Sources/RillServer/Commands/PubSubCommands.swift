import NIOCore
import RillCore
import RillProtocol

/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their unsubscribes, PUBLISH, SPUBLISH and PUBSUB. The registry
/// (Server/PubSubRegistry.swift) keeps who listens to what; the server delivers the messages.
///
/// Shard channels behave as in a Redis without cluster: a namespace of their own, published by SPUBLISH only.
enum PubSubCommands {
    private static let subscribeFlags: Command.Flags = [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed]
    private static let publishFlags: Command.Flags = [.pubsub, .loading, .stale, .fast, .mayReplicate]

    static let all: [Command] = [
        Command("subscribe", arity: -2, flags: subscribeFlags, group: "pubsub", since: "2.0.0",
                summary: "Listens for messages published to channels.", handler: subscribe(.channel)),
        Command("psubscribe", arity: -2, flags: subscribeFlags, group: "pubsub", since: "2.0.0",
                summary: "Listens for messages published to channels that match one or more patterns.",
                handler: subscribe(.pattern)),
        Command("ssubscribe", arity: -2, flags: subscribeFlags, keys: (1, -1, 1), group: "pubsub", since: "7.0.0",
                summary: "Listens for messages published to shard channels.", handler: subscribe(.shardChannel)),
        Command("unsubscribe", arity: -1, flags: subscribeFlags, group: "pubsub", since: "2.0.0",
                summary: "Stops listening to messages posted to channels.", handler: unsubscribe(.channel)),
        Command("punsubscribe", arity: -1, flags: subscribeFlags, group: "pubsub", since: "2.0.0",
                summary: "Stops listening to messages published to channels that match one or more patterns.",
                handler: unsubscribe(.pattern)),
        Command("sunsubscribe", arity: -1, flags: subscribeFlags, keys: (1, -1, 1), group: "pubsub", since: "7.0.0",
                summary: "Stops listening to messages posted to shard channels.", handler: unsubscribe(.shardChannel)),
        Command("publish", arity: 3, flags: publishFlags, group: "pubsub", since: "2.0.0",
                summary: "Posts a message to a channel.", handler: publish(shard: false)),
        Command("spublish", arity: 3, flags: publishFlags, keys: (1, 1, 1), group: "pubsub", since: "7.0.0",
                summary: "Post a message to a shard channel", handler: publish(shard: true)),
        Command("pubsub", arity: -2, flags: [], group: "pubsub", since: "2.8.0",
                summary: "A container for Pub/Sub commands.", subcommands: pubsubSubcommands) { _ in },
    ]

    // MARK: Subscribing

    private static func subscribe(_ kind: PubSubKind) -> CommandHandler {
        { context in
            // EXEC may not leave a client waiting; Redis lets SUBSCRIBE and PSUBSCRIBE through for compatibility,
            // not SSUBSCRIBE.
            if kind == .shardChannel && context.control.executingTransaction {
                throw RedisError.shardSubscribeDeniedInTransaction
            }
            for index in 1..<context.argumentCount {
                context.pubSub.subscribe(context.client, to: context.bytes(index), kind: kind)
                writeSubscription(kind.subscribeWord, name: context.arguments[index],
                                  count: context.client.subscriptions.replyCount(for: kind), context: context)
            }
        }
    }

    /// Without names, leaves every subscription of the kind, in the order they were made; with none to leave, one
    /// reply with a null name.
    private static func unsubscribe(_ kind: PubSubKind) -> CommandHandler {
        { context in
            let client = context.client
            if context.argumentCount > 1 {
                for index in 1..<context.argumentCount {
                    context.pubSub.unsubscribe(client, from: context.bytes(index), kind: kind)
                    writeSubscription(kind.unsubscribeWord, name: context.arguments[index],
                                      count: client.subscriptions.replyCount(for: kind), context: context)
                }
                return
            }
            let names = context.pubSub.unsubscribeAll(client, kind: kind)
            if names.isEmpty {
                writeSubscription(kind.unsubscribeWord, name: nil, count: client.subscriptions.replyCount(for: kind),
                                  context: context)
            }
            // The counts go down one by one, as if each name were left in turn.
            let remaining = client.subscriptions.replyCount(for: kind)
            for (index, name) in names.enumerated() {
                writeSubscription(kind.unsubscribeWord, name: ByteBuffer(bytes: name),
                                  count: remaining + names.count - index - 1, context: context)
            }
        }
    }

    /// `[kind word, name, count]` as a push (an array in RESP2).
    private static func writeSubscription(_ word: String, name: ByteBuffer?, count: Int, context: CommandContext) {
        context.reply.pushHeader(3)
        context.reply.bulkString(word)
        if let name { context.reply.bulkString(name) } else { context.reply.nullBulkString() }
        context.reply.integer(Int64(count))
    }

    // MARK: Publishing

    /// Answers the number of deliveries. The request goes to replicas (their subscribers get the message too) but
    /// not to the append-only file, as Redis propagates it.
    private static func publish(shard: Bool) -> CommandHandler {
        { context in
            let receivers = context.publish(context.arguments[2], to: context.arguments[1], shard: shard)
            context.changes.sendRequestToReplicas()
            context.reply.integer(Int64(receivers))
        }
    }

    // MARK: PUBSUB

    private static let pubsubSubcommands: [Command] = [
        Command("pubsub|channels", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "2.8.0",
                summary: "Returns the active channels.") { context in
            try activeNames(.channel, context: context)
        },
        Command("pubsub|numpat", arity: 2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "2.8.0",
                summary: "Returns a count of unique pattern subscriptions.") { context in
            context.reply.integer(Int64(context.pubSub.patternCount))
        },
        Command("pubsub|numsub", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "2.8.0",
                summary: "Returns a count of subscribers to channels.") { context in
            subscriberCounts(.channel, context: context)
        },
        Command("pubsub|shardchannels", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub",
                since: "7.0.0", summary: "Returns the active shard channels.") { context in
            try activeNames(.shardChannel, context: context)
        },
        Command("pubsub|shardnumsub", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub",
                since: "7.0.0", summary: "Returns the count of subscribers of shard channels.") { context in
            subscriberCounts(.shardChannel, context: context)
        },
        Command("pubsub|help", arity: 2, flags: [.loading, .stale], group: "pubsub", since: "6.2.0",
                summary: "Returns helpful text about the different subcommands.") { context in
            context.replyHelp([
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    List the channels that have subscribers, those matching <pattern> if given.",
                "NUMPAT",
                "    Answer how many distinct patterns clients subscribe to.",
                "NUMSUB [<channel> ...]",
                "    Answer, for each channel, how many clients subscribe to it by name (pattern",
                "    subscriptions not counted).",
                "SHARDCHANNELS [<pattern>]",
                "    List the shard channels that have subscribers, those matching <pattern> if given.",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Answer, for each shard channel, how many clients subscribe to it.",
                "HELP",
                "    Print this help.",
            ])
        },
    ]

    /// PUBSUB CHANNELS / SHARDCHANNELS [pattern].
    private static func activeNames(_ kind: PubSubKind, context: CommandContext) throws {
        guard context.argumentCount <= 3 else {
            throw RedisError.unknownSubcommandOrArity(context.string(1), of: "PUBSUB")
        }
        let pattern = context.argumentCount == 3 ? context.bytes(2) : nil
        context.reply.bulkStrings(context.pubSub.activeNames(kind, matching: pattern))
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: name and count for each name asked, in a flat array.
    private static func subscriberCounts(_ kind: PubSubKind, context: CommandContext) {
        context.reply.arrayHeader((context.argumentCount - 2) * 2)
        for index in 2..<context.argumentCount {
            context.reply.bulkString(context.arguments[index])
            context.reply.integer(Int64(context.pubSub.subscriberCount(of: context.bytes(index), kind: kind)))
        }
    }
}
