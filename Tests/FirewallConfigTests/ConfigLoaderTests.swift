import XCTest
import FirewallCore
@testable import FirewallConfig

final class ConfigLoaderTests: XCTestCase {
    /// Parses `yaml` and returns the error it must raise.
    func error(_ yaml: String, file: String = "t.yaml") -> ConfigError? {
        do {
            _ = try ConfigLoader.parse(yaml: yaml, file: file)
            return nil
        } catch let e as ConfigError { return e } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testShippedDefaultIsValidAndUsesEveryFeature() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../configs/default.yaml"
        ).path
        let c = try ConfigLoader.load(path: path)
        XCTAssertEqual(c.portNames, ["inside", "outside"])
        XCTAssertEqual(c.ports[0].interface, "vfw-in0")
        XCTAssertEqual(c.dataplane.backend, .afpacket)
        XCTAssertEqual(c.dataplane.burst, 32)
        XCTAssertEqual(c.conntrack.maxFlows, 65536)
        XCTAssertEqual(c.conntrack.timeouts.tcpEstablished, 432_000)
        XCTAssertEqual(c.policy.defaultAction, .drop)
        XCTAssertEqual(c.policy.arpAction, .accept)
        XCTAssertEqual(c.policy.rules.count, 9)
        let ssh = c.policy.rules.first { $0.name == "allow-ssh-in" }!
        XCTAssertEqual(ssh.match.ingress, [1])
        XCTAssertEqual(ssh.match.ipVersion, 4)
        XCTAssertEqual(ssh.match.tcpFlags, TCPFlagsMatch(mask: TCPFlag.syn | TCPFlag.ack, value: TCPFlag.syn))
        XCTAssertEqual(ssh.match.destinations, [IPPrefix.parse("10.0.0.22/32")!])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
                $0.contains("- name: allow-ssh-in")
            }! + 1
        XCTAssertTrue(ssh.origin.hasSuffix("default.yaml:\(line)"), ssh.origin)
        XCTAssertEqual(
            c.policy.rules.first { $0.name == "allow-web-out" }!.match.destinationPorts, [PortRange(80), PortRange(443)]
        )
        XCTAssertEqual(c.policy.rules.first { $0.name == "allow-ping6-out" }!.match.icmpType, 128)
        XCTAssertEqual(c.policy.rules.first { $0.name == "allow-mgmt-vlan-snmp" }!.match.vlans, [PortRange(100)])
    }

    func testBadPortNamesItsPosition() {
        let e = error(
            """
            rules:
              - name: web
                proto: tcp
                dport: http
                action: accept
            """, file: "configs/x.yaml")
        XCTAssertEqual(
            e?.description, "configs/x.yaml:4:12: 'dport' expects a port, a range 1000-2000 or a list, got 'http'")
    }

    func testUnknownKeysAreErrors() {
        let e = error(
            """
            rules:
              - action: accept
                dports: 80
            """)
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, 5)
        XCTAssertTrue(
            e?.message.hasPrefix("'dports' is not a key of a rule; expected one of:") ?? false, e?.message ?? "")
        XCTAssertEqual(error("rules: []\nrulez: []\n")?.line, 2)
        XCTAssertEqual(
            error("rules: []\npolicy:\n  default: drop\n  defualt: accept\n")?.message.hasPrefix(
                "'defualt' is not a key of 'policy'"), true)
        XCTAssertEqual(error("rules: []\nconntrack:\n  timeouts:\n    tcp-establised: 5\n")?.line, 4)
    }

    func testEveryFieldRefusesBadValues() {
        let cases: [(String, Int, String)] = [
            ("action: allow", 2, "'action' expects one of accept, drop, reject, got 'allow'"),
            ("src: 10.0.0.0/33", 3, "'src' expects an address or prefix"),
            ("dst: [10.0.0.1, nonsense]", 3, "'dst' expects an address or prefix"),
            ("proto: tcpp", 3, "'proto' expects icmp, tcp"),
            ("sport: 2000-1000", 3, "'sport' range 2000-1000 is empty"),
            ("dport: 70000", 3, "'dport' expects a port"),
            ("vlan: 5000", 3, "'vlan' expects a VLAN ID 0-4095"),
            ("ip: 5", 3, "'ip' expects one of 4, 6"),
            ("state: bogus", 3, "'state' expects one of invalid, new, established, related"),
            ("icmp-code: 300", 3, "'icmp-code' expects a whole number from 0 to 255"),
            ("ingress: dmz", 3, "'ingress' names port 'dmz', but the ports are: inside, outside")
        ]
        for (line, expectedLine, prefix) in cases {
            let e = error(
                "rules:\n  - action: accept\n    \(line)\n".replacingOccurrences(
                    of: "action: accept\n    action: allow", with: "action: allow"))
            XCTAssertEqual(e?.line, expectedLine, line)
            XCTAssertTrue(e?.message.hasPrefix(prefix) ?? false, "\(line): \(e?.message ?? "no error")")
        }
    }

    func testRuleLevelConsistency() {
        XCTAssertTrue(
            error("rules:\n  - action: accept\n    src: 10.0.0.0/8\n    dst: 2001:db8::/32\n")?.message.contains(
                "cannot mix IPv4 and IPv6") ?? false)
        XCTAssertTrue(
            error("rules:\n  - action: accept\n    ip: 6\n    src: 10.0.0.0/8\n")?.message.contains("contradicts")
                ?? false)
        XCTAssertTrue(
            error("rules:\n  - action: accept\n    proto: icmp\n    dport: 80\n")?.message.contains(
                "ports apply to tcp, udp and sctp only") ?? false)
        XCTAssertTrue(
            error("rules:\n  - action: accept\n    proto: udp\n    tcp-flags: syn\n")?.message.contains(
                "needs 'proto: tcp'") ?? false)
        XCTAssertTrue(error("rules:\n  - name: x\n    proto: tcp\n")?.message.contains("has no 'action'") ?? false)
        XCTAssertTrue(
            error("rules:\n  - action: accept\n    tcp-flags: syn,!bogus\n    proto: tcp\n")?.message.contains(
                "'tcp-flags' expects names") ?? false)
    }

    func testInvalidYAMLAndMissingFile() {
        let e = error("rules:\n  - action: accept\n   bad: [\n")
        XCTAssertNotNil(e)
        XCTAssertTrue(e?.message.hasPrefix("not valid YAML") ?? false, e?.message ?? "")
        XCTAssertGreaterThan(e?.line ?? 0, 1)
        XCTAssertTrue(error("")?.message.contains("empty") ?? false)
        XCTAssertTrue(error("policy:\n  default: drop\n")?.message.contains("no 'rules'") ?? false)
        XCTAssertThrowsError(try ConfigLoader.load(path: "/nonexistent/vfwall.yaml")) { e in
            XCTAssertEqual(
                "\(e)", "/nonexistent/vfwall.yaml: cannot read the configuration file: No such file or directory")
        }
        XCTAssertThrowsError(try ConfigLoader.load(path: "/")) { e in
            XCTAssertEqual("\(e)", "/: cannot read the configuration file: Is a directory")
        }
    }

    func testDuplicateRuleNamesAreRefusedWithBothPositions() {
        let twice = "rules:\n  - name: web\n    action: accept\n  - action: drop\n    name: web\n"
        XCTAssertEqual(
            error(twice)?.description, "t.yaml:5:11: rule name 'web' is already used by the rule at t.yaml:2:11")
        // A default name ("rule-N") counts too: it is what the counters show.
        let clash = "rules:\n  - name: rule-1\n    action: accept\n  - action: drop\n"
        XCTAssertEqual(
            error(clash)?.description, "t.yaml:4:5: rule name 'rule-1' is already used by the rule at t.yaml:2:11")
    }

    func testListsRangesAndNames() throws {
        let c = try ConfigLoader.parse(
            yaml: """
                ports:
                  lan: {}
                  wan:
                  dmz:
                    interface: eth9
                rules:
                  - action: drop
                    ingress: [wan, dmz]
                    proto: [tcp, udp]
                    dport: [80, 8000-8080]
                    vlan: [untagged, 10-20]
                    state: [new, invalid]
                  - action: accept
                    proto: icmpv6
                    icmp-type: neighbor-solicitation
                policy:
                  tracked: classify
                  fragments: drop
                """, file: "t.yaml")
        XCTAssertEqual(c.portNames, ["lan", "wan", "dmz"])
        XCTAssertEqual(c.ports[2].interface, "eth9")
        let m = c.policy.rules[0].match
        XCTAssertEqual(m.ingress, [1, 2])
        XCTAssertEqual(m.protocols, [6, 17])
        XCTAssertEqual(m.destinationPorts, [PortRange(80), PortRange(8000, 8080)])
        XCTAssertEqual(m.vlans, [PortRange(PacketMeta.untagged), PortRange(10, 20)])
        XCTAssertEqual(m.states, ConnState.new.bit | ConnState.invalid.bit)
        XCTAssertEqual(c.policy.rules[1].match.icmpType, 135)
        XCTAssertEqual(c.policy.rules[0].name, "rule-0")
        XCTAssertEqual(c.policy.tracked, .classify)
    }

    func testDuplicateKeysAreRefused() {
        XCTAssertNotNil(error("rules:\n  - action: accept\n    action: drop\n"))
    }

    func testMinimalFixtureLoadsWithDefaults() throws {
        let url = Bundle.module.url(forResource: "minimal", withExtension: "yaml", subdirectory: "Fixtures")!
        let c = try ConfigLoader.load(path: url.path)
        XCTAssertEqual(c.portNames, ["inside", "outside"])
        XCTAssertEqual(c.policy.rules.count, 0)
        XCTAssertEqual(c.conntrack, ConntrackSettings())
    }
}
