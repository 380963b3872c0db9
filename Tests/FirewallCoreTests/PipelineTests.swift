import XCTest
@testable import FirewallCore

final class PipelineTests: XCTestCase {
    func prefix(_ s: String) -> IPPrefix { IPPrefix.parse(s)! }

    /// inside = port 0, outside = port 1. Web out is allowed; everything else falls to the default.
    func makePolicy(tracked: TrackedPolicy = .accept) -> Policy {
        var web = RuleMatch()
        web.ingress = [0]
        web.protocols = [6]
        web.destinationPorts = [PortRange(80), PortRange(443)]
        var telnet = RuleMatch()
        telnet.protocols = [6]
        telnet.destinationPorts = [PortRange(23)]
        var established = RuleMatch()
        established.states = ConnState.established.bit
        var rules = [
            Rule(name: "web", action: .accept, match: web), Rule(name: "telnet", action: .reject, match: telnet)
        ]
        if tracked == .classify { rules.insert(Rule(name: "est", action: .accept, match: established), at: 0) }
        var p = Policy(portNames: ["inside", "outside"], rules: rules)
        p.tracked = tracked
        return p
    }

    func run(_ pipeline: Pipeline, _ frames: [[UInt8]], ingress: [Int]) -> [Verdict] {
        runFrames(pipeline, frames, ingress: ingress)
    }

    func testReturnTrafficPassesOnlyThroughConntrack() {
        let pl = Pipeline(policy: CompiledPolicy(makePolicy()), conntrack: ConntrackSettings())
        let c = "10.0.0.1", s = "192.0.2.1"
        let v = run(
            pl,
            [
                Frames.tcp4(c, s, 1000, 80, SYN),  // inside: web rule
                Frames.tcp4(s, c, 80, 1000, SYN | ACK),  // outside: no rule allows it, the flow does
                Frames.tcp4(c, s, 1000, 80, ACK),
                Frames.tcp4(s, c, 80, 2000, SYN | ACK),  // outside, no flow: invalid
                Frames.tcp4(s, c, 5555, 80, SYN),  // outside, new: default drop
                Frames.tcp4(c, s, 1001, 23, SYN)  // telnet: reject
            ], ingress: [0, 1, 0, 1, 1, 0])
        XCTAssertEqual(v[0], Verdict(action: .accept, reason: .none, state: .new, rule: 0))
        XCTAssertEqual(v[1], Verdict(action: .accept, reason: .none, state: .established, rule: Verdict.byConntrack))
        XCTAssertEqual(v[2].rule, Verdict.byConntrack)
        XCTAssertEqual(v[3], Verdict(action: .drop, reason: .invalidState, state: .invalid, rule: Verdict.bySetting))
        XCTAssertEqual(v[4], Verdict(action: .drop, reason: .none, state: .new, rule: Verdict.byDefault))
        XCTAssertEqual(v[5].action, .reject)
        XCTAssertEqual(v[5].rule, 1)

        let k = pl.counters
        XCTAssertEqual(k.frames, 6)
        XCTAssertEqual(k.count(.accept) + k.count(.drop) + k.count(.reject), 6)
        XCTAssertEqual(k.count(.accept), 3)
        XCTAssertEqual(k.ruleHits, [1, 1, 1])
        XCTAssertEqual(k.conntrackAccepted, 2)
        XCTAssertEqual(k.count(.invalidState), 1)
        XCTAssertEqual(pl.conntrack.count, 1, "dropped and rejected packets leave no flow")
    }

    func testClassifyModeLetsRulesSeeState() {
        let pl = Pipeline(policy: CompiledPolicy(makePolicy(tracked: .classify)), conntrack: ConntrackSettings())
        let v = run(
            pl,
            [
                Frames.tcp4("10.0.0.1", "192.0.2.1", 1000, 80, SYN),
                Frames.tcp4("192.0.2.1", "10.0.0.1", 80, 1000, SYN | ACK)
            ], ingress: [0, 1])
        XCTAssertEqual(v[0].rule, 1)
        XCTAssertEqual(v[1].rule, 0, "the established packet is accepted by the rule matching state established")
    }

    func testMalformedNonIPAndArpFollowSettings() {
        var p = makePolicy()
        p.arpAction = .drop
        p.nonIPAction = .accept
        let pl = Pipeline(policy: CompiledPolicy(p), conntrack: ConntrackSettings())
        let v = run(
            pl,
            [
                Frames.ethernet(0x0806, [UInt8](repeating: 0, count: 28)),
                Frames.ethernet(0x88CC, [1, 2, 3]),
                [1, 2, 3],
                Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, [], ihl: 3))
            ], ingress: [0, 0, 0, 0])
        XCTAssertEqual(v.map(\.action), [.drop, .accept, .drop, .drop])
        XCTAssertEqual(v.map(\.reason), [.arp, .nonIP, .truncatedEthernet, .badIPv4HeaderLength])
        XCTAssertEqual(pl.counters.count(.truncatedEthernet), 1)
    }

    func testFragmentsNeverBypassTheRules() {
        let pl = Pipeline(policy: CompiledPolicy(makePolicy()), conntrack: ConntrackSettings())
        let first = Frames.ethernet(
            0x0800, Frames.ipv4("10.0.0.1", "192.0.2.1", proto: 6, Frames.tcp(1, 80, flags: SYN), frag: 0x2000))
        let later = Frames.ethernet(
            0x0800, Frames.ipv4("10.0.0.1", "192.0.2.1", proto: 6, [UInt8](repeating: 0, count: 16), frag: 4))
        let v = run(pl, [first, later], ingress: [0, 0])
        XCTAssertEqual(v.map(\.action), [.drop, .drop])
        XCTAssertEqual(v.map(\.reason), [.fragment, .fragment])
    }

    func testTableFullDropsAndCounts() {
        var s = ConntrackSettings()
        s.maxFlows = 2
        let pl = Pipeline(policy: CompiledPolicy(makePolicy()), conntrack: s)
        // Two completed handshakes fill the table with assured flows; a third SYN is refused.
        var frames: [[UInt8]] = [], ingress: [Int] = []
        for p in [UInt16(1), 2] {
            frames += [
                Frames.tcp4("10.0.0.1", "192.0.2.1", p, 80, SYN),
                Frames.tcp4("192.0.2.1", "10.0.0.1", 80, p, SYN | ACK), Frames.tcp4("10.0.0.1", "192.0.2.1", p, 80, ACK)
            ]
            ingress += [0, 1, 0]
        }
        frames.append(Frames.tcp4("10.0.0.1", "192.0.2.1", 3, 80, SYN))
        ingress.append(0)
        let v = run(pl, frames, ingress: ingress)
        XCTAssertEqual(v.last, Verdict(action: .drop, reason: .conntrackFull, state: .new, rule: Verdict.bySetting))
        XCTAssertEqual(pl.conntrack.refused, 1)
    }

    func testReloadKeepsFlowsAndChangesVerdicts() {
        let pl = Pipeline(policy: CompiledPolicy(makePolicy()), conntrack: ConntrackSettings())
        _ = run(pl, [Frames.tcp4("10.0.0.1", "192.0.2.1", 1000, 80, SYN)], ingress: [0])
        var p = makePolicy()
        p.rules.removeAll { $0.name == "web" }
        pl.install(CompiledPolicy(p))
        let v = run(
            pl,
            [
                Frames.tcp4("192.0.2.1", "10.0.0.1", 80, 1000, SYN | ACK),
                Frames.tcp4("10.0.0.1", "192.0.2.1", 1001, 80, SYN)
            ], ingress: [1, 0])
        XCTAssertEqual(v[0].rule, Verdict.byConntrack, "the flow opened before the reload stays")
        XCTAssertEqual(v[1].rule, Verdict.byDefault, "a new connection meets the new policy")
        XCTAssertEqual(pl.counters.ruleHits.count, 2)
    }

    func testWholeBurstCountersAddUp() {
        let pl = Pipeline(policy: CompiledPolicy(makePolicy()), conntrack: ConntrackSettings())
        var burst = FrameBurst(capacity: 32)
        defer { burst.deallocate() }
        let frames = (0..<32).map { i -> [UInt8] in
            switch i % 4 {
            case 0: return Frames.tcp4("10.0.0.\(i)", "192.0.2.1", UInt16(i + 1), 80, SYN)
            case 1: return Frames.udp4("10.0.0.\(i)", "192.0.2.1", 5, 6)
            case 2: return Array(repeating: UInt8(i), count: i)
            default: return Frames.ethernet(0x0806, [UInt8](repeating: 0, count: 28))
            }
        }
        let storage = frames.map { f -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, f.count), alignment: 8)
            b.copyBytes(from: f)
            return b
        }
        defer { storage.forEach { $0.deallocate() } }
        for i in 0..<32 {
            burst.frames[i] = UnsafeRawPointer(storage[i].baseAddress!)
            burst.lengths[i] = Int32(frames[i].count)
            burst.timestamps[i] = 1
        }
        burst.count = 32
        pl.process(burst, ingress: 0, link: .ethernet)
        let k = pl.counters
        XCTAssertEqual(k.count(.accept), 16)  // 8 web SYNs + 8 ARP
        XCTAssertEqual(k.count(.drop), 16)  // 8 UDP by default + 8 garbage
        XCTAssertEqual(k.reasons.reduce(0, +), 32)
        XCTAssertEqual(
            k.ruleHits.reduce(0, +) + k.count(.arp) + k.count(.truncatedEthernet) + k.count(.nonIP)
                + k.count(.truncatedIPv4Header) + k.count(.truncatedArp) + k.count(.truncatedVlanTag), 32)
    }
}

final class FragmentPipelineTests: XCTestCase {
    func policy(_ f: FragmentPolicy) -> CompiledPolicy {
        var web = RuleMatch()
        web.protocols = [6]
        web.destinationPorts = [PortRange(80)]
        var p = Policy(portNames: ["inside", "outside"], rules: [Rule(name: "web", action: .accept, match: web)])
        p.fragments = f
        return CompiledPolicy(p)
    }

    func frag(_ src: String, _ dport: UInt16, id: UInt16, first: Bool) -> [UInt8] {
        let payload =
            first
            ? Frames.tcp(1000, dport, flags: SYN) + [UInt8](repeating: 0, count: 8) : [UInt8](repeating: 0, count: 24)
        return Frames.ethernet(
            0x0800, Frames.ipv4(src, "192.0.2.1", proto: 6, payload, id: id, frag: first ? 0x2000 : 4))
    }

    func testTrackLetsLaterFragmentsFollowTheFirst() {
        let pl = Pipeline(policy: policy(.track), conntrack: ConntrackSettings())
        let v = runFrames(
            pl,
            [
                frag("10.0.0.1", 80, id: 7, first: true),  // allowed port: accepted, remembered
                frag("10.0.0.1", 80, id: 7, first: false),  // follows: accepted
                frag("10.0.0.2", 22, id: 8, first: true),  // blocked port: default drop
                frag("10.0.0.2", 22, id: 8, first: false),  // follows: dropped
                frag("10.0.0.3", 80, id: 9, first: false),  // no first seen: orphan, dropped
                Frames.ethernet(
                    0x0800,
                    Frames.ipv4("192.0.2.1", "10.0.0.1", proto: 6, [UInt8](repeating: 0, count: 24), id: 7, frag: 4))
            ], ingress: [0, 0, 0, 0, 0, 1])
        XCTAssertEqual(v.map(\.action), [.accept, .accept, .drop, .drop, .drop, .drop])
        XCTAssertEqual(v[1].rule, 0)
        XCTAssertEqual(v[4].reason, .fragment)
        XCTAssertEqual(v[5].reason, .fragment, "the reverse direction never inherits a verdict")
        XCTAssertEqual(pl.fragments.followed, 2)
        XCTAssertEqual(pl.fragments.orphans, 2)
    }

    func testTrackedVerdictsExpire() {
        var s = ConntrackSettings()
        s.timeouts.fragment = 30
        let pl = Pipeline(policy: policy(.track), conntrack: s)
        var burst = FrameBurst(capacity: 1)
        defer { burst.deallocate() }
        for (f, t) in [
            (frag("10.0.0.1", 80, id: 1, first: true), UInt64(0)),
            (frag("10.0.0.1", 80, id: 1, first: false), UInt64(31))
        ] {
            f.withUnsafeBytes { b in
                burst.frames[0] = b.baseAddress
                burst.lengths[0] = Int32(b.count)
                burst.timestamps[0] = t * 1_000_000_000
                burst.count = 1
                pl.process(burst, ingress: 0, link: .ethernet)
            }
        }
        XCTAssertEqual(burst.verdicts[0].action, .drop, "31 s after the first fragment its verdict is gone")
    }

    func testReloadForgetsRememberedVerdicts() {
        let pl = Pipeline(policy: policy(.track), conntrack: ConntrackSettings())
        _ = runFrames(pl, [frag("10.0.0.1", 80, id: 7, first: true)], ingress: [0])
        pl.install(policy(.track))
        let v = runFrames(pl, [frag("10.0.0.1", 80, id: 7, first: false)], ingress: [0])
        XCTAssertEqual(v[0].action, .drop)
    }

    func testDropPolicyDropsBoth() {
        let pl = Pipeline(policy: policy(.drop), conntrack: ConntrackSettings())
        let v = runFrames(
            pl, [frag("10.0.0.1", 80, id: 7, first: true), frag("10.0.0.1", 80, id: 7, first: false)], ingress: [0, 0])
        XCTAssertEqual(v.map(\.reason), [.fragment, .fragment])
    }
}

/// Runs frames through a pipeline one frame per burst (timestamps i seconds) and returns the verdicts.
func runFrames(_ pipeline: Pipeline, _ frames: [[UInt8]], ingress: [Int]) -> [Verdict] {
    var out: [Verdict] = []
    var burst = FrameBurst(capacity: 64)
    defer { burst.deallocate() }
    for (i, f) in frames.enumerated() {
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, f.count), alignment: 8)
        defer { buf.deallocate() }
        buf.copyBytes(from: f)
        burst.frames[0] = UnsafeRawPointer(buf.baseAddress!)
        burst.lengths[0] = Int32(f.count)
        burst.timestamps[0] = UInt64(i) * 1_000_000_000
        burst.count = 1
        pipeline.process(burst, ingress: ingress[i], link: .ethernet)
        out.append(burst.verdicts[0])
    }
    return out
}

/// Later `new` packets of an unanswered flow reuse its first packet's rule only when nothing that
/// could change the answer has changed.
final class FlowVerdictCacheTests: XCTestCase {
    func policy(dnsAction: Action, ingressOnly: Int? = nil) -> CompiledPolicy {
        var dns = RuleMatch()
        dns.protocols = [17]
        dns.destinationPorts = [PortRange(53)]
        if let i = ingressOnly { dns.ingress = [i] }
        return CompiledPolicy(
            Policy(portNames: ["inside", "outside"], rules: [Rule(name: "dns", action: dnsAction, match: dns)]))
    }

    func testReloadInvalidatesTheCachedVerdict() {
        let pl = Pipeline(policy: policy(dnsAction: .accept), conntrack: ConntrackSettings())
        let q = Frames.udp4("10.0.0.1", "192.0.2.53", 5000, 53)
        XCTAssertEqual(runFrames(pl, [q, q], ingress: [0, 0]).map(\.action), [.accept, .accept])
        pl.install(policy(dnsAction: .drop))
        let v = runFrames(pl, [q], ingress: [0])
        XCTAssertEqual(v[0].action, .drop, "the new policy decides, not the verdict cached under the old one")
        XCTAssertEqual(v[0].state, .new)
    }

    func testAnotherIngressPortIsClassifiedAgain() {
        let pl = Pipeline(policy: policy(dnsAction: .accept, ingressOnly: 0), conntrack: ConntrackSettings())
        let q = Frames.udp4("10.0.0.1", "192.0.2.53", 5000, 53)
        let v = runFrames(pl, [q, q], ingress: [0, 1])
        XCTAssertEqual(v.map(\.action), [.accept, .drop])
        XCTAssertEqual(v[1].rule, Verdict.byDefault)
    }
}
