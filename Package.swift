// swift-tools-version:6.1
// vfwall: a user-space NFV firewall on SR-IOV VFs (DPDK), and vfplumb, which plumbs the VFs.
// Arrows point one way: vfwall -> Dataplane -> FirewallCore; FirewallConfig -> FirewallCore;
// vfplumb -> Plumbing. FirewallCore imports nothing but the standard library.
import PackageDescription

let package = Package(
    name: "vfwall",
    products: [
        .executable(name: "vfwall", targets: ["vfwall"]),
        .executable(name: "vfplumb", targets: ["vfplumb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C and system modules: the only places that see C headers.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-route-3-dev"])]),
        .target(name: "CLinux"),

        // Pure Swift: packet views, policy, classifiers, conntrack, the burst pipeline.
        .target(name: "FirewallCore"),
        .target(name: "FirewallConfig", dependencies: ["FirewallCore", .product(name: "Yams", package: "Yams")]),
        .target(name: "Dataplane", dependencies: ["FirewallCore", "FirewallConfig", "CPcap", "CLinux"]),
        .target(name: "Plumbing", dependencies: ["CNetlink", "CLinux"]),

        .executableTarget(name: "vfwall", dependencies: [
            "Dataplane", "FirewallConfig", "FirewallCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "vfplumb", dependencies: [
            "Plumbing", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "FirewallCoreTests", dependencies: ["FirewallCore"]),
        .testTarget(name: "FirewallConfigTests", dependencies: ["FirewallConfig"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane", "FirewallConfig"]),
        .testTarget(name: "PlumbingTests", dependencies: ["Plumbing"]),
        .testTarget(name: "EndToEndTests", dependencies: []),
    ],
    swiftLanguageModes: [.v5]
)
