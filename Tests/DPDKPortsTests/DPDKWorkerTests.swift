@testable import DPDKPorts
@testable import Dataplane
import FirewallCore
import Glibc
import Ports
import TestSupport
import XCTest

/// A worker on DPDK's own threads: the DPDK side launches it on an EAL lcore.
final class DPDKWorkerTests: XCTestCase {
    func testWorkersOnDPDKLcoresFilterACaptureBetweenPcapPorts() throws {
        try DPDKTestEnvironment.start()
        let pool = try MbufPool(name: DPDKTestEnvironment.unique("pool"), count: 2047, cacheSize: 32)
        defer { pool.free() }
        let dir = "/tmp/vfwall-worker-test-\(getpid())-\(DPDKTestEnvironment.unique("dir"))"
        XCTAssertEqual(mkdir(dir, 0o700), 0)
        defer {
            ["in", "empty", "inside-out", "outside-out"].forEach { unlink("\(dir)/\($0).pcap") }
            rmdir(dir)
        }
        let frames = (0..<60).map { PortTestFrames.udp(index: $0, destinationPort: $0 % 3 == 0 ? 3000 : 2000) }
        try TinyPcap.write(frames, to: "\(dir)/in.pcap")
        try TinyPcap.write([], to: "\(dir)/empty.pcap")
        let insideName = DPDKTestEnvironment.unique("net_pcap"), outsideName = DPDKTestEnvironment.unique("net_pcap")
        try DPDKEnvironment.createVirtualDevice(
            name: insideName, arguments: "rx_pcap=\(dir)/in.pcap,tx_pcap=\(dir)/inside-out.pcap")
        try DPDKEnvironment.createVirtualDevice(
            name: outsideName, arguments: "rx_pcap=\(dir)/empty.pcap,tx_pcap=\(dir)/outside-out.pcap")
        let inside = try DPDKPort(DPDKPortConfig(device: insideName), pool: pool)
        let outside = try DPDKPort(DPDKPortConfig(device: outsideName), pool: pool)
        let control = WorkerControl()
        let worker = Worker(
            index: 0, inside: inside, outside: outside, policy: PortTestPolicies.udp2000(),
            conntrack: ConntrackSettings(), control: control,
            options: WorkerOptions(idleSleepMicroseconds: 100, idleRoundsBeforeSleep: 16))
        let group = WorkerGroup(workers: [worker], control: control)
        try group.start(.backend(DPDKOpenedDevices(ports: [inside, outside], pool: nil, ownsEnvironment: false)))
        waitUntil(timeout: 5, what: "the capture to go through") { inside.statistics.rx == 60 }
        group.stop()
        inside.close()
        outside.close()
        XCTAssertEqual(
            try TinyPcap.read("\(dir)/outside-out.pcap"),
            frames.enumerated().filter { $0.offset % 3 != 0 }.map(\.element))
        XCTAssertEqual(try TinyPcap.read("\(dir)/inside-out.pcap"), [])
        XCTAssertEqual(pool.inUse, 0)
    }
}
