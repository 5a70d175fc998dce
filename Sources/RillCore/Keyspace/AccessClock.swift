/// The clock of key access times: Unix seconds modulo 2^24, the resolution and width of Redis' per-object LRU field,
/// so OBJECT IDLETIME, DEBUG OBJECT's `lru` and RESTORE's IDLETIME behave as in Redis. The clock wraps every 194
/// days; an idle time across the wrap is still right (once), as in Redis.
public enum AccessClock {
    /// The largest reading (Redis' LRU_CLOCK_MAX).
    public static let maximum: UInt32 = (1 << 24) - 1

    /// The reading at Unix time `milliseconds`.
    @inline(__always)
    public static func reading(atMilliseconds milliseconds: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: (milliseconds / 1000) & Int64(maximum))
    }

    /// Milliseconds since `lastAccess` at Unix time `nowMilliseconds`, as Redis estimates an object's idle time.
    public static func idleMilliseconds(since lastAccess: UInt32, nowMilliseconds: Int64) -> Int64 {
        let now = reading(atMilliseconds: nowMilliseconds)
        let seconds = now >= lastAccess ? Int64(now - lastAccess) : Int64(now) + Int64(maximum - lastAccess)
        return seconds * 1000
    }

    /// The reading of a key RESTOREd with IDLETIME `idleSeconds` at `nowMilliseconds`. An idle time longer than
    /// the clock's reading lands half a cycle ahead of now, as Redis places it.
    public static func reading(idleSeconds: Int64, nowMilliseconds: Int64) -> UInt32 {
        let now = Int64(reading(atMilliseconds: nowMilliseconds))
        let absolute = now - idleSeconds
        if absolute >= 0 { return UInt32(absolute) }
        return UInt32((now + Int64(maximum / 2)) % Int64(maximum))
    }
}
