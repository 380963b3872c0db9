// swift-tools-version:6.1
// vfwall's benchmarks (ordo-one/benchmark), kept out of the main package so that its build and
// CI do not pay for them. Run from this directory:
//   swift package benchmark --target ClassifierBenchmarks
import PackageDescription

let package = Package(
    name: "vfwall-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "vfwall", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"])
    ],
    targets: [
        .executableTarget(
            name: "ClassifierBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FirewallCore", package: "vfwall"),
                .product(name: "Workloads", package: "vfwall")
            ],
            path: "Benchmarks/ClassifierBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PipelineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FirewallCore", package: "vfwall"),
                .product(name: "Workloads", package: "vfwall"),
                .product(name: "LinuxIO", package: "vfwall")
            ],
            path: "Benchmarks/PipelineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
