import XCTest
@testable import FirewallCore
import Workloads

/// The chunked classifier agrees with the linear scan: on random policies cut into many small
/// chunks (sets, unindexed fields, IPv4 and IPv6), on every ClassBench set, and on a large
/// synthetic policy; and `CompiledClassifier` picks it for large policies only.
final class ChunkedClassifierTests: XCTestCase {
    /// Every header's result through `classifyBurst` (the tuple-space tests use it too).
    static func classifyAll(_ c: any Classifier, _ metas: [PacketMeta]) -> [Int32] {
        var got = [Int32](repeating: -2, count: metas.count)
        metas.withUnsafeBufferPointer { m in
            got.withUnsafeMutableBufferPointer { g in
                // Odd burst sizes, so blocks end mid-way and single packets go through too.
                var i = 0, step = 1
                while i < m.count {
                    let n = min(step, m.count - i)
                    c.classifyBurst(m.baseAddress! + i, count: n, results: g.baseAddress! + i)
                    i += n
                    step = step % 97 + 13
                }
            }
        }
        return got
    }

    func compare(seed: UInt64, maxRules: Int, headers: Int, withSets: Bool) -> String? {
        var g = RandomPolicy(seed: seed)
        let sets = SetType.allCases.flatMap { t in (0..<2).map { g.randomSet(t, name: "\(t)-\($0)") } }
        let n = g.int(0...maxRules)
        let rules = (0..<n).map { _ in withSets && g.chance(50) ? g.ruleWithSets(sets) : g.rule() }
        // 64 rules a chunk (the smallest): random policies span several chunks. Half the seeds keep
        // the destination port a row of its own (the layout of policies with many port ranges).
        let chunked = ChunkedClassifier(matches: rules, chunkRules: 64, foldBudget: seed % 4 < 2 ? 0 : 1 << 22)
        let reference = ReferenceClassifier(matches: rules)
        var metas = (0..<headers).map { _ in g.header(near: rules.isEmpty ? nil : g.pick(rules)) }
        let got = Self.classifyAll(chunked, metas)
        for i in 0..<headers {
            let want = withUnsafePointer(to: &metas[i]) { reference.classify($0) }
            if got[i] != want {
                return "seed \(seed): \(n) rules, header \(i): chunked \(got[i]), reference \(want)\n\(metas[i])"
            }
        }
        return nil
    }

    func testRandomPoliciesAgreeWithReference() {
        for seed in UInt64(1)...60 {
            if let d = compare(seed: seed, maxRules: 400, headers: 400, withSets: seed % 2 == 0) {
                XCTFail(d)
                return
            }
        }
    }

    /// More than 64 chunks, so a prefilter bit stands for two chunks; scattered IPv4 prefixes
    /// (most chunks ruled out per packet) mixed with wildcard rules.
    func testManyChunksShareAPrefilterBit() {
        var g = RandomPolicy(seed: 77)
        let rules: [RuleMatch] = (0..<4600).map { i in
            var m = g.rule()
            if i % 50 != 0 { m.sources = [g.prefix(v6: false)] }
            return m
        }
        let chunked = ChunkedClassifier(matches: rules, chunkRules: 64)
        XCTAssertEqual(chunked.prefilter.groupSize, 2)
        let reference = ReferenceClassifier(matches: rules)
        var metas = (0..<300).map { _ in g.header(near: g.pick(rules)) }
        let got = Self.classifyAll(chunked, metas)
        for i in 0..<metas.count {
            let want = withUnsafePointer(to: &metas[i]) { reference.classify($0) }
            if got[i] != want { return XCTFail("header \(i): chunked \(got[i]), reference \(want)\n\(metas[i])") }
        }
    }

    func testClassBenchSetsAgreeWithFlatScan() throws {
        let sets = ["acl1_1k", "fw1_1k", "ipc1_1k", "acl1_8k", "fw1_8k", "ipc1_8k"]
        for set in sets {
            let (rules, trace) = try ClassifierClassBenchTests.load(set)
            let flat = FlatScan(rules)
            let metas = trace.map(\.meta)
            // Chunks of 1,024 rules: the 8k sets are cut into eight.
            let got = Self.classifyAll(ChunkedClassifier(matches: rules, chunkRules: 1024), metas)
            var failures = 0
            for i in 0..<metas.count where got[i] != flat.first(metas[i]) {
                failures += 1
                if failures <= 3 { XCTFail("\(set) header \(i): chunked \(got[i]), flat scan \(flat.first(metas[i]))") }
            }
            XCTAssertEqual(failures, 0, "\(set): \(failures) differences over \(metas.count) headers")
        }
    }

    /// `src 10.X.Y.0/24, proto tcp, dport N` as scripts/make-scale-sets.py writes it.
    static func synthetic(_ count: Int) -> [RuleMatch] {
        (0..<count).map { i in
            var m = RuleMatch()
            let net = UInt32(0x0A00_0000) | UInt32((i >> 8) & 255) << 16 | UInt32(i & 255) << 8
            m.sources = [IPPrefix(address: IPAddress(v4: net), length: 24, isV6: false)]
            m.protocols = [6]
            let port = UInt16(1024 + (i * 7919) % 60000)
            m.destinationPorts = [PortRange(port, port)]
            return m
        }
    }

    /// Issue 16's 200,000-rule policy over a sampled trace. Its /16s recur in four chunks each:
    /// the prefilter's destination-port mask tells them apart, and a port no rule lists (the
    /// misses) rules out every chunk.
    func testSyntheticPolicyOf200kRulesAgreesWithFlatScanOnSampledTrace() {
        let rules = Self.synthetic(200_000)
        let chunked = ChunkedClassifier(matches: rules)
        XCTAssertGreaterThan(chunked.chunkCount, 40)
        var rng = SplitMix64(seed: 7)
        var chunksSearched = 0
        let metas: [PacketMeta] = (0..<300).map { k in
            let i = Int(rng.next() % UInt64(rules.count))
            var m = PacketMeta()
            m.ipVersion = 4
            m.proto = 6
            m.hasL4 = true
            m.hasPorts = true
            m.src = IPAddress(v4: rules[i].sources[0].address.v4 | UInt32(rng.next() & 255))
            m.dst = IPAddress(v4: UInt32(truncatingIfNeeded: rng.next()))
            m.sport = UInt16(truncatingIfNeeded: rng.next())
            // One in five a miss, or a rule of the same /24 under another port.
            m.dport = k % 5 == 0 ? UInt16(rng.next() % 1024) : rules[i].destinationPorts[0].lo
            let groups = withUnsafePointer(to: &m) { chunked.prefilter.groups($0) }
            if k % 5 == 0 {
                XCTAssertEqual(groups, 0, "no rule lists a port below 1024")
            } else {
                XCTAssertNotEqual(groups & 1 << UInt64(i / chunked.chunkRules), 0, "rule \(i)'s chunk stays")
                chunksSearched += groups.nonzeroBitCount
            }
            return m
        }
        // By the source alone, three or four chunks a packet.
        XCTAssertLessThan(chunksSearched, 240 * 3 / 2)
        let got = Self.classifyAll(chunked, metas)
        let flat = FlatScan(rules)
        var failures = 0
        for i in 0..<metas.count where got[i] != flat.first(metas[i]) {
            failures += 1
            if failures <= 3 { XCTFail("header \(i): chunked \(got[i]), flat scan \(flat.first(metas[i]))") }
        }
        XCTAssertEqual(failures, 0)
        XCTAssertGreaterThan(got.filter { $0 >= 0 }.count, 200, "most sampled headers match a rule")
        var noPorts = metas[1]
        noPorts.hasPorts = false
        XCTAssertEqual(withUnsafePointer(to: &noPorts) { chunked.prefilter.groups($0) }, 0, "every rule needs ports")
    }

    func testChoiceKeepsBitsetsForSmallPoliciesAndChunksLargeOnes() throws {
        let (acl, _) = try ClassifierClassBenchTests.load("acl1_8k")
        XCTAssertEqual(CompiledClassifier.plan(acl).kind, .bitsets)
        XCTAssertTrue(CompiledClassifier.make(acl) is BitVectorClassifier)
        // Many rules but few distinct values: the bitsets stay small, so they are kept.
        let uniform = (0..<20_000).map { i in
            var m = RuleMatch()
            m.destinationPorts = [PortRange(UInt16(i % 4), UInt16(i % 4))]
            return m
        }
        XCTAssertEqual(CompiledClassifier.plan(uniform).kind, .bitsets)
        // Port ranges of 100: too wide for the tuple-space classifier (its test has the exact ports).
        let large = Self.synthetic(50_000).map { m in
            var r = m
            r.destinationPorts = [PortRange(m.destinationPorts[0].lo, m.destinationPorts[0].lo + 99)]
            return r
        }
        let plan = CompiledClassifier.plan(large)
        XCTAssertEqual(plan.kind, .chunked(rulesPerChunk: ChunkedClassifier.defaultChunkRules))
        let built = try XCTUnwrap(CompiledClassifier.make(large, plan: plan) as? ChunkedClassifier)
        // The estimate is an upper bound of the right size, not a guess off by orders of magnitude.
        XCTAssertGreaterThanOrEqual(plan.estimatedBytes, built.memoryBytes)
        XCTAssertLessThan(plan.estimatedBytes, 3 * built.memoryBytes)
        let policy = CompiledPolicy(
            Policy(portNames: ["a", "b"], rules: large.map { Rule(name: "r", action: .accept, match: $0) }))
        XCTAssertTrue(policy.classifier is ChunkedClassifier)
    }

    func testMemoryErrorSaysHowBig() {
        let e = ClassifierMemoryError(estimatedBytes: 3 << 29, limitBytes: 1 << 30, rules: 200_000)
        XCTAssertEqual(
            e.description,
            "the classifier for 200000 rules would take about 1.5 GiB, over classifier.max-memory (1 GiB)")
        XCTAssertEqual(formatBytes(640 << 10), "640 KiB")
        XCTAssertEqual(formatBytes(12), "12 B")
    }
}
