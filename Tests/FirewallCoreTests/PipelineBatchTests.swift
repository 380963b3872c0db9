import Workloads
import XCTest
@testable import FirewallCore

/// The pipeline gathers a burst's frames that need the rules and classifies them in one
/// `classifyBurst` call. Every verdict must be what deciding the frames one by one gives
/// (`classifiesOneByOne`): a later frame of a gathered frame's flow, a full table, a first
/// fragment and its later fragments all see what they would see frame by frame.
final class PipelineBatchTests: XCTestCase {
    /// Records the size of every `classifyBurst` call, and classifies with the compiled classifier.
    final class CountingClassifier: Classifier {
        let inner: BitVectorClassifier
        var calls = 0, frames = 0, largest = 0
        init(_ rules: [Rule]) { inner = BitVectorClassifier(rules: rules) }
        func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32 {
            calls += 1
            frames += 1
            largest = max(largest, 1)
            return inner.classify(meta)
        }
        func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>) {
            calls += 1
            frames += count
            largest = max(largest, count)
            inner.classifyBurst(metas, count: count, results: results)
        }
    }

    func testGatheredFramesAreDecidedAsOneByOne() {
        for tracked in [TrackedPolicy.accept, .classify] {
            var policy = Policy(portNames: ["in", "out"], rules: rules())
            policy.tracked = tracked
            policy.fragments = .track
            var settings = ConntrackSettings()
            settings.maxFlows = 96  // small: early drop and refusals happen within bursts
            let batchedClassifier = CountingClassifier(policy.rules)
            let singleClassifier = CountingClassifier(policy.rules)
            let batched = Pipeline(
                policy: CompiledPolicy(policy, classifier: batchedClassifier), conntrack: settings,
                burstCapacity: 32)
            let single = Pipeline(
                policy: CompiledPolicy(policy, classifier: singleClassifier), conntrack: settings,
                burstCapacity: 32)
            single.classifiesOneByOne = true
            let frames = traffic(seed: 0xBA7C_4ED5, count: 30_000)
            var burst = FrameBurst(capacity: 32)
            let arena = UnsafeMutableRawPointer.allocate(byteCount: 32 * 128, alignment: 64)
            defer {
                burst.deallocate()
                arena.deallocate()
            }
            var now: UInt64 = 1_000_000_000
            var i = 0, round = 0
            while i < frames.count {
                burst.count = 0
                while i < frames.count && burst.count < 32 {
                    let (f, _) = frames[i]
                    let slot = arena + 128 * burst.count
                    f.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: f.count) }
                    burst.frames[burst.count] = UnsafeRawPointer(slot)
                    burst.lengths[burst.count] = Int32(f.count)
                    burst.timestamps[burst.count] = now &+ UInt64(burst.count)
                    burst.count += 1
                    i += 1
                }
                now &+= round % 89 == 88 ? 200_000_000_000 : 1_000_000
                let ingress = frames[i - 1].ingress
                single.process(burst, ingress: ingress, link: .ethernet)
                let want = (0..<burst.count).map { burst.verdicts[$0] }
                // Every verdict must be written again, not left from the other pipeline's pass.
                burst.verdicts.update(repeating: Verdict(reason: .truncatedEthernet), count: burst.count)
                batched.process(burst, ingress: ingress, link: .ethernet)
                for k in 0..<burst.count where burst.verdicts[k] != want[k] {
                    XCTFail(
                        "\(tracked), burst \(round) frame \(k): batched \(burst.verdicts[k]), "
                            + "one by one \(want[k])")
                    return
                }
                round += 1
            }
            let a = batched.counters, b = single.counters
            XCTAssertEqual(a.ruleHits, b.ruleHits)
            XCTAssertEqual(a.reasons, b.reasons)
            XCTAssertEqual(a.actions, b.actions)
            for (x, y) in [(batched.conntrack, single.conntrack)] {
                XCTAssertEqual(
                    [x.count, Int(x.created), Int(x.expired), Int(x.earlyDropped), Int(x.refused)],
                    [y.count, Int(y.created), Int(y.expired), Int(y.earlyDropped), Int(y.refused)])
            }
            XCTAssertGreaterThan(batched.conntrack.earlyDropped + batched.conntrack.refused, 0, "the table must fill")
            XCTAssertGreaterThan(batched.fragments.followed, 0, "later fragments must follow a first")
            // The same frames were classified, in fewer calls (this traffic settles often: its
            // bursts repeat flows, and its table is nearly full).
            XCTAssertEqual(batchedClassifier.frames, singleClassifier.frames)
            XCTAssertEqual(singleClassifier.largest, 1)
            XCTAssertGreaterThan(batchedClassifier.largest, 8)
            XCTAssertLessThan(batchedClassifier.calls, singleClassifier.calls)
        }
    }

    /// Bursts of new flows, each frame of its own flow, in a roomy table: one call a burst.
    func testABurstOfNewFlowsIsClassifiedInOneCall() {
        let policy = SyntheticPolicy.make(rules: 100)
        let classifier = CountingClassifier(policy.rules)
        let p = Pipeline(
            policy: CompiledPolicy(policy, classifier: classifier), conntrack: ConntrackSettings(),
            burstCapacity: 32)
        let traffic = SyntheticTraffic(flows: 1)
        var burst = FrameBurst(capacity: 32)
        defer {
            traffic.deallocate()
            burst.deallocate()
        }
        for round in 0..<100 {
            burst.count = 32
            for k in 0..<32 { traffic.fillNew(&burst, slot: k, flowNumber: round * 32 + k, now: 1_000_000) }
            p.process(burst, ingress: 0, link: .ethernet)
        }
        XCTAssertEqual(classifier.calls, 100)
        XCTAssertEqual(classifier.frames, 3200)
        XCTAssertEqual(p.conntrack.created, 3200, "every frame opened its flow")
    }

    /// A handshake in one burst: the SYN's flow is opened before the SYN/ACK is looked up, so the
    /// reply is established (it would be invalid, with no flow, if the SYN still waited).
    func testAReplyInTheSameBurstFindsTheFlowItsRequestOpens() {
        for tracked in [TrackedPolicy.accept, .classify] {
            var policy = Policy(portNames: ["in", "out"], rules: rules())
            policy.tracked = tracked
            let p = Pipeline(policy: CompiledPolicy(policy), conntrack: ConntrackSettings(), burstCapacity: 8)
            let frames = [
                Frames.udp4("10.0.0.9", "10.9.0.1", 5000, 9000),  // gathered, a rule
                Frames.tcp4("10.0.0.1", "10.9.0.1", 40000, 443, SYN),
                Frames.tcp4("10.9.0.1", "10.0.0.1", 443, 40000, SYN | ACK),
                Frames.tcp4("10.0.0.2", "10.9.0.1", 40001, 443, SYN)
            ]
            var burst = FrameBurst(capacity: 8)
            let arena = UnsafeMutableRawPointer.allocate(byteCount: 8 * 128, alignment: 64)
            defer {
                burst.deallocate()
                arena.deallocate()
            }
            for (k, f) in frames.enumerated() {
                f.withUnsafeBytes { (arena + 128 * k).copyMemory(from: $0.baseAddress!, byteCount: f.count) }
                burst.frames[k] = UnsafeRawPointer(arena + 128 * k)
                burst.lengths[k] = Int32(f.count)
                burst.timestamps[k] = 1_000_000
            }
            burst.count = frames.count
            p.process(burst, ingress: 0, link: .ethernet)
            let v = (0..<frames.count).map { burst.verdicts[$0] }
            XCTAssertEqual(v.map(\.state), [.new, .new, .established, .new], "\(tracked)")
            XCTAssertEqual(
                v.map(\.action), [.accept, .accept, tracked == .accept ? .accept : .drop, .accept],
                "\(tracked)")
            XCTAssertEqual(p.conntrack.count, 3)
        }
    }

    // MARK: - Traffic and rules

    private func rules() -> [Rule] {
        func rule(_ name: String, _ action: Action, _ edit: (inout RuleMatch) -> Void) -> Rule {
            var m = RuleMatch()
            edit(&m)
            return Rule(name: name, action: action, match: m)
        }
        return [
            rule("reject-ssh", .reject) {
                $0.protocols = [6]
                $0.destinationPorts = [PortRange(22)]
            },
            rule("replies", .accept) {
                $0.ingress = [1]
                $0.states = ConnState.established.bit
            },
            rule("out-new", .accept) {
                $0.ingress = [0]
                $0.states = ConnState.new.bit
            },
            rule("in-udp", .accept) {
                $0.ingress = [1]
                $0.protocols = [17]
                $0.destinationPorts = [PortRange(9000, 9100)]
            }
        ]
    }

    /// Frames over 150 client/server pairs (so a burst often holds two frames of one flow), in
    /// runs of one ingress port: TCP, UDP, ICMP echo and errors quoting the pairs, IPv6, and
    /// fragmented UDP (first and later fragments).
    private func traffic(seed: UInt64, count: Int) -> [(bytes: [UInt8], ingress: Int)] {
        var rng = SplitMix64(seed: seed)
        let tcpFlags: [UInt8] = [SYN, SYN, SYN | ACK, ACK, FIN | ACK, RST]
        var out: [(bytes: [UInt8], ingress: Int)] = []
        var ingress = 0
        while out.count < count {
            if rng.next() % 8 == 0 { ingress ^= 1 }
            let pair = Int(rng.next() % 150)
            let client = "10.0.\(pair >> 8).\(pair & 0xFF)", server = "10.9.0.\(pair % 5)"
            let cport = UInt16(30000 + pair), sport: UInt16 = [443, 22, 9000, 53][pair % 4]
            let reply = ingress == 1
            let (src, dst, sp, dp) = reply ? (server, client, sport, cport) : (client, server, cport, sport)
            let f: [UInt8]
            switch rng.next() % 16 {
            case 0:
                f = Frames.ethernet(0x0800, Frames.ipv4(src, dst, proto: 1, Frames.icmp(type: 8, id: UInt16(pair))))
            case 1:
                // Port unreachable from the server, quoting the client's UDP datagram.
                let quoted = Frames.ipv4(client, server, proto: 17, Frames.udp(cport, sport, [1]))
                let icmp = Frames.icmp(type: 3, code: 3) + quoted
                f = Frames.ethernet(0x0800, Frames.ipv4(server, client, proto: 1, icmp))
            case 2:
                f = Frames.ethernet(
                    0x86DD,
                    Frames.ipv6(
                        "2001:db8::\(pair + 1)", "2001:db8::ff", next: 17,
                        Frames.udp(sp, dp, [1])))
            case 3:
                let id = UInt16(pair)
                f = Frames.ethernet(
                    0x0800,
                    Frames.ipv4(
                        src, dst, proto: 17, Frames.udp(sp, dp, [1, 2, 3, 4]), id: id,
                        frag: 0x2000))
            case 4:
                let payload = [UInt8](repeating: 9, count: 8)
                f = Frames.ethernet(0x0800, Frames.ipv4(src, dst, proto: 17, payload, id: UInt16(pair), frag: 2))
            case 5...8:
                f = Frames.udp4(src, dst, sp, dp)
            default:
                f = Frames.tcp4(src, dst, sp, dp, tcpFlags[Int(rng.next() % UInt64(tcpFlags.count))])
            }
            out.append((f, ingress))
        }
        return out
    }
}
