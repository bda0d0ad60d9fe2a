// swift-tools-version:6.0
import PackageDescription

// ratchet.so must not link liblua5.4: the stock lua5.4 binary already holds the Lua core,
// and two cores in one process corrupt each other. Only the runner and the tests link it.
let package = Package(
    name: "ratchet",
    products: [
        .library(name: "ratchet", type: .dynamic, targets: ["Ratchet"]),
        .library(name: "RatchetHost", targets: ["RatchetHost"]),
        .executable(name: "ratchet-lua", targets: ["ratchet-lua"]),
    ],
    targets: [
        .systemLibrary(name: "CLua", path: "Sources/CLua"),
        .systemLibrary(name: "CLibEvent", path: "Sources/CLibEvent", pkgConfig: "libevent"),
        .systemLibrary(name: "CZMQ", path: "Sources/CZMQ"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl"),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .systemLibrary(name: "CResolv", path: "Sources/CResolv"),
        .systemLibrary(name: "CNGHTTP2", path: "Sources/CNGHTTP2", pkgConfig: "libnghttp2"),
        .target(
            name: "CRatchetShims",
            dependencies: ["CLua", "CLibEvent"],
            cSettings: [.unsafeFlags(["-I/usr/include/lua5.4", "-O2"])]
        ),
        .target(
            name: "Ratchet",
            dependencies: ["CLua", "CLibEvent", "CZMQ", "COpenSSL", "CResolv", "CLinux", "CNGHTTP2", "CRatchetShims"],
            // Dynamic exclusivity checks cost ~18% of an echo round trip (callgrind); the
            // kernel is single-threaded and never overlaps accesses.
            swiftSettings: [.unsafeFlags(["-Xcc", "-I/usr/include/lua5.4", "-enforce-exclusivity=unchecked"])],
            linkerSettings: [
                // Without nodelete, lua_close unloads the Swift runtime while the process runs on.
                .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"]),
            ]
        ),
        .target(
            name: "RatchetHost",
            dependencies: ["Ratchet", "CLua", "CRatchetShims"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I/usr/include/lua5.4"])],
            linkerSettings: [.linkedLibrary("lua5.4")]
        ),
        .executableTarget(
            name: "ratchet-lua",
            dependencies: ["RatchetHost", "Ratchet", "CLua", "CLinux"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I/usr/include/lua5.4"])],
            linkerSettings: [.linkedLibrary("lua5.4"), .unsafeFlags(["-Xlinker", "--export-dynamic"])]
        ),
        .testTarget(
            name: "RatchetTests",
            dependencies: ["RatchetHost", "Ratchet", "CLua", "CRatchetShims"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I/usr/include/lua5.4"])]
        ),
    ],
    swiftLanguageModes: [.v5]
)
