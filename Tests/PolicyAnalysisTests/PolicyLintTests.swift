import FirewallCore
import PolicyAnalysis
import XCTest

/// The lint on policies whose findings are known by construction.
final class PolicyLintTests: XCTestCase {
    func prefix(_ s: String) -> IPPrefix { IPPrefix.parse(s)! }

    func rule(_ name: String, _ action: Action, _ build: (inout RuleMatch) -> Void) -> Rule {
        var m = RuleMatch()
        build(&m)
        if !(m.sources + m.destinations).isEmpty { m.ipVersion = m.ipVersion ?? 4 }
        return Rule(name: name, action: action, match: m)
    }

    func lint(_ rules: [Rule], tracked: TrackedPolicy = .classify, defaultAction: Action = .drop) -> PolicyLint {
        var p = Policy(portNames: ["inside", "outside"], rules: rules)
        p.tracked = tracked
        p.defaultAction = defaultAction
        return PolicyLint(p)
    }

    func kinds(_ l: PolicyLint, _ kind: LintFinding.Kind) -> [Int] { l.findings.filter { $0.kind == kind }.map(\.rule) }

    func testARuleCoveredByOneEarlierRuleIsShadowed() {
        let l = lint([
            rule("web", .accept) {
                $0.sources = [prefix("10.0.0.0/8")]
                $0.protocols = [6]
                $0.destinationPorts = [PortRange(80, 90)]
            },
            rule("narrow", .drop) {
                $0.sources = [prefix("10.1.0.0/16")]
                $0.protocols = [6]
                $0.destinationPorts = [PortRange(80)]
            }
        ])
        XCTAssertEqual(l.findings.first { $0.kind == .shadowed }, LintFinding(kind: .shadowed, rule: 1, others: [0]))
    }

    func testARuleCoveredOnlyByTwoEarlierRulesTogetherIsShadowed() {
        let l = lint([
            rule("low", .accept) {
                $0.protocols = [17]
                $0.destinationPorts = [PortRange(0, 1023)]
            },
            rule("high", .drop) {
                $0.protocols = [17]
                $0.destinationPorts = [PortRange(1024, 65535)]
            },
            rule("all-udp", .reject) { $0.protocols = [17] }
        ])
        XCTAssertEqual(l.findings.first { $0.rule == 2 }, LintFinding(kind: .shadowed, rule: 2, others: [0, 1]))
        // Without "high" a UDP port 2000 packet reaches all-udp: not shadowed.
        XCTAssertEqual(kinds(lint([l0(), rule("all-udp", .reject) { $0.protocols = [17] }]), .shadowed), [])
    }

    func l0() -> Rule {
        rule("low", .accept) {
            $0.protocols = [17]
            $0.destinationPorts = [PortRange(0, 1023)]
        }
    }

    func testPortsCoverEveryTCPPacketBecauseEveryTCPPacketHasPorts() {
        // "dport 0-65535" matches only packets with ports; every TCP packet has them.
        let l = lint([
            rule("any-port", .accept) { $0.destinationPorts = [PortRange.any] },
            rule("tcp", .drop) { $0.protocols = [6] },
            rule("gre", .drop) { $0.protocols = [47] }
        ])
        XCTAssertEqual(kinds(l, .shadowed), [1])
    }

    func testARuleWhoseLaterRulesDecideAlikeIsRedundant() {
        let l = lint(
            [
                rule("drop-10-udp", .drop) {
                    $0.sources = [prefix("10.0.0.0/8")]
                    $0.protocols = [17]
                },
                rule("ssh", .accept) {
                    $0.protocols = [6]
                    $0.destinationPorts = [PortRange(22)]
                },
                rule("drop-udp", .drop) { $0.protocols = [17] }
            ], defaultAction: .accept)
        XCTAssertEqual(l.findings.first { $0.rule == 0 }, LintFinding(kind: .redundant, rule: 0, others: [2]))
        // A rule whose packets fall to the default with the same action is redundant too.
        let d = lint([rule("drop-gre", .drop) { $0.protocols = [47] }])
        XCTAssertEqual(d.findings, [LintFinding(kind: .redundant, rule: 0, others: [], byDefault: true)])
        // ... but not when a later rule in between decides otherwise.
        let n = lint(
            [
                rule("drop-10-udp", .drop) {
                    $0.sources = [prefix("10.0.0.0/8")]
                    $0.protocols = [17]
                },
                rule("dns", .accept) {
                    $0.protocols = [17]
                    $0.destinationPorts = [PortRange(53)]
                },
                rule("drop-udp", .drop) { $0.protocols = [17] }
            ], defaultAction: .accept)
        XCTAssertEqual(kinds(n, .redundant), [])
    }

    func testStateRulesThatTrackedAcceptNeverConsults() {
        let rules = [
            rule("est", .accept) { $0.states = ConnState.established.bit | ConnState.related.bit },
            rule("new-or-est", .accept) {
                $0.states = ConnState.new.bit | ConnState.established.bit
                $0.protocols = [6]
            }
        ]
        XCTAssertEqual(kinds(lint(rules, tracked: .accept), .tracked), [0])
        XCTAssertEqual(kinds(lint(rules, tracked: .classify), .tracked), [])
    }

    func testPartialOverlapWithDifferentActionsIsAWarningWithAPacket() {
        let l = lint([
            rule("from-10", .accept) {
                $0.sources = [prefix("10.0.0.0/8")]
                $0.protocols = [6]
            },
            rule("to-22", .drop) {
                $0.protocols = [6]
                $0.destinationPorts = [PortRange(22)]
            },
            rule("exception", .drop) {
                $0.sources = [prefix("10.9.0.0/16")]
                $0.protocols = [17]
            },
            rule("general", .accept) { $0.protocols = [17] }
        ])
        let overlaps = l.findings.filter { $0.kind == .overlap }
        // from-10/to-22 overlap partially; exception/general is an exception before a general
        // rule (one covers the other), which is not reported.
        XCTAssertEqual(overlaps.map(\.rule), [1])
        XCTAssertEqual(overlaps.first?.others, [0])
        XCTAssertEqual(
            overlaps.first?.example, "tcp 10.0.0.0:0 -> 0.0.0.0:22 flags 0x0 on inside, vlan 0, state invalid")
    }
}
