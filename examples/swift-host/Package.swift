// swift-tools-version:6.0
// A Swift program that embeds ratchet: see ../../docs/embedding.md. It depends on this
// checkout by path; an app would pin a version: .package(url: "...", from: "1.0.0").
import PackageDescription

let package = Package(
    name: "swift-host",
    dependencies: [.package(name: "ratchet", path: "../..")],
    targets: [
        .executableTarget(name: "swift-host", dependencies: [.product(name: "RatchetHost", package: "ratchet")]),
        .executableTarget(name: "host-bench", dependencies: [.product(name: "RatchetHost", package: "ratchet"), "CBenchFunctions"]),
        .target(name: "CBenchFunctions"),
    ],
    swiftLanguageModes: [.v5]
)
