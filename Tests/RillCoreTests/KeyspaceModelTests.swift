import RillTestSupport
import Testing

@testable import RillCore

/// A deliberately simple model of one database: a dictionary of values with optional deadlines, where a key is
/// alive while `deadline >= now`. Every operation is written from Redis's documented behaviour, independently of the
/// real implementation's structure (no index, no lazy deletion, no sweep).
private struct ModelDatabase {
    enum Value: Equatable {
        case string([UInt8])
        case list([[UInt8]])
        case set(Set<[UInt8]>)
    }

    var entries: [[UInt8]: (value: Value, deadline: Int64?)] = [:]

    func live(_ key: [UInt8], _ now: Int64) -> (value: Value, deadline: Int64?)? {
        guard let entry = entries[key] else { return nil }
        if let deadline = entry.deadline, deadline < now { return nil }
        return entry
    }

    func liveKeys(_ now: Int64) -> Set<[UInt8]> {
        Set(entries.keys.filter { live($0, now) != nil })
    }
}

/// What an operation observably produced, compared between the model and the database.
private enum Outcome: Equatable {
    case error(KeyspaceError)
    case value(String)
}

private func describe(_ value: Any?) -> Outcome {
    .value(String(describing: value))
}

@Suite("Keyspace model comparison")
struct KeyspaceModelTests {
    @Test("random operations agree with a simple model", arguments: [11, 12, 13, 14, 15, 16])
    func randomOperations(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var database = Database()
        var model = ModelDatabase()
        var now: Int64 = 1_000_000
        let keys = (0..<8).map { Array("k\($0)".utf8) }
        let members = (0..<5).map { Array("m\($0)".utf8) }

        func randomKey() -> [UInt8] { keys.randomElement(using: &random)! }
        func randomMembers() -> [[UInt8]] {
            (0..<Int.random(in: 1...3, using: &random)).map { _ in members.randomElement(using: &random)! }
        }

        for step in 0..<4_000 {
            now += Int64.random(in: 0...3, using: &random)
            let key = randomKey()
            let actual: Outcome
            let expected: Outcome
            switch Int.random(in: 0..<17, using: &random) {
            case 0:  // SET with random NX/XX, GET, expiry
                let value = Array("v\(step)".utf8)
                let condition = [SetStringOptions.Condition.always, .ifAbsent, .ifPresent].randomElement(using: &random)!
                let ttl = Int64.random(in: -2...8, using: &random)
                let expiry: SetStringOptions.Expiry = ttl < 0 ? (ttl == -1 ? .remove : .keep) : .set(.relativeMilliseconds(ttl))
                let returnPrevious = Bool.random(using: &random)
                actual = Outcome(catching: {
                    try database.stringSet(value, forKey: key,
                        options: .init(condition: condition, expiry: expiry, returnPrevious: returnPrevious), nowMilliseconds: now)
                })
                expected = Outcome(catching: { () throws(KeyspaceError) -> SetStringResult in
                    if case .set(let time) = expiry, time.amount <= 0 { throw .invalidExpireTime(command: "set") }
                    let existing = model.live(key, now)
                    var previous: [UInt8]?
                    if returnPrevious, let existing {
                        guard case .string(let bytes) = existing.value else { throw .wrongType }
                        previous = bytes
                    }
                    if (condition == .ifAbsent && existing != nil) || (condition == .ifPresent && existing == nil) {
                        return SetStringResult(written: false, previous: previous)
                    }
                    var deadline: Int64?
                    switch expiry {
                    case .remove: deadline = nil
                    case .keep: deadline = existing?.deadline
                    case .set(let time): deadline = now + time.amount
                    }
                    model.entries[key] = (.string(value), deadline)
                    return SetStringResult(written: true, previous: previous)
                })
            case 1:  // GET
                actual = Outcome(catching: { try database.stringGet(key, nowMilliseconds: now) })
                expected = Outcome(catching: { () throws(KeyspaceError) -> [UInt8]? in
                    guard let entry = model.live(key, now) else { return nil }
                    guard case .string(let bytes) = entry.value else { throw .wrongType }
                    return bytes
                })
            case 2:  // INCRBY
                let increment = Int64.random(in: -5...5, using: &random)
                actual = Outcome(catching: { try database.stringIncrement(key, by: increment, nowMilliseconds: now) })
                expected = Outcome(catching: { () throws(KeyspaceError) -> Int64 in
                    guard let entry = model.live(key, now) else {
                        model.entries[key] = (.string(Array(String(increment).utf8)), nil)
                        return increment
                    }
                    guard case .string(let bytes) = entry.value else { throw .wrongType }
                    guard let current = Int64(String(decoding: bytes, as: UTF8.self)) else { throw .notAnInteger }
                    model.entries[key] = (.string(Array(String(current + increment).utf8)), entry.deadline)
                    return current + increment
                })
            case 3:  // LPUSH / RPUSH
                let elements = randomMembers()
                let end: ListEnd = Bool.random(using: &random) ? .head : .tail
                actual = Outcome(catching: { try database.listPush(elements, at: end, forKey: key, nowMilliseconds: now) })
                expected = Outcome(catching: { () throws(KeyspaceError) -> Int in
                    let entry = model.live(key, now)
                    var list: [[UInt8]] = []
                    if let entry {
                        guard case .list(let existing) = entry.value else { throw .wrongType }
                        list = existing
                    }
                    for element in elements {
                        if end == .head { list.insert(element, at: 0) } else { list.append(element) }
                    }
                    model.entries[key] = (.list(list), entry?.deadline)
                    return list.count
                })
            case 4:  // LPOP / RPOP with count
                let count = Int.random(in: 0...3, using: &random)
                let end: ListEnd = Bool.random(using: &random) ? .head : .tail
                actual = Outcome(catching: { try database.listPop(at: end, forKey: key, count: count, nowMilliseconds: now) })
                expected = Outcome(catching: { () throws(KeyspaceError) -> [[UInt8]]? in
                    guard let entry = model.live(key, now) else { return nil }
                    guard case .list(var list) = entry.value else { throw .wrongType }
                    var popped: [[UInt8]] = []
                    while popped.count < count, !list.isEmpty {
                        popped.append(end == .head ? list.removeFirst() : list.removeLast())
                    }
                    model.entries[key] = list.isEmpty ? nil : (.list(list), entry.deadline)
                    return popped
                })
            case 5:  // LRANGE
                let start = Int64.random(in: -6...6, using: &random)
                let stop = Int64.random(in: -6...6, using: &random)
                actual = Outcome(catching: { try database.listRange(forKey: key, start: start, stop: stop, nowMilliseconds: now) })
                expected = Outcome(catching: { () throws(KeyspaceError) -> [[UInt8]] in
                    guard let entry = model.live(key, now) else { return [] }
                    guard case .list(let list) = entry.value else { throw .wrongType }
                    let count = Int64(list.count)
                    let first = max(0, start < 0 ? count + start : start)
                    let last = min(count - 1, stop < 0 ? count + stop : stop)
                    return first > last ? [] : Array(list[Int(first)...Int(last)])
                })
            case 6:  // SADD / SREM
                let chosen = randomMembers()
                let adding = Bool.random(using: &random)
                actual = Outcome(catching: {
                    adding ? try database.setAdd(chosen, forKey: key, nowMilliseconds: now)
                        : try database.setRemove(chosen, forKey: key, nowMilliseconds: now)
                })
                expected = Outcome(catching: { () throws(KeyspaceError) -> Int in
                    let entry = model.live(key, now)
                    var set: Set<[UInt8]> = []
                    if let entry {
                        guard case .set(let existing) = entry.value else { throw .wrongType }
                        set = existing
                    } else if !adding {
                        return 0
                    }
                    let before = set.count
                    if adding { set.formUnion(chosen) } else { set.subtract(chosen) }
                    model.entries[key] = set.isEmpty ? nil : (.set(set), entry?.deadline)
                    return abs(set.count - before)
                })
            case 7:  // SMEMBERS
                // Sorted: set order depends on per-process hashing.
                actual = Outcome(catching: { try database.setMembers(forKey: key, nowMilliseconds: now).sorted { $0.lexicographicallyPrecedes($1) } })
                expected = Outcome(catching: { () throws(KeyspaceError) -> [[UInt8]] in
                    guard let entry = model.live(key, now) else { return [] }
                    guard case .set(let set) = entry.value else { throw .wrongType }
                    return set.sorted { $0.lexicographicallyPrecedes($1) }
                })
            case 8:  // DEL
                actual = describe(database.delete(key, nowMilliseconds: now))
                expected = describe(model.live(key, now) != nil)
                if model.live(key, now) != nil { model.entries[key] = nil }
            case 9:  // EXPIRE family with random options and times (past, present, future)
                let optionSets: [[String]] = [[], ["NX"], ["XX"], ["GT"], ["LT"], ["XX", "GT"], ["XX", "LT"]]
                let options = optionSets.randomElement(using: &random)!
                let condition = try ExpireCondition(parsing: options.map { Array($0.utf8) })
                let deadline = now + Int64.random(in: -3...10, using: &random)
                actual = describe(database.setExpiry(key, deadline: deadline, condition: condition, nowMilliseconds: now))
                let allowed: Bool
                if let entry = model.live(key, now) {
                    let current = entry.deadline
                    if options.contains("NX") && current != nil { allowed = false }
                    else if options.contains("XX") && current == nil { allowed = false }
                    else if options.contains("GT") && (current == nil || deadline <= current!) { allowed = false }
                    else if options.contains("LT") && current != nil && deadline >= current! { allowed = false }
                    else { allowed = true }
                    if allowed { model.entries[key] = deadline <= now ? nil : (entry.value, deadline) }
                } else {
                    allowed = false
                }
                expected = describe(allowed)
            case 10:  // PERSIST
                actual = describe(database.persist(key, nowMilliseconds: now))
                if let entry = model.live(key, now), entry.deadline != nil {
                    model.entries[key] = (entry.value, nil)
                    expected = describe(true)
                } else {
                    expected = describe(false)
                }
            case 11:  // PTTL
                actual = describe(database.expiry(ofKey: key, nowMilliseconds: now).reply(inMilliseconds: true, absolute: false, nowMilliseconds: now))
                let entry = model.live(key, now)
                expected = describe(entry == nil ? -2 : entry!.deadline.map { $0 - now } ?? -1)
            case 12:  // RENAME / RENAMENX
                let destination = randomKey()
                let onlyIfAbsent = Bool.random(using: &random)
                actual = Outcome(catching: {
                    onlyIfAbsent ? try database.renameIfAbsent(key, to: destination, nowMilliseconds: now)
                        : try { try database.rename(key, to: destination, nowMilliseconds: now); return true }()
                })
                expected = Outcome(catching: { () throws(KeyspaceError) -> Bool in
                    guard let entry = model.live(key, now) else { throw .noSuchKey }
                    if key == destination { return !onlyIfAbsent }
                    if onlyIfAbsent && model.live(destination, now) != nil { return false }
                    model.entries[key] = nil
                    model.entries[destination] = entry
                    return true
                })
            case 13:  // TYPE
                actual = describe(database.type(ofKey: key, nowMilliseconds: now))
                let type: ValueType? = model.live(key, now).map {
                    switch $0.value {
                    case .string: return .string
                    case .list: return .list
                    case .set: return .set
                    }
                }
                expected = describe(type)
            case 14:  // full SCAN with a random COUNT
                let count = Int.random(in: 1...5, using: &random)
                var cursor: UInt64 = 0
                var seen: Set<[UInt8]> = []
                repeat {
                    let step = database.scan(cursor: cursor, count: count, nowMilliseconds: now)
                    seen.formUnion(step.keys)
                    cursor = step.next
                } while cursor != 0
                actual = describe(seen.map { String(decoding: $0, as: UTF8.self) }.sorted())
                expected = describe(model.liveKeys(now).map { String(decoding: $0, as: UTF8.self) }.sorted())
            case 15:  // KEYS with a pattern
                let pattern = GlobPattern(Array(["*", "k[0-3]", "k?", "*[^5]"].randomElement(using: &random)!.utf8))
                actual = describe(database.keys(matching: pattern, nowMilliseconds: now).map { String(decoding: $0, as: UTF8.self) }.sorted())
                expected = describe(model.liveKeys(now).filter(pattern.matches).map { String(decoding: $0, as: UTF8.self) }.sorted())
            default:  // active expiry: never changes what is observable
                _ = database.removeExpiredKeys(nowMilliseconds: now, maxChecks: Int.random(in: 1...30, using: &random))
                actual = describe(database.count >= model.liveKeys(now).count)
                expected = describe(true)
            }
            #expect(actual == expected, "step \(step)")
            if actual != expected { return }
            database.validate()
            // Expired keys may linger, but never more than the model knows of.
            #expect(database.count <= model.entries.count)
        }
    }
}

extension Outcome {
    init<Result>(catching body: () throws -> Result) {
        do {
            self = .value(String(describing: try body()))
        } catch let error as KeyspaceError {
            self = .error(error)
        } catch {
            self = .value("unexpected error \(error)")
        }
    }
}
