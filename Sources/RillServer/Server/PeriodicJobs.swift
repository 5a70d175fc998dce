import NIOCore

/// The server's timed work (Redis' `serverCron`): active expiry, save points, scheduled background jobs, idle
/// clients and the like. Each job is registered once with how often it runs; the event loop ticks `hz` times a
/// second and each tick runs the jobs that are due, in the order they were registered.
///
/// Invariants: a job runs at most once per tick, and then only when at least its interval has passed since its
/// last run (a job with interval 0 runs on every tick); `lastRun` is the `now` it last ran at, 0 before.
final class PeriodicJobs {
    private struct Job {
        let name: String
        let intervalMilliseconds: Int64
        var lastRun: Int64 = 0
        let run: (_ now: Int64) -> Void
    }

    private var jobs: [Job] = []
    private var repeatedTask: RepeatedTask?

    /// Registers `run` to be called with the current Unix milliseconds every `intervalMilliseconds` (0: every tick).
    func add(_ name: String, everyMilliseconds intervalMilliseconds: Int64 = 0, _ run: @escaping (_ now: Int64) -> Void) {
        jobs.append(Job(name: name, intervalMilliseconds: intervalMilliseconds, run: run))
    }

    /// The jobs' names in the order they run (logs, tests).
    var names: [String] { jobs.map(\.name) }

    /// Runs every job that is due at `now`.
    func tick(now: Int64) {
        for index in jobs.indices where now - jobs[index].lastRun >= jobs[index].intervalMilliseconds {
            jobs[index].lastRun = now
            jobs[index].run(now)
        }
    }

    /// Ticks every `1000 / hz` milliseconds on `eventLoop` (the loop that owns the keyspace) until `stop`.
    func start(on eventLoop: any EventLoop, hz: Int, clock: @escaping () -> Int64) {
        let interval = Int64(max(1, 1000 / max(1, hz)))
        repeatedTask = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(interval),
                                                      delay: .milliseconds(interval)) { [weak self] _ in
            self?.tick(now: clock())
        }
    }

    func stop() {
        repeatedTask?.cancel()
        repeatedTask = nil
    }
}
