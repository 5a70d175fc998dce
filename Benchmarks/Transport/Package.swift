// swift-tools-version:6.1
// Transport prototypes for issue 17, kept out of the main package so that its build and CI stay as they are.
// Only the SwiftNIO prototype is Swift; the io_uring one is C (uring_proto.c), built by build.sh.
import PackageDescription

let package = Package(
    name: "RillTransportPrototypes",
    dependencies: [.package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [
        .executableTarget(
            name: "nio-proto",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
    ],
    swiftLanguageModes: [.v5]
)
