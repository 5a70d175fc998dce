import Glibc
import Logging
import NIOCore
import NIOPosix

/// Listening on the addresses of `bind` or `metrics-bind`, read as Redis reads `bind`: an address written with a
/// leading `-` ("-::1") is optional, skipped when this host cannot listen on it (no such address, IPv6 off), while
/// any other address that fails stops the start-up.
enum ListenAddresses {
    /// Binds `bootstrap` on each of `addresses` at `port`; with port 0 the kernel picks one for the first address
    /// and the others reuse it.
    /// - Throws: the first failure of an address that is not optional, or `NoAddress` when every address was
    ///   optional and none was available.
    static func bind(_ bootstrap: ServerBootstrap, addresses: [String], port: Int,
                     logger: Logger) throws -> [any Channel] {
        var port = port
        var channels: [any Channel] = []
        for written in addresses {
            let isOptional = written.hasPrefix("-")
            let address = isOptional ? String(written.dropFirst()) : written
            do {
                let channel = try bootstrap.bind(host: address, port: port).wait()
                if port == 0 { port = channel.localAddress?.port ?? 0 }
                channels.append(channel)
            } catch where isOptional && isUnavailableAddress(error) {
                logger.notice("Skipping optional address \(address), not available on this host: \(error)")
            } catch {
                for channel in channels { try? channel.close().wait() }
                throw error
            }
        }
        guard !channels.isEmpty else { throw NoAddress(addresses: addresses) }
        return channels
    }

    struct NoAddress: Error, CustomStringConvertible {
        let addresses: [String]
        var description: String { "none of the optional addresses \(addresses.joined(separator: " ")) is available" }
    }

    /// Whether `error` says the host has no such address or no such protocol (not that the port is taken).
    private static func isUnavailableAddress(_ error: any Error) -> Bool {
        if error is SocketAddressError { return true }  // a name that does not resolve
        guard let error = error as? IOError else { return false }
        return [EADDRNOTAVAIL, EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPFNOSUPPORT, ENOPROTOOPT]
            .contains(error.errnoCode)
    }
}
