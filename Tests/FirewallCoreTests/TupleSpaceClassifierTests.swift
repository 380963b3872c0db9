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

    /// A difference from the reference, else nil; and how many headers matched a rule.
    func compare(seed: UInt64) -> (String?, matched: Int) {
        var g = RandomPolicy(seed: seed)
        let sets = SetType.allCases.flatMap { t in (0..<2).map { g.randomSet(t, name: "\(t)-\($0)") } }
        let templates = (0..<g.int(1...4)).map { _ in template(&g) }
        let n = g.int(1...300)
        var rules: [RuleMatch] = (0..<n).map { _ in
            let base = seed % 2 == 0 && g.chance(40) ? g.ruleWithSets(sets) : g.rule()
            return fitted(base, g.pick(templates), &g)
        }
        // Copies of earlier rules under other checks: several rules under one key.
        for _ in 0..<(n / 10) {
            var copy = g.pick(rules)
            copy.icmpType = g.chance(50) ? UInt8(g.pick([0, 3, 8])) : nil
            copy.states = g.chance(50) ? UInt8(g.int(1...15)) : 0
            rules.insert(copy, at: g.int(0...rules.count))
        }
        guard let tuples = TupleSpaceClassifier(matches: rules) else { return ("seed \(seed): did not fit", 0) }
        let reference = ReferenceClassifier(matches: rules)
        var metas = (0..<500).map { _ in g.header(near: g.pick(rules)) }
        let got = ChunkedClassifierTests.classifyAll(tuples, metas)
        for i in 0..<metas.count {
            let want = withUnsafePointer(to: &metas[i]) { reference.classify($0) }
            if got[i] != want {
                let rule = got[i] >= 0 ? "\n\(rules[Int(got[i])])" : ""
                return ("seed \(seed): \(rules.count) rules, header \(i): \(got[i]) != \(want)\n\(metas[i])\(rule)", 0)
            }
        }
        return (nil, got.filter { $0 >= 0 }.count)
    }

    func testRandomPoliciesOfFewShapesAgreeWithReference() {
        var matched = 0
        for seed in UInt64(1)...80 {
            let (difference, hits) = compare(seed: seed)
            if let difference { return XCTFail(difference) }
            matched += hits
        }
        XCTAssertGreaterThan(matched, 80 * 500 / 10, "a tenth of the headers or more match a rule")
    }

    func testPoliciesThatDoNotFitAreRefused() {
        var wide = RuleMatch()
        wide.destinationPorts = [PortRange(1000, 1016)]  // 17 ports
        XCTAssertNil(TupleSpaceClassifier(matches: [wide]))
        var narrow = wide
        narrow.destinationPorts = [PortRange(1000, 1015)]
        XCTAssertNotNil(TupleSpaceClassifier(matches: [narrow]))
        // An empty range (as no configuration gives) matches nothing and does not trap.
        var empty = RuleMatch()
        empty.destinationPorts = [PortRange(10, 5)]
        var m = PacketMeta()
        m.ipVersion = 4
        m.hasL4 = true
        m.hasPorts = true
        m.dport = 7
        XCTAssertEqual(TupleSpaceClassifier(matches: [empty])?.classify(&m), -1)
        let manyShapes = (0..<9).map { i in
            var m = RuleMatch()
            m.sources = [IPPrefix(address: IPAddress(v4: 0x0A00_0000), length: UInt8(8 + i), isV6: false)]
            return m
        }
        XCTAssertNil(TupleSpaceClassifier(matches: manyShapes))
        XCTAssertNotNil(TupleSpaceClassifier(matches: Array(manyShapes.prefix(8))))
    }

    func testLargePolicyOfOneShapeIsSearchedByTuples() throws {
        let large = ChunkedClassifierTests.synthetic(50_000)
        let plan = CompiledClassifier.plan(large)
        XCTAssertEqual(plan.kind, .tupleSpace(shapes: 1))
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
    }
}
