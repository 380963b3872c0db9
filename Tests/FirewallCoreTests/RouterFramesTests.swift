import FirewallCore
import XCTest

/// ARP, neighbour discovery and the router's ICMP messages, checked byte by byte against frames
/// written down here and checksums computed here (HopRewriteTests.internetChecksum).
final class RouterFramesTests: XCTestCase {
    let ourMAC: UInt64 = 0x0276_666C_0010
    let hostMAC: UInt64 = 0x0276_666C_0001

    func write(_ body: (UnsafeMutableRawPointer) -> Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: 1600)
        let n = out.withUnsafeMutableBytes { body($0.baseAddress!) }
        return Array(out[0..<n])
    }

    func testAnARPRequestForUsIsReadAndTheReplyIsTheFrameWrittenByHand() throws {
        // Who has 10.199.1.254? Tell 10.199.1.1 (from 02:76:66:6c:00:01), broadcast.
        let request: [UInt8] =
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 0x08, 0x06]
            + [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 10, 199, 1, 1]
            + [0, 0, 0, 0, 0, 0, 10, 199, 1, 254] + [UInt8](repeating: 0, count: 18)
        let arp = try XCTUnwrap(request.withUnsafeBytes { NeighbourFrames.arp($0, at: 14) })
        XCTAssertEqual(
            arp,
            NeighbourFrames.ARP(
                isRequest: true, senderMAC: hostMAC, senderIP: 0x0AC7_0101, targetMAC: 0, targetIP: 0x0AC7_01FE))
        let reply = write {
            NeighbourFrames.writeARP(
                into: $0, isRequest: false, ethernetDestination: arp.senderMAC, senderMAC: ourMAC,
                senderIP: arp.targetIP, targetMAC: arp.senderMAC, targetIP: arp.senderIP)
        }
        let expected: [UInt8] =
            [0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x10, 0x08, 0x06]
            + [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x10, 10, 199, 1, 254]
            + [0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 10, 199, 1, 1] + [UInt8](repeating: 0, count: 18)
        XCTAssertEqual(reply, expected)
        XCTAssertNil(
            request.withUnsafeBytes { NeighbourFrames.arp(UnsafeRawBufferPointer(rebasing: $0[0..<41]), at: 14) })
    }

    /// ICMPv6 checksum over the pseudo-header (RFC 8200 8.1), computed here.
    func icmpv6Verifies(_ frame: [UInt8], l3: Int) -> Bool {
        let length = Int(frame[l3 + 4]) << 8 | Int(frame[l3 + 5])
        let pseudo = Array(frame[(l3 + 8)..<(l3 + 40)]) + [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, 58]
        return HopRewriteTests.internetChecksum((pseudo + frame[(l3 + 40)..<(l3 + 40 + length)])[...]) == 0
    }

    func testASolicitationAndAnAdvertisementRoundTripWithValidChecksums() throws {
        let ours = IPAddress(hi: 0xFD00_0000_0000_0001, lo: 1)
        let target = IPAddress(hi: 0xFD00_0000_0000_0001, lo: 0x0012_3456)
        let ns = write {
            NeighbourFrames.writeSolicitation(into: $0, ourMAC: ourMAC, source: ours, target: target, knownMAC: 0)
        }
        XCTAssertEqual(ns.count, 86)
        XCTAssertEqual(Array(ns[0..<6]), [0x33, 0x33, 0xFF, 0x12, 0x34, 0x56], "the solicited-node group's MAC")
        XCTAssertEqual(Array(ns[38..<54]), [0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0x12, 0x34, 0x56])
        XCTAssertEqual(ns[21], 255, "hop limit 255")
        XCTAssertTrue(icmpv6Verifies(ns, l3: 14))
        let parsed = try XCTUnwrap(ns.withUnsafeBytes { NeighbourFrames.discovery($0, l3: 14, l4: 54) })
        XCTAssertEqual(parsed.isSolicitation, true)
        XCTAssertEqual(parsed.target, target)
        XCTAssertEqual(parsed.linkAddress, ourMAC)

        let na = write {
            NeighbourFrames.writeAdvertisement(into: $0, ourMAC: ourMAC, target: ours, to: (ip: target, mac: hostMAC))
        }
        XCTAssertTrue(icmpv6Verifies(na, l3: 14))
        XCTAssertEqual(na[58], 0xE0, "router, solicited, override")
        let answer = try XCTUnwrap(na.withUnsafeBytes { NeighbourFrames.discovery($0, l3: 14, l4: 54) })
        XCTAssertEqual(
            answer,
            NeighbourFrames.Discovery(
                isSolicitation: false, target: ours, linkAddress: ourMAC, solicited: true, override: true))
        var hopped = na
        hopped[21] = 64
        XCTAssertNil(hopped.withUnsafeBytes { NeighbourFrames.discovery($0, l3: 14, l4: 54) }, "routed from afar")
    }

    /// A UDP datagram 10.199.1.1 -> 10.199.2.2 with TTL 1 and 40 bytes of data.
    func udpFrame(ttl: UInt8) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0, 0, 68, 0x12, 0x34, 0x40, 0, ttl, 17, 0, 0, 10, 199, 1, 1, 10, 199, 2, 2]
        let sum = HopRewriteTests.internetChecksum(ip[...])
        ip[10] = UInt8(sum >> 8)
        ip[11] = UInt8(sum & 0xFF)
        let udp: [UInt8] = [0x9C, 0x40, 0x82, 0x9A, 0, 48, 0, 0] + [UInt8](repeating: 0x5A, count: 40)
        return [0x02, 0x76, 0x66, 0x6C, 0x00, 0x10, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 0x08, 0x00] + ip + udp
    }

    func meta(_ frame: [UInt8]) -> PacketMeta {
        var m = PacketMeta()
        _ = frame.withUnsafeBytes { Parser.parse($0, link: .ethernet, into: &m) }
        return m
    }

    func testTimeExceededQuotesThePacketFromOurAddressWithValidChecksums() {
        let frame = udpFrame(ttl: 1)
        let reply = write { out in
            frame.withUnsafeBytes {
                RouterICMP.writeError(
                    .timeExceeded, about: $0, meta: meta(frame), source: IPAddress(v4: 0x0AC7_01FE), ourMAC: ourMAC,
                    mtu: 1500, into: out, capacity: 1600)
            }
        }
        XCTAssertEqual(Array(reply[0..<12]), [0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x10])
        XCTAssertEqual(reply.count, 14 + 20 + 8 + 68, "the whole 68-byte packet quoted")
        XCTAssertEqual(Array(reply[26..<34]), [10, 199, 1, 254, 10, 199, 1, 1], "from our address to the sender")
        XCTAssertEqual(reply[23], 1, "ICMP")
        XCTAssertEqual(HopRewriteTests.internetChecksum(reply[14..<34]), 0, "IP header checksum")
        XCTAssertEqual(Array(reply[34..<36]), [11, 0], "time exceeded in transit")
        XCTAssertEqual(HopRewriteTests.internetChecksum(reply[34...]), 0, "ICMP checksum")
        XCTAssertEqual(Array(reply[42...]), Array(frame[14...]), "the original packet, as it arrived")

        let tooBig = write { out in
            frame.withUnsafeBytes {
                RouterICMP.writeError(
                    .tooBig, about: $0, meta: meta(frame), source: IPAddress(v4: 0x0AC7_01FE), ourMAC: ourMAC,
                    mtu: 1400, into: out, capacity: 1600)
            }
        }
        XCTAssertEqual(
            Array(tooBig[34..<42]), [3, 4, tooBig[36], tooBig[37], 0, 0, 0x05, 0x78], "frag needed, MTU 1400")
        XCTAssertEqual(HopRewriteTests.internetChecksum(tooBig[34...]), 0)
    }

    func testNoErrorAboutAnICMPErrorAndAnEchoRequestToUsIsAnswered() {
        let error = write { out in
            let frame = udpFrame(ttl: 1)
            return frame.withUnsafeBytes { f in
                RouterICMP.writeError(
                    .hostUnreachable, about: f, meta: meta(frame), source: IPAddress(v4: 1), ourMAC: ourMAC, mtu: 0,
                    into: out, capacity: 1600)
            }
        }
        let aboutError = meta(error)
        XCTAssertFalse(RouterICMP.mayAnswer(aboutError), "never an error about an error")

        var ip: [UInt8] = [0x45, 0, 0, 36, 0, 1, 0, 0, 64, 1, 0, 0, 10, 199, 1, 1, 10, 199, 1, 254]
        let sum = HopRewriteTests.internetChecksum(ip[...])
        ip[10] = UInt8(sum >> 8)
        ip[11] = UInt8(sum & 0xFF)
        var icmp: [UInt8] = [8, 0, 0, 0, 0x12, 0x34, 0x00, 0x07] + Array("pingping".utf8)
        let c = HopRewriteTests.internetChecksum(icmp[...])
        icmp[2] = UInt8(c >> 8)
        icmp[3] = UInt8(c & 0xFF)
        let echo = [0x02, 0x76, 0x66, 0x6C, 0x00, 0x10, 0x02, 0x76, 0x66, 0x6C, 0x00, 0x01, 0x08, 0x00] + ip + icmp
        let reply = write { out in
            echo.withUnsafeBytes {
                RouterICMP.writeEchoReply(to: $0, meta: meta(echo), ourMAC: ourMAC, into: out, capacity: 1600)
            }
        }
        XCTAssertEqual(reply.count, echo.count)
        XCTAssertEqual(Array(reply[26..<34]), [10, 199, 1, 254, 10, 199, 1, 1])
        XCTAssertEqual(Array(reply[34..<36]), [0, 0], "echo reply")
        XCTAssertEqual(Array(reply[38...]), Array(echo[38...]), "identifier, sequence and data kept")
        XCTAssertEqual(HopRewriteTests.internetChecksum(reply[34...]), 0)
        XCTAssertEqual(HopRewriteTests.internetChecksum(reply[14..<34]), 0)
    }

    func testTheTokenBucketAllowsABurstThenTheRate() {
        var bucket = TokenBucket(ratePerSecond: 10, burst: 3, now: 0)
        XCTAssertEqual((0..<5).map { _ in bucket.take(now: 0) }, [true, true, true, false, false])
        XCTAssertFalse(bucket.take(now: 50_000_000), "half a token earned")
        XCTAssertTrue(bucket.take(now: 100_000_000))
        XCTAssertFalse(bucket.take(now: 100_000_000))
        XCTAssertEqual(
            (0..<5).map { _ in bucket.take(now: 10_000_000_000) }, [true, true, true, false, false], "capped")
    }
}
