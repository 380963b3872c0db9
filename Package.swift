// swift-tools-version:6.1
// vfwall: a user-space NFV firewall on SR-IOV VFs (DPDK), and vfplumb, which plumbs the VFs.
// Arrows point one way: vfwall -> EngineConfig -> Dataplane -> LinuxIO -> Ports -> FirewallCore;
// EngineConfig -> FirewallConfig; vfwall -> DPDKPorts -> LinuxIO, Ports (the engine links no DPDK);
// vfwall -> Workloads, PolicyAnalysis -> FirewallCore; vfwall -> Telemetry -> Dataplane (NIO stays
// out of the engine); vfplumb -> Plumbing.
// README.md's import table says exactly what each module imports (scripts/check-layout checks).
// FirewallCore imports nothing but the standard library and CPrefetch (one compiler builtin).
import PackageDescription

// `pkg-config --cflags libdpdk` for DPDK 22.11 from apt, for the CDPDK target.
#if arch(arm64)
    let dpdkTriple = "aarch64-linux-gnu"
    let dpdkArch = "-march=armv8-a+crc"
#else
    let dpdkTriple = "x86_64-linux-gnu"
    let dpdkArch = "-march=corei7"
#endif
let dpdkCFlags = [
    "-I/usr/include/dpdk", "-I/usr/include/\(dpdkTriple)/dpdk",
    "-include", "rte_config.h", dpdkArch, "-Wno-deprecated-declarations"
]

// The C parts already need a Nehalem (DPDK's -march=corei7); the Swift fast path may then use
// its POPCNT instead of a dozen instructions per count (the chunks' packed rule bitsets).
#if arch(x86_64)
    let cpuFlags = ["-Xcc", "-mpopcnt"]
#else
    let cpuFlags: [String] = []
#endif
let fastPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"] + cpuFlags)]

let package = Package(
    name: "vfwall",
    products: [
        .executable(name: "vfwall", targets: ["vfwall"]),
        .executable(name: "vfplumb", targets: ["vfplumb"]),
        // For the separate benchmark package in Benchmarks/ (it depends on this one by path).
        .library(name: "FirewallCore", targets: ["FirewallCore"]),
        .library(name: "Workloads", targets: ["Workloads"]),
        // The pipeline benchmark puts its flow tables on huge pages as `vfwall run` does.
        .library(name: "LinuxIO", targets: ["LinuxIO"])
    ],
    // Pinned to exact versions: an application ships what it tested. Package.resolved is not
    // committed because it records commit ids, which differ between a mirror and the origin.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        // The metrics listener (Telemetry): the Prometheus text format and a small HTTP server.
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        // The engine's events (start, reloads, link changes, stalls, shutdown) as log records.
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2")
    ],
    targets: [
        // C and system modules: the only places that see C headers.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-route-3-dev"])]),
        .target(name: "CLinux"),
        // Software prefetch (__builtin_prefetch, static inline) for FirewallCore's fast path.
        .target(name: "CPrefetch"),
        // DPDK 22.11 behind plain cdpdk_* functions. A plain C target cannot read pkg-config, so
        // the flags `pkg-config --cflags libdpdk` prints on Debian/Ubuntu are spelled out here;
        // they apply to cdpdk.c only (cdpdk.h includes no DPDK header, so Swift never sees them).
        // Only the EAL/ethdev/mbuf libraries are linked: the drivers (net_ring, net_pcap, net_null,
        // net_af_packet, iavf, mlx5 ...) are plugins EAL loads at init from its default driver
        // directory (RTE_EAL_PMD_PATH, /usr/lib/<triple>/dpdk/pmds-23.0) or from `-d` arguments.
        .target(
            name: "CDPDK",
            cSettings: [.unsafeFlags(dpdkCFlags)],
            linkerSettings: [
                "rte_eal", "rte_ethdev", "rte_acl", "rte_mbuf", "rte_mempool", "rte_ring",
                "rte_bus_vdev", "rte_kvargs"
            ].map { .linkedLibrary($0) }
        ),

        // The XDP traffic generator and sink counter (raw BPF instructions, BPF_PROG_TEST_RUN with
        // live frames, Linux >= 5.18) behind plain cxdpgen_* functions. libbpf from libbpf-dev.
        .target(name: "CXDPGen", linkerSettings: [.linkedLibrary("bpf")]),

        // Pure Swift: packet views, policy, classifiers, conntrack, the burst pipeline.
        // Exclusivity checks cost a runtime call per class-property access on the per-packet
        // path; the pipeline's state is owned by one worker thread, so they buy nothing there.
        .target(
            name: "FirewallCore", dependencies: ["CPrefetch"], exclude: ["Classifier/README.md"],
            swiftSettings: fastPath),
        // Benchmark workloads and load generation, kept out of the core and the engine: synthetic
        // traffic and policies, ClassBench sets, the generators (AF_PACKET, XDP) and the NDR search.
        .target(
            name: "Workloads", dependencies: ["FirewallCore", "Ports", "LinuxIO", "CXDPGen"], swiftSettings: fastPath),
        // Static analysis of a policy's rule list (vfwall check --lint): never on the packet path.
        .target(name: "PolicyAnalysis", dependencies: ["FirewallCore"]),
        // Reading a whole file (swift-system), for the configuration reader and the Linux side.
        .target(name: "FileBytes", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "FirewallConfig",
            dependencies: [
                "FirewallCore", "FileBytes", .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system")
            ]),
        // The port contract and the in-memory port (as swift-nio's NIOCore and EmbeddedChannel).
        .target(
            name: "Ports",
            dependencies: ["FirewallCore", "CLinux", .product(name: "SystemPackage", package: "swift-system")]),
        // The Linux side: AF_PACKET and pcap ports, the control socket, huge pages, a lock TSan
        // sees, background file writes, and the one syscall layer (swift-system's Errno).
        .target(
            name: "LinuxIO",
            dependencies: [
                "Ports", "FirewallCore", "FileBytes", "CPcap", "CLinux",
                .product(name: "SystemPackage", package: "swift-system")
            ]),
        // The DPDK side: ports, EAL, mbuf pools, and rte_acl for comparison.
        .target(name: "DPDKPorts", dependencies: ["Ports", "LinuxIO", "FirewallCore", "CDPDK"]),
        // The engine (plan, ports, workers, reload, statistics) and replay: it takes a plan, a
        // policy and a policy source, and links neither YAML nor DPDK. The router's per-packet
        // state is class properties its worker alone touches: no exclusivity checks there either.
        .target(
            name: "Dataplane",
            dependencies: [
                "Ports", "LinuxIO", "FirewallCore", "CLinux", .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: fastPath),
        // The metrics and health listener: /metrics (Prometheus text, read from the engine's
        // statistics on scrape), /healthz, /readyz over HTTP (swift-nio). Keeps NIO out of Dataplane.
        // And the log output: readable lines or JSON lines on stderr (swift-log handlers).
        .target(
            name: "Telemetry",
            dependencies: [
                "Dataplane", "FirewallCore", .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
            ]),
        // vfwall's YAML configuration mapped to the engine's plan and policy source.
        .target(
            name: "EngineConfig",
            dependencies: ["Dataplane", "FileBytes", "FirewallConfig", "FirewallCore", "LinuxIO", "Ports"]),
        .target(
            name: "Plumbing",
            dependencies: [
                "CNetlink", "CLinux",
                .product(name: "SystemPackage", package: "swift-system")
            ]),

        .executableTarget(
            name: "vfwall",
            dependencies: [
                "Dataplane", "EngineConfig", "Ports", "LinuxIO", "DPDKPorts", "FileBytes", "FirewallConfig",
                "FirewallCore", "Workloads", "PolicyAnalysis", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system")
            ]),
        .executableTarget(
            name: "vfplumb",
            dependencies: [
                "Plumbing", .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),

        .testTarget(name: "FirewallCoreTests", dependencies: ["FirewallCore", "Workloads", "TestSupport"]),
        .testTarget(name: "PolicyAnalysisTests", dependencies: ["PolicyAnalysis", "FirewallCore", "Workloads"]),
        .testTarget(
            name: "FirewallConfigTests", dependencies: ["FirewallConfig", "Workloads"],
            resources: [.copy("Fixtures")]),
        // Engine tests link no DPDK; the DPDK side has its own.
        .testTarget(
            name: "DataplaneTests",
            dependencies: [
                "Dataplane", "EngineConfig", "Ports", "LinuxIO", "FileBytes",
                "FirewallConfig", "Workloads", "TestSupport", .product(name: "Logging", package: "swift-log")
            ]),
        .testTarget(
            name: "TelemetryTests",
            dependencies: [
                "Telemetry", "Dataplane", "EngineConfig", "FirewallConfig", "FirewallCore", "LinuxIO", "CLinux",
                "TestSupport", .product(name: "Logging", package: "swift-log")
            ]),
        .testTarget(
            name: "DPDKPortsTests",
            dependencies: [
                "DPDKPorts", "Dataplane", "Ports", "LinuxIO", "CDPDK",
                "TestSupport"
            ]),
        .testTarget(name: "PlumbingTests", dependencies: ["Plumbing", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["vfwall", "TestSupport"]),
        // Helpers shared by test targets (spawning shells that start containers).
        .target(
            name: "TestSupport", dependencies: ["FirewallCore", "FileBytes", "Ports", "LinuxIO", "CLinux"],
            path: "Tests/TestSupport")
    ],
    swiftLanguageModes: [.v5]
)
