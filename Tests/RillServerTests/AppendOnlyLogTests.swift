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
}
