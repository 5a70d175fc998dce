import Foundation
import Testing
@testable import RillServer

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsMatchRedis() {
        let configuration = ServerConfiguration()
        #expect(configuration.port == 6379)
        #expect(configuration.bindAddresses == ["127.0.0.1"])
        #expect(configuration.databases == 16)
        #expect(configuration.streamNodeLimits.maxBytes == 4096)
        #expect(configuration.streamNodeLimits.maxEntries == 100)
        #expect(configuration.protoMaxBulkLength == 512 * 1024 * 1024)
        #expect(configuration.autoRewritePercentage == 100)
        #expect(configuration.autoRewriteMinimumSize == 64 * 1024 * 1024)
        #expect(configuration.appendOnlyManifestPath == "./appendonlydir/appendonly.aof.manifest")
    }

    @Test func commandLineOverridesTheFile() throws {
        let file = try temporaryFile("port 7000\ndatabases 4\n# a comment\n\nloglevel warning\n")
        let (configuration, origin) = try ConfigLoader.load(commandLine: [file, "--port", "7001", "--hz", "20"])
        #expect(origin == file)
        #expect(configuration.port == 7001)
        #expect(configuration.databases == 4)
        #expect(configuration.hz == 20)
        #expect(configuration.logLevel == .warning)
    }

    @Test func memoryUnitsAreParsedAsRedisDoes() throws {
        var configuration = ServerConfiguration()
        try configuration.set("stream-node-max-bytes", ["4kb"])
        #expect(configuration.streamNodeLimits.maxBytes == 4096)
        try configuration.set("stream-node-max-bytes", ["4k"])
        #expect(configuration.streamNodeLimits.maxBytes == 4000)
        try configuration.set("proto-max-bulk-len", ["2mb"])
        #expect(configuration.protoMaxBulkLength == 2 * 1024 * 1024)
        #expect(throws: ConfigError.self) { try configuration.set("stream-node-max-bytes", ["lots"]) }
    }

    @Test func unknownDirectiveNamesFileLineAndDirective() throws {
        let file = try temporaryFile("port 7000\nmaxmemmory 10mb\n")
        do {
            _ = try ConfigLoader.load(commandLine: [file])
            Issue.record("an unknown directive must stop start-up")
        } catch {
            #expect(error.description.contains("at line 2"))
            #expect(error.description.contains("maxmemmory"))
            #expect(error.description.contains(file))
        }
    }

    @Test func badValueIsRejectedWithTheDirectiveNamed() throws {
        do {
            _ = try ConfigLoader.load(commandLine: ["--port", "99999"])
            Issue.record("an out of range port must stop start-up")
        } catch {
            #expect(error.description.contains("'port'"))
            #expect(error.description.contains("command line"))
        }
    }

    @Test func quotedEmptyArgumentsAreAccepted() throws {
        let file = try temporaryFile("requirepass \"\"\nsave \"\"\nlogfile ''\n")
        let (configuration, _) = try ConfigLoader.load(commandLine: [file])
        #expect(configuration.requirePass == nil)
    }

    @Test func shippedConfigurationFileLoadsAndDocumentsEveryDirective() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("conf/rill.conf").path
        let (configuration, _) = try ConfigLoader.load(commandLine: [path])
        #expect(configuration.port == 6379)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for directive in ConfigDirective.all {
            #expect(text.contains("\n\(directive.name) "), "conf/rill.conf must document \(directive.name)")
        }
    }

    private func temporaryFile(_ contents: String) throws -> String {
        let path = NSTemporaryDirectory() + "rill-config-\(UUID().uuidString).conf"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
