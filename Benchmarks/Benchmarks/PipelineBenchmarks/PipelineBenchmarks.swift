// The full pipeline (parse, conntrack, classify, counters) on one core over preallocated 64-byte
// frames, with a 1,000-rule policy whose last rule accepts the traffic. Flow tables lie on huge
// pages, as in `vfwall run`; frames are written into a ring of recycled buffers, as a NIC writes
// them into mbufs (`FrameSource.ring`; the per-flow frames streamed from DRAM are measured too).
//
// One benchmark iteration is 64 bursts of 32 frames: packets per second = 2048 x throughput.
// Allocations per iteration must be 0 (the fast-path rule); setup happens before measuring.
import Benchmark
import FirewallCore
import LinuxIO
import Workloads

let workloads: [(String, PipelineWorkload.Mode, Int, FrameSource)] = [
    ("established, 1M flows", .established, 1_000_000, .ring),
    ("established, 1M flows, per-flow frames", .established, 1_000_000, .perFlow),
    ("new flows", .new, 100_000, .ring),
    ("mix (half new), 1M flows", .mix, 1_000_000, .ring),
    ("unanswered, 1M flows", .unanswered, 1_000_000, .ring)
]

/// Built once per workload: opening a million flows takes longer than a measurement.
nonisolated(unsafe) var built: [String: PipelineWorkload] = [:]

let benchmarks: @Sendable () -> Void = {
    for (name, mode, flows, frames) in workloads {
        Benchmark(
            "pipeline \(name), 1k rules (2048 frames/iteration)",
            configuration: .init(
                metrics: [.throughput, .wallClock, .mallocCountTotal],
                maxDuration: .seconds(3), maxIterations: 200_000)
        ) { benchmark in
            let w =
                built[name]
                ?? PipelineWorkload(
                    mode: mode, flows: flows, rules: 1000,
                    memory: HugePageRegion.allocator, frames: frames)
            if built[name] == nil {
                built[name] = w
                for _ in 0..<1000 { _ = w.step() }
            }
            benchmark.startMeasurement()
            for _ in 0..<64 { blackHole(w.step()) }
            benchmark.stopMeasurement()
        }
    }
}
