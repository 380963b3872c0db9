// Classifier lookups on the shared ClassBench sets, per set and engine.
//
// One benchmark iteration classifies the whole trace once, in bursts of 32 (as a worker does);
// lookups per second = throughput x the header count in the benchmark's name. Allocations and
// retains per iteration must be 0 for the compiled classifier (the fast-path rule).
//
// The sets are read from the repository's data/classbench, or $CLASSBENCH_DIR.
import Benchmark
import FirewallCore
import Workloads
#if canImport(Glibc)
    import Glibc
#endif

let sets = ["acl1_1k", "fw1_1k", "ipc1_1k", "acl1_8k", "fw1_8k", "ipc1_8k"]

func classBenchDirectory() -> String {
    if let d = getenv("CLASSBENCH_DIR") { return String(cString: d) }
    // This file is Benchmarks/Benchmarks/ClassifierBenchmarks/ClassifierBenchmarks.swift.
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(4)
    return parts.joined(separator: "/") + "/data/classbench"
}

func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        bytes += buf[0..<n]
        if n < buf.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// A trace in preallocated flat memory, and the results buffer: nothing is allocated while measuring.
final class Workload {
    let headers: UnsafeMutablePointer<PacketMeta>
    let results: UnsafeMutablePointer<Int32>
    let count: Int

    init(_ metas: [PacketMeta]) {
        count = metas.count
        headers = .allocate(capacity: count)
        headers.initialize(from: metas, count: count)
        results = .allocate(capacity: count)
        results.initialize(repeating: 0, count: count)
    }

    deinit {
        headers.deallocate()
        results.deallocate()
    }

    @inline(__always) func pass(_ c: any Classifier) {
        var i = 0
        while i < count {
            let n = min(32, count - i)
            c.classifyBurst(headers + i, count: n, results: results + i)
            i += n
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    let dir = classBenchDirectory()
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .retainCount, .releaseCount]
    for set in sets {
        guard let ruleText = readFile("\(dir)/\(set).rules"), let traceText = readFile("\(dir)/\(set).trace"),
            let rules = try? ClassBench.parseRules(ruleText), let trace = try? ClassBench.parseTrace(traceText)
        else {
            print("skipping \(set): cannot read \(dir)/\(set).rules or .trace")
            continue
        }
        let work = Workload(trace.map(\.meta))
        let compiled = BitVectorClassifier(matches: rules)
        Benchmark(
            "compiled \(set) (\(work.count) lookups)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2), maxIterations: 100_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations { work.pass(compiled) }
            blackHole(work.results[0])
        }
        Benchmark(
            "compiled build \(set) (\(rules.count) rules)",
            configuration: .init(
                metrics: [.wallClock, .peakMemoryResidentDelta], maxDuration: .seconds(2), maxIterations: 20)
        ) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(BitVectorClassifier(matches: rules)) }
        }
        // The linear scan is the oracle, not a contender: measured on the 1k sets only.
        if rules.count < 2000 {
            let reference = ReferenceClassifier(matches: rules)
            Benchmark(
                "reference \(set) (\(work.count) lookups)",
                configuration: .init(metrics: metrics, maxDuration: .seconds(2), maxIterations: 1000)
            ) { benchmark in
                for _ in benchmark.scaledIterations { work.pass(reference) }
                blackHole(work.results[0])
            }
        }
    }
    setBenchmarks(dir, metrics)
    concatBenchmarks(dir, metrics)
}
