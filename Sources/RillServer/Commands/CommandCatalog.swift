/// Every command Rill answers. A command missing here answers `-ERR unknown command`.
enum CommandCatalog {
    static var all: [Command] {
        ConnectionCommands.all + ServerCommands.all + TransactionCommands.all + KeyspaceCommands.all + StreamCommands.all
            + StreamCommands.idempotentProducerCommands
            + PersistenceCommands.all + ConsumerGroupCommands.all + ConsumerGroupCommands.negativeAcknowledgementCommands
    }
}
