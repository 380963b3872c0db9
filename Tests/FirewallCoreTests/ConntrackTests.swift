import XCTest
@testable import FirewallCore

/// Connection tracking driven by hand-built packets and a synthetic clock (seconds -> ns).
final class ConntrackTests: XCTestCase {
    let sec: UInt64 = 1_000_000_000

    func meta(_ f: [UInt8]) -> PacketMeta {
        let (r, m) = Frames.parse(f)
        XCTAssertEqual(r, .none)
        return m
    }

    /// Observes a packet, and confirms it (as an accepting policy would) when it is new.
    @discardableResult
    func pass(_ ct: Conntrack, _ f: [UInt8], at t: UInt64) -> ConnState {
        let m = meta(f)
        let o = ct.observe(m, now: t * sec)
        if o.state == .new && o.slot < 0 && o.trackable { _ = ct.confirm(m, now: t * sec, rule: 0) }
        return o.state
    }

    func tcpState(_ ct: Conntrack) -> TCPState? {
        var s: TCPState?
        ct.table.forEach { s = $0.tcpState }
        return s
    }

    let c = "10.0.0.1", s = "192.0.2.1"

    func testTCPHandshakeDataAndClose() {
        let ct = Conntrack(settings: ConntrackSettings())
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, SYN), at: 1), .new)
        XCTAssertEqual(tcpState(ct), .synSent)
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, SYN), at: 2), .new, "a retransmitted SYN is still new")
        XCTAssertEqual(pass(ct, Frames.tcp4(s, c, 80, 1000, SYN | ACK), at: 2), .established)
        XCTAssertEqual(tcpState(ct), .synRecv)
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, ACK), at: 3), .established)
        XCTAssertEqual(tcpState(ct), .established)
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, FIN | ACK), at: 4), .established)
        XCTAssertEqual(tcpState(ct), .finWait)
        XCTAssertEqual(pass(ct, Frames.tcp4(s, c, 80, 1000, ACK), at: 4), .established)
        XCTAssertEqual(tcpState(ct), .closeWait)
        XCTAssertEqual(pass(ct, Frames.tcp4(s, c, 80, 1000, FIN | ACK), at: 5), .established)
        XCTAssertEqual(tcpState(ct), .lastAck)
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, ACK), at: 5), .established)
        XCTAssertEqual(tcpState(ct), .timeWait)
        XCTAssertEqual(ct.count, 1)
        // time_wait lasts 120 s.
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, ACK), at: 5 + 119), .established)
        XCTAssertEqual(
            pass(ct, Frames.tcp4(c, s, 1000, 80, ACK), at: 5 + 119 + 121), .invalid, "expired: a lone ACK has no flow")
        XCTAssertEqual(ct.count, 0)
    }

    func testTCPWithoutSYNIsInvalidUnlessLoose() {
        let strict = Conntrack(settings: ConntrackSettings())
        XCTAssertEqual(pass(strict, Frames.tcp4(c, s, 1, 80, ACK), at: 1), .invalid)
        XCTAssertEqual(pass(strict, Frames.tcp4(c, s, 1, 80, SYN | ACK), at: 1), .invalid)
        XCTAssertEqual(strict.count, 0)
        var settings = ConntrackSettings()
        settings.tcpLoose = true
        let loose = Conntrack(settings: settings)
        XCTAssertEqual(pass(loose, Frames.tcp4(c, s, 1, 80, ACK), at: 1), .new)
        XCTAssertEqual(tcpState(loose), .established)
        XCTAssertEqual(pass(loose, Frames.tcp4(s, c, 80, 1, ACK), at: 1), .established)
        XCTAssertEqual(pass(loose, Frames.tcp4(c, s, 2, 80, RST), at: 1), .invalid, "a RST never opens a flow")
    }

    func testTCPInvalidTransitionsLeaveTheFlowAlone() {
        let ct = Conntrack(settings: ConntrackSettings())
        pass(ct, Frames.tcp4(c, s, 1000, 80, SYN), at: 1)
        // An ACK from the originator before any SYN/ACK is invalid in syn_sent.
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, ACK), at: 1), .invalid)
        XCTAssertEqual(tcpState(ct), .synSent)
        // A segment with no flags at all is invalid in any state.
        XCTAssertEqual(pass(ct, Frames.tcp4(s, c, 80, 1000, 0), at: 1), .invalid)
    }

    func testTCPRstCloses() {
        let ct = Conntrack(settings: ConntrackSettings())
        pass(ct, Frames.tcp4(c, s, 1000, 80, SYN), at: 1)
        XCTAssertEqual(pass(ct, Frames.tcp4(s, c, 80, 1000, RST | ACK), at: 1), .established)
        XCTAssertEqual(tcpState(ct), .close)
        XCTAssertEqual(pass(ct, Frames.tcp4(s, c, 80, 1000, RST), at: 1 + 11), .invalid, "close lasts 10 s")
    }

    func testTimeoutsFollowNfConntrackDefaults() {
        let t = ConntrackSettings.Timeouts()
        XCTAssertEqual(t.tcp(.established), 5 * 86400)
        XCTAssertEqual(t.tcp(.synSent), 120)
        XCTAssertEqual(t.tcp(.synRecv), 60)
        XCTAssertEqual(t.tcp(.finWait), 120)
        XCTAssertEqual(t.tcp(.closeWait), 60)
        XCTAssertEqual(t.tcp(.lastAck), 30)
        XCTAssertEqual(t.tcp(.timeWait), 120)
        XCTAssertEqual(t.tcp(.close), 10)
        XCTAssertEqual(t.udp, 30)
        XCTAssertEqual(t.udpStream, 120)
        XCTAssertEqual(t.icmp, 30)

        let ct = Conntrack(settings: ConntrackSettings())
        pass(ct, Frames.tcp4(c, s, 1000, 80, SYN), at: 0)
        XCTAssertEqual(pass(ct, Frames.tcp4(c, s, 1000, 80, SYN), at: 119), .new)
        XCTAssertEqual(ct.count, 1)
        // 120 s after the last SYN the embryonic flow is gone; a new SYN starts over.
        _ = ct.observe(meta(Frames.tcp4(s, c, 80, 1000, SYN | ACK)), now: (119 + 120) * sec)
        XCTAssertEqual(ct.count, 0)
    }

    func testUDPTimeoutGrowsOnceSeenBothWays() {
        let ct = Conntrack(settings: ConntrackSettings())
        XCTAssertEqual(pass(ct, Frames.udp4(c, s, 5000, 53), at: 0), .new)
        XCTAssertEqual(pass(ct, Frames.udp4(c, s, 5000, 53), at: 29), .new, "no reply yet: still new")
        XCTAssertEqual(
            pass(ct, Frames.udp4(c, s, 5000, 53), at: 29 + 31), .new, "30 s without a packet: expired, a new flow")
        XCTAssertEqual(pass(ct, Frames.udp4(s, c, 53, 5000), at: 61), .established)
        XCTAssertEqual(pass(ct, Frames.udp4(c, s, 5000, 53), at: 61 + 100), .established, "stream timeout is 120 s")
        XCTAssertEqual(
            pass(ct, Frames.udp4(s, c, 53, 5000), at: 161 + 121), .new,
            "expired after 120 s of silence; the reply direction opens a new flow")
    }

    func testICMPEchoAndRelatedErrors() {
        let ct = Conntrack(settings: ConntrackSettings())
        let req = Frames.ethernet(0x0800, Frames.ipv4(c, s, proto: 1, Frames.icmp(type: 8, id: 9, seq: 1)))
        let rep = Frames.ethernet(0x0800, Frames.ipv4(s, c, proto: 1, Frames.icmp(type: 0, id: 9, seq: 1)))
        XCTAssertEqual(pass(ct, rep, at: 0), .invalid, "a reply before any request")
        XCTAssertEqual(pass(ct, req, at: 1), .new)
        XCTAssertEqual(pass(ct, rep, at: 2), .established)
        XCTAssertEqual(pass(ct, rep, at: 2 + 31), .invalid, "icmp flows last 30 s")

        pass(ct, Frames.udp4(c, s, 6000, 53), at: 40)
        let quoted = Array(Frames.ipv4(c, s, proto: 17, Frames.udp(6000, 53, [1, 2, 3])).prefix(28))
        let err = Frames.ethernet(
            0x0800, Frames.ipv4("198.51.100.1", c, proto: 1, Frames.icmp(type: 3, code: 3, data: quoted)))
        XCTAssertEqual(pass(ct, err, at: 41), .related)
        let strayQuote = Array(Frames.ipv4(c, s, proto: 17, Frames.udp(6001, 53)).prefix(28))
        let stray = Frames.ethernet(
            0x0800, Frames.ipv4(s, c, proto: 1, Frames.icmp(type: 3, code: 3, data: strayQuote)))
        XCTAssertEqual(pass(ct, stray, at: 41), .invalid)
        XCTAssertEqual(ct.count, 1, "errors never create flows")
    }

    func testIPv6FlowBothDirections() {
        let ct = Conntrack(settings: ConntrackSettings())
        let a = "2001:db8::1", b = "2001:db8:ffff::2"
        XCTAssertEqual(pass(ct, Frames.ethernet(0x86DD, Frames.ipv6(a, b, next: 17, Frames.udp(1, 2))), at: 1), .new)
        XCTAssertEqual(
            pass(ct, Frames.ethernet(0x86DD, Frames.ipv6(b, a, next: 17, Frames.udp(2, 1))), at: 1), .established)
        XCTAssertEqual(ct.count, 1)
    }

    func testNormalisedKeyIsTheSameBothWays() {
        let m1 = meta(Frames.tcp4(c, s, 1000, 80, SYN)), m2 = meta(Frames.tcp4(s, c, 80, 1000, ACK))
        let k1 = FlowKey(src: m1.src, dst: m1.dst, sport: m1.sport, dport: m1.dport, proto: 6, v6: false)
        let k2 = FlowKey(src: m2.src, dst: m2.dst, sport: m2.sport, dport: m2.dport, proto: 6, v6: false)
        XCTAssertEqual(k1.hash, k2.hash)
        XCTAssertEqual(k1.a, k2.a)
        XCTAssertNotEqual(k1.fromA, k2.fromA)
    }

    func testEarlyDropEvictsEmbryonicFlowsFirst() {
        var settings = ConntrackSettings()
        settings.maxFlows = 8
        settings.earlyDropScan = 1024
        let ct = Conntrack(settings: settings)
        // Four established connections.
        for i in 0..<4 {
            let p = UInt16(2000 + i)
            pass(ct, Frames.tcp4(c, s, p, 443, SYN), at: 1)
            pass(ct, Frames.tcp4(s, c, 443, p, SYN | ACK), at: 1)
            pass(ct, Frames.tcp4(c, s, p, 443, ACK), at: 1)
        }
        // A SYN flood of 100 distinct flows: each new one evicts an embryonic one.
        for i in 0..<100 { pass(ct, Frames.tcp4("203.0.113.\(i % 250)", s, UInt16(10000 + i), 443, SYN), at: 2) }
        XCTAssertEqual(ct.count, 8)
        XCTAssertEqual(ct.created, 104)
        XCTAssertGreaterThanOrEqual(ct.earlyDropped, 96)
        for i in 0..<4 {
            let p = UInt16(2000 + i)
            XCTAssertEqual(
                pass(ct, Frames.tcp4(s, c, 443, p, ACK), at: 3), .established,
                "established flow \(i) survived the flood")
        }
    }

    func testFullTableOfAssuredFlowsRefusesNewOnes() {
        var settings = ConntrackSettings()
        settings.maxFlows = 4
        settings.earlyDropScan = 1024
        let ct = Conntrack(settings: settings)
        for i in 0..<4 {
            pass(ct, Frames.udp4(c, s, UInt16(100 + i), 53), at: 1)
            pass(ct, Frames.udp4(s, c, 53, UInt16(100 + i)), at: 1)
        }
        let m = meta(Frames.udp4(c, s, 999, 53))
        XCTAssertEqual(ct.observe(m, now: 2 * sec).state, .new)
        XCTAssertEqual(ct.confirm(m, now: 2 * sec, rule: 0), .conntrackFull)
        XCTAssertEqual(ct.refused, 1)
        XCTAssertEqual(ct.count, 4)
        // Once they expire, an expired flow makes room.
        XCTAssertEqual(ct.confirm(m, now: 500 * sec, rule: 0), .none)
    }

    func testSweepExpiresWithoutLookups() {
        let ct = Conntrack(settings: ConntrackSettings())
        for i in 0..<200 { pass(ct, Frames.udp4(c, s, UInt16(i + 1), 53), at: 1) }
        XCTAssertEqual(ct.count, 200)
        // Each sweep looks at a bounded number of slots; enough of them visit the whole table.
        var calls = 0
        while ct.count > 0 && calls < 10_000 {
            ct.sweep(now: 100 * sec, budget: 64)
            calls += 1
        }
        XCTAssertEqual(ct.count, 0)
        XCTAssertLessThanOrEqual(calls, ct.table.capacity / 64 + 200)
    }

    func testMemoryIsFixedByMaxFlows() {
        var settings = ConntrackSettings()
        settings.maxFlows = 1000
        let ct = Conntrack(settings: settings)
        let before = ct.table.bytes
        for i in 0..<5000 { pass(ct, Frames.udp4(c, s, UInt16(i + 1), 53), at: 1) }
        XCTAssertEqual(ct.count, 1000)
        XCTAssertEqual(ct.table.bytes, before)
        XCTAssertLessThanOrEqual(ct.table.capacity, 4 * 1000)
    }

    func testRemovalKeepsEveryOtherFlowReachable() {
        // Backward-shift deletion must not cut probe chains: insert many, delete half, find the rest.
        let table = FlowTable(maxFlows: 64)
        var keys: [FlowKey] = []
        for i in 0..<64 {
            let k = FlowKey(
                src: IPAddress(v4: UInt32(i)), dst: IPAddress(v4: 7), sport: 1, dport: 2, proto: 17, v6: false)
            keys.append(k)
            _ = table.insert(k, flags: 0, tcpState: .none, expires: 10, rule: 0)
        }
        for k in keys.enumerated() where k.offset % 2 == 0 { table.remove(table.find(k.element)) }
        for (i, k) in keys.enumerated() {
            XCTAssertEqual(table.find(k) >= 0, i % 2 == 1, "key \(i)")
        }
        XCTAssertEqual(table.count, 32)
    }
}
