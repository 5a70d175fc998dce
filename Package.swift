// swift-tools-version:6.1
import PackageDescription

/// Debug builds (the test suite builds debug once) check internal invariants after every mutation:
/// `RILL_INTERNAL_CHECKS` turns on the `_checkInvariants()` calls. Release builds leave them out.
let internalChecksInDebug: [SwiftSetting] = [.define("RILL_INTERNAL_CHECKS", .when(configuration: .debug))]

/// `RILL_NO_JEMALLOC=1 swift build ...` leaves jemalloc out, for sanitizer builds: AddressSanitizer brings its own
/// malloc, and jemalloc linked beside it makes the sanitized test runs abort. The server then reports the
/// sanitizer's (or the C library's) allocation figures, and INFO's mem_allocator says `libc`.
let jemallocLeftOut = Context.environment["RILL_NO_JEMALLOC"].map { !$0.isEmpty && $0 != "0" } ?? false

let package = Package(
    name: "Rill",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rill-server", targets: ["rill-server"]),
        .executable(name: "rill-check", targets: ["rill-check"]),
        .library(name: "RillCore", targets: ["RillCore"]),
        .library(name: "RillProtocol", targets: ["RillProtocol"]),
        .library(name: "RillPersistence", targets: ["RillPersistence"]),
        .library(name: "RillServer", targets: ["RillServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The stream data model: ids, packed entry blocks, streams, the keyspace. No I/O.
        .target(
            name: "RillCore",
            dependencies: [.product(name: "Collections", package: "swift-collections")],
            swiftSettings: internalChecksInDebug + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // RESP2/RESP3 request decoding and reply encoding over ByteBuffer; knows nothing of commands.
        .target(
            name: "RillProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: internalChecksInDebug + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // The CPU's CRC-32C instruction behind a runtime check (RillPersistence's checksums).
        .target(name: "CRillChecksum"),
        // Snapshot files (RILLSNAP format) and DUMP payloads: encoding, checksums, atomic writes, validated loads.
        .target(
            name: "RillPersistence",
            dependencies: ["RillCore", "CRillChecksum"],
            swiftSettings: internalChecksInDebug + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // liburing behind plain C functions: the io_uring client transport (`io-engine`); a stub returning ENOSYS
        // where liburing is missing, so the server falls back to SwiftNIO.
        .target(name: "CRillURing", linkerSettings: [.linkedLibrary("uring", .when(platforms: [.linux]))]),
        .systemLibrary(name: "CJemalloc", pkgConfig: "jemalloc", providers: [.apt(["libjemalloc-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // SwiftNIO glue, configuration, the command table and its handlers.
        .target(
            name: "RillServer",
            dependencies: [
                "RillCore", "RillProtocol", "RillPersistence", "CRillURing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Collections", package: "swift-collections"),
            ] + (jemallocLeftOut ? [] : ["CJemalloc"]),
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
                + (jemallocLeftOut ? [.define("RILL_NO_JEMALLOC")] : [])
        ),
        .executableTarget(name: "rill-server", dependencies: ["RillServer"]),
        // Checks snapshots, append-only files and manifests; repairs a truncated append-only file.
        .executableTarget(
            name: "rill-check",
            dependencies: ["RillPersistence", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // What several test targets share: seeded random generators and small fixtures.
        .target(name: "RillTestSupport", path: "Tests/RillTestSupport"),
        // Fuzz targets (bytes in, a trap when a property breaks) and their driver: libFuzzer through scripts/fuzz.sh,
        // corpus replay and seeded mutations in the normal build (RillFuzzTests runs them in the suite).
        .target(
            name: "RillFuzzTargets",
            dependencies: [
                "RillServer", "RillCore", "RillProtocol", "RillPersistence", "RillTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Fuzz/Targets"
        ),
        .executableTarget(name: "rill-fuzz", dependencies: ["RillFuzzTargets"], path: "Fuzz/Driver"),
        .testTarget(name: "RillCoreTests", dependencies: ["RillCore", "RillTestSupport"]),
        .testTarget(
            name: "RillProtocolTests",
            dependencies: ["RillProtocol", "RillTestSupport", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "RillPersistenceTests", dependencies: ["RillPersistence", "RillCore", "RillTestSupport"]),
        .testTarget(
            name: "RillServerTests",
            dependencies: [
                "RillServer", "RillCore", "RillProtocol", "RillPersistence", "RillTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "RillFuzzTests", dependencies: ["RillFuzzTargets"]),
        // Starts the built rill-server on a free loopback port and drives it with hiredis and redis-cli.
        .testTarget(name: "RillEndToEndTests", dependencies: ["CHiredis"]),
    ],
    swiftLanguageModes: [.v5]
)
