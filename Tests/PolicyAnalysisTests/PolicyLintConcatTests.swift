import FirewallCore
import PolicyAnalysis
import Workloads
import XCTest

/// Lint and explain on rules that test concatenated sets, which the lint treats conservatively:
/// its shadowed and redundant claims must stay true (a subset of what brute force finds), it
/// claims no overlap for such a rule, and `firstMismatch` still agrees with `matches`.
final class PolicyLintConcatTests: XCTestCase {
    /// Some rules' `src` and `dport` lists (any port when it has none) become one `src . dport`
    /// set of part of their product, half of them negated.
    func withConcat(_ r: Rule, _ g: inout SplitMix64) -> Rule {
        var r = r
        let m = r.match
        guard !m.sources.isEmpty, m.sources.allSatisfy({ !$0.isV6 }), g.next() % 4 != 0 else { return r }
        var elements = SetElements(components: [.ipv4, .port])
        for p in m.sources {
            for ports in m.destinationPorts.isEmpty ? [PortRange.any] : m.destinationPorts
            where elements.count == 0 || g.next() % 3 != 0 {
                XCTAssertNil(elements.add(Substring("\(p) . \(ports)")))
            }
        }
        let test = ConcatMatch([.source, .destinationPort], elements.build("c"), negated: g.next() % 2 == 0)
        r.match.concats = [test]
        r.match.sources = []
        r.match.destinationPorts = []
        r.match.ipVersion = 4
        return r
    }

    func testClaimsStayTrueWithConcatenations() {
        var g = SplitMix64(seed: 0xC0CA7)
        var concatRules = 0, shadowedSeen = 0
        for round in 0..<100 {
            let plain = (0..<Int(3 + g.next() % 7)).map { RandomRules.randomRule($0, &g) }
            let packets = RandomRules.packets(plain, onlyNew: false)
            let rules = plain.map { withConcat($0, &g) }
            concatRules += rules.filter { !$0.match.concats.isEmpty }.count
            var policy = Policy(portNames: ["inside", "outside"], rules: rules)
            policy.tracked = .classify
            let lint = PolicyLint(policy)
            var firsts = Set<Int>(), changes = Set<Int>()
            for meta in packets {
                if let r = rules.randomElement(using: &g) {
                    XCTAssertEqual(r.match.firstMismatch(meta) == nil, r.match.matches(meta), "\(r) on \(meta)")
                }
                let matching = rules.indices.filter { rules[$0].match.matches(meta) }
                guard let first = matching.first else { continue }
                firsts.insert(first)
                let without = matching.dropFirst().first.map { rules[$0].action } ?? policy.defaultAction
                if without != rules[first].action { changes.insert(first) }
            }
            let found = { (k: LintFinding.Kind) in Set(lint.findings.filter { $0.kind == k }.map(\.rule)) }
            let never = Set(rules.indices).subtracting(firsts)
            XCTAssertTrue(found(.shadowed).isSubset(of: never), "round \(round): \(rules)")
            // A rule no packet reaches is also one whose removal changes nothing: the lint may
            // call a shadowed concatenation rule redundant, as it sees a superset of its packets.
            XCTAssertTrue(found(.redundant).isSubset(of: firsts.subtracting(changes).union(never)), "round \(round)")
            for f in lint.findings where f.kind == .overlap {
                XCTAssertTrue(([f.rule] + f.others).allSatisfy { rules[$0].match.concats.isEmpty }, "round \(round)")
            }
            shadowedSeen += found(.shadowed).count
        }
        XCTAssertGreaterThan(concatRules, 40)
        XCTAssertGreaterThan(shadowedSeen, 3)
    }
}
