/// Failures of stream operations. Each case is one error line of Redis 7.0.15; the server words them
/// (RillServer's `CoreErrorReplies.swift`).
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
    /// XSETID: the new last ID is smaller than the stream's largest deleted ID.
    case setIDSmallerThanCurrentMaxDeletedID
}
