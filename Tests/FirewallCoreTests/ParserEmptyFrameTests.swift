import XCTest
@testable import FirewallCore

/// An empty frame is refused under the same reason whether or not its buffer has an address
/// (a zero-length pcap record points into the reader's buffer; an empty Swift array may not).
final class ParserEmptyFrameTests: XCTestCase {
    func reason(_ base: UnsafeRawPointer?, _ link: LinkType) -> Reason {
        var m = PacketMeta()
        return Parser.parse(UnsafeRawBufferPointer(start: base, count: 0), link: link, into: &m)
    }

    func testEmptyFrameReasonDoesNotDependOnTheBufferAddress() {
        let byte = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
        defer { byte.deallocate() }
        let expected: [(LinkType, Reason)] = [
            (.ethernet, .truncatedEthernet), (.linuxCooked, .truncatedLinuxCooked),
            (.linuxCooked2, .truncatedLinuxCooked), (.rawIP, .truncatedIPv4Header),
            (.null, .truncatedLoopback), (.loop, .truncatedLoopback)
        ]
        for (link, r) in expected {
            XCTAssertEqual(reason(nil, link), r, "\(link), no address")
            XCTAssertEqual(reason(UnsafeRawPointer(byte), link), r, "\(link), with an address")
        }
    }

    /// A port that leaves a frame without an address, or gives a negative length, lends no bytes.
    func testBurstFrameWithoutAddressOrWithNegativeLengthIsEmpty() {
        var burst = FrameBurst(capacity: 2)
        defer { burst.deallocate() }
        let byte = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
        defer { byte.deallocate() }
        burst.frames[0] = UnsafeRawPointer(byte)
        burst.lengths[0] = -5
        burst.frames[1] = nil
        burst.lengths[1] = 60
        burst.count = 2
        XCTAssertEqual(burst.frame(0).count, 0)
        XCTAssertEqual(burst.frame(1).count, 0)
        var m = PacketMeta()
        XCTAssertEqual(Parser.parse(burst.frame(0), link: .ethernet, into: &m), .truncatedEthernet)
    }
}
