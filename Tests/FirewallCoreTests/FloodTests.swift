import XCTest
@testable import FirewallCore

/// Floods of 10x the conntrack bound through the real pipeline. A firewall's worst day must end in
/// counted outcomes: the table never grows past its bound, its memory is what was reserved at
/// start, flows that completed a handshake survive (early drop takes embryonic ones first), and
/// ICMP errors about nothing we track leave no state behind.
final class FloodTests: XCTestCase {
    static let bound = 1024
    static let offered = 10 * bound
    static let inside = 0, outside = 1
    static let server = "10.0.0.80", client = "192.0.2."

    /// A server exposed on TCP 80 and UDP 53 from outside; nothing else.
    func policy() -> Policy {
        var web = RuleMatch()
        web.ingress = [Self.outside]
        web.protocols = [IPProto.tcp]
        web.destinationPorts = [PortRange(80)]
        var dns = RuleMatch()
        dns.ingress = [Self.outside]
        dns.protocols = [IPProto.udp]
        dns.destinationPorts = [PortRange(53)]
        return Policy(
            portNames: ["inside", "outside"],
            rules: [
                Rule(name: "web-in", action: .accept, match: web), Rule(name: "dns-in", action: .accept, match: dns)
            ])
    }

    typealias Frame = (bytes: [UInt8], ingress: Int)

    /// Opens `n` TCP connections to the server (SYN, SYN/ACK, ACK) and checks they are established.
    func openTCP(_ d: FloodDriver, _ n: Int) {
        var frames: [Frame] = []
        for c in 0..<n {
            let cl = Self.client + "\(c + 1)", sp = UInt16(30000 + c)
            frames += [
                (Frames.tcp4(cl, Self.server, sp, 80, SYN), Self.outside),
                (Frames.tcp4(Self.server, cl, 80, sp, SYN | ACK), Self.inside),
                (Frames.tcp4(cl, Self.server, sp, 80, ACK), Self.outside)
            ]
        }
        let v = d.run(frames)
        XCTAssertEqual(v.filter { $0.action == .accept }.count, 3 * n, "handshakes complete before the flood")
    }

    /// One data segment each way on every established connection.
    func tcpTraffic(_ n: Int) -> [Frame] {
        (0..<n).flatMap { c -> [Frame] in
            let cl = Self.client + "\(c + 1)", sp = UInt16(30000 + c)
            return [
                (Frames.tcp4(cl, Self.server, sp, 80, PSH | ACK), Self.outside),
                (Frames.tcp4(Self.server, cl, 80, sp, PSH | ACK), Self.inside)
            ]
        }
    }

    /// Runs `flood` with `legit` traffic slipped in after every 64 flood frames; returns how many
    /// legitimate frames were accepted by their flow, out of how many sent.
    func interleave(_ d: FloodDriver, flood: [Frame], legit: [Frame]) -> (accepted: Int, sent: Int) {
        var accepted = 0, sent = 0
        var start = 0
        while start < flood.count {
            let end = min(start + 64, flood.count)
            _ = d.run(Array(flood[start..<end]))
            let v = d.run(legit)
            accepted += v.filter { $0.action == .accept && $0.rule == Verdict.byConntrack }.count
            sent += legit.count
            start = end
        }
        return (accepted, sent)
    }

    func testSynFloodKeepsEstablishedFlowsAndTheBound() {
        let d = FloodDriver(policy: policy(), maxFlows: Self.bound)
        let established = 8
        openTCP(d, established)
        let flood: [Frame] = (0..<Self.offered).map { i in
            (Frames.tcp4(FloodDriver.floodSource(i), Self.server, UInt16(1024 + i % 60000), 80, SYN), Self.outside)
        }
        let (accepted, sent) = interleave(d, flood: flood, legit: tcpTraffic(established))
        let ct = d.pipeline.conntrack

        XCTAssertEqual(accepted, sent, "every segment of an established connection passes during the flood")
        XCTAssertLessThanOrEqual(d.peakFlows, Self.bound)
        XCTAssertEqual(ct.count, Self.bound, "the flood fills the table, no more")
        XCTAssertEqual(ct.table.bytes, d.tableBytesAtCreation, "no memory beyond what was reserved")
        XCTAssertGreaterThan(
            ct.earlyDropped, UInt64(Self.offered - Self.bound) / 2, "room is made by evicting embryonic flows")
        XCTAssertEqual(ct.created, UInt64(established + Self.offered) - ct.refused)
        XCTAssertEqual(d.pipeline.counters.count(.conntrackFull), ct.refused, "each refusal is a counted drop")
        var assured = 0
        ct.table.forEach { if $0.flags & FlowEntry.assured != 0 { assured += 1 } }
        XCTAssertEqual(assured, established, "early drop never took an established flow")
        XCTAssertTrue(d.countersAddUp)
        print(d.report("SYN flood", offered: Self.offered, kept: assured, of: established))
    }

    func testUDPFloodKeepsAnsweredFlows() {
        let d = FloodDriver(policy: policy(), maxFlows: Self.bound)
        let answered = 8
        func query(_ c: Int) -> Frame {
            (Frames.udp4(Self.client + "\(c + 1)", Self.server, UInt16(40000 + c), 53), Self.outside)
        }
        func answer(_ c: Int) -> Frame {
            (Frames.udp4(Self.server, Self.client + "\(c + 1)", 53, UInt16(40000 + c)), Self.inside)
        }
        let opened = d.run((0..<answered).flatMap { [query($0), answer($0)] })
        XCTAssertEqual(opened.filter { $0.action == .accept }.count, 2 * answered)

        let flood: [Frame] = (0..<Self.offered).map { i in
            (Frames.udp4(FloodDriver.floodSource(i), Self.server, UInt16(1024 + i % 60000), 53), Self.outside)
        }
        // Between flood bursts the answered flows keep talking; their queries are decided by the flow.
        let (accepted, sent) = interleave(d, flood: flood, legit: (0..<answered).flatMap { [query($0), answer($0)] })
        let ct = d.pipeline.conntrack

        XCTAssertEqual(accepted, sent, "answered UDP flows keep passing during the flood")
        XCTAssertLessThanOrEqual(d.peakFlows, Self.bound)
        XCTAssertEqual(ct.table.bytes, d.tableBytesAtCreation)
        XCTAssertGreaterThan(ct.earlyDropped, UInt64(Self.offered - Self.bound) / 2)
        var assured = 0
        ct.table.forEach { if $0.flags & FlowEntry.assured != 0 { assured += 1 } }
        XCTAssertEqual(assured, answered)
        XCTAssertTrue(d.countersAddUp)
        print(d.report("UDP flood", offered: Self.offered, kept: assured, of: answered))
    }

    func testICMPErrorsAboutUntrackedFlowsAreInvalidAndLeaveNoState() {
        let d = FloodDriver(policy: policy(), maxFlows: Self.bound)
        let established = 4
        openTCP(d, established)
        let flowsBefore = d.pipeline.conntrack.count, createdBefore = d.pipeline.conntrack.created

        // Port unreachable quoting UDP datagrams the server never sent, from spoofed routers; and
        // errors that quote nothing at all.
        let flood: [Frame] = (0..<Self.offered).map { i in
            let quoted = Frames.ipv4(
                Self.server, FloodDriver.floodSource(i), proto: IPProto.udp, Frames.udp(UInt16(1024 + i % 60000), 53))
            let data = i % 4 == 0 ? [] : Array(quoted.prefix(28))
            return (
                Frames.ethernet(
                    0x0800,
                    Frames.ipv4(
                        FloodDriver.floodSource(i), Self.server, proto: IPProto.icmp,
                        Frames.icmp(type: 3, code: 3, data: data))), Self.outside
            )
        }
        // A real error about an established connection stays related throughout.
        let related: [Frame] = (0..<established).map { c in
            let quoted = Frames.ipv4(
                Self.server, Self.client + "\(c + 1)", proto: IPProto.tcp, Frames.tcp(80, UInt16(30000 + c), flags: ACK)
            )
            return (
                Frames.ethernet(
                    0x0800,
                    Frames.ipv4(
                        "203.0.113.1", Self.server, proto: IPProto.icmp,
                        Frames.icmp(type: 3, code: 4, data: Array(quoted.prefix(28))))), Self.outside
            )
        }
        let v = d.run(flood)
        let r = d.run(related)
        let ct = d.pipeline.conntrack

        XCTAssertEqual(v.count, Self.offered)
        XCTAssertTrue(
            v.allSatisfy { $0.action == .drop && $0.reason == .invalidState },
            "every unrelated error is invalid and dropped")
        XCTAssertEqual(d.pipeline.counters.count(.invalidState), UInt64(Self.offered))
        XCTAssertEqual(ct.count, flowsBefore, "no state created")
        XCTAssertEqual(ct.created, createdBefore)
        XCTAssertEqual(ct.earlyDropped, 0)
        XCTAssertTrue(r.allSatisfy { $0.action == .accept && $0.state == .related })
        XCTAssertEqual(ct.table.bytes, d.tableBytesAtCreation)
        XCTAssertTrue(d.countersAddUp)
        print(d.report("ICMP error flood", offered: Self.offered, kept: ct.count, of: established))
    }

    /// A table full of established connections has nothing to early-drop: new flows are refused
    /// (dropped under conntrack-full, never accepted untracked) and the established ones go on.
    func testFloodAgainstATableOfEstablishedFlowsIsRefused() {
        let bound = 64
        let d = FloodDriver(policy: policy(), maxFlows: bound)
        openTCP(d, bound)
        let flood: [Frame] = (0..<10 * bound).map { i in
            (Frames.tcp4(FloodDriver.floodSource(i), Self.server, 2000, 80, SYN), Self.outside)
        }
        let (accepted, sent) = interleave(d, flood: flood, legit: tcpTraffic(bound))
        let ct = d.pipeline.conntrack
        XCTAssertEqual(accepted, sent)
        XCTAssertEqual(ct.refused, UInt64(10 * bound))
        XCTAssertEqual(d.pipeline.counters.count(.conntrackFull), UInt64(10 * bound))
        XCTAssertEqual(ct.earlyDropped, 0)
        XCTAssertEqual(ct.count, bound)
        XCTAssertTrue(d.countersAddUp)
        print(
            d.report("SYN flood on a full table of established flows", offered: 10 * bound, kept: ct.count, of: bound))
    }
}
