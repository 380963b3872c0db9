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
