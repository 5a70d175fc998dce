import NIOCore
import RillProtocol
import Testing
@testable import RillServer

/// MAXCOUNT/MAXSIZE bookkeeping for XREAD/XREADGROUP replies (end-to-end behaviour: Tests/python/test_read_caps.py).
@Suite("ReadReplyBudget")
struct ReadReplyBudgetTests {
    /// Offers `budget` one "entry" per size, each exactly that many bytes as it measures them; whether each went in.
    private func offer(_ budget: inout ReadReplyBudget, _ sizes: [Int]) -> [Bool] {
        sizes.map { size in budget.admit { writer in writer.buffer.writeRepeatingByte(0x61, count: size) } }
    }

    @Test func withoutCapsEverythingIsAdmitted() {
        var budget = ReadReplyBudget(ReadReplyCaps())
        #expect(!budget.isActive)
        #expect(budget.entryLimit(count: 0) == .max)
        #expect(budget.entryLimit(count: 7) == 7)
        let admitted = offer(&budget, Array(repeating: 1 << 16, count: 100))
        #expect(admitted.allSatisfy { $0 })
        #expect(!budget.isExhausted)
    }

    @Test func maxCountIsSharedAndEndsTheReplyWhenReached() {
        var budget = ReadReplyBudget(ReadReplyCaps(maximumEntries: 3))
        #expect(budget.isActive)
        #expect(budget.entryLimit(count: 2) == 2)
        #expect(offer(&budget, [10, 10]) == [true, true])
        #expect(budget.entryLimit(count: 2) == 1)
        #expect(budget.entryLimit(count: 0) == 1)
        #expect(offer(&budget, [10]) == [true])
        #expect(budget.isExhausted)
        #expect(offer(&budget, [10]) == [false])
    }

    @Test func maxSizeLeavesOutTheEntryThatWouldCrossIt() {
        var budget = ReadReplyBudget(ReadReplyCaps(maximumBytes: 100))
        // Once one entry is refused, smaller later ones are refused too: the reply ends there.
        #expect(offer(&budget, [60, 40, 1, 0]) == [true, true, false, false])
        #expect(budget.isExhausted)
    }

    @Test func maxSizeStillAdmitsAFirstEntryLargerThanIt() {
        var budget = ReadReplyBudget(ReadReplyCaps(maximumBytes: 5))
        #expect(offer(&budget, [500, 1]) == [true, false])
    }
}
