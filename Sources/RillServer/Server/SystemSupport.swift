// The server's calls into the C library, in one file: small replacements for the few Foundation conveniences it
// used (Thread, String(format:), DateFormatter), so it links FoundationEssentials only (full Foundation pulls in
// ICU, whose code and data were a third of the idle server's resident memory and part of its start-up time); the
// file calls of persistence; and what INFO reports about the process.
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
    systemErrorText(errno)
}

/// The C library's text for the errno `code` ("No space left on device").
func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// The whole content of the file at `path`; nil with `errno` set when it cannot be read.
func readWholeFile(atPath path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        bytes.append(contentsOf: chunk[0..<count])
        if count < chunk.count {
            if ferror(file) != 0 { return nil }
            return bytes
        }
    }
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

/// Why the file at `path` cannot be opened for reading, or nil when it can.
func openingError(atPath path: String) -> String? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return lastSystemErrorText() }
    close(descriptor)
    return nil
}

/// Ends the process at once with `status` (a write the disk refused under `appendfsync always`).
func exitProcess(_ status: Int32) -> Never {
    exit(status)
}

// MARK: The process

/// What INFO reports about the process and the machine.
enum ProcessFacts {
    static var processID: Int32 { getpid() }

    /// "Linux 6.1.0 x86_64", as `uname -srm` prints it (INFO os).
    static let operatingSystem: String = {
        var name = utsname()
        uname(&name)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(name.sysname)) \(text(name.release)) \(text(name.machine))"
    }()

    /// CPU seconds the process has used in the kernel and in user space (INFO used_cpu_sys, used_cpu_user).
    static func cpuSeconds() -> (system: Double, user: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return (seconds(usage.ru_stime), seconds(usage.ru_utime))
    }

    /// CPU seconds of the calling thread (INFO used_cpu_*_main_thread, asked on the event loop that runs every
    /// command); the process' figures where the system has no per-thread usage.
    static func mainThreadCPUSeconds() -> (system: Double, user: Double) {
        #if os(Linux)
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return (seconds(usage.ru_stime), seconds(usage.ru_utime))
        #else
        return cpuSeconds()
        #endif
    }

    /// Bytes of physical memory of the machine (INFO total_system_memory).
    static func physicalMemory() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Resident set size from /proc (Linux), 0 where unavailable.
    static func residentSetSize() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
