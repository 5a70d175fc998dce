import NIOCore
import RillCore
import RillPersistence

/// Which of the feed's two streams a subscriber receives. They carry the same effects, except what Redis sends
/// replicas only (`forceCommandPropagation(c, PROPAGATE_REPL)`): PUBLISH and SPUBLISH, so that a replica's
/// subscribers get the messages too, while the append-only file never stores them.
enum ChangeFeedAudience {
    case appendOnlyFile
    case replicas
}

/// Receives what writes did, as commands encoded the way the append-only file stores them.
///
/// The append-only log is the first subscriber; replicas are the next. A subscriber always receives whole units: one
/// command's effects, or a whole MULTI/EXEC, never part of one.
protocol ChangeFeedSubscriber: AnyObject {
    /// The stream this subscriber receives; fixed for its lifetime.
    var audience: ChangeFeedAudience { get }
    func receive(_ commands: UnsafeRawBufferPointer)
}

extension ChangeFeedSubscriber {
    var audience: ChangeFeedAudience { .appendOnlyFile }
}

/// One encoded stream of the feed and what its subscribers have been sent: the database of the last SELECT
/// (-1 when a subscriber joined since, so the next command starts with a SELECT) and whether MULTI was written for
/// the open transaction (written before the transaction's first command to this stream, so a transaction that
/// recorded nothing here writes nothing).
private struct EncodedStream {
    var subscribers: [any ChangeFeedSubscriber] = []
    var encoded = AppendOnlyFileWriter()
    var selectedDatabase = -1
    var transactionOpened = false

    mutating func append(_ arguments: [ByteBuffer], database: Int, inTransaction: Bool,
                         replacing replacement: RequestIDReplacement? = nil) {
        if inTransaction && !transactionOpened {
            transactionOpened = true
            encoded.appendCommand(["MULTI"])
        }
        if database != selectedDatabase {
            selectedDatabase = database
            encoded.appendCommand(["SELECT", String(database)])
        }
        encoded.appendArrayHeader(arguments.count)
        guard let replacement else {
            for argument in arguments { argument.withUnsafeReadableBytes { encoded.appendArgument($0) } }
            return
        }
        for (position, argument) in arguments.enumerated() {
            if position == replacement.position {
                replacement.id.withASCIIBytes { encoded.appendArgument($0) }
            } else {
                argument.withUnsafeReadableBytes { encoded.appendArgument($0) }
            }
        }
    }

    /// Writes EXEC if the open transaction wrote MULTI here.
    mutating func closeTransaction() {
        if transactionOpened {
            encoded.appendCommand(["EXEC"])
            transactionOpened = false
        }
    }

    mutating func handOver() {
        guard !encoded.isEmpty else { return }
        encoded.bytes.withUnsafeBytes { bytes in
            for subscriber in subscribers { subscriber.receive(bytes) }
        }
        encoded.removeAll()
    }
}

/// A command's effect that is its request with the argument at `position` replaced by `id` (XADD with `*`).
struct RequestIDReplacement {
    let position: Int
    let id: StreamID
}

/// The one place where writes become effects, as Redis' `alsoPropagate` / `propagatePendingCommands` are: it counts
/// changes, gathers the deterministic effects a command asks to record (see Commands/Propagation.swift), and once
/// the command is done encodes them (a SELECT when the database differs from the last one sent, MULTI/EXEC around
/// several effects) and hands the bytes to every subscriber of each stream (`ChangeFeedAudience`). A stream without
/// subscribers is not encoded.
///
/// Invariants: bytes are handed over only outside a transaction (`transactionDepth == 0`), so a stream's `encoded`
/// holds at most one unfinished transaction; its `selectedDatabase` is the database of the last SELECT every one of
/// its subscribers has received, -1 when one subscribed since (its stream must start with a SELECT).
final class ChangeFeed {
    /// Changes since the last snapshot (INFO rdb_changes_since_last_save); saving subtracts what it saved.
    var dirty: Int64 = 0
    /// Changes since start-up, never reset (unlike `dirty`): tells whether a command changed anything.
    private(set) var changeCount: Int64 = 0
    /// Whether anyone consumes effects: handlers build effect commands only then.
    private(set) var isRecording = false
    /// Whether replicas subscribe: commands sent to replicas only (PUBLISH) are recorded only then.
    var isRecordingForReplicas: Bool { !replicaStream.subscribers.isEmpty }

    private var fileStream = EncodedStream()
    private var replicaStream = EncodedStream()

    /// The effects the running command asked to record instead of its request, in order.
    private var commandEffects: [[ByteBuffer]] = []
    /// Whether `commandEffects` replaces the request (even when empty: the call changed nothing worth recording);
    /// false when the request is deterministic and is recorded as sent.
    private var effectsReplaceRequest = false
    /// Set by a command that changes no data but whose request replicas must run too (PUBLISH).
    private var requestGoesToReplicas = false
    /// Set by a command whose only effect is its request with one argument replaced by an ID: encoded straight
    /// from the request, without building an effect (an array and a buffer for the ID, for every XADD with `*`).
    private var requestIDReplacement: RequestIDReplacement?

    /// Open `beginTransaction` calls: EXEC wraps its commands, and a command with several effects inside EXEC
    /// adds no second MULTI.
    private var transactionDepth = 0

    // MARK: Subscribers

    func subscribe(_ subscriber: any ChangeFeedSubscriber) {
        switch subscriber.audience {
        case .appendOnlyFile:
            fileStream.subscribers.append(subscriber)
            // The new subscriber has seen no SELECT.
            fileStream.selectedDatabase = -1
        case .replicas:
            replicaStream.subscribers.append(subscriber)
            replicaStream.selectedDatabase = -1
        }
        isRecording = true
    }

    /// The replicas' stream starts its next command with a SELECT: a replica that just loaded a snapshot has
    /// seen none.
    func restartReplicaDatabaseSelection() {
        replicaStream.selectedDatabase = -1
    }

    /// Removes `subscriber` after handing it the end of an open transaction, so what it received is complete.
    func unsubscribe(_ subscriber: any ChangeFeedSubscriber) {
        switch subscriber.audience {
        case .appendOnlyFile: Self.remove(subscriber, from: &fileStream)
        case .replicas: Self.remove(subscriber, from: &replicaStream)
        }
        isRecording = !fileStream.subscribers.isEmpty || !replicaStream.subscribers.isEmpty
    }

    private static func remove(_ subscriber: any ChangeFeedSubscriber, from stream: inout EncodedStream) {
        guard let index = stream.subscribers.firstIndex(where: { $0 === subscriber }) else { return }
        if stream.transactionOpened {
            stream.closeTransaction()
            stream.handOver()
        }
        stream.subscribers.remove(at: index)
    }

    // MARK: Counting

    /// A write changed the data (or `count` keys of it).
    @inline(__always)
    func recordChange(_ count: Int64 = 1) {
        dirty += count
        changeCount += count
    }

    /// Keys removed because they expired: a change of the data, but not one a save point counts (Redis leaves
    /// rdb_changes_since_last_save as it is when keys expire, actively or on access).
    func recordExpiredKeys(_ count: Int64) {
        changeCount += count
    }

    // MARK: A command's effects

    /// Records `command` as (part of) the running command's effect, replacing its request.
    func propagate(_ command: [ByteBuffer]) {
        effectsReplaceRequest = true
        commandEffects.append(command)
    }

    /// `propagate` for a list of commands, possibly empty: an empty list records nothing for this call.
    func propagate(effects commands: [[ByteBuffer]]) {
        effectsReplaceRequest = true
        commandEffects.append(contentsOf: commands)
    }

    /// Records the running command's request with the argument at `position` replaced by `id` as its only effect
    /// (`propagate` must not be called for the same command).
    func propagateRequest(replacingArgumentAt position: Int, with id: StreamID) {
        assert(!effectsReplaceRequest, "a command records either effects or its request with an ID replaced")
        requestIDReplacement = RequestIDReplacement(position: position, id: id)
    }

    /// The running command's request goes to replicas (not to the append-only file) although it changes no data,
    /// as Redis propagates PUBLISH.
    func sendRequestToReplicas() {
        requestGoesToReplicas = isRecordingForReplicas
    }

    /// After a command ran for a client of `database`: emits its effects (wrapped in MULTI/EXEC when several) or,
    /// when it asked for none and `recordingRequest`, the request as sent.
    func commandFinished(request: [ByteBuffer], database: Int, recordingRequest: Bool) {
        if let replacement = requestIDReplacement {
            requestIDReplacement = nil
            emit(request, database: database, replacing: replacement)
        } else if effectsReplaceRequest {
            let wrapped = commandEffects.count > 1
            if wrapped { beginTransaction() }
            for effect in commandEffects { emit(effect, database: database) }
            if wrapped { endTransaction() }
            commandEffects.removeAll(keepingCapacity: true)
            effectsReplaceRequest = false
        } else if recordingRequest {
            emit(request, database: database)
        } else if requestGoesToReplicas {
            emit(request, database: database, replicasOnly: true)
        }
        requestGoesToReplicas = false
    }

    // MARK: Emitting

    /// Sends `arguments`, run against `database`, to every subscriber (at the transaction's end inside one); with
    /// `replicasOnly`, to the replicas' stream only; with `replacement`, one argument replaced by an ID.
    func emit(_ arguments: [ByteBuffer], database: Int, replicasOnly: Bool = false,
              replacing replacement: RequestIDReplacement? = nil) {
        guard isRecording else { return }
        let inTransaction = transactionDepth > 0
        if !replicasOnly && !fileStream.subscribers.isEmpty {
            fileStream.append(arguments, database: database, inTransaction: inTransaction, replacing: replacement)
            if !inTransaction { fileStream.handOver() }
        }
        if !replicaStream.subscribers.isEmpty {
            replicaStream.append(arguments, database: database, inTransaction: inTransaction,
                                 replacing: replacement)
            if !inTransaction { replicaStream.handOver() }
        }
    }

    func beginTransaction() {
        transactionDepth += 1
    }

    func endTransaction() {
        guard transactionDepth > 0 else { return }
        transactionDepth -= 1
        guard transactionDepth == 0 else { return }
        fileStream.closeTransaction()
        fileStream.handOver()
        replicaStream.closeTransaction()
        replicaStream.handOver()
    }
}
