#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// BoringSSL itself, only to try a cipher list on a scratch context: NIOSSL passes `tls-ciphers` to
// SSL_CTX_set_cipher_list behind a precondition, so a list BoringSSL refuses must be caught before NIOSSL sees it.
import CNIOBoringSSL
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The TLS contexts built from the `tls-*` directives: the listener's (also the metrics endpoint's) and the one a
/// replica uses towards its primary. Connections take the context current when they start, so a rebuild (CONFIG
/// SET of a `tls-*` directive) changes what new connections see and leaves open ones as they are.
struct TLSContexts {
    let server: NIOSSLContext
    let client: NIOSSLContext
}

/// Builds `TLSContexts` from `TLSSettings`, checking what Redis checks, in its order, and failing with the line
/// Redis logs for the same mistake.
enum TLSContextBuilder {
    struct Failure: Error, CustomStringConvertible {
        /// The log line naming what is wrong.
        let description: String
    }

    /// The TLS 1.3 suites BoringSSL offers, always all of them (it has no call to choose among them through NIOSSL).
    static let tls13CipherSuites = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    static func build(_ settings: TLSSettings) throws(Failure) -> TLSContexts {
        guard !settings.certFile.isEmpty else { throw Failure(description: "No tls-cert-file configured!") }
        guard !settings.keyFile.isEmpty else { throw Failure(description: "No tls-key-file configured!") }
        guard settings.authClients == .no && !settings.replication
                || !settings.caCertFile.isEmpty || !settings.caCertDir.isEmpty else {
            throw Failure(description: "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")
        }
        let versions = try protocolRange(settings.protocols)
        let serverIdentity = try identity(certificateFile: settings.certFile, keyFile: settings.keyFile,
                                          passphrase: settings.keyFilePass)
        let clientIdentity = settings.clientCertFile.isEmpty ? serverIdentity : try identity(
            certificateFile: settings.clientCertFile,
            keyFile: settings.clientKeyFile.isEmpty ? settings.keyFile : settings.clientKeyFile,
            passphrase: settings.clientKeyFile.isEmpty ? settings.keyFilePass : settings.clientKeyFilePass)
        let trustRoots = try authorities(file: settings.caCertFile, directory: settings.caCertDir)
        try checkCiphers(settings.ciphers)
        try checkCipherSuites(settings.ciphersuites)

        var server = TLSConfiguration.makeServerConfiguration(certificateChain: serverIdentity.chain,
                                                              privateKey: serverIdentity.key)
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = clientIdentity.chain
        client.privateKey = clientIdentity.key
        // As Redis: the primary's certificate must come from the CA, whatever name it carries.
        client.certificateVerification = .noHostnameVerification
        switch settings.authClients {
        case .yes: server.certificateVerification = .noHostnameVerification
        case .optional: server.certificateVerification = .optionalVerification
        case .no: server.certificateVerification = .none
        }
        // Both ends take the same versions, ciphers and CAs.
        func applyShared(_ configuration: inout TLSConfiguration) {
            configuration.minimumTLSVersion = versions.lowest
            configuration.maximumTLSVersion = versions.highest
            if !settings.ciphers.isEmpty { configuration.cipherSuites = settings.ciphers }
            if let trustRoots {
                configuration.trustRoots = trustRoots.first
                configuration.additionalTrustRoots = trustRoots.additional
            }
        }
        applyShared(&server)
        applyShared(&client)
        do {
            return TLSContexts(server: try NIOSSLContext(configuration: server),
                               client: try NIOSSLContext(configuration: client))
        } catch {
            throw Failure(description: "Failed to configure TLS: \(error)")
        }
    }

    /// `tls-protocols` as the range of versions allowed (NIOSSL takes a minimum and a maximum; a list with a gap
    /// allows the versions between too). Empty: TLSv1.2 and TLSv1.3, Redis' default.
    static func protocolRange(_ text: String) throws(Failure) -> (lowest: TLSVersion, highest: TLSVersion) {
        let words = text.split(separator: " ")
        guard !words.isEmpty else { return (.tlsv12, .tlsv13) }
        var versions: [TLSVersion] = []
        for word in words {
            switch word.lowercased() {
            case "tlsv1": versions.append(.tlsv1)
            case "tlsv1.1": versions.append(.tlsv11)
            case "tlsv1.2": versions.append(.tlsv12)
            case "tlsv1.3": versions.append(.tlsv13)
            default:
                throw Failure(description: "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
            }
        }
        let order: [TLSVersion] = [.tlsv1, .tlsv11, .tlsv12, .tlsv13]
        let indices = versions.compactMap { order.firstIndex(of: $0) }
        return (order[indices.min()!], order[indices.max()!])
    }

    private static func identity(certificateFile: String, keyFile: String,
                                 passphrase: String) throws(Failure) -> (chain: [NIOSSLCertificateSource],
                                                                        key: NIOSSLPrivateKeySource) {
        let chain: [NIOSSLCertificate]
        do {
            try requireReadable(certificateFile)
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            guard !chain.isEmpty else { throw Failure(description: "no certificate in the file") }
        } catch {
            throw Failure(description: "Failed to load certificate: \(certificateFile): \(error)")
        }
        let key: NIOSSLPrivateKey
        do {
            try requireReadable(keyFile)
            if passphrase.isEmpty {
                key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            } else {
                key = try NIOSSLPrivateKey(file: keyFile, format: .pem) { provide in provide(Array(passphrase.utf8)) }
            }
        } catch {
            throw Failure(description: "Failed to load private key: \(keyFile): \(error)")
        }
        let sources = chain.map { NIOSSLCertificateSource.certificate($0) }
        // BoringSSL refuses a key that is not the certificate's when it installs both: tried here, so the
        // message names the key file as Redis' does.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: sources,
                                                                          privateKey: .privateKey(key)))
        } catch {
            throw Failure(description: "Failed to load private key: \(keyFile): key values mismatch (\(error))")
        }
        return (sources, .privateKey(key))
    }

    /// The CA file and directory as NIOSSL's trust roots; nil when neither is set.
    private static func authorities(file: String, directory: String) throws(Failure)
        -> (first: NIOSSLTrustRoots, additional: [NIOSSLAdditionalTrustRoots])? {
        do {
            if !file.isEmpty { try requireReadable(file) }
            if !directory.isEmpty { try requireReadable(directory) }
            switch (file.isEmpty, directory.isEmpty) {
            case (true, true): return nil
            // NIOSSL reads a directory given as a file path the way OpenSSL's CApath does (hashed names).
            case (false, true): return (.certificates(try NIOSSLCertificate.fromPEMFile(file)), [])
            case (true, false): return (.file(directory), [])
            case (false, false): return (.file(directory), [.certificates(try NIOSSLCertificate.fromPEMFile(file))])
            }
        } catch {
            throw Failure(description: "Failed to configure CA certificate(s) file/directory: \(error)")
        }
    }

    /// Whether BoringSSL takes the TLS 1.2 cipher list, tried on a scratch context.
    private static func checkCiphers(_ ciphers: String) throws(Failure) {
        guard !ciphers.isEmpty else { return }
        guard let scratch = SSL_CTX_new(TLS_method()) else { throw Failure(description: "Failed to configure ciphers: \(ciphers)") }
        defer { SSL_CTX_free(scratch) }
        guard SSL_CTX_set_cipher_list(scratch, ciphers) == 1 else {
            ERR_clear_error()
            throw Failure(description: "Failed to configure ciphers: \(ciphers)")
        }
    }

    /// `tls-ciphersuites` names TLS 1.3 suites; BoringSSL offers all three whatever is asked, so a list that leaves
    /// one out would be a promise Rill does not keep: it is refused.
    private static func checkCipherSuites(_ suites: String) throws(Failure) {
        guard !suites.isEmpty else { return }
        let names = suites.split(separator: ":").map(String.init)
        guard names.allSatisfy(tls13CipherSuites.contains) else {
            throw Failure(description: "Failed to configure ciphersuites: \(suites)")
        }
        guard Set(names) == Set(tls13CipherSuites) else {
            throw Failure(description: "Failed to configure ciphersuites: \(suites): BoringSSL always enables \(tls13CipherSuites.joined(separator: ":")), so tls-ciphersuites can only list all of them")
        }
    }

    /// Fails with the system's reason ("No such file or directory") when `path` cannot be read.
    private static func requireReadable(_ path: String) throws(Failure) {
        guard access(path, R_OK) == 0 else { throw Failure(description: String(cString: strerror(errno))) }
    }
}

extension ServerState {
    /// Builds the TLS contexts at start-up when something uses TLS; logs Redis' lines and returns false when the
    /// settings are wrong (the server then does not start).
    func configureTLSAtStartup() -> Bool {
        guard configuration.tlsInUse else { return true }
        do {
            tlsContexts = try TLSContextBuilder.build(configuration.tls)
            return true
        } catch {
            logger.warning("\(error.description)")
            logger.warning("Failed to configure TLS. Check logs for more info.")
            return false
        }
    }

    /// CONFIG SET changed the configuration from `previous`: rebuilds the TLS contexts when a `tls-*` directive
    /// changed while TLS is in use (Redis reads the files then, not before). On failure the contexts stay as they
    /// were and the caller restores `previous`.
    func applyTLSSettings(previous: ServerConfiguration, changedDirective: String) -> Bool {
        guard configuration.tls != previous.tls, configuration.tlsInUse else { return true }
        do {
            tlsContexts = try TLSContextBuilder.build(configuration.tls)
            return true
        } catch {
            logger.warning("\(error.description)")
            logger.warning("Failed applying new configuration. Possibly related to new \(changedDirective) setting. Restoring previous settings.")
            return false
        }
    }

    /// The handlers a connection accepted on `tls-port` (or the HTTPS metrics port) starts with: TLS, with the
    /// context current now, and the log line Redis writes when a handshake fails.
    func addTLSServerHandlers(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        guard let context = tlsContexts?.server else { throw TLSContextBuilder.Failure(description: "TLS is not configured") }
        try pipeline.addHandler(NIOSSLServerHandler(context: context))
        try pipeline.addHandler(TLSHandshakeFailureLogger(logger: logger))
    }

    /// The handler of a replica's connection to its primary when `tls-replication` is on; nil otherwise.
    func primaryLinkTLSHandler() throws -> NIOSSLClientHandler? {
        guard configuration.tls.replication else { return nil }
        guard let context = tlsContexts?.client else { throw TLSContextBuilder.Failure(description: "TLS is not configured") }
        return try NIOSSLClientHandler(context: context, serverHostname: nil)
    }
}

/// Logs a TLS handshake that failed (an unknown CA, a missing client certificate) as Redis does, at warning level:
/// the connection handler logs connection errors only at debug, and these usually mean a misconfigured client.
final class TLSHandshakeFailureLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            // Later errors are the connection's own (a peer closing without close_notify), not the handshake's.
            context.pipeline.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("Error accepting a client connection: \(error)")
        context.fireErrorCaught(error)
    }
}
