// swift-tools-version:6.1
// Micro benchmarks of Rill's core and protocol layers with ordo-one/benchmark. A package of its own, so that the
// main build, the tests and CI never compile the benchmark framework:
//
//     cd Benchmarks/Micro && swift package benchmark                  # all of them
//     cd Benchmarks/Micro && swift package benchmark --filter 'RESP.*' # a subset (regular expression)
import Foundation
import PackageDescription

// A path dependency is identified by its folder's name, which is whatever the clone is called.
let rillPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "RillMicroBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The plugin looks for benchmark targets under Benchmarks/<target name>.
        .executableTarget(
            name: "RillMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RillCore", package: rillPackage),
                .product(name: "RillProtocol", package: rillPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/RillMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
