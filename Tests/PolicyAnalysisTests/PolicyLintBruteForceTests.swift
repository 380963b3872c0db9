import FirewallCore
import PolicyAnalysis
import Workloads
import XCTest

/// The lint's shadowed and redundant claims against brute force: random small policies, and
/// every packet shape they can tell apart (`RandomRules`), first-matched by `RuleMatch.matches`.
final class PolicyLintBruteForceTests: XCTestCase {
    func testShadowedAndRedundantAgreeWithBruteForce() {
        var g = SplitMix64(seed: 0x11A7)
        var shadowedSeen = 0, redundantSeen = 0
        for round in 0..<80 {
            let rules = (0..<Int(3 + g.next() % 8)).map { RandomRules.randomRule($0, &g) }
            var policy = Policy(portNames: ["inside", "outside"], rules: rules)
            policy.tracked = g.next() % 2 == 0 ? .accept : .classify
            policy.defaultAction = g.next() % 2 == 0 ? .drop : .accept
            let lint = PolicyLint(policy)
            XCTAssertEqual(lint.undecided, [], "round \(round)")

            var firsts = Set<Int>()
            var changes = Set<Int>()  // rules whose removal changes some packet's action
            for meta in RandomRules.packets(rules, onlyNew: policy.tracked == .accept) {
                let matching = rules.indices.filter { rules[$0].match.matches(meta) }
                guard let first = matching.first else { continue }
                firsts.insert(first)
                let without = matching.dropFirst().first.map { rules[$0].action } ?? policy.defaultAction
                if without != rules[first].action { changes.insert(first) }
            }
            let never = Set(rules.indices).subtracting(firsts)
            let found = { (k: LintFinding.Kind) in Set(lint.findings.filter { $0.kind == k }.map(\.rule)) }
            XCTAssertEqual(found(.shadowed).union(found(.tracked)), never, "round \(round): \(rules)")
            XCTAssertEqual(found(.redundant), firsts.subtracting(changes), "round \(round): \(rules)")
            shadowedSeen += never.count
            redundantSeen += firsts.subtracting(changes).count
        }
        // The rounds exercise both claims, not only their absence.
        XCTAssertGreaterThan(shadowedSeen, 5)
        XCTAssertGreaterThan(redundantSeen, 5)
    }
}

/// `firstMismatch` names a field exactly when `matches` says no.
final class RuleExplainTests: XCTestCase {
    func testFirstMismatchAgreesWithMatches() {
        var g = SplitMix64(seed: 0xE8)
        var failures: [String: Int] = [:]
        for _ in 0..<30 {
            let rules = (0..<6).map { RandomRules.randomRule($0, &g) }
            for meta in RandomRules.packets(rules, onlyNew: false) where g.next() % 7 == 0 {
                for r in rules {
                    let miss = r.match.firstMismatch(meta, portNames: ["inside", "outside"])
                    XCTAssertEqual(miss == nil, r.match.matches(meta), "\(r) on \(meta)")
                    if let f = miss?.field { failures[f, default: 0] += 1 }
                }
            }
        }
        // Each kind of field the random rules use has failed somewhere.
        for field in ["ingress", "src", "dst", "proto", "dport", "tcp-flags", "state"] {
            XCTAssertGreaterThan(failures[field] ?? 0, 0, field)
        }
    }
}

/// The same with named sets: some rules' prefix, port and protocol lists become sets of the same
/// elements, half of them negated. The packet shapes come from the lists before they moved into
/// sets, so they still cut every set's boundaries.
final class PolicyLintSetTests: XCTestCase {
    func withSets(_ r: Rule, _ g: inout SplitMix64) -> Rule {
        var r = r
        let m = r.match
        if !m.sources.isEmpty && g.next() % 2 == 0 {
            r.match.sets.append(
                SetMatch(.source, NamedSet(name: "s", prefixes: m.sources, v6: false), negated: g.next() % 2 == 0))
            r.match.sources = []
        }
        if !m.destinationPorts.isEmpty && g.next() % 2 == 0 {
            let s = NamedSet(name: "p", ports: m.destinationPorts)
            r.match.sets.append(SetMatch(.destinationPort, s, negated: g.next() % 2 == 0))
            r.match.destinationPorts = []
        }
        if !m.protocols.isEmpty && m.destinationPorts.isEmpty && m.sourcePorts.isEmpty && m.tcpFlags == nil
            && g.next() % 2 == 0
        {
            let s = NamedSet(name: "q", protocols: m.protocols)
            r.match.sets.append(SetMatch(.proto, s, negated: g.next() % 2 == 0))
            r.match.protocols = []
        }
        return r
    }

    func testShadowedAndRedundantWithSetsAgreeWithBruteForce() {
        var g = SplitMix64(seed: 0x5E75)
        var shadowedSeen = 0, setRules = 0
        for round in 0..<40 {
            let plain = (0..<Int(3 + g.next() % 7)).map { RandomRules.randomRule($0, &g) }
            let packets = RandomRules.packets(plain, onlyNew: false)
            let rules = plain.map { withSets($0, &g) }
            setRules += rules.filter { !$0.match.sets.isEmpty }.count
            var policy = Policy(portNames: ["inside", "outside"], rules: rules)
            policy.tracked = .classify
            let lint = PolicyLint(policy)
            var firsts = Set<Int>(), changes = Set<Int>()
            for meta in packets {
                let matching = rules.indices.filter { rules[$0].match.matches(meta) }
                // --explain names a field exactly when the rule does not match.
                if let r = rules.randomElement(using: &g) {
                    XCTAssertEqual(r.match.firstMismatch(meta) == nil, r.match.matches(meta), "\(r) on \(meta)")
                }
                guard let first = matching.first else { continue }
                firsts.insert(first)
                let without = matching.dropFirst().first.map { rules[$0].action } ?? policy.defaultAction
                if without != rules[first].action { changes.insert(first) }
            }
            let found = { (k: LintFinding.Kind) in Set(lint.findings.filter { $0.kind == k }.map(\.rule)) }
            XCTAssertEqual(found(.shadowed), Set(rules.indices).subtracting(firsts), "round \(round): \(rules)")
            XCTAssertEqual(found(.redundant), firsts.subtracting(changes), "round \(round): \(rules)")
            shadowedSeen += found(.shadowed).count
        }
        XCTAssertGreaterThan(shadowedSeen, 5)
        XCTAssertGreaterThan(setRules, 30)
    }
}
