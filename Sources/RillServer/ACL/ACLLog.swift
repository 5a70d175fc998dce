import Collections

/// ACL LOG: the latest refusals (a command, key or channel denied, a failed AUTH), newest first, at most
/// `acllog-max-len`. A refusal like a recent one (same reason, context, object and user, within a minute of its
/// last update) counts on that entry instead of adding one, as Redis groups them.
final class ACLLog {
    struct Entry {
        /// Times the refusal happened while grouped into this entry; 1 when added.
        var count = 1
        /// "command", "key", "channel" or "auth".
        let reason: String
        /// "toplevel", or "multi" for a command refused when EXEC ran it.
        let context: String
        /// The command's full name, the key, the channel, or "auth".
        let object: String
        let username: String
        /// The CLIENT INFO line of the client refused last.
        var clientInfo: String
        /// Increasing from 0 over the server's life, also across ACL LOG RESET.
        let entryID: Int64
        /// Unix milliseconds of the first and the latest refusal grouped here.
        let createdAt: Int64
        var updatedAt: Int64
    }

    /// Newest first.
    private(set) var entries: Deque<Entry> = []
    private var nextEntryID: Int64 = 0
    /// Redis groups refusals less than this many milliseconds after an entry's last update.
    static let groupingWindowMilliseconds: Int64 = 60_000

    func add(reason: String, context: String, object: String, username: String, clientInfo: String, now: Int64,
             maxLength: Int) {
        if let index = entries.firstIndex(where: {
            $0.reason == reason && $0.context == context && $0.object == object && $0.username == username
                && now - $0.updatedAt < Self.groupingWindowMilliseconds
        }) {
            var entry = entries.remove(at: index)
            entry.count += 1
            entry.updatedAt = now
            entry.clientInfo = clientInfo
            entries.prepend(entry)
        } else {
            entries.prepend(Entry(reason: reason, context: context, object: object, username: username,
                                  clientInfo: clientInfo, entryID: nextEntryID, createdAt: now, updatedAt: now))
            nextEntryID += 1
        }
        trim(to: maxLength)
    }

    func trim(to maxLength: Int) {
        while entries.count > maxLength { entries.removeLast() }
    }

    func reset() {
        entries.removeAll()
    }
}
