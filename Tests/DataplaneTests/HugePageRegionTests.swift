@testable import Dataplane
import EngineConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import XCTest

final class HugePageRegionTests: XCTestCase {
    func testRegionIsAlignedToAHugePageAndUsable() throws {
        let bytes = 5 << 20  // not a multiple of 2 MiB: rounded up inside
        let region = try XCTUnwrap(HugePageRegion.allocate(bytes))
        XCTAssertEqual(Int(bitPattern: region) & ((2 << 20) - 1), 0, "region should start on a 2 MiB boundary")
        let words = region.bindMemory(to: UInt64.self, capacity: bytes / 8)
        for i in stride(from: 0, to: bytes / 8, by: 512) { words[i] = UInt64(i) }
        for i in stride(from: 0, to: bytes / 8, by: 512) { XCTAssertEqual(words[i], UInt64(i)) }
        XCTAssertNotNil(HugePageRegion.hugeBytes(in: region), "the mapping should be listed in /proc/self/smaps")
        HugePageRegion.release(region, bytes)
    }

    /// The smaps scan takes the AnonHugePages line of the mapping that holds the address, not
    /// of its neighbours, and reads field lines that start with hex letters as fields.
    func testSmapsScanReadsTheMappingThatHoldsTheAddress() {
        let smaps = """
            7f0000000000-7f0000400000 rw-p 00000000 00:00 0
            Size:               4096 kB
            AnonHugePages:      2048 kB
            7f0000400000-7f0000c00000 rw-p 00000000 00:00 0 
            Size:               8192 kB
            FilePmdMapped:         0 kB
            AnonHugePages:      6144 kB
            VmFlags: rd wr mr mw me ac sd hg
            7f0000c00000-7f0001000000 rw-p 00000000 00:00 0
            AnonHugePages:         0 kB

            """
        let text = Array(smaps.utf8)
        XCTAssertEqual(HugePageRegion.hugeBytes(at: 0x7f00_0040_0000, smaps: text), 6144 * 1024)
        XCTAssertEqual(HugePageRegion.hugeBytes(at: 0x7f00_00bf_ffff, smaps: text), 6144 * 1024)
        XCTAssertEqual(HugePageRegion.hugeBytes(at: 0x7f00_0000_1000, smaps: text), 2048 * 1024)
        XCTAssertEqual(HugePageRegion.hugeBytes(at: 0x7f00_00c0_0000, smaps: text), 0)
        XCTAssertNil(HugePageRegion.hugeBytes(at: 0x1000, smaps: text), "no mapping holds it")
    }

    func testFlowTableOnHugePagesFindsWhatItHolds() {
        let table = FlowTable(maxFlows: 100_000, memory: HugePageRegion.allocator)
        XCTAssertEqual(table.backing, "huge pages")
        XCTAssertEqual(Int(bitPattern: table.region) & ((2 << 20) - 1), 0)
        var keys: [FlowKey] = []
        for i in 0..<50_000 {
            let k = FlowKey(
                src: IPAddress(v4: 0x0A00_0000 | UInt32(i)), dst: IPAddress(v4: 0xC000_0201),
                sport: UInt16(truncatingIfNeeded: 1024 + i), dport: 443, proto: IPProto.tcp, v6: false)
            _ = table.insert(k, flags: FlowEntry.originIsA, tcpState: .established, expires: 1, rule: Int32(i))
            keys.append(k)
        }
        for (i, k) in keys.enumerated() {
            let slot = table.find(k)
            XCTAssertGreaterThanOrEqual(slot, 0)
            if slot >= 0 { XCTAssertEqual(table[slot].rule, Int32(i)) }
        }
        let absent = FlowKey(
            src: IPAddress(v4: 0x0B00_0000), dst: IPAddress(v4: 0xC000_0201), sport: 1, dport: 443, proto: IPProto.tcp,
            v6: false)
        XCTAssertEqual(table.find(absent), -1)
    }
}
