#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
@testable import RillServer

@Suite struct AppendOnlyLogTests {
    private static let command = Array("*1\r\n$4\r\nPING\r\n".utf8)

    /// /dev/full refuses every write with ENOSPC, as a full disk does: the bytes must stay pending for the retry.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func failedWriteKeepsTheBytesAndNamesTheSystemError() throws {
        let log = try AppendOnlyLog(path: "/dev/full", directory: "/dev")
        Self.command.withUnsafeBytes { log.receive($0) }
        for _ in 0..<2 {
            do {
                try log.flush(fsync: false)
                Issue.record("a write to /dev/full succeeded")
            } catch {
                #expect(error.systemError == ENOSPC)
                #expect(error.description == "Error writing to the AOF file: \(systemErrorText(ENOSPC))")
            }
            #expect(log.pendingByteCount == Self.command.count)
        }
    }

    @Test func successfulFlushAppendsEveryPendingByteOnce() throws {
        let directory = NSTemporaryDirectory() + "rill-aof-log-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/incr.aof"
        let log = try AppendOnlyLog(path: path, directory: directory)
        Self.command.withUnsafeBytes { log.receive($0) }
        try log.flush(fsync: true)
        #expect(!log.hasPendingBytes)
        try log.flush(fsync: true)
        Self.command.withUnsafeBytes { log.receive($0) }
        try log.flush(fsync: false)
        #expect(FileManager.default.contents(atPath: path) == Data(Self.command + Self.command))
    }

    /// `appendfsync always` off the loop: bytes written before the worker's fsync are committed when it returns,
    /// those received meanwhile stay pending; a flush on the loop commits everything, and a worker fsync that
    /// returns after it commits nothing twice.
    @Test func workerFsyncCommitsWhatWasWrittenBeforeIt() throws {
        let directory = NSTemporaryDirectory() + "rill-aof-log-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/incr.aof"
        let log = try AppendOnlyLog(path: path, directory: directory)
        defer { log.stopBackgroundSync() }
        let size = Int64(Self.command.count)

        func fsyncOnWorker() -> Int32? {
            let returned = DispatchSemaphore(value: 0)
            var result: Int32? = -1
            log.fsyncOnWorker { failure in
                result = failure
                returned.signal()
            }
            returned.wait()
            return result
        }

        Self.command.withUnsafeBytes { log.receive($0) }
        try log.writeUnwrittenBytes()
        let end = log.receivedEnd
        let failures = log.writeFailureCount
        Self.command.withUnsafeBytes { log.receive($0) }  // arrives while the fsync runs
        #expect(fsyncOnWorker() == nil)
        log.fsyncSucceeded(coveringUpTo: end, failuresBefore: failures)
        #expect(log.committedSize == size)
        #expect(log.pendingByteCount == Self.command.count)
        #expect(FileManager.default.contents(atPath: path) == Data(Self.command))

        try log.writeUnwrittenBytes()
        let secondEnd = log.receivedEnd
        try log.flush(fsync: true)
        #expect(fsyncOnWorker() == nil)
        log.fsyncSucceeded(coveringUpTo: secondEnd, failuresBefore: log.writeFailureCount)
        #expect(log.committedSize == 2 * size && !log.hasPendingBytes)
        #expect(FileManager.default.contents(atPath: path) == Data(Self.command + Self.command))
    }
}
