import Workloads
import XCTest
@testable import FirewallCore

final class ParserTests: XCTestCase {
    func testTCPv4Fields() {
        let (r, m) = Frames.parse(Frames.tcp4("10.0.0.1", "192.0.2.9", 40000, 443, SYN))
        XCTAssertEqual(r, .none)
        XCTAssertEqual(m.ipVersion, 4)
        XCTAssertEqual(m.proto, 6)
        XCTAssertEqual(m.src, IPAddress(v4: 0x0A00_0001))
        XCTAssertEqual(m.dst, IPAddress(v4: 0xC000_0209))
        XCTAssertEqual(m.sport, 40000)
        XCTAssertEqual(m.dport, 443)
        XCTAssertEqual(m.tcpFlags, SYN)
        XCTAssertTrue(m.hasPorts)
        XCTAssertEqual(m.outerVlan, PacketMeta.untagged)
        XCTAssertEqual(m.l3Offset, 14)
        XCTAssertEqual(m.l4Offset, 34)
    }

    func testIPv4OptionsMoveTheTransportHeader() {
        let f = Frames.ethernet(0x0800, Frames.ipv4("10.0.0.1", "10.0.0.2", proto: 17, Frames.udp(1, 2), ihl: 7))
        let (r, m) = Frames.parse(f)
        XCTAssertEqual(r, .none)
        XCTAssertEqual(m.l4Offset, 14 + 28)
        XCTAssertEqual(m.sport, 1)
    }

    func testVlanTags() {
        let inner = Frames.ipv4("10.0.0.1", "10.0.0.2", proto: 17, Frames.udp(5, 161))
        let (r1, m1) = Frames.parse(Frames.ethernet(0x0800, inner, vlans: [(0x8100, 100)]))
        XCTAssertEqual(r1, .none)
        XCTAssertEqual(m1.outerVlan, 100)
        XCTAssertEqual(m1.innerVlan, PacketMeta.untagged)
        let (r2, m2) = Frames.parse(Frames.ethernet(0x0800, inner, vlans: [(0x88A8, 300), (0x8100, 7)]))
        XCTAssertEqual(r2, .none)
        XCTAssertEqual(m2.outerVlan, 300)
        XCTAssertEqual(m2.innerVlan, 7)
        XCTAssertEqual(m2.dport, 161)
        let (r3, _) = Frames.parse(Frames.ethernet(0x0800, inner, vlans: [(0x88A8, 1), (0x8100, 2), (0x8100, 3)]))
        XCTAssertEqual(r3, .tooManyVlanTags)
        let (r4, _) = Frames.parse(Frames.macB + Frames.macA + [0x81, 0x00, 0x00])
        XCTAssertEqual(r4, .truncatedVlanTag)
    }

    func testNonIPAndARP() {
        XCTAssertEqual(Frames.parse(Frames.ethernet(0x0806, [UInt8](repeating: 0, count: 28))).0, .arp)
        XCTAssertEqual(Frames.parse(Frames.ethernet(0x0806, [0, 1, 8, 0])).0, .truncatedArp)
        XCTAssertEqual(Frames.parse(Frames.ethernet(0x88CC, [1, 2, 3])).0, .nonIP)
    }

    func testMalformedIPv4() {
        let seg = Frames.tcp(1, 80, flags: SYN)
        func ip(_ b: [UInt8]) -> Reason { Frames.parse(Frames.ethernet(0x0800, b)).0 }
        XCTAssertEqual(Frames.parse(Array(repeating: 0, count: 13)).0, .truncatedEthernet)
        XCTAssertEqual(Frames.parse([]).0, .truncatedEthernet)
        XCTAssertEqual(ip(Array(Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg).prefix(19))), .truncatedIPv4Header)
        XCTAssertEqual(ip(Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg, version: 5)), .badIPv4Version)
        XCTAssertEqual(ip(Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg, ihl: 4)), .badIPv4HeaderLength)
        XCTAssertEqual(
            ip(Array(Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, [], ihl: 15).prefix(30))), .truncatedIPv4Header)
        XCTAssertEqual(ip(Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg, total: 1500)), .ipv4TotalLengthBeyondFrame)
        XCTAssertEqual(ip(Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg, total: 19)), .ipv4TotalLengthBelowHeader)
    }

    func testTotalLengthBoundsTheTransportHeader() {
        // The frame is long enough (Ethernet padding), but the IP packet ends inside the TCP header.
        let seg = Frames.tcp(1, 80, flags: SYN)
        let f = Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg, total: 30))
        XCTAssertEqual(Frames.parse(f).0, .truncatedTCPHeader)
    }

    func testMalformedTransport() {
        func ip4(_ proto: UInt8, _ b: [UInt8]) -> Reason {
            Frames.parse(Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: proto, b))).0
        }
        XCTAssertEqual(ip4(6, Array(Frames.tcp(1, 2, flags: SYN).prefix(19))), .truncatedTCPHeader)
        XCTAssertEqual(ip4(6, Frames.tcp(1, 2, flags: SYN, dataOffset: 4)), .badTCPDataOffset)
        var pastSegment = Frames.tcp(1, 2, flags: SYN)
        pastSegment[12] = 15 << 4  // 60-byte header claimed in a 20-byte segment
        XCTAssertEqual(ip4(6, pastSegment), .badTCPDataOffset)
        XCTAssertEqual(ip4(17, [0, 1, 0, 2, 0]), .truncatedUDPHeader)
        XCTAssertEqual(ip4(17, Frames.udp(1, 2, [], length: 0)), .badUDPLength)
        XCTAssertEqual(ip4(17, Frames.udp(1, 2, [], length: 9)), .badUDPLength)
        XCTAssertEqual(ip4(1, [8, 0, 0]), .truncatedICMPHeader)
        XCTAssertEqual(ip4(47, []), .none, "protocols without a transport parser pass with no ports")
    }

    func testIPv6ExtensionChain() {
        let seg = Frames.tcp(1234, 443, flags: SYN)
        // Hop-by-hop, then destination options, then TCP.
        let chain: [UInt8] = [60, 0, 0, 0, 0, 0, 0, 0] + [6, 0, 0, 0, 0, 0, 0, 0] + seg
        let (r, m) = Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("2001:db8::1", "2001:db8::2", next: 0, chain)))
        XCTAssertEqual(r, .none)
        XCTAssertEqual(m.ipVersion, 6)
        XCTAssertEqual(m.proto, 6)
        XCTAssertEqual(m.dport, 443)
        XCTAssertEqual(m.l4Offset, 14 + 40 + 16)
        XCTAssertEqual(m.src, IPAddress(hi: 0x2001_0db8_0000_0000, lo: 1))

        var long: [UInt8] = []
        for _ in 0..<9 { long += [60, 0, 0, 0, 0, 0, 0, 0] }
        long += [6, 0, 0, 0, 0, 0, 0, 0] + seg
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 60, long))).0,
            .ipv6ExtensionChainTooLong)
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 60, [6, 3, 0, 0, 0, 0, 0, 0]))).0,
            .truncatedIPv6Extension)
        XCTAssertEqual(
            Frames.parse(
                Frames.ethernet(
                    0x86DD,
                    Frames.ipv6("::1", "::2", next: 60, [0, 0, 0, 0, 0, 0, 0, 0] + [6, 0, 0, 0, 0, 0, 0, 0] + seg))
            ).0, .ipv6HopByHopNotFirst)
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, Array(Frames.ipv6("::1", "::2", next: 6, seg).prefix(39)))).0,
            .truncatedIPv6Header)
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 6, seg, payloadLength: 100))).0,
            .ipv6PayloadBeyondFrame)
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, [0x40] + Array(Frames.ipv6("::1", "::2", next: 6, seg).dropFirst())))
                .0, .badIPv6Version)
    }

    func testIPv6ESPAndNoNextHeaderStopTheChain() {
        let (r, m) = Frames.parse(
            Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 50, [1, 2, 3, 4, 5, 6, 7, 8])))
        XCTAssertEqual(r, .none)
        XCTAssertEqual(m.proto, 50)
        XCTAssertFalse(m.hasL4)
        let (r2, m2) = Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 59, [])))
        XCTAssertEqual(r2, .none)
        XCTAssertEqual(m2.proto, 59)
    }

    func testAuthenticationHeaderLength() {
        // AH length counts 4-octet units minus 2: length 1 means 12 bytes.
        let ah: [UInt8] = [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]
        let (r, m) = Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 51, ah + Frames.udp(7, 9))))
        XCTAssertEqual(r, .none)
        XCTAssertEqual(m.proto, 17)
        XCTAssertEqual(m.dport, 9)
    }

    func testFragments() {
        let seg = Frames.tcp(1, 80, flags: SYN)
        let (r1, m1) = Frames.parse(
            Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, seg, id: 9, frag: 0x2000)))
        XCTAssertEqual(r1, .none)
        XCTAssertEqual(m1.fragment, .first)
        XCTAssertEqual(m1.fragmentID, 9)
        let (r2, m2) = Frames.parse(
            Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, [1, 2, 3, 4, 5, 6, 7, 8], frag: 3)))
        XCTAssertEqual(r2, .none)
        XCTAssertEqual(m2.fragment, .later)
        XCTAssertFalse(m2.hasL4)
        // A first fragment too short for its TCP header (RFC 1858's tiny fragment).
        let (r3, _) = Frames.parse(
            Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, Array(seg.prefix(8)), frag: 0x2000)))
        XCTAssertEqual(r3, .badFragment)
        // A fragment that would end past 65535 bytes.
        let (r4, _) = Frames.parse(
            Frames.ethernet(
                0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 6, [UInt8](repeating: 0, count: 16), frag: 0x1FFF)))
        XCTAssertEqual(r4, .badFragment)
        // IPv6 fragment header: offset 0 with M set is a first fragment; offset > 0 is a later one.
        let fragFirst: [UInt8] = [6, 0, 0, 1, 0, 0, 0, 42]
        let (r5, m5) = Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 44, fragFirst + seg)))
        XCTAssertEqual(r5, .none)
        XCTAssertEqual(m5.fragment, .first)
        XCTAssertEqual(m5.fragmentID, 42)
        let fragLater: [UInt8] = [6, 0, 0, 0x10, 0, 0, 0, 42]
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 44, fragLater + [1, 2]))).1.fragment,
            .later)
    }

    func testICMPEchoAndErrors() {
        let (r, m) = Frames.parse(
            Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 8, id: 77, seq: 1))))
        XCTAssertEqual(r, .none)
        XCTAssertTrue(m.hasICMP)
        XCTAssertEqual(m.icmpType, 8)
        XCTAssertEqual(m.sport, 77)
        XCTAssertEqual(m.dport, 77)
        XCTAssertFalse(m.hasPorts)

        let quoted = Array(Frames.ipv4("10.0.0.1", "192.0.2.1", proto: 17, Frames.udp(5000, 53)).prefix(28))
        let (r2, m2) = Frames.parse(
            Frames.ethernet(
                0x0800, Frames.ipv4("192.0.2.1", "10.0.0.1", proto: 1, Frames.icmp(type: 3, code: 3, data: quoted))))
        XCTAssertEqual(r2, .none)
        XCTAssertTrue(m2.hasInner)
        XCTAssertEqual(m2.innerProto, 17)
        XCTAssertEqual(m2.innerSrc, IPAddress(v4: 0x0A00_0001))
        XCTAssertEqual(m2.innerSport, 5000)
        XCTAssertEqual(m2.innerDport, 53)

        // An error quoting an error has no inner connection.
        let quotedError = Array(
            Frames.ipv4("10.0.0.1", "192.0.2.1", proto: 1, Frames.icmp(type: 3, code: 1)).prefix(28))
        let (_, m3) = Frames.parse(
            Frames.ethernet(
                0x0800, Frames.ipv4("192.0.2.1", "10.0.0.1", proto: 1, Frames.icmp(type: 11, data: quotedError))))
        XCTAssertFalse(m3.hasInner)
    }

    func testICMPv6() {
        let (r, m) = Frames.parse(
            Frames.ethernet(
                0x86DD, Frames.ipv6("fe80::1", "ff02::1", next: 58, Frames.icmp(type: 135) + Frames.v6("fe80::2"))))
        XCTAssertEqual(r, .none)
        XCTAssertEqual(m.icmpType, 135)
        XCTAssertTrue(ICMPKind.isNeighbourDiscovery(type: m.icmpType))
        XCTAssertEqual(
            Frames.parse(Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 58, [128, 0, 0]))).0,
            .truncatedICMPv6Header)
        let quoted = Frames.ipv6("2001:db8::1", "2001:db8::2", next: 6, Frames.tcp(1000, 22, flags: SYN))
        let (_, m2) = Frames.parse(
            Frames.ethernet(
                0x86DD, Frames.ipv6("2001:db8::2", "2001:db8::1", next: 58, Frames.icmp(type: 1, code: 4) + quoted)))
        XCTAssertTrue(m2.hasInner)
        XCTAssertEqual(m2.innerDport, 22)
    }

    func testOtherLinkTypes() {
        let ip = Frames.ipv4("10.0.0.1", "10.0.0.2", proto: 17, Frames.udp(1, 53))
        XCTAssertEqual(Frames.parse(ip, link: .rawIP).1.dport, 53)
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6] + Frames.macA + [0, 0] + [0x08, 0x00]
        XCTAssertEqual(Frames.parse(sll + ip, link: .linuxCooked).1.dport, 53)
        let sll2: [UInt8] = [0x08, 0x00, 0, 0] + [0, 0, 0, 2] + [0, 1, 0, 6] + Frames.macA + [0, 0]
        XCTAssertEqual(Frames.parse(sll2 + ip, link: .linuxCooked2).1.dport, 53)
        XCTAssertEqual(Frames.parse(Array(sll.prefix(10)), link: .linuxCooked).0, .truncatedLinuxCooked)
        XCTAssertEqual(
            Frames.parse(Frames.ipv6("::1", "::2", next: 17, Frames.udp(1, 53)), link: .rawIP).1.ipVersion, 6)
    }

    /// Every prefix of a valid frame, and random bytes, parse without reading past the end:
    /// the buffer is exactly the frame's length, so an over-read would trip the address sanitizer.
    /// Every cut of a frame gets the reason of the header it falls in, read through a buffer of
    /// exactly the cut's size (no read past it under AddressSanitizer).
    func testEveryTruncationGetsTheReasonOfTheHeaderItCuts() {
        func reason(_ f: [UInt8], _ n: Int, _ link: LinkType = .ethernet) -> Reason {
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 1)
            defer { p.deallocate() }
            p.copyBytes(from: f.prefix(n))
            var m = PacketMeta()
            return Parser.parse(UnsafeRawBufferPointer(rebasing: p[0..<n]), link: link, into: &m)
        }
        let tcp = Frames.tcp(1, 2, flags: SYN)
        // (frame, link, [(cut lengths up to, reason)]): the first bound above the cut applies.
        let ipv4TCP = Frames.tcp4("10.0.0.1", "10.0.0.2", 1, 2, SYN)  // 14 + 20 + 20
        let ipv6Frag = Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: 44, [6, 0, 0, 1, 0, 0, 0, 1] + tcp))
        let quoted = Array(Frames.ipv4("2.2.2.2", "1.1.1.1", proto: 6, tcp).prefix(28))
        let icmpError = Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 3, data: quoted))
        let vlanICMP = Frames.ethernet(0x0800, icmpError, vlans: [(0x8100, 5)])
        let null = [2, 0, 0, 0] + Array(ipv4TCP.dropFirst(14))
        let cases: [([UInt8], LinkType, [(Int, Reason)])] = [
            (
                ipv4TCP, .ethernet,
                [
                    (14, .truncatedEthernet), (34, .truncatedIPv4Header),
                    (54, .ipv4TotalLengthBeyondFrame)
                ]
            ),
            (
                ipv6Frag, .ethernet,
                [
                    (14, .truncatedEthernet), (54, .truncatedIPv6Header),
                    (82, .ipv6PayloadBeyondFrame)
                ]
            ),
            (
                vlanICMP, .ethernet,
                [
                    (14, .truncatedEthernet), (18, .truncatedVlanTag), (38, .truncatedIPv4Header),
                    (vlanICMP.count, .ipv4TotalLengthBeyondFrame)
                ]
            ),
            (null, .null, [(4, .truncatedLoopback), (24, .truncatedIPv4Header), (44, .ipv4TotalLengthBeyondFrame)])
        ]
        for (f, link, bounds) in cases {
            for n in 0...f.count {
                let expected = bounds.first { n < $0.0 }?.1 ?? .none
                XCTAssertEqual(reason(f, n, link), expected, "\(link) frame of \(f.count) bytes cut at \(n)")
            }
        }
        // A transport header cut where the IP header says the packet ends (its length fields agree).
        let transports: [(UInt8, [UInt8], v4: Reason, v6: Reason)] = [
            (6, tcp, .truncatedTCPHeader, .truncatedTCPHeader),
            (17, Frames.udp(1, 2), .truncatedUDPHeader, .truncatedUDPHeader),
            (132, Frames.udp(1, 2) + [0, 0, 0, 0], .truncatedSCTPHeader, .truncatedSCTPHeader),
            (1, Frames.icmp(type: 8), .truncatedICMPHeader, .none),
            (58, Frames.icmp(type: 128), .none, .truncatedICMPv6Header)
        ]
        for (proto, header, v4, v6) in transports {
            for k in 0..<header.count {
                let cut = Array(header.prefix(k))
                let f4 = Frames.ethernet(0x0800, Frames.ipv4("10.0.0.1", "10.0.0.2", proto: proto, cut))
                XCTAssertEqual(reason(f4, f4.count), v4, "protocol \(proto) over IPv4, \(k) header bytes")
                let f6 = Frames.ethernet(0x86DD, Frames.ipv6("::1", "::2", next: proto, cut))
                XCTAssertEqual(reason(f6, f6.count), v6, "protocol \(proto) over IPv6, \(k) header bytes")
            }
        }
    }

    /// Seeded garbage, half of it shaped like IPv4 over Ethernet (its total length the frame's):
    /// the fast lane and the general parser give the same reason, and a parsed header lies inside
    /// the frame.
    func testGarbageParsesTheSameOnBothPaths() {
        var rng = SplitMix64(seed: 0x7A31)
        var parsed = 0
        for _ in 0..<4000 {
            var bytes = (0..<Int.random(in: 0...120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if bytes.count >= 34 && Bool.random(using: &rng) {
                bytes[12] = 0x08
                bytes[13] = 0x00
                bytes[14] = 0x45
                bytes[16] = UInt8((bytes.count - 14) >> 8)
                bytes[17] = UInt8((bytes.count - 14) & 0xFF)
            }
            let (r, m) = Frames.parse(bytes)
            var general = PacketMeta()
            let g = bytes.withUnsafeBytes { Parser.parseAny($0, link: .ethernet, into: &general) }
            XCTAssertEqual(r, g, "\(bytes)")
            if r == .none {
                parsed += 1
                XCTAssertLessThanOrEqual(Int(m.l4Offset), bytes.count)
            }
        }
        XCTAssertGreaterThan(parsed, 0, "no garbage frame parsed: the shaping no longer reaches the transport parsers")
    }
}
