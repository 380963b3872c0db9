// Named sets: a 1,000,000-prefix IPv4 set built, and looked up through the compiled classifier
// as the first rule of acl1_1k (every IPv4 header is a candidate for it, so every lookup pays one
// set test), next to acl1_1k alone.
import Benchmark
import FirewallCore
import Workloads

/// `count` random IPv4 prefixes from a fixed seed, shaped like a blocklist: mostly /24s and
/// hosts, some /20-/23 and /28 (about a tenth of the address space; /12s would cover all of it).
func randomPrefixes(_ count: Int) -> [ClosedRange<UInt32>] {
    var g = SplitMix64(seed: 0x5E7)
    let lengths: [UInt32] = [20, 22, 23, 24, 24, 24, 24, 24, 24, 28, 32, 32, 32]
    return (0..<count).map { _ in
        let len = lengths[Int(g.next() % UInt64(lengths.count))]
        let host: UInt32 = len == 32 ? 0 : UInt32.max >> len
        let a = UInt32(truncatingIfNeeded: g.next()) & ~host
        return a...(a | host)
    }
}

func setBenchmarks(_ dir: String, _ metrics: [BenchmarkMetric]) {
    let ranges = randomPrefixes(1_000_000)
    Benchmark(
        "set build ipv4 (1000000 prefixes)",
        configuration: .init(
            metrics: [.wallClock, .peakMemoryResidentDelta], maxDuration: .seconds(3), maxIterations: 5)
    ) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(NamedSet(name: "big", v4Ranges: ranges)) }
    }
    guard let ruleText = readFile("\(dir)/acl1_1k.rules"), let traceText = readFile("\(dir)/acl1_1k.trace"),
        let rules = try? ClassBench.parseRules(ruleText), let trace = try? ClassBench.parseTrace(traceText)
    else {
        print("skipping the set lookups: cannot read \(dir)/acl1_1k.rules or .trace")
        return
    }
    let big = NamedSet(name: "big", v4Ranges: ranges)
    var first = RuleMatch()
    first.ipVersion = 4
    first.sets = [SetMatch(.source, big)]
    let compiled = BitVectorClassifier(matches: [first] + rules)
    let work = Workload(trace.map(\.meta))
    Benchmark(
        "compiled acl1_1k + 1M-prefix set rule (\(work.count) lookups)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2), maxIterations: 100_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations { work.pass(compiled) }
        blackHole(work.results[0])
    }
    // The set alone, on addresses spread over the whole space (most miss: the worst case).
    var g = SplitMix64(seed: 9)
    let keys = (0..<work.count).map { _ in IPAddress(v4: UInt32(truncatingIfNeeded: g.next())) }
    Benchmark(
        "set lookup ipv4 1M prefixes (\(keys.count) lookups)",
        configuration: .init(metrics: metrics, maxDuration: .seconds(2), maxIterations: 100_000)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            var hits = 0
            for k in keys where big.contains(k) { hits += 1 }
            blackHole(hits)
        }
    }
}

/// A concatenated `ipv4 . port` set as the first rule of acl1_1k (`dst . dport`): one of 1M exact
/// tuples (the hash table), one of 100k ranged ones (/24s with port ranges: the intervals).
func concatBenchmarks(_ dir: String, _ metrics: [BenchmarkMetric]) {
    var g = SplitMix64(seed: 0xC0CA7)
    var exact: [ClosedRange<UInt128>] = [], ranged: [ClosedRange<UInt128>] = []
    for _ in 0..<1_000_000 {
        let a = UInt128(UInt32(truncatingIfNeeded: g.next())), p = UInt128(g.next() % 65536)
        exact += [a...a, p...p]
    }
    for _ in 0..<100_000 {
        let a = UInt128(UInt32(truncatingIfNeeded: g.next()) & 0xFFFF_FF00), p = UInt128(g.next() % 60000)
        ranged += [a...(a | 255), p...(p + UInt128(g.next() % 2000))]
    }
    Benchmark(
        "set build concat ipv4 . port (1000000 exact tuples)",
        configuration: .init(
            metrics: [.wallClock, .peakMemoryResidentDelta], maxDuration: .seconds(3), maxIterations: 5)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(NamedSet(name: "t", components: [.ipv4, .port], tuples: exact))
        }
    }
    guard let ruleText = readFile("\(dir)/acl1_1k.rules"), let traceText = readFile("\(dir)/acl1_1k.trace"),
        let rules = try? ClassBench.parseRules(ruleText), let trace = try? ClassBench.parseTrace(traceText)
    else { return }
    let work = Workload(trace.map(\.meta))
    for (label, tuples) in [("1M exact tuples", exact), ("100k ranged tuples", ranged)] {
        let set = NamedSet(name: "t", components: [.ipv4, .port], tuples: tuples)
        var first = RuleMatch()
        first.ipVersion = 4
        first.concats = [ConcatMatch([.destination, .destinationPort], set)]
        let compiled = BitVectorClassifier(matches: [first] + rules)
        Benchmark(
            "compiled acl1_1k + concat set rule, \(label) (\(work.count) lookups)",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2), maxIterations: 100_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations { work.pass(compiled) }
            blackHole(work.results[0])
        }
    }
}
