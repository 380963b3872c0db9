import XCTest
@testable import FirewallCore
import Workloads

/// The tuple-space classifier agrees with the linear scan on random policies of a few shapes
/// (with sets, unindexed fields, IPv6 rules and packets, overlapping keys), refuses policies it
/// does not fit, and is what `CompiledClassifier` picks for a large policy of one shape.
final class TupleSpaceClassifierTests: XCTestCase {
    /// Which fields a template fixes: prefix lengths (nil: any address) and exact fields.
    struct Template {
        var sourceLength: UInt8?
        var destinationLength: UInt8?
        var proto: Bool
        var sourcePort: Bool
        var destinationPort: Bool
    }

    func template(_ g: inout RandomPolicy) -> Template {
        let lengths: [UInt8?] = [nil, 0, 8, 16, 24, 32, UInt8(g.int(1...32))]
        return Template(
            sourceLength: g.pick(lengths), destinationLength: g.pick(lengths), proto: g.chance(60),
            sourcePort: g.chance(30), destinationPort: g.chance(60))
    }

    /// A random rule (its checks, sets, family) with its indexed fields cut to the template's.
    func fitted(_ rule: RuleMatch, _ t: Template, _ g: inout RandomPolicy) -> RuleMatch {
        var m = rule
        func cut(_ list: [IPPrefix], _ length: UInt8?) -> [IPPrefix] {
            guard let length else { return [] }
            let v4 = list.filter { !$0.isV6 }.map { IPPrefix(address: $0.address, length: length, isV6: false) }
            let v6 = list.filter(\.isV6)
            guard v4.isEmpty && v6.isEmpty else { return v4 + v6 }
            return [IPPrefix(address: g.prefix(v6: false).address, length: length, isV6: false)]
        }
        m.sources = cut(m.sources, t.sourceLength)
        m.destinations = cut(m.destinations, t.destinationLength)
        m.protocols = t.proto ? (m.protocols.isEmpty ? [g.pick(RandomPolicy.protos)] : m.protocols) : []
        func narrow(_ list: [PortRange], _ fixed: Bool) -> [PortRange] {
            guard fixed else { return [] }
            let ranges = list.isEmpty ? [g.portRange()] : list
            // At most 16 ports a range: listed port by port.
            return ranges.map { PortRange($0.lo, UInt16(min(Int($0.hi), Int($0.lo) + g.int(0...15)))) }
        }
        m.sourcePorts = narrow(m.sourcePorts, t.sourcePort)
        m.destinationPorts = narrow(m.destinationPorts, t.destinationPort)
        // A rule of at most 64 keys: else one of each list, and at most 4 source ports.
        if TupleExpansion.keys(m) == nil {
            m.sources = Array(m.sources.prefix(1))
            m.destinations = Array(m.destinations.prefix(1))
            m.protocols = Array(m.protocols.prefix(1))
            m.sourcePorts = m.sourcePorts.prefix(1).map { PortRange($0.lo, UInt16(min(Int($0.hi), Int($0.lo) + 3))) }
            m.destinationPorts = Array(m.destinationPorts.prefix(1))
        }
        return m
    }

    /// A difference from the reference, else nil; how many headers matched a rule; and how many
    /// rules went to the other classifier.
    func compare(seed: UInt64) -> (String?, matched: Int, others: Int) {
        var g = RandomPolicy(seed: seed)
        let sets = SetType.allCases.flatMap { t in (0..<2).map { g.randomSet(t, name: "\(t)-\($0)") } }
        let templates = (0..<g.int(1...4)).map { _ in template(&g) }
        let n = g.int(1...300)
        var rules: [RuleMatch] = (0..<n).map { _ in
            let base = seed % 2 == 0 && g.chance(40) ? g.ruleWithSets(sets) : g.rule()
            // A third of the seeds mix in rules of any shape and port range.
            return seed % 3 == 0 && g.chance(15) ? base : fitted(base, g.pick(templates), &g)
        }
        // Copies of earlier rules under other checks: several rules under one key.
        for _ in 0..<(n / 10) {
            var copy = g.pick(rules)
            copy.icmpType = g.chance(50) ? UInt8(g.pick([0, 3, 8])) : nil
            copy.states = g.chance(50) ? UInt8(g.int(1...15)) : 0
            rules.insert(copy, at: g.int(0...rules.count))
        }
        let tuples = TupleSpaceClassifier(matches: rules)
        let reference = ReferenceClassifier(matches: rules)
        var metas = (0..<500).map { _ in g.header(near: g.pick(rules)) }
        let got = ChunkedClassifierTests.classifyAll(tuples, metas)
        for i in 0..<metas.count {
            let want = withUnsafePointer(to: &metas[i]) { reference.classify($0) }
            if got[i] != want {
                let rule = got[i] >= 0 ? "\n\(rules[Int(got[i])])" : ""
                let what = "seed \(seed): \(rules.count) rules (\(tuples.others.count) others)"
                return ("\(what), header \(i): \(got[i]) != \(want)\n\(metas[i])\(rule)", 0, 0)
            }
        }
        return (nil, got.filter { $0 >= 0 }.count, tuples.others.count)
    }

    func testRandomPoliciesOfFewShapesAgreeWithReference() {
        var matched = 0, others = 0
        for seed in UInt64(1)...80 {
            let (difference, hits, otherRules) = compare(seed: seed)
            if let difference { return XCTFail(difference) }
            matched += hits
            others += otherRules
        }
        XCTAssertGreaterThan(matched, 80 * 500 / 10, "a tenth of the headers or more match a rule")
        XCTAssertGreaterThan(others, 100, "rules that do not fit are searched apart")
    }

    func testRulesThatDoNotFitGoToTheOtherClassifier() {
        var wide = RuleMatch()
        wide.destinationPorts = [PortRange(1000, 1016)]  // 17 ports
        var narrow = wide
        narrow.destinationPorts = [PortRange(1000, 1015)]
        XCTAssertEqual(TupleSpaceClassifier(matches: [narrow, wide]).others.count, 1)
        XCTAssertEqual(TupleSpaceClassifier(matches: [narrow]).others.count, 0)
        // An empty range (as no configuration gives) matches nothing and does not trap.
        var empty = RuleMatch()
        empty.destinationPorts = [PortRange(10, 5)]
        var m = PacketMeta()
        m.ipVersion = 4
        m.hasL4 = true
        m.hasPorts = true
        m.dport = 1016
        XCTAssertEqual(TupleSpaceClassifier(matches: [empty]).classify(&m), -1)
        // The wide rule comes first here: it is found though the table holds a matching rule too.
        m.dport = 1010
        XCTAssertEqual(TupleSpaceClassifier(matches: [wide, narrow]).classify(&m), 0)
        XCTAssertEqual(TupleSpaceClassifier(matches: [narrow, wide]).classify(&m), 0)
        // Nine shapes, two rules in each but the last: it is the one left out.
        let nine = (0..<17).map { i in
            var r = RuleMatch()
            r.sources = [IPPrefix(address: IPAddress(v4: 0x0A00_0000), length: UInt8(8 + i / 2), isV6: false)]
            return r
        }
        let tuples = TupleSpaceClassifier(matches: nine)
        XCTAssertEqual(tuples.tableCount, 8)
        XCTAssertEqual(tuples.others.count, 1)
        m.src = IPAddress(v4: 0x0A00_0001)
        XCTAssertEqual(tuples.classify(&m), 0)
    }

    func testLargePolicyOfOneShapeIsSearchedByTuples() throws {
        let large = ChunkedClassifierTests.synthetic(50_000)
        let plan = CompiledClassifier.plan(large)
        XCTAssertEqual(plan.kind, .tupleSpace(shapes: 1, others: 0))
        let built = try XCTUnwrap(CompiledClassifier.make(large, plan: plan) as? TupleSpaceClassifier)
        XCTAssertGreaterThanOrEqual(plan.estimatedBytes, built.memoryBytes)
        XCTAssertLessThan(plan.estimatedBytes, 3 * built.memoryBytes)
        XCTAssertEqual(CompiledClassifier.bytes(of: built), built.memoryBytes)
        // The same rules with port ranges of 100 do not fit: chunks.
        let ranged = large.map { m in
            var r = m
            r.destinationPorts = [PortRange(m.destinationPorts[0].lo, m.destinationPorts[0].lo &+ 99)]
            return r
        }
        let chunks = CompiledClassifier.Kind.chunked(rulesPerChunk: ChunkedClassifier.defaultChunkRules)
        XCTAssertEqual(CompiledClassifier.plan(ranged).kind, chunks)
        // A tenth of them among the exact ones: tuple space, those apart.
        let mixed = large.enumerated().map { i, m in i % 10 == 3 ? ranged[i] : m }
        XCTAssertEqual(CompiledClassifier.plan(mixed).kind, .tupleSpace(shapes: 1, others: 5000))
    }
}
