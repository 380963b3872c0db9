// The full pipeline (parse, conntrack, classify, counters) on one core over preallocated 64-byte
// frames, with a 1,000-rule policy whose last rule accepts the traffic.
//
// One benchmark iteration is one burst of 32 frames: packets per second = 32 x throughput.
// Allocations per iteration must be 0 (the fast-path rule); setup happens before measuring.
import Benchmark
import FirewallCore

let workloads: [(String, PipelineWorkload.Mode, Int)] = [
    ("established, 1M flows", .established, 1_000_000),
    ("new flows", .new, 100_000),
    ("mix (half new), 1M flows", .mix, 1_000_000),
    ("unanswered, 1M flows", .unanswered, 1_000_000),
]

let benchmarks: @Sendable () -> Void = {
    for (name, mode, flows) in workloads {
        Benchmark("pipeline \(name), 1k rules (32 frames/iteration)",
                  configuration: .init(metrics: [.throughput, .wallClock, .mallocCountTotal, .retainCount],
                                       maxDuration: .seconds(3), maxIterations: 2_000_000)) { benchmark in
            let w = PipelineWorkload(mode: mode, flows: flows, rules: 1000)
            for _ in 0..<1000 { _ = w.step() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(w.step()) }
            benchmark.stopMeasurement()
        }
    }
}
