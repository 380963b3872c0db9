@testable import Dataplane
import FirewallConfig
import FirewallCore
import Ports
import TestSupport
import XCTest

/// The router keeps the IPv4 next hop it resolved from burst to burst, for as long as the
/// neighbour table's answer holds: a REACHABLE entry until its confirmation runs out (30 s), then
/// the table is asked again (DELAY, then a unicast probe). A neighbour message drops it at once.
/// The bursts are driven by hand on the test's clock: the ports' stamps stand for "now".
final class RouterHopTests: XCTestCase {
    typealias Frames = RouteModeTests
    static let s: UInt64 = 1_000_000_000

    struct Hop {
        let router: Router
        let inside = MemoryPort(name: "inside", stampsReceiptTime: true)
        let outside = MemoryPort(name: "outside", stampsReceiptTime: true)
        /// What the router sees: the memory ports, or (`zeroCopy`) hand-over ports around them.
        let ports: [PacketPort]
        let zeroCopy: Bool
        var burst = FrameBurst(capacity: 8)

        init(_ scratch: ScratchDirectory, zeroCopy: Bool = false) throws {
            let text = Frames.config(scratch)
            let c = try ConfigLoader.parse(yaml: text, file: try scratch.write("route.yaml", text))
            router = Router(plan: try XCTUnwrap(c.routingPlan), macs: [0, 0], burst: 8)
            self.zeroCopy = zeroCopy
            ports = zeroCopy ? [HandOverPort(inside), HandOverPort(outside)] : [inside, outside]
        }

        /// Frames into port `from` (0 inside, 1 outside) at `time`, accepted by the firewall but
        /// for the indexes in `dropped`; returns what left the other port and what left the same one.
        mutating func pass(_ frames: [[UInt8]], from: Int, at time: UInt64, dropped: Set<Int> = [])
            -> (other: [[UInt8]], back: [[UInt8]])
        {
            let (rx, tx) = (ports[from], ports[1 - from])
            let memory = from == 0 ? (inside, outside) : (outside, inside)
            XCTAssertEqual(memory.0.inject(frames, timestamps: frames.map { _ in time }), frames.count)
            let n = rx.rxBurst(queue: 0, into: &burst)
            XCTAssertEqual(n, frames.count)
            for i in 0..<n { burst.verdicts[i] = Verdict(action: dropped.contains(i) ? .drop : .accept, rule: 0) }
            router.forward(burst, rx: rx, rxIndex: from, tx: tx, queue: 0, zeroCopy: zeroCopy)
            return (memory.1.takeTransmitted(), memory.0.takeTransmitted())
        }

        func close() {
            burst.deallocate()
            inside.close()
            outside.close()
        }
    }

    static let toSink = RouteFastPathTests.udp(to: Frames.sink)

    static func arpFromSink(mac: [UInt8], op: UInt8) -> [UInt8] {
        Frames.arp(
            op: op, to: op == 2 ? Frames.outsideMAC : [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], senderMAC: mac,
            senderIP: Frames.sink, targetMAC: op == 2 ? Frames.outsideMAC : [0, 0, 0, 0, 0, 0],
            targetIP: Frames.routerOut)
    }

    /// Resolves the sink: the first datagram waits for the ARP reply that confirms it at 0.5 s.
    static func resolveSink(_ hop: inout Hop) {
        let asked = hop.pass([toSink], from: 0, at: 0).other
        XCTAssertEqual(asked.map { Array($0[0..<6]) }, [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]], "who has the sink")
        let released = hop.pass([arpFromSink(mac: Frames.sinkMAC, op: 2)], from: 1, at: s / 2).back
        XCTAssertEqual(released.map { Array($0[0..<6]) }, [Frames.sinkMAC], "the waiting datagram goes")
    }

    func testTheHopIsKeptWhileTheNeighbourIsReachableAndAskedForOnceThatRunsOut() throws {
        let scratch = try ScratchDirectory("router-hop-expiry")
        defer { scratch.remove() }
        var hop = try Hop(scratch)
        defer { hop.close() }
        Self.resolveSink(&hop)
        for time in [1 * Self.s, 30 * Self.s, 31 * Self.s] {
            let out = hop.pass([Self.toSink, Self.toSink], from: 0, at: time).other
            XCTAssertEqual(out.map { Array($0[0..<6]) }, [Frames.sinkMAC, Frames.sinkMAC], "at \(time / Self.s) s")
        }
        // Confirmed at 0.5 s: reachable until 30.5 s, asked again at 31 s (DELAY), probed 5 s on.
        let sinkEntry = hop.router.neighbours.entry(port: 1, address: IPAddress(v4: 0x0AC7_0202), v6: false)
        XCTAssertEqual(sinkEntry?.state, .delay, "the burst at 31 s asked the table again")
        let probed = hop.pass([Self.toSink], from: 0, at: 37 * Self.s).other
        XCTAssertEqual(probed.count, 2, "the datagram and a unicast probe: \(probed.map(\.count))")
        XCTAssertEqual(probed.last.map { Array($0[0..<6]) }, Frames.sinkMAC, "asked of the sink itself")
        XCTAssertEqual(probed.last.map { Array($0[12..<14]) }, [0x08, 0x06])
    }

    func testANeighbourMessageDropsTheKeptHopAtOnce() throws {
        let scratch = try ScratchDirectory("router-hop-message")
        defer { scratch.remove() }
        var hop = try Hop(scratch)
        defer { hop.close() }
        Self.resolveSink(&hop)
        XCTAssertEqual(hop.pass([Self.toSink], from: 0, at: Self.s).other.map { Array($0[0..<6]) }, [Frames.sinkMAC])
        // The sink moves to another MAC and says so (an ARP request for our address carries it).
        let moved: [UInt8] = [0x02, 0x76, 0x66, 0x6C, 0x00, 0x77]
        _ = hop.pass([Self.arpFromSink(mac: moved, op: 1)], from: 1, at: 2 * Self.s)
        let out = hop.pass([Self.toSink, Self.toSink], from: 0, at: 3 * Self.s).other
        XCTAssertEqual(out.map { Array($0[0..<6]) }, [moved, moved], "the new MAC, not the kept one")
    }

    /// Zero copy, a burst that mixes frames routed out of the other port with frames that are
    /// not (answered ARP, time exceeded, dropped by the firewall): exactly the routed ones are
    /// handed to the other port, each once, and every other frame is given back to its port.
    func testAMixedBurstHandsOverTheRoutedFramesAndGivesBackEveryOther() throws {
        let scratch = try ScratchDirectory("router-hand-over")
        defer { scratch.remove() }
        var hop = try Hop(scratch, zeroCopy: true)
        defer { hop.close() }
        Self.resolveSink(&hop)
        let whoHasUs = Frames.arp(
            op: 1, to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], senderMAC: Frames.hostMAC, senderIP: Frames.host,
            targetMAC: [0, 0, 0, 0, 0, 0], targetIP: Frames.routerIn)
        let frames = [
            Self.toSink, whoHasUs, RouteFastPathTests.udp(to: Frames.sink, ttl: 1), Self.toSink, Self.toSink,
            Self.toSink
        ]
        let (out, back) = hop.pass(frames, from: 0, at: Self.s, dropped: [4])
        let inside = try XCTUnwrap(hop.ports[0] as? HandOverPort)
        let outside = try XCTUnwrap(hop.ports[1] as? HandOverPort)
        XCTAssertEqual(outside.taken, [0, 3, 5], "handed over: the three routed datagrams")
        XCTAssertEqual(inside.givenBack, [1, 2, 4], "given back: the ARP request, the TTL-1 datagram, the dropped one")
        XCTAssertEqual(out.map { Array($0[0..<6]) }, [Frames.sinkMAC, Frames.sinkMAC, Frames.sinkMAC])
        XCTAssertEqual(out.map { $0[22] }, [63, 63, 63], "each rewritten once")
        XCTAssertEqual(back.count, 2, "our ARP reply and time exceeded: \(back.map(\.count))")
    }
}
