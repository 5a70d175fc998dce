#if !RILL_NO_JEMALLOC
import CJemalloc
#endif
#if canImport(Glibc)
import Glibc
#endif

/// jemalloc's own figures for MEMORY STATS, MEMORY MALLOC-STATS, MEMORY PURGE, MEMORY DOCTOR and INFO memory.
extension Allocator {
    /// One reading of jemalloc's global statistics, in bytes.
    struct Figures {
        /// Bytes the application holds (`stats.allocated`; INFO used_memory).
        var allocated = 0
        /// Bytes in pages with at least one allocation (`stats.active`).
        var active = 0
        /// Bytes of physically resident pages the allocator maps (`stats.resident`).
        var resident = 0
        /// Bytes of virtual memory kept mapped but returned to the system (`stats.retained`).
        var retained = 0
        /// Bytes of allocator metadata (`stats.metadata`).
        var metadata = 0
        /// Bytes of pages purged lazily (MADV_FREE), still counted as resident until reclaimed (`pmuzzy` pages).
        var muzzy = 0
    }

    /// Bytes allocated when the server started (MEMORY STATS startup.allocated): read once at start-up.
    static let startupAllocated = statistics().allocated

    #if RILL_NO_JEMALLOC
    /// What the build without jemalloc can tell: allocated and resident bytes (see `statistics()`).
    static func figures() -> Figures {
        let (allocated, resident) = statistics()
        return Figures(allocated: allocated, active: allocated, resident: resident)
    }

    /// No jemalloc arenas to purge in this build.
    @discardableResult
    static func purge() -> Bool { false }

    static func report() -> String {
        "This build leaves jemalloc out (RILL_NO_JEMALLOC): no allocator statistics report.\n"
    }
    #else
    /// The current figures, refreshed first (jemalloc caches them until the epoch advances).
    static func figures() -> Figures {
        var figures = Figures()
        figures.allocated = statistics().allocated
        figures.active = read("stats.active")
        figures.resident = read("stats.resident")
        figures.retained = read("stats.retained")
        figures.metadata = read("stats.metadata")
        let pageSize = read("arenas.page")
        figures.muzzy = read("stats.arenas.\(MALLCTL_ARENAS_ALL).pmuzzy") * pageSize
        return figures
    }

    /// Returns dirty and muzzy pages of every arena to the system (MEMORY PURGE). Returns whether jemalloc accepted.
    @discardableResult
    static func purge() -> Bool {
        mallctl("arena.\(MALLCTL_ARENAS_ALL).purge", nil, nil, nil, 0) == 0
    }

    /// jemalloc's human-readable report (`malloc_stats_print`), as MEMORY MALLOC-STATS answers it.
    static func report() -> String {
        final class Collector { var text: [UInt8] = [] }
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        withExtendedLifetime(collector) {
            malloc_stats_print({ context, message in
                guard let context, let message else { return }
                let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
                let length = strlen(message)
                message.withMemoryRebound(to: UInt8.self, capacity: length) {
                    collector.text.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                }
            }, context, nil)
        }
        return String(decoding: collector.text, as: UTF8.self)
    }
    #endif
}
