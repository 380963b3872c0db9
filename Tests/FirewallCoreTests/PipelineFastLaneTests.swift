import Workloads
import XCTest
@testable import FirewallCore

/// Common IPv4 TCP/UDP frames take the pipeline's fast lane: parsed only to their flow key, and
/// decided by their flow when it can. Every frame must get the verdict the general path gives it
/// (`Pipeline(fastLane: false)`), and the counters and connection tracking must end alike.
final class PipelineFastLaneTests: XCTestCase {
    /// Handshakes, data, FIN and RST both ways, one-way UDP and answered UDP, a TCP segment with
    /// no flow, ports that a rule rejects or drops, plus frames the lane does not take (VLAN,
    /// IPv6, ICMP, IPv4 options, truncated): under each kind of policy, and across a reload.
    func testFastLaneDecidesEveryFrameAsTheGeneralPath() {
        for (name, policy) in policies() {
            var settings = ConntrackSettings()
            settings.maxFlows = 512  // small: early drop and refusals happen too
            let fast = Pipeline(policy: CompiledPolicy(policy), conntrack: settings, burstCapacity: 32)
            let general = Pipeline(
                policy: CompiledPolicy(policy), conntrack: settings, burstCapacity: 32, fastLane: false)
            let frames = traffic(seed: 0xFA57_1A9E, count: 40_000)
            var burst = FrameBurst(capacity: 32)
            let arena = UnsafeMutableRawPointer.allocate(byteCount: 32 * 128, alignment: 64)
            defer {
                burst.deallocate()
                arena.deallocate()
            }
            var now: UInt64 = 1_000_000_000
            var decidedByFlowAlone = 0
            var i = 0, round = 0
            while i < frames.count {
                let ingress = round & 1
                burst.count = 0
                while i < frames.count && burst.count < 32 {
                    let f = frames[i]
                    let slot = arena + 128 * burst.count
                    f.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: f.count) }
                    burst.frames[burst.count] = UnsafeRawPointer(slot)
                    burst.lengths[burst.count] = Int32(f.count)
                    burst.timestamps[burst.count] = now
                    burst.count += 1
                    i += 1
                }
                // Now and then time jumps past the UDP and SYN timeouts, so flows expire.
                now &+= round % 97 == 96 ? 200_000_000_000 : 1_000_000
                if round == 600 {
                    // A reload between bursts, to the same rules in another order: a rule index
                    // cached under the old policy names another rule now, and must not be reused.
                    var reordered = policy
                    reordered.rules.reverse()
                    fast.install(CompiledPolicy(reordered))
                    general.install(CompiledPolicy(reordered))
                }
                general.process(burst, ingress: ingress, link: .ethernet)
                let want = (0..<burst.count).map { burst.verdicts[$0] }
                burst.verdicts.update(repeating: Verdict(reason: .truncatedEthernet), count: burst.count)
                fast.process(burst, ingress: ingress, link: .ethernet)
                for k in 0..<burst.count where burst.verdicts[k] != want[k] {
                    XCTFail("\(name), burst \(round) frame \(k): fast lane \(burst.verdicts[k]), general \(want[k])")
                    return
                }
                // Lane entries still set after the burst: frames their flow decided, metadata never filled.
                for k in 0..<burst.count where fast.lane[k].inLane { decidedByFlowAlone += 1 }
                round += 1
            }
            let a = fast.counters, b = general.counters
            XCTAssertEqual(a.ruleHits, b.ruleHits, name)
            XCTAssertEqual(a.reasons, b.reasons, name)
            XCTAssertEqual(a.actions, b.actions, name)
            XCTAssertEqual(a.conntrackAccepted, b.conntrackAccepted, name)
            XCTAssertEqual(fast.conntrack.count, general.conntrack.count, name)
            XCTAssertEqual(fast.conntrack.created, general.conntrack.created, name)
            XCTAssertEqual(fast.conntrack.expired, general.conntrack.expired, name)
            XCTAssertEqual(fast.conntrack.earlyDropped, general.conntrack.earlyDropped, name)
            XCTAssertGreaterThan(fast.conntrack.expired, 0, "\(name): flows must expire")
            XCTAssertGreaterThan(decidedByFlowAlone, 1_000, "\(name): the fast lane must decide frames on its own")
            XCTAssertGreaterThan(a.count(.reject), 0, "\(name): the reject rule must be hit")
        }
    }

    /// A fast-lane frame that a rule must decide (its flow does not) gets its metadata filled:
    /// a reject reply needs the frame's whole parse, and the rule needs the ingress and state.
    func testFramesTheFlowDoesNotDecideAreClassifiedOnFullMetadata() {
        var policy = Policy(portNames: ["in", "out"], rules: policies()[1].1.rules)
        policy.tracked = .classify
        let p = Pipeline(policy: CompiledPolicy(policy), conntrack: ConntrackSettings(), burstCapacity: 4)
        let frames = [
            Frames.tcp4("10.0.0.1", "10.9.0.1", 40000, 443, SYN),
            Frames.tcp4("10.9.0.1", "10.0.0.1", 443, 40000, SYN | ACK),
            Frames.tcp4("10.0.0.1", "10.9.0.1", 40000, 443, ACK)
        ]
        var burst = FrameBurst(capacity: 4)
        defer { burst.deallocate() }
        var verdicts: [Verdict] = []
        for (k, f) in frames.enumerated() {
            f.withUnsafeBytes { raw in
                burst.frames[0] = raw.baseAddress
                burst.lengths[0] = Int32(raw.count)
                burst.timestamps[0] = 1_000_000 * UInt64(k + 1)
                burst.count = 1
                p.process(burst, ingress: k == 1 ? 1 : 0, link: .ethernet)
            }
            verdicts.append(burst.verdicts[0])
            XCTAssertFalse(p.lane[0].inLane, "frame \(k) was classified, so its metadata was filled")
            XCTAssertEqual(p.metas[0].ingress, k == 1 ? 1 : 0)
            XCTAssertEqual(p.metas[0].state, verdicts[k].state)
        }
        // The SYN matches out-new (new, from "in"), the SYN/ACK replies (established, from "out"),
        // and the client's ACK, established but from "in", no rule: the default drops it.
        XCTAssertEqual(verdicts.map(\.state), [.new, .established, .established])
        XCTAssertEqual(verdicts.map(\.action), [.accept, .accept, .drop])
        XCTAssertEqual(verdicts.map(\.rule), [3, 2, Verdict.byDefault])
    }

    // MARK: - Traffic and policies

    private func rule(_ name: String, _ action: Action, _ edit: (inout RuleMatch) -> Void) -> Rule {
        var m = RuleMatch()
        edit(&m)
        return Rule(name: name, action: action, match: m)
    }

    /// The same rules under `tracked: accept` and `tracked: classify`, and once with a TCP-flags
    /// rule (which stops a flow's first verdict standing for its later segments).
    private func policies() -> [(String, Policy)] {
        let base = [
            rule("reject-ssh", .reject) {
                $0.protocols = [6]
                $0.destinationPorts = [PortRange(22)]
            },
            rule("drop-mdns", .drop) {
                $0.protocols = [17]
                $0.destinationPorts = [PortRange(5353)]
            },
            rule("replies", .accept) {
                $0.ingress = [1]
                $0.states = ConnState.established.bit
            },
            rule("out-new", .accept) {
                $0.ingress = [0]
                $0.protocols = [6, 17]
                $0.states = ConnState.new.bit
            },
            rule("in-udp", .accept) {
                $0.ingress = [1]
                $0.protocols = [17]
                $0.destinationPorts = [PortRange(9000, 9100)]
            }
        ]
        var accept = Policy(portNames: ["in", "out"], rules: base)
        accept.tracked = .accept
        var classify = Policy(portNames: ["in", "out"], rules: base)
        classify.tracked = .classify
        let syn = rule("syn-only-80", .accept) {
            $0.protocols = [6]
            $0.destinationPorts = [PortRange(80)]
            $0.tcpFlags = TCPFlagsMatch(mask: SYN | ACK, value: SYN)
        }
        var flags = Policy(portNames: ["in", "out"], rules: [syn] + base)
        flags.tracked = .accept
        return [("tracked accept", accept), ("tracked classify", classify), ("tcp flags rule", flags)]
    }

    /// Frames over 300 client/server pairs, mostly in the fast lane's shape.
    private func traffic(seed: UInt64, count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        let tcpFlags: [UInt8] = [SYN, SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK, 0]
        let serverPorts: [UInt16] = [80, 443, 22, 5353, 9000, 9050, 53]
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let pair = Int(rng.next() % 300)
            let client = "10.0.\(pair >> 8).\(pair & 0xFF)", server = "10.9.0.\(pair % 7)"
            let cport = UInt16(30000 + pair), sport = serverPorts[pair % serverPorts.count]
            // Pairs from 200 up are never answered: their flows stay new, and their later
            // segments (RST, FIN, retransmitted SYNs) are decided on a cached rule or classified.
            let reply = pair < 200 && rng.next() % 3 == 0
            let (src, dst, sp, dp) = reply ? (server, client, sport, cport) : (client, server, cport, sport)
            switch rng.next() % 20 {
            case 0:
                out.append(
                    Frames.ethernet(
                        0x0800, Frames.ipv4(src, dst, proto: 17, Frames.udp(sp, dp, [1])),
                        vlans: [(tpid: 0x8100, vid: 7)]))
            case 1:
                out.append(
                    Frames.ethernet(
                        0x86DD,
                        Frames.ipv6(
                            "2001:db8::\(pair + 1)", "2001:db8::ff", next: 17,
                            Frames.udp(sp, dp, [1]))))
            case 2:
                out.append(
                    Frames.ethernet(0x0800, Frames.ipv4(src, dst, proto: 1, Frames.icmp(type: 8, id: UInt16(pair)))))
            case 3:
                out.append(
                    Frames.ethernet(0x0800, Frames.ipv4(src, dst, proto: 6, Frames.tcp(sp, dp, flags: ACK), ihl: 6)))
            case 4:
                out.append(Array(Frames.tcp4(src, dst, sp, dp, SYN).prefix(40)))  // truncated TCP header
            case 5...11:
                out.append(Frames.udp4(src, dst, sp, dp))
            default:
                out.append(Frames.tcp4(src, dst, sp, dp, tcpFlags[Int(rng.next() % UInt64(tcpFlags.count))]))
            }
        }
        return out
    }
}
