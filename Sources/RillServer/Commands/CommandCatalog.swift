/// Every command Rill answers. A command missing here answers `-ERR unknown command`.
enum CommandCatalog {
    static var all: [Command] {
        ConnectionCommands.all + ACLCommands.all + ServerCommands.all + TransactionCommands.all + KeyspaceCommands.all + ListCommands.all + StreamCommands.all
            + StreamCommands.idempotentProducerCommands
            + PersistenceCommands.all + IntrospectionCommands.all + ConsumerGroupCommands.all
            + ConsumerGroupCommands.negativeAcknowledgementCommands + ObservabilityCommands.all + PubSubCommands.all
            + ReplicationCommands.all
    }
}
