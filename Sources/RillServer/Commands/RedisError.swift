import RillCore

/// An error reply: `message` is the whole line after the '-' (prefix included, e.g. "ERR syntax error").
///
/// The commands' error texts are declared here, by name; RillCore's typed errors are worded in
/// CoreErrorReplies.swift and only there.
struct RedisError: Error, Equatable, Sendable {
    let message: String
    init(_ message: String) { self.message = message }

    /// The first word, which INFO errorstats counts by ("ERR", "WRONGTYPE", "NOGROUP"...).
    var prefix: Substring { message.prefix { $0 != " " } }

    /// Error texts quote user arguments; like Redis, CR and LF become spaces so the reply stays one line.
    static func quoted(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 == 0x0D || $0 == 0x0A ? 0x20 : $0 }, as: UTF8.self)
    }

    // MARK: Arguments and commands

    static let syntax = RedisError("ERR syntax error")
    static let notEnoughGoodReplicas = RedisError("NOREPLICAS Not enough good replicas to write.")
    static let readOnlyReplica = RedisError("READONLY You can't write against a read only replica.")
    static let primaryLinkDown = RedisError(
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
    static let invalidPrimaryPort = RedisError("ERR Invalid master port")
    static let waitOnReplica = RedisError(
        "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is "
            + "configured to be writable (which is not the default) writes to replicas are just local and are not "
            + "propagated.")
    static let notAnInteger = RedisError("ERR value is not an integer or out of range")
    static let notAFloat = RedisError("ERR value is not a valid float")
    /// LPOP/RPOP count.
    static let notPositive = RedisError("ERR value is out of range, must be positive")
    static let timeoutNotInteger = RedisError("ERR timeout is not an integer or out of range")
    static let timeoutNegative = RedisError("ERR timeout is negative")
    /// Blocking list commands' timeouts in seconds (BLPOP, BLMOVE, BLMPOP...).
    static let timeoutNotFloat = RedisError("ERR timeout is not a float or out of range")
    static let timeoutOutOfRange = RedisError("ERR timeout is out of range")
    static let numKeysNotPositive = RedisError("ERR numkeys should be greater than 0")
    static let popCountNotPositive = RedisError("ERR count should be greater than 0")
    static let rankZero = RedisError(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    static let outsideSymmetricLongRange = RedisError(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    static let countNegative = RedisError("ERR COUNT can't be negative")
    static let maxLengthNegative = RedisError("ERR MAXLEN can't be negative")
    static let invalidCursor = RedisError("ERR invalid cursor")

    static func wrongArity(_ name: String) -> RedisError {
        RedisError("ERR wrong number of arguments for '\(name)' command")
    }

    /// `name` and `arguments` are shown as given; the caller keeps the line free of CR and LF.
    static func unknownCommand(_ name: String, argumentsShown arguments: String) -> RedisError {
        RedisError("ERR unknown command '\(name)', with args beginning with: \(arguments)")
    }

    static func unknownSubcommand(_ sub: String, of command: String) -> RedisError {
        RedisError("ERR unknown subcommand '\(sub.prefix(128))'. Try \(command.uppercased()) HELP.")
    }

    /// XGROUP and XINFO wording, for an unknown subcommand or a known one with the wrong argument count.
    static func unknownSubcommandOrArity(_ sub: String, of command: String) -> RedisError {
        RedisError("ERR unknown subcommand or wrong number of arguments for '\(sub)'. Try \(command) HELP.")
    }

    /// A protected command (DEBUG) its directive does not let this client run.
    static func protectedCommandNotAllowed(_ name: String, directive: String) -> RedisError {
        RedisError("ERR \(name.uppercased()) command not allowed. If the \(directive) option is set to \"local\", "
                   + "you can run it from a local connection, otherwise you need to set this option in the "
                   + "configuration file, and then restart the server.")
    }

    // MARK: Observability (SLOWLOG, LATENCY, MONITOR)

    static let slowLogCountBelowMinusOne = RedisError("ERR count should be greater than or equal to -1")
    static func noLatencySamples(_ event: String) -> RedisError {
        RedisError("ERR No samples available for event '\(event)'")
    }
    static let monitorInsideTransaction = RedisError("ERR MONITOR isn't allowed for DENY BLOCKING client")

    // MARK: COMMAND GETKEYS / GETKEYSANDFLAGS

    static let getKeysInvalidCommand = RedisError("ERR Invalid command specified")
    static let getKeysNoKeyArguments = RedisError("ERR The command has no key arguments")
    static let getKeysWrongArity = RedisError("ERR Invalid number of arguments specified for command")
    static let getKeysInvalidArguments = RedisError("ERR Invalid arguments specified for command")

    // MARK: Keys and databases

    static let wrongType = RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let noSuchKey = RedisError("ERR no such key")
    static let dbIndexOutOfRange = RedisError("ERR DB index is out of range")

    // MARK: Connections and authentication

    static let maxClientsReached = RedisError("ERR max number of clients reached")
    /// `protected-mode yes`, no password for the default user, and a client from another host: Redis' advice, word
    /// for word, since clients and operators search for it.
    static let protectedMode = RedisError(
        "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
            + "default user. In this mode connections are only accepted from the loopback interface. If you want to "
            + "connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable "
            + "protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
            + "connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
            + "accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
            + "Alternatively you can just disable the protected mode by editing the Redis configuration file, and "
            + "setting the protected mode option to 'no', and then restarting the server. 3) If you started the "
            + "server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an "
            + "authentication password for the default user. NOTE: You only need to do one of the above things in "
            + "order for the server to start accepting connections from the outside.")
    /// A request the RESP decoder could not read; `message` is the decoder's "Protocol error: ..." text.
    static func protocolError(_ message: String) -> RedisError { RedisError("ERR \(message)") }
    static let noAuth = RedisError("NOAUTH Authentication required.")
    static let wrongPass = RedisError("WRONGPASS invalid username-password pair or user is disabled.")
    static let authWithoutPassword = RedisError(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    static let protocolVersionNotInteger = RedisError("ERR Protocol version is not an integer or out of range")
    static let unsupportedProtocolVersion = RedisError("NOPROTO unsupported protocol version")
    static func helloSyntax(option: String) -> RedisError { RedisError("ERR Syntax error in HELLO option '\(option)'") }
    static let helloWithoutAuthentication = RedisError(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
    static let invalidClientName = RedisError("ERR Client names cannot contain spaces, newlines or special characters.")
    /// CLIENT SETINFO.
    static func unrecognizedClientOption(_ option: String) -> RedisError { RedisError("ERR Unrecognized option '\(option)'") }
    static func unknownClientType(_ type: String) -> RedisError { RedisError("ERR Unknown client type '\(type)'") }
    /// CLIENT LIST ID.
    static let invalidClientID = RedisError("ERR Invalid client ID")
    /// CLIENT KILL ID.
    static let clientIDNotPositive = RedisError("ERR client-id should be greater than 0")
    static let noSuchClient = RedisError("ERR No such client")
    static let clientPauseMode = RedisError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    static let invalidUnblockReason = RedisError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    /// The reply of a client unblocked by CLIENT UNBLOCK ... ERROR.
    static let unblockedByClientUnblock = RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK")

    // MARK: Transactions

    static let nestedMulti = RedisError("ERR MULTI calls can not be nested")
    static let notAllowedInTransaction = RedisError("ERR Command not allowed inside a transaction")

    // MARK: Pub/Sub, scripting, configuration file

    /// A RESP2 client listening to Pub/Sub sent a command other than the (un)subscribes, PING, QUIT and RESET.
    static func notAllowedWhileSubscribed(_ fullName: String) -> RedisError {
        RedisError("ERR Can't execute '\(fullName)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
    }
    /// SSUBSCRIBE run by EXEC (Redis refuses it to clients that may not block).
    static let shardSubscribeDeniedInTransaction = RedisError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    /// SCRIPT KILL: Rill runs no scripts.
    static let noScriptRunning = RedisError("NOTBUSY No scripts in execution right now.")
    static let noConfigFile = RedisError("ERR The server is running without a config file")
    static func configRewriteFailed(_ reason: String) -> RedisError {
        RedisError("ERR Rewriting config file: \(reason)")
    }
    static let discardWithoutMulti = RedisError("ERR DISCARD without MULTI")
    static let watchInsideMulti = RedisError("ERR WATCH inside MULTI is not allowed")
    static let execWithoutMulti = RedisError("ERR EXEC without MULTI")
    static let execAborted = RedisError("EXECABORT Transaction discarded because of previous errors.")
    /// EXEC itself refused before running (OOM, MISCONF, READONLY...): the transaction is discarded, as Redis'
    /// execCommandAbort does, and the reason follows.
    static func execAborted(because reason: RedisError) -> RedisError {
        RedisError("EXECABORT Transaction discarded because of: \(reason.message)")
    }

    // MARK: Server and configuration

    static let outOfMemory = RedisError("OOM command not allowed when used memory > 'maxmemory'.")
    static let shutdownFailed = RedisError("ERR Errors trying to SHUTDOWN. Check logs.")
    static func configSetUnknownOption(_ option: String) -> RedisError {
        RedisError("ERR Unknown option or number of arguments for CONFIG SET - '\(option)'")
    }
    static func configSetFailed(_ name: String, reason: String) -> RedisError {
        RedisError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
    }
    static func configSetDuplicate(_ name: String) -> RedisError { configSetFailed(name, reason: "duplicate parameter") }
    static func configSetImmutable(_ name: String) -> RedisError { configSetFailed(name, reason: "can't set immutable config") }
    static func configSetProtected(_ name: String) -> RedisError { configSetFailed(name, reason: "can't set protected config") }
    static let appendOnlyNotTurnedOn = configSetFailed("appendonly", reason: "Unable to turn on AOF. Check server logs.")

    // MARK: Persistence

    /// Writes refused after a failed background save, with `stop-writes-on-bgsave-error yes` and save points set.
    static let snapshotWritesDenied = RedisError(
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands "
            + "that may modify the data set are disabled, because this instance is configured to report errors "
            + "during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis "
            + "logs for details about the RDB error.")
    /// Writes refused while the append-only file cannot be written or fsynced; `reason` is the system's error text.
    static func appendOnlyWritesDenied(_ reason: String) -> RedisError {
        RedisError("MISCONF Errors writing to the AOF file: \(reason)")
    }

    /// SAVE's reply when writing the snapshot failed: Redis gives the bare prefix.
    static let saveFailed = RedisError("ERR")
    static let backgroundSaveInProgress = RedisError("ERR Background save already in progress")
    static let backgroundSaveBehindChild = RedisError(
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    static let appendOnlyRewriteInProgress = RedisError("ERR Background append only file rewriting already in progress")
    static let appendOnlyRewriteFailed = RedisError(
        "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
    static let frequencyNotTracked = RedisError(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching "
            + "between policies at runtime LRU and LFU data will take some time to adjust.")
    static let debugReloadOption = RedisError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    static let debugReloadFailed = RedisError("ERR Error trying to load the RDB dump, check server logs.")
    static let invalidIdleTime = RedisError("ERR Invalid IDLETIME value, must be >= 0")
    static let invalidFrequency = RedisError("ERR Invalid FREQ value, must be >= 0 and <= 255")
    static let invalidTTL = RedisError("ERR Invalid TTL value, must be >= 0")
    static let targetKeyExists = RedisError("BUSYKEY Target key name already exists.")
    static let badDumpPayload = RedisError("ERR DUMP payload version or checksum are wrong")
    static let badDataFormat = RedisError("ERR Bad data format")
    /// A valid Redis payload of a type Rill does not store: Redis' text, then why.
    static func unsupportedDumpPayloadType(_ name: String) -> RedisError {
        RedisError("ERR Bad data format: Rill cannot hold a \(name) value")
    }
    static func unrecognizedReplicationOption(_ option: String) -> RedisError {
        RedisError("ERR Unrecognized REPLCONF option: \(option)")
    }
    static let replicationFlagOutOfRange = RedisError("ERR value is out of range, value must between 0 and 1")

    // MARK: Stream trimming (XADD, XTRIM)

    static let maxLengthWithMinID = RedisError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
    static let negativeMaxLength = RedisError("ERR The MAXLEN argument must be >= 0.")
    static let negativeLimit = RedisError("ERR The LIMIT argument must be >= 0.")
    static let limitWithoutStrategy = RedisError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    static let limitWithoutApproximation = RedisError("ERR syntax error, LIMIT cannot be used without the special ~ option")
    static let xtrimWithoutStrategy = RedisError("ERR syntax error, XTRIM must be called with a trimming strategy")
    /// XSETID ENTRIESADDED.
    static let negativeEntriesAdded = RedisError("ERR entries_added must be positive")

    // MARK: Stream reads (XREAD, XREADGROUP)

    static let groupOptionInXread = RedisError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
    static let noAckOptionInXread = RedisError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
    static let unbalancedXreadgroupStreams = RedisError(
        "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.")
    static let unbalancedXreadStreams = RedisError(
        "ERR Unbalanced 'xread' list of streams: for each stream key an ID, '+', or '$' must be specified.")
    static let missingGroupOption = RedisError("ERR Missing GROUP option for XREADGROUP")
    static let newEntriesIDWithoutGroup = RedisError(
        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
    static let lastIDInXreadgroup = RedisError(
        "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
    static let maxIDInXreadgroup = RedisError(
        "ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.")

    // MARK: Read caps (XREAD/XREADGROUP MAXCOUNT, MAXSIZE)

    static let maxCountBelowCount = RedisError("ERR MAXCOUNT must be greater than or equal to COUNT")
    /// `option` is "MAXCOUNT" or "MAXSIZE".
    static func readCapNotPositive(_ option: String) -> RedisError { RedisError("ERR \(option) must be a positive integer") }

    // MARK: Claim on read (XREADGROUP CLAIM)

    static let claimMinimumIdleNotPositive = RedisError("ERR min-idle-time must be a positive integer")

    // MARK: Consumer groups

    /// XGROUP and XINFO CONSUMERS wording.
    static func noSuchGroup(_ group: [UInt8], key: [UInt8]) -> RedisError {
        RedisError("NOGROUP No such consumer group '\(quoted(group))' for key name '\(quoted(key))'")
    }

    /// XPENDING, XCLAIM and XAUTOCLAIM wording.
    static func noSuchKeyOrGroup(_ key: [UInt8], group: [UInt8]) -> RedisError {
        RedisError("NOGROUP No such key '\(quoted(key))' or consumer group '\(quoted(group))'")
    }

    /// XREADGROUP wording.
    static func noSuchKeyOrGroupForRead(_ key: [UInt8], group: [UInt8]) -> RedisError {
        RedisError("NOGROUP No such key '\(quoted(key))' or consumer group '\(quoted(group))' in XREADGROUP with GROUP option")
    }

    static let xgroupRequiresKey = RedisError(
        "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
    static let invalidEntriesRead = RedisError("ERR value for ENTRIESREAD must be positive or -1")
    static let xclaimInvalidMinimumIdle = RedisError("ERR Invalid min-idle-time argument for XCLAIM")
    static let xclaimInvalidIdle = RedisError("ERR Invalid IDLE option argument for XCLAIM")
    static let xclaimInvalidTime = RedisError("ERR Invalid TIME option argument for XCLAIM")
    static let xclaimInvalidRetryCount = RedisError("ERR Invalid RETRYCOUNT option argument for XCLAIM")
    static func xclaimUnrecognizedOption(_ option: [UInt8]) -> RedisError {
        RedisError("ERR Unrecognized XCLAIM option '\(quoted(option))'")
    }
    static let xautoclaimInvalidMinimumIdle = RedisError("ERR Invalid min-idle-time argument for XAUTOCLAIM")
    /// XAUTOCLAIM COUNT.
    static let countNotPositive = RedisError("ERR COUNT must be > 0")
    /// The `numids` of an IDS block (XACKDEL, XDELEX, XNACK).
    static let idCountNotPositive = RedisError("ERR Number of IDs must be a positive integer")
    static let idCountMismatch = RedisError("ERR The `numids` parameter must match the number of arguments")

    // MARK: Negative acknowledgement (XNACK)

    static let invalidRetryCountValue = RedisError("ERR Invalid RETRYCOUNT value")

    // MARK: Idempotent producers (XADD IDMP/IDMPAUTO, XCFGSET, XIDMPRECORD)

    static let idempotencyRepeated = RedisError("ERR IDMP/IDMPAUTO specified multiple times")
    static let idmpEmptyProducerID = RedisError("ERR IDMP requires a non-empty producer ID")
    static let idmpEmptyIdempotentID = RedisError("ERR IDMP requires a non-empty idempotent ID")
    static let idmpAutoEmptyProducerID = RedisError("ERR IDMPAUTO requires a non-empty producer ID")
    static let idempotencyNeedsAutoID = RedisError("ERR IDMP/IDMPAUTO can be used only with auto-generated IDs")
    static let idempotencyConfigMissing = RedisError(
        "ERR At least one parameter must be specified: IDMP-DURATION or IDMP-MAXSIZE")
    static let idempotencyDurationOutOfRange = RedisError("ERR IDMP-DURATION must be between 1 and 86400 seconds")
    static let idempotencyMaxSizeOutOfRange = RedisError("ERR IDMP-MAXSIZE must be between 1 and 10000 entries")
    static let idempotencyRecordEmptyIDs = RedisError("ERR producer ID and idempotent ID must not be empty")
    static let idempotencyRecordNoSuchEntry = RedisError("ERR the stream ID does not refer to an existing entry")
    static let idempotencyRecordConflict = RedisError("ERR the producer ID and idempotent ID already refer to another entry")

    // MARK: Group policy (XGROUP SETPOLICY)

    static let maxDeliveriesNotInteger = RedisError("ERR MAXDELIVERIES must be a non-negative integer")
    static let consumerIdleTimeoutNotInteger = RedisError(
        "ERR CONSUMER-IDLE-TIMEOUT must be a non-negative integer (milliseconds)")
    static let deadLetteredNotInteger = RedisError("ERR DEADLETTERED must be a non-negative integer")
    static let deadLetterNeedsMaxDeliveries = RedisError("ERR DEADLETTER needs MAXDELIVERIES greater than 0")
    static let maxDeliveriesNeedsDeadLetter = RedisError("ERR MAXDELIVERIES needs a DEADLETTER key")
    static let deadLetterKeyIsStream = RedisError("ERR the DEADLETTER key must be another key than the group's stream")
}

/// Errors the server can word as Redis does (RillCore's, in CoreErrorReplies.swift).
protocol RedisErrorConvertible: Error {
    var redisError: RedisError { get }
}

extension RedisError {
    /// The reply for any error a handler throws; an unexpected error is reported, never swallowed.
    static func from(_ error: any Error) -> RedisError {
        if let error = error as? RedisError { return error }
        if let error = error as? any RedisErrorConvertible { return error.redisError }
        return RedisError("ERR \(error)")
    }
}
