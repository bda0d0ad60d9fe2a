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
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib"),
        .target(
            name: "CRatchetShims",
            dependencies: ["CLua", "CLibEvent"]
        ),
        .target(
            name: "Ratchet",
            dependencies: ["CLua", "CLibEvent", "CZMQ", "COpenSSL", "CResolv", "CLinux", "CNGHTTP2", "CZlib", "CRatchetShims"]
        ),
        .target(
            name: "RatchetHost",
            dependencies: ["Ratchet", "CLua", "CRatchetShims", "CLibEvent", "CLinux"],
            linkerSettings: [.linkedLibrary("lua5.4")],
            plugins: ["BundleLuaLib"]
        ),
        // LuaLib/ compiled into RatchetHost, so hosts find the Lua modules of their version.
        .executableTarget(name: "bundle-lualib", path: "Sources/bundle-lualib"),
        .plugin(name: "BundleLuaLib", capability: .buildTool(), dependencies: ["bundle-lualib"]),
        .executableTarget(
            name: "ratchet-lua",
            dependencies: ["RatchetHost", "Ratchet", "CLua", "CLinux"],
            linkerSettings: [.linkedLibrary("lua5.4")]
        ),
        .testTarget(
            name: "RatchetTests",
            dependencies: ["RatchetHost", "Ratchet", "CLua", "CRatchetShims"]
        ),
    ],
    swiftLanguageModes: [.v5]
)
