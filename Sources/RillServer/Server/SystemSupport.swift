// Small replacements for the few Foundation conveniences the server used (Thread, String(format:),
// DateFormatter), so it links FoundationEssentials only: full Foundation pulls in ICU, whose code and data were
// a third of the idle server's resident memory and part of its start-up time.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `value` in fixed-point notation with `fractionDigits` digits after the point, rounded half away from zero
/// ("%.2f" of printf for the finite values INFO and the log print).
func fixedPointText(_ value: Double, fractionDigits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale: Double = 1
    for _ in 0..<fractionDigits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9e18 else { return "\(value)" }
    let units = UInt64(scaled)
    let factor = UInt64(scale)
    let sign = value < 0 && units > 0 ? "-" : ""
    guard fractionDigits > 0 else { return sign + String(units) }
    let fraction = String(units % factor)
    return sign + String(units / factor) + "." + String(repeating: "0", count: fractionDigits - fraction.count) + fraction
}

/// Runs `body` on a new detached thread (the snapshot writer, the everysec fsync loop).
func startDetachedThread(_ body: @escaping () -> Void) {
    final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    let work = Unmanaged.passRetained(Work(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { argument in
        // The argument is the retained Work passed below.
        Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue().body()
        return nil
    }, work)
    precondition(result == 0, "pthread_create failed: \(String(cString: strerror(result)))")
    pthread_detach(thread)
}

/// Local time as Redis writes it in log lines: "23 Nov 2026 15:03:36.123".
func logTimestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    localtime_r(&seconds, &parts)
    var buffer = [CChar](repeating: 0, count: 64)
    // The process never calls setlocale, so %b is the C locale's English month abbreviation.
    let length = strftime(&buffer, buffer.count, "%d %b %Y %H:%M:%S", &parts)
    let milliseconds = String(now.tv_nsec / 1_000_000)
    let text = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text + "." + String(repeating: "0", count: 3 - milliseconds.count) + milliseconds
}

// MARK: Files
//
// The few libc file calls persistence makes, here so that the files deciding what to write read as Swift and
// report errors one way.

/// The text of the last system error (`strerror(errno)`), as Redis puts it in its log lines.
func lastSystemErrorText() -> String {
    String(cString: strerror(errno))
}

/// Size of the file at `path` in bytes; 0 when it cannot be read.
func fileSize(atPath path: String) -> Int64 {
    var status = stat()
    return stat(path, &status) == 0 ? Int64(status.st_size) : 0
}

/// Deletes the file at `path`. A file already gone is not an error. Returns the error text on failure.
@discardableResult
func removeFile(atPath path: String) -> String? {
    unlink(path) == 0 || errno == ENOENT ? nil : lastSystemErrorText()
}

/// Cuts the file at `path` to `length` bytes. Returns the error text on failure.
func truncateFile(atPath path: String, toLength length: Int) -> String? {
    truncate(path, off_t(length)) == 0 ? nil : lastSystemErrorText()
}

/// Ends the process at once with `status` (a write the disk refused under `appendfsync always`).
func exitProcess(_ status: Int32) -> Never {
    exit(status)
}
