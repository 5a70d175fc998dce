import Testing
@testable import RillServer

@Suite("TLS settings")
struct TLSContextBuilderTests {
    @Test func settingsAreCheckedInRedisOrderWithItsMessages() {
        var settings = TLSSettings()
        #expect(failure(settings) == "No tls-cert-file configured!")
        settings.certFile = "/nonexistent/server.crt"
        #expect(failure(settings) == "No tls-key-file configured!")
        settings.keyFile = "/nonexistent/server.key"
        #expect(failure(settings)?.hasPrefix("Either tls-ca-cert-file or tls-ca-cert-dir must be specified") == true)
        settings.authClients = .no
        #expect(failure(settings) == "Failed to load certificate: /nonexistent/server.crt: No such file or directory")
        settings.replication = true
        #expect(failure(settings)?.hasPrefix("Either tls-ca-cert-file") == true)
        settings.caCertFile = "/nonexistent/ca.crt"
        settings.protocols = "TLSv1.2 SSLv3"
        #expect(failure(settings)?.hasPrefix("Invalid tls-protocols specified.") == true)
    }

    @Test func protocolsBecomeTheirLowestAndHighestVersion() throws {
        let defaults = try TLSContextBuilder.protocolRange("")
        #expect((defaults.lowest, defaults.highest) == (.tlsv12, .tlsv13))
        let gap = try TLSContextBuilder.protocolRange("TLSv1.3 tlsv1")
        #expect((gap.lowest, gap.highest) == (.tlsv1, .tlsv13))
        let single = try TLSContextBuilder.protocolRange("TLSv1.2")
        #expect((single.lowest, single.highest) == (.tlsv12, .tlsv12))
    }

    @Test func authClientsTakesRedisWords() throws {
        var configuration = ServerConfiguration()
        #expect(configuration["tls-auth-clients"] == "yes")
        for mode in TLSClientAuthentication.allCases {
            try configuration.set("tls-auth-clients", [mode.rawValue.uppercased()])
            #expect(configuration.tls.authClients == mode)
        }
        #expect(throws: ConfigError.self) { try configuration.set("tls-auth-clients", ["maybe"]) }
        #expect(!configuration.tlsInUse)
        try configuration.set("tls-replication", ["yes"])
        #expect(configuration.tlsInUse)
    }

    private func failure(_ settings: TLSSettings) -> String? {
        do {
            _ = try TLSContextBuilder.build(settings)
            return nil
        } catch {
            return error.description
        }
    }
}
