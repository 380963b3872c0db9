import Dataplane
import EngineConfig
@testable import Workloads
import FirewallCore
import LinuxIO
import Ports
import XCTest

/// The load generator's frames: sizes as RFC 2544 counts them, the stamp read back, a reply
/// with addresses and ports swapped, and other frames not taken for the generator's.
final class GenFramesTests: XCTestCase {
    let flow = GenFrames.Flow(
        dstMAC: [2, 0, 0, 0, 0, 2], srcMAC: [2, 0, 0, 0, 0, 1], srcIP: 0x0AC7_0001,
        dstIP: 0x0AC7_0002, sport: 40000, dport: 9000)

    func testSizesExcludeTheFCSAndTheStampReadsBack() {
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buf.deallocate() }
        XCTAssertEqual(GenFrames.write(flow, size: 1500, kind: .data, into: buf), 1496)
        XCTAssertEqual(GenFrames.write(flow, size: 64, kind: .probe, into: buf), 60)
        GenFrames.stamp(buf, sequence: 7, nanos: 123_456_789)
        let h = GenFrames.read(UnsafeRawBufferPointer(start: buf, count: 60))
        XCTAssertEqual(h?.kind, GenFrames.Kind.probe.rawValue)
        XCTAssertEqual(h?.sequence, 7)
        XCTAssertEqual(h?.nanos, 123_456_789)
        let b = UnsafeRawBufferPointer(start: buf, count: 60)
        XCTAssertEqual(Array(b[16..<18]), [0, 46], "IPv4 total length of a 64-byte frame")
    }

    func testReplySwapsAddressesAndPorts() {
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 8)
        let out = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 8)
        defer {
            buf.deallocate()
            out.deallocate()
        }
        let n = GenFrames.write(flow, size: 64, kind: .probe, into: buf)
        GenFrames.stamp(buf, sequence: 3, nanos: 99)
        XCTAssertEqual(GenFrames.reply(to: UnsafeRawBufferPointer(start: buf, count: n), into: out), n)
        let r = UnsafeRawBufferPointer(start: out, count: n)
        XCTAssertEqual(Array(r[0..<6]), flow.srcMAC)
        XCTAssertEqual(Array(r[6..<12]), flow.dstMAC)
        XCTAssertEqual(Array(r[26..<30]), [10, 199, 0, 2])
        XCTAssertEqual(Array(r[34..<36]), [0x23, 0x28], "source port 9000")
        XCTAssertEqual(GenFrames.read(r)?.kind, GenFrames.Kind.reply.rawValue)
        XCTAssertEqual(GenFrames.read(r)?.sequence, 3)
    }

    func testOtherFramesAreNotTheGenerators() {
        var arp = [UInt8](repeating: 0, count: 60)
        arp[12] = 0x08
        arp[13] = 0x06
        XCTAssertNil(arp.withUnsafeBytes { GenFrames.read($0) })
        var udp = [UInt8](repeating: 0, count: 60)
        udp[12] = 0x08
        udp[23] = 17
        XCTAssertNil(udp.withUnsafeBytes { GenFrames.read($0) })
    }
}
