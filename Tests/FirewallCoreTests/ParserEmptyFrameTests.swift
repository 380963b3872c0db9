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
        let expected: [(LinkType, Reason)] = [(.ethernet, .truncatedEthernet), (.linuxCooked, .truncatedLinuxCooked),
                                              (.linuxCooked2, .truncatedLinuxCooked), (.rawIP, .truncatedIPv4Header),
                                              (.null, .truncatedLoopback), (.loop, .truncatedLoopback)]
        for (link, r) in expected {
            XCTAssertEqual(reason(nil, link), r, "\(link), no address")
            XCTAssertEqual(reason(UnsafeRawPointer(byte), link), r, "\(link), with an address")
        }
    }
}
