import NIOCore
import RillProtocol
import Testing
@testable import RillServer


private let table = CommandTable(CommandCatalog.all)
private let rows = table.commands.flatMap { [$0] + $0.subcommands }

private func arguments(_ words: String) -> [ByteBuffer] {
    words.split(separator: " ").map { ByteBuffer(string: String($0)) }
}

private func keys(_ name: String, _ words: String) -> [String]? {
    let command = rows.first { $0.name == name }!  // the tests name commands of the table
    return KeySpec.keyPositions(command.documentation!.keySpecs, in: arguments(words), arity: command.arity)?
        .map { String(buffer: arguments(words)[$0.position]) }
}

@Suite("Command documentation")
struct CommandDocumentationTests {
    @Test func everyRowIsDocumented() {
        let undocumented = rows.filter { $0.documentation == nil }.map(\.name)
        #expect(undocumented == [])
    }

    @Test func everyDocumentationEntryHasARow() {
        let names = Set(rows.map(\.name))
        let orphans = CommandDocumentation.table.keys.filter { !names.contains($0) }
        #expect(orphans.sorted() == [])
    }

    @Test func legacyKeyRangeAndMovableKeysFollowFromTheKeySpecs() {
        for row in rows {
            let range = KeySpec.legacyRange(of: row.documentation?.keySpecs ?? [])
            #expect((range.first, range.last, range.step) == (row.firstKey, row.lastKey, row.keyStep), "\(row.name)")
            #expect(range.movable == row.flags.contains(.movableKeys), "\(row.name)")
        }
        // Several adjacent single-key specs make one range (RENAME's source and destination).
        let rename = KeySpec.legacyRange(of: [.single([.rw, .access, .delete], at: 1), .single([.ow, .update], at: 2)])
        #expect((rename.first, rename.last, rename.step, rename.movable) == (1, 2, 1, false))
        let xread = KeySpec.legacyRange(of: [KeySpec([.ro], .keyword("STREAMS", startFrom: 1),
                                                     .range(lastKey: -1, step: 1, limit: 2))])
        #expect((xread.first, xread.last, xread.step, xread.movable) == (0, 0, 0, true))
    }

    @Test func keyArgumentsReferToKeySpecs() {
        func keyIndexes(_ arguments: [ArgumentDoc]) -> [Int?] {
            arguments.flatMap { argument in
                (argument.kind == .key ? [argument.keySpecIndex] : []) + keyIndexes(argument.arguments)
            }
        }
        for (name, docs) in CommandDocumentation.table {
            let indexes = keyIndexes(docs.arguments)
            #expect(indexes.allSatisfy { $0 != nil && $0! < docs.keySpecs.count }, "\(name)")
            // A spec no key argument names is for a name that is not a key but picks the cluster slot (SSUBSCRIBE's
            // shard channels, documented by Redis as strings).
            let unreferenced = Set(docs.keySpecs.indices).subtracting(indexes.compactMap { $0 })
            #expect(unreferenced.allSatisfy { docs.keySpecs[$0].flags.contains(.notKey) }, "\(name)")
        }
    }

    @Test func keysAreFoundByTheSpecs() {
        #expect(keys("xread", "xread count 1 streams a b 0 0") == ["a", "b"])
        // Half of what follows STREAMS are keys, rounded down.
        #expect(keys("xread", "xread streams a b c") == ["a"])
        #expect(keys("xread", "xread streams") == nil)
        #expect(keys("xread", "xread count 1 block 0") == [])
        #expect(keys("xreadgroup", "xreadgroup group streams c streams a 0") == ["a"])
        #expect(keys("rename", "rename a b") == ["a", "b"])
        #expect(keys("del", "del a b c") == ["a", "b", "c"])
        #expect(keys("xinfo|stream", "xinfo stream s full") == ["s"])
    }

    @Test func keysCountedByAnArgumentAreFound() {
        let lmpop = CommandDocumentation.table["lmpop"]!  // documented above
        func found(_ words: String) -> [String]? {
            KeySpec.keyPositions(lmpop.keySpecs, in: arguments(words), arity: -4)?
                .map { String(buffer: arguments(words)[$0.position]) }
        }
        #expect(found("lmpop 2 a b left") == ["a", "b"])
        #expect(found("lmpop 3 a b left") == ["a", "b", "left"])
        #expect(found("lmpop 4 a b left") == nil)
        #expect(found("lmpop 0 a left") == nil)
        #expect(found("lmpop x a left") == nil)
    }

    @Test func docsAreRenderedOnceAndReusedPerProtocol() {
        let xadd = table.lookup("xadd")!  // in the catalog
        var first = RESPWriter(buffer: ByteBuffer(), version: .v3)
        xadd.writeDocs(to: &first)
        var second = RESPWriter(buffer: ByteBuffer(), version: .v3)
        xadd.writeDocs(to: &second)
        #expect(first.buffer == second.buffer)
        var resp2 = RESPWriter(buffer: ByteBuffer(), version: .v2)
        xadd.writeDocs(to: &resp2)
        #expect(resp2.buffer != first.buffer)
        #expect(Set(xadd.renderedDocs.keys) == [.v2, .v3])
    }
}
