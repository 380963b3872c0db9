import XCTest
@testable import FirewallCore

final class RejectReplyTests: XCTestCase {
    /// Builds the reply to `frame` and parses it back.
    func reply(_ frame: [UInt8]) -> (bytes: [UInt8], reason: Reason, meta: PacketMeta)? {
        let (r, m) = Frames.parse(frame)
        XCTAssertEqual(r, .none)
        let out = UnsafeMutableRawPointer.allocate(byteCount: RejectReply.maxLength, alignment: 8)
        defer { out.deallocate() }
        let n = frame.withUnsafeBytes {
            RejectReply.build(for: $0, meta: m, into: out, capacity: RejectReply.maxLength)
        }
        guard n > 0 else { return nil }
        let bytes = Array(UnsafeRawBufferPointer(start: out, count: n))
        let (r2, m2) = Frames.parse(bytes)
        return (bytes, r2, m2)
    }

    func checksumOK(_ b: [UInt8], from: Int, count: Int) -> Bool {
        b.withUnsafeBytes { FrameWriter.fold(FrameWriter.sum($0.baseAddress! + from, count)) == 0xFFFF }
    }

    func testTCPSynGetsRstAck() throws {
        let syn = Frames.tcp4("10.0.0.1", "192.0.2.1", 40000, 23, SYN)
        let r = try XCTUnwrap(reply(syn))
        XCTAssertEqual(r.reason, .none)
        XCTAssertEqual(r.meta.src, IPAddress(v4: 0xC000_0201))
        XCTAssertEqual(r.meta.dst, IPAddress(v4: 0x0A00_0001))
        XCTAssertEqual(r.meta.sport, 23)
        XCTAssertEqual(r.meta.dport, 40000)
        XCTAssertEqual(r.meta.tcpFlags, RST | ACK)
        XCTAssertEqual(Array(r.bytes[0..<6]), Frames.macA, "sent back to the sender's MAC")
        let ack = r.bytes.withUnsafeBytes { $0.baseAddress!.be32(34 + 8) }
        XCTAssertEqual(ack, 1001, "acknowledges the SYN (seq 1000 + 1)")
        XCTAssertTrue(checksumOK(r.bytes, from: 14, count: 20), "IPv4 header checksum")
    }

    func testUDPGetsPortUnreachableQuotingTheDatagram() throws {
        let r = try XCTUnwrap(
            reply(
                Frames.ethernet(
                    0x0800, Frames.ipv4("10.0.0.1", "192.0.2.1", proto: 17, Frames.udp(5000, 69, [1, 2])),
                    vlans: [(0x8100, 42)])))
        XCTAssertEqual(r.meta.outerVlan, 42, "the reply keeps the VLAN tag")
        XCTAssertEqual(r.meta.icmpType, 3)
        XCTAssertEqual(r.meta.icmpCode, 3)
        XCTAssertTrue(r.meta.hasInner)
        XCTAssertEqual(r.meta.innerSport, 5000)
        XCTAssertEqual(r.meta.innerDport, 69)
        XCTAssertTrue(checksumOK(r.bytes, from: 18 + 20, count: r.bytes.count - 38), "ICMP checksum")
    }

    func testIPv6GetsICMPv6AdministrativelyProhibited() throws {
        let f = Frames.ethernet(
            0x86DD, Frames.ipv6("2001:db8::1", "2001:db8::2", next: 6, Frames.tcp(1, 2, flags: SYN)))
        let r = try XCTUnwrap(reply(f))
        XCTAssertEqual(r.meta.tcpFlags, RST | ACK)
        let icmp = Frames.ethernet(
            0x86DD, Frames.ipv6("2001:db8::1", "2001:db8::2", next: 58, Frames.icmp(type: 128, id: 3)))
        let r2 = try XCTUnwrap(reply(icmp))
        XCTAssertEqual(r2.meta.icmpType, 1)
        XCTAssertEqual(r2.meta.icmpCode, 1)
    }

    func testNoReplyToErrorsResetsOrGroups() {
        XCTAssertNil(reply(Frames.tcp4("10.0.0.1", "192.0.2.1", 1, 2, RST)))
        let quoted = Array(Frames.ipv4("192.0.2.1", "10.0.0.1", proto: 17, Frames.udp(1, 2)).prefix(28))
        XCTAssertNil(
            reply(
                Frames.ethernet(
                    0x0800, Frames.ipv4("10.0.0.1", "192.0.2.1", proto: 1, Frames.icmp(type: 3, data: quoted)))))
        XCTAssertNil(reply(Frames.udp4("10.0.0.1", "224.0.0.251", 5353, 5353)))
        XCTAssertNil(reply(Frames.udp4("10.0.0.1", "255.255.255.255", 68, 67)))
    }
}
