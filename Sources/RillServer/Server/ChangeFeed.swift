import NIOCore
import RillPersistence

/// Receives what writes did, as commands encoded the way the append-only file stores them.
///
/// The append-only log is the first subscriber; replicas are the next. A subscriber always receives whole units: one
/// command's effects, or a whole MULTI/EXEC, never part of one.
protocol ChangeFeedSubscriber: AnyObject {
    func receive(_ commands: UnsafeRawBufferPointer)
}

/// The one place where writes become effects, as Redis' `alsoPropagate` / `propagatePendingCommands` are: it counts
/// changes, gathers the deterministic effects a command asks to record (see Commands/Propagation.swift), and once
/// the command is done encodes them once (a SELECT when the database differs from the last one sent, MULTI/EXEC
/// around several effects) and hands the bytes to every subscriber.
///
/// Invariants: bytes are handed over only outside a transaction (`transactionDepth == 0`), so `encoded` holds at
/// most one unfinished transaction; `selectedDatabase` is the database of the last SELECT every subscriber has
/// received, -1 when one subscribed since (its stream must start with a SELECT).
final class ChangeFeed {
    /// Changes since the last snapshot (INFO rdb_changes_since_last_save); saving subtracts what it saved.
    var dirty: Int64 = 0
    /// Changes since start-up, never reset (unlike `dirty`): tells whether a command changed anything.
    private(set) var changeCount: Int64 = 0
    /// Whether anyone consumes effects: handlers build effect commands only then.
    private(set) var isRecording = false
    private var subscribers: [any ChangeFeedSubscriber] = []

    /// The effects the running command asked to record instead of its request, in order.
    private var commandEffects: [[ByteBuffer]] = []
    /// Whether `commandEffects` replaces the request (even when empty: the call changed nothing worth recording);
    /// false when the request is deterministic and is recorded as sent.
    private var effectsReplaceRequest = false

    /// Commands encoded but not yet handed to the subscribers: the open transaction's, between handovers.
    private var encoded = AppendOnlyFileWriter()
    private var selectedDatabase = -1
    /// Open `beginTransaction` calls: EXEC wraps its commands, and a command with several effects inside EXEC
    /// adds no second MULTI.
    private var transactionDepth = 0
    /// Whether MULTI was encoded for the open transaction: it is written before the first command the
    /// transaction records, so a transaction that changed nothing records nothing.
    private var transactionOpened = false

    // MARK: Subscribers

    func subscribe(_ subscriber: any ChangeFeedSubscriber) {
        subscribers.append(subscriber)
        isRecording = true
        // The new subscriber has seen no SELECT.
        selectedDatabase = -1
    }

    /// Removes `subscriber` after handing it the end of an open transaction, so what it received is complete.
    func unsubscribe(_ subscriber: any ChangeFeedSubscriber) {
        guard let index = subscribers.firstIndex(where: { $0 === subscriber }) else { return }
        if transactionOpened {
            encoded.appendCommand(["EXEC"])
            transactionOpened = false
            handOver()
        }
        subscribers.remove(at: index)
        isRecording = !subscribers.isEmpty
    }

    // MARK: Counting

    /// A write changed the data (or `count` keys of it).
    @inline(__always)
    func recordChange(_ count: Int64 = 1) {
        dirty += count
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

    /// After a command ran for a client of `database`: emits its effects (wrapped in MULTI/EXEC when several) or,
    /// when it asked for none and `recordingRequest`, the request as sent.
    func commandFinished(request: [ByteBuffer], database: Int, recordingRequest: Bool) {
        if effectsReplaceRequest {
            let wrapped = commandEffects.count > 1
            if wrapped { beginTransaction() }
            for effect in commandEffects { emit(effect, database: database) }
            if wrapped { endTransaction() }
            commandEffects.removeAll(keepingCapacity: true)
            effectsReplaceRequest = false
        } else if recordingRequest {
            emit(request, database: database)
        }
    }

    // MARK: Emitting

    /// Sends `arguments`, run against `database`, to every subscriber (at the transaction's end inside one).
    func emit(_ arguments: [ByteBuffer], database: Int) {
        guard isRecording else { return }
        if transactionDepth > 0 && !transactionOpened {
            transactionOpened = true
            encoded.appendCommand(["MULTI"])
        }
        if database != selectedDatabase {
            selectedDatabase = database
            encoded.appendCommand(["SELECT", String(database)])
        }
        encoded.appendArrayHeader(arguments.count)
        for argument in arguments { argument.withUnsafeReadableBytes { encoded.appendArgument($0) } }
        if transactionDepth == 0 { handOver() }
    }

    func beginTransaction() {
        transactionDepth += 1
    }

    func endTransaction() {
        guard transactionDepth > 0 else { return }
        transactionDepth -= 1
        guard transactionDepth == 0 else { return }
        if transactionOpened {
            encoded.appendCommand(["EXEC"])
            transactionOpened = false
        }
        handOver()
    }

    private func handOver() {
        guard !encoded.isEmpty else { return }
        encoded.bytes.withUnsafeBytes { bytes in
            for subscriber in subscribers { subscriber.receive(bytes) }
        }
        encoded.removeAll()
    }
}
