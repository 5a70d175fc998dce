import Dispatch
import Testing
@testable import RillServer

@Suite struct SystemSupportTests {
    @Test func fixedPointTextPrintsLikePrintf() {
        #expect(fixedPointText(0, fractionDigits: 6) == "0.000000")
        #expect(fixedPointText(0.005971, fractionDigits: 6) == "0.005971")
        #expect(fixedPointText(1.5, fractionDigits: 2) == "1.50")
        #expect(fixedPointText(999.999, fractionDigits: 2) == "1000.00")
        #expect(fixedPointText(3.0, fractionDigits: 0) == "3")
        #expect(fixedPointText(-2.25, fractionDigits: 1) == "-2.3")
        #expect(fixedPointText(1_048_576.0 / 1_048_576, fractionDigits: 2) == "1.00")
    }

    @Test func logTimestampHasRedisLayout() {
        // "23 Nov 2026 15:03:36.123"
        let parts = logTimestamp().split(separator: " ")
        #expect(parts.count == 4)
        #expect(parts[0].count == 2 && Int(parts[0]) != nil)
        #expect(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].contains(String(parts[1])))
        #expect(parts[2].count == 4 && Int(parts[2]) != nil)
        let clock = parts[3].split(separator: ".")
        #expect(clock.count == 2 && clock[1].count == 3 && clock[0].split(separator: ":").count == 3)
    }

    @Test func detachedThreadRuns() {
        // A thread that never runs fails the test after the timeout instead of hanging the suite.
        let ran = DispatchSemaphore(value: 0)
        startDetachedThread { ran.signal() }
        #expect(ran.wait(timeout: .now() + 10) == .success)
    }
}
