/// Failures of stream operations, each mapping to the exact error line Redis 7.0.15 replies with.
///
/// `redisMessage` is the error text without the RESP `-` marker (e.g. `"ERR Invalid stream ID ..."`).
public enum StreamError: Error, Sendable, Hashable {
    /// An ID argument could not be parsed (also `-`/`+` where only a concrete ID is allowed).
    case invalidID
    /// An exclusive range start `(ID` named the largest possible ID, so nothing can follow it.
    case invalidStartOfInterval
    /// An exclusive range end `(ID` named 0-0, so nothing can precede it.
    case invalidEndOfInterval
    /// XADD was given an ID that is not greater than the stream's last generated ID
    /// (also `ms-*` when the sequence for that millisecond is exhausted; see `Stream.append`).
    case idNotGreaterThanTop
    /// XADD was given the explicit ID 0-0.
    case idZero
    /// The stream's last generated ID is the maximum possible ID; nothing can be added.
    case exhausted
    /// The field and value bytes of one entry exceed the 1 GiB listpack limit Redis enforces.
    case elementsTooLarge
    /// XSETID: the new last ID is smaller than the newest live entry.
    case setIDSmallerThanTopItem
    /// XSETID: ENTRIESADDED is smaller than the number of live entries.
    case setIDEntriesAddedSmallerThanLength
    /// XSETID: the new last ID is smaller than the MAXDELETEDID given with it.
    case setIDSmallerThanMaxDeletedID

    /// The error line Redis sends for this failure (checked against redis-server 7.0.15).
    public var redisMessage: String {
        switch self {
        case .invalidID: return "ERR Invalid stream ID specified as stream command argument"
        case .invalidStartOfInterval: return "ERR invalid start ID for the interval"
        case .invalidEndOfInterval: return "ERR invalid end ID for the interval"
        case .idNotGreaterThanTop:
            return "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        case .idZero: return "ERR The ID specified in XADD must be greater than 0-0"
        case .exhausted: return "ERR The stream has exhausted the last possible ID, unable to add more items"
        case .elementsTooLarge: return "ERR Elements are too large to be stored"
        case .setIDSmallerThanTopItem: return "ERR The ID specified in XSETID is smaller than the target stream top item"
        case .setIDEntriesAddedSmallerThanLength:
            return "ERR The entries_added specified in XSETID is smaller than the target stream length"
        case .setIDSmallerThanMaxDeletedID:
            return "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
        }
    }
}
