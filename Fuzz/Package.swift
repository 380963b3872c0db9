// swift-tools-version:6.1
// libFuzzer targets for vfwall, in a package of their own so the sanitizer-instrumented build
// never touches the main one. Build and run them with scripts/fuzz (see docs/hardening.md).
//
// FirewallCore, CPrefetch, FileBytes, FirewallConfig, CPcap, CLinux, Ports and LinuxIO are the root's
// own source directories, reached through the symlinks in Sources/ rather than a path dependency on
// "..": the root declares no library products for them (SwiftPM itself would accept the root's
// unsafeFlags in a path dependency). CaptureReplay holds symlinks to the files of the root's
// Dataplane that replay captures, so a fuzzer builds them without the engine and its workers.
// Compiled here, FirewallCore gets the same fast-path flag as in the root, so the fuzzers exercise
// the code as shipped, exclusivity checks off included.
import PackageDescription

#if arch(x86_64)
    let cpuFlags = ["-Xcc", "-mpopcnt"]
#else
    let cpuFlags: [String] = []
#endif
let fastPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"] + cpuFlags)]  // as in ../Package.swift

let package = Package(
    name: "vfwall-fuzz",
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),  // as in ../Package.swift
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1")
    ],
    targets: [
        .target(name: "CPrefetch"),
        .target(
            name: "FirewallCore", dependencies: ["CPrefetch"], exclude: ["Classifier/README.md"],
            swiftSettings: fastPath),
        .target(name: "FileBytes", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "FirewallConfig",
            dependencies: [
                "FirewallCore", "FileBytes", .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system")
            ]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap"),
        .target(name: "CLinux"),
        .target(
            name: "Ports",
            dependencies: ["FirewallCore", "CLinux", .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "LinuxIO",
            dependencies: [
                "Ports", "FirewallCore", "FileBytes", "CPcap", "CLinux",
                .product(name: "SystemPackage", package: "swift-system")
            ]),
        // The replay files of the root's Dataplane (symlinked one by one: the rest links DPDK), and the
        // router files WorkerPass names.
        .target(name: "CaptureReplay", dependencies: ["FirewallCore", "Ports", "LinuxIO", "CLinux"]),
        // The router of the root's Dataplane (route mode), its files symlinked, and the fuzzer's
        // state beside them (the router is internal to its module).
        .target(name: "RouterPath", dependencies: ["FirewallCore", "Ports", "LinuxIO", "CLinux", "FuzzSupport"]),
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["FirewallCore", "CFuzzDriver"]),
        // One frame: parse, conntrack, the classifiers (they must agree), reject reply.
        .executableTarget(name: "fuzz-frame", dependencies: ["FirewallCore", "FuzzSupport"]),
        // Bursts of timestamped frames through the whole pipeline, with reloads; invariants checked.
        .executableTarget(name: "fuzz-pipeline", dependencies: ["FirewallCore", "FuzzSupport"]),
        // The configuration loader on arbitrary bytes: an error, never a crash.
        .executableTarget(name: "fuzz-config", dependencies: ["FirewallConfig", "FirewallCore", "FuzzSupport"]),
        // Whole capture files (pcap, pcapng) through the reader and Replay: frames or a PcapError.
        // Route mode's ARP, ND, ICMP-error and queue paths on arbitrary frames from either port.
        .executableTarget(name: "fuzz-router", dependencies: ["RouterPath", "FuzzSupport"]),
        .executableTarget(
            name: "fuzz-capture",
            dependencies: ["CaptureReplay", "LinuxIO", "FirewallConfig", "FirewallCore", "FuzzSupport"])
    ],
    swiftLanguageModes: [.v5]
)
