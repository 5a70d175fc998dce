import NIOCore

/// Delivering published messages to subscribers' connections.
extension ServerState {
    /// PUBLISH / SPUBLISH: sends `payload` to the subscribers of `channel` (and of the patterns matching it) and
    /// answers the number of deliveries. A message for `publisher` itself waits until its command's reply is
    /// written (`writeDeferredMessages`); one for a subscriber whose unsent output is past
    /// `client-output-buffer-limit pubsub` closes that subscriber instead.
    func publish(_ payload: ByteBuffer, to channel: ByteBuffer, shard: Bool, publisher: ClientSession) -> Int {
        return pubSub.publish(payload, to: channel, shard: shard) { subscriber, message in
            if subscriber === publisher {
                subscriber.deferredMessages.append(message)
                return
            }
            guard let context = subscriber.context,
                  !closeIfOverOutputLimit(subscriber) else { return }
            message.write(to: &context.reply)
            subscriber.flushOutput()
        }
    }

    /// Writes the messages `client` published to itself, after the reply of the command that published them.
    func writeDeferredMessages(_ context: CommandContext) {
        let client = context.client
        for message in client.deferredMessages { message.write(to: &context.reply) }
        client.deferredMessages.removeAll()
    }
}
