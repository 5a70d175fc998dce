import NIOCore
import RillProtocol

/// COMMAND DOCS and the documentation parts of COMMAND INFO (tips, key specifications), in Redis' field order.
/// Maps and sets become flat arrays in RESP2 (the writer decides).
extension Command {
    /// This command's COMMAND DOCS value (the map after its name), rendered once per protocol version.
    func writeDocs(to reply: inout RESPWriter) {
        if let rendered = renderedDocs[reply.version] {
            reply.buffer.writeImmutableBuffer(rendered)
            return
        }
        var writer = RESPWriter(buffer: ByteBuffer(), version: reply.version)
        renderDocs(to: &writer)
        renderedDocs[reply.version] = writer.buffer
        reply.buffer.writeImmutableBuffer(writer.buffer)
    }

    private func renderDocs(to reply: inout RESPWriter) {
        let docs = documentation
        let fields = [
            true, true, true, docs?.complexity != nil, docs?.docFlags.isEmpty == false, docs?.deprecatedSince != nil,
            docs?.replacedBy != nil, docs?.history.isEmpty == false, docs?.arguments.isEmpty == false,
            !subcommands.isEmpty,
        ]
        reply.mapHeader(fields.filter { $0 }.count)
        reply.bulkString("summary"); reply.bulkString(docs?.summary ?? summary)
        reply.bulkString("since"); reply.bulkString(since)
        reply.bulkString("group"); reply.bulkString(group)
        if let complexity = docs?.complexity {
            reply.bulkString("complexity"); reply.bulkString(complexity)
        }
        if let docs, !docs.docFlags.isEmpty {
            reply.bulkString("doc_flags")
            reply.setHeader(docs.docFlags.count)
            for flag in docs.docFlags { reply.simpleString(flag.utf8) }
        }
        if let deprecatedSince = docs?.deprecatedSince {
            reply.bulkString("deprecated_since"); reply.bulkString(deprecatedSince)
        }
        if let replacedBy = docs?.replacedBy {
            reply.bulkString("replaced_by"); reply.bulkString(replacedBy)
        }
        if let docs, !docs.history.isEmpty {
            reply.bulkString("history")
            reply.setHeader(docs.history.count)
            for (version, change) in docs.history {
                reply.arrayHeader(2)
                reply.bulkString(version)
                reply.bulkString(change)
            }
        }
        if let docs, !docs.arguments.isEmpty {
            reply.bulkString("arguments")
            ArgumentDoc.write(docs.arguments, to: &reply)
        }
        if !subcommands.isEmpty {
            reply.bulkString("subcommands")
            reply.mapHeader(subcommands.count)
            for sub in subcommands {
                reply.bulkString(sub.name)
                sub.writeDocs(to: &reply)
            }
        }
    }

    /// COMMAND INFO's tips (a set of strings).
    func writeTips(to reply: inout RESPWriter) {
        let tips = documentation?.tips ?? []
        reply.setHeader(tips.count)
        for tip in tips { reply.bulkString(tip) }
    }

    /// COMMAND INFO's key specifications (a set in RESP3, as Redis sends them).
    func writeKeySpecs(to reply: inout RESPWriter) {
        let specs = documentation?.keySpecs ?? []
        reply.setHeader(specs.count)
        for spec in specs { spec.write(to: &reply) }
    }
}

extension ArgumentDoc {
    static func write(_ arguments: [ArgumentDoc], to reply: inout RESPWriter) {
        reply.arrayHeader(arguments.count)
        for argument in arguments { argument.write(to: &reply) }
    }

    private func write(to reply: inout RESPWriter) {
        let fields = [
            true, true, displayText != nil, keySpecIndex != nil, token != nil, summary != nil, since != nil,
            deprecatedSince != nil, !flags.isEmpty, !arguments.isEmpty,
        ]
        reply.mapHeader(fields.filter { $0 }.count)
        reply.bulkString("name"); reply.bulkString(name)
        reply.bulkString("type"); reply.bulkString(kind.rawValue)
        if let displayText { reply.bulkString("display_text"); reply.bulkString(displayText) }
        if let keySpecIndex { reply.bulkString("key_spec_index"); reply.integer(keySpecIndex) }
        if let token { reply.bulkString("token"); reply.bulkString(token) }
        if let summary { reply.bulkString("summary"); reply.bulkString(summary) }
        if let since { reply.bulkString("since"); reply.bulkString(since) }
        if let deprecatedSince { reply.bulkString("deprecated_since"); reply.bulkString(deprecatedSince) }
        if !flags.isEmpty {
            let names = Flags.names.filter { flags.contains($0.0) }
            reply.bulkString("flags")
            reply.setHeader(names.count)
            for (_, name) in names { reply.simpleString(name.utf8) }
        }
        if !arguments.isEmpty {
            reply.bulkString("arguments")
            ArgumentDoc.write(arguments, to: &reply)
        }
    }
}

extension KeySpec {
    /// COMMAND INFO's and COMMAND GETKEYSANDFLAGS' flag names (a set of status strings).
    static func writeFlags(_ flags: Flags, to reply: inout RESPWriter) {
        let names = Flags.names.filter { flags.contains($0.0) }
        reply.setHeader(names.count)
        for (_, name) in names { reply.simpleString(name.utf8) }
    }

    fileprivate func write(to reply: inout RESPWriter) {
        reply.mapHeader(notes == nil ? 3 : 4)
        if let notes { reply.bulkString("notes"); reply.bulkString(notes) }
        reply.bulkString("flags")
        KeySpec.writeFlags(flags, to: &reply)
        reply.bulkString("begin_search")
        reply.mapHeader(2)
        reply.bulkString("type")
        switch beginSearch {
        case .index(let index):
            reply.bulkString("index")
            reply.bulkString("spec"); reply.mapHeader(1)
            reply.bulkString("index"); reply.integer(index)
        case .keyword(let keyword, let startFrom):
            reply.bulkString("keyword")
            reply.bulkString("spec"); reply.mapHeader(2)
            reply.bulkString("keyword"); reply.bulkString(keyword)
            reply.bulkString("startfrom"); reply.integer(startFrom)
        case .unknown:
            reply.bulkString("unknown")
            reply.bulkString("spec"); reply.mapHeader(0)
        }
        reply.bulkString("find_keys")
        reply.mapHeader(2)
        reply.bulkString("type")
        switch findKeys {
        case .range(let lastKey, let step, let limit):
            reply.bulkString("range")
            reply.bulkString("spec"); reply.mapHeader(3)
            reply.bulkString("lastkey"); reply.integer(lastKey)
            reply.bulkString("keystep"); reply.integer(step)
            reply.bulkString("limit"); reply.integer(limit)
        case .keyNum(let keyNumIndex, let firstKey, let step):
            reply.bulkString("keynum")
            reply.bulkString("spec"); reply.mapHeader(3)
            reply.bulkString("keynumidx"); reply.integer(keyNumIndex)
            reply.bulkString("firstkey"); reply.integer(firstKey)
            reply.bulkString("keystep"); reply.integer(step)
        case .unknown:
            reply.bulkString("unknown")
            reply.bulkString("spec"); reply.mapHeader(0)
        }
    }
}
