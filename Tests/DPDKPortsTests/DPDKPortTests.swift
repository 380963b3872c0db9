import CDPDK
@testable import DPDKPorts
@testable import Dataplane
import FirewallCore
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// DPDK's real poll-mode drivers on virtual devices (net_ring, net_null, net_pcap), without
/// hugepages or PCI. EAL can be initialised once per process: every DPDK test goes through
/// `DPDKTestEnvironment.start()`, which initialises it the first time with the same arguments.
/// It is not cleaned up (no later test could use DPDK then); `--in-memory` leaves no files.
enum DPDKTestEnvironment {
    nonisolated(unsafe) static var failure: Error?
    nonisolated(unsafe) static var counter = 0

    static func start() throws {
        try requireRoot("DPDK EAL")
        if let failure { throw failure }
        if DPDKEnvironment.isInitialized { return }
        do {
            try DPDKEnvironment.initialize(
                arguments: DPDKEnvironment.virtualArguments(lcores: "(0-2)@0", filePrefix: "vfwall-test-\(getpid())"))
            // DPDKEnvironment removes /var/run/dpdk/vfwall-test-<pid> at exit; the parent too if empty.
            atexit { _ = rmdir("/var/run/dpdk") }
        } catch {
            DPDKEnvironment.removeRuntimeDirectory("/var/run/dpdk/vfwall-test-\(getpid())")
            failure = error
            throw error
        }
    }

    /// A name no other test of this process uses, starting with the driver's name as EAL wants.
    static func unique(_ driver: String) -> String {
        counter += 1
        return "\(driver)_t\(counter)"
    }
}

final class DPDKPortTests: XCTestCase {
    var burst = FrameBurst(capacity: 32)
    var pool: MbufPool!

    override func setUpWithError() throws {
        try DPDKTestEnvironment.start()
        pool = try MbufPool(name: DPDKTestEnvironment.unique("pool"), count: 4095, cacheSize: 32)
    }

    override func tearDown() {
        burst.deallocate()
        pool?.free()
    }

    private func ringPort(queues: Int = 1) throws -> DPDKPort {
        // A net_ring vdev without arguments loops back: what TX queue q takes, RX queue q returns.
        let name = DPDKTestEnvironment.unique("net_ring")
        try DPDKEnvironment.createVirtualDevice(name: name)
        return try DPDKPort(DPDKPortConfig(device: name, queues: queues), pool: pool)
    }

    func testForwardingBetweenRingPortsSendsAcceptedFramesAndFreesEveryMbuf() throws {
        let a = try ringPort(), b = try ringPort()
        defer {
            a.close()
            b.close()
        }
        let frames = (0..<100).map { PortTestFrames.udp(index: $0) }
        XCTAssertEqual(a.send(copying: frames), 100)

        var results = TxResult()
        let received = drain(a, burst: &burst) { burst in
            burst.setVerdicts { i in PortTestFrames.index(of: Array(burst.frame(i)))! % 2 == 0 ? .accept : .drop }
            let r = b.forward(burst, queue: 0, from: a)
            results.sent += r.sent
            results.dropped += r.dropped
            results.txFull += r.txFull
        }
        XCTAssertEqual(received, 100)
        XCTAssertEqual(results, TxResult(sent: 50, dropped: 50, txFull: 0))

        var out: [[UInt8]] = []
        drain(b, burst: &burst) { out += $0.copies() }
        XCTAssertEqual(out, frames.enumerated().filter { $0.offset % 2 == 0 }.map(\.element), "same bytes, same order")
        XCTAssertEqual(a.statistics.rx, 100)
        XCTAssertEqual(a.statistics.rxBytes, 6400)
        XCTAssertEqual(a.statistics.dropped, 50)
        XCTAssertEqual(b.statistics.tx, 50)
        XCTAssertEqual(b.statistics.txBytes, 3200)
        XCTAssertEqual(b.statistics.rx, 50)
        XCTAssertEqual(pool.inUse, 0, "every mbuf back in the pool")
    }

    func testFullTxRingIsCountedAndItsFramesFreed() throws {
        let a = try ringPort(), b = try ringPort()
        defer {
            a.close()
            b.close()
        }
        var results = TxResult()
        // b's ring is never read: it fills, and what it cannot take is freed and counted.
        for round in 0..<40 {
            XCTAssertEqual(a.send(copying: (0..<32).map { PortTestFrames.udp(index: round * 32 + $0) }), 32)
            XCTAssertEqual(a.rxBurst(queue: 0, into: &burst), 32)
            burst.setVerdicts { _ in .accept }
            let r = b.forward(burst, queue: 0, from: a)
            results.sent += r.sent
            results.txFull += r.txFull
        }
        XCTAssertGreaterThan(results.txFull, 0)
        XCTAssertEqual(results.sent + results.txFull, 40 * 32)
        XCTAssertEqual(b.statistics.txFull, UInt64(results.txFull))
        XCTAssertEqual(pool.inUse, results.sent, "only the frames in b's ring are out of the pool")
        XCTAssertEqual(drain(b, burst: &burst), results.sent)
        XCTAssertEqual(pool.inUse, 0)
    }

    func testNullDeviceWithTwoQueuesUsesRSSAndReturnsEveryMbuf() throws {
        let name = DPDKTestEnvironment.unique("net_null")
        try DPDKEnvironment.createVirtualDevice(name: name, arguments: "size=64")
        let port = try DPDKPort(DPDKPortConfig(device: name, queues: 2), pool: pool)
        defer { port.close() }
        XCTAssertEqual(port.driver, "net_null")
        XCTAssertNotEqual(port.rssHashFunctions, 0, "two queues: RSS on")
        for q in 0..<2 {
            for _ in 0..<10 {
                XCTAssertEqual(port.rxBurst(queue: q, into: &burst), 32, "net_null always has frames")
                XCTAssertEqual(burst.lengths[0], 64)
                burst.setVerdicts { $0 < 30 ? .accept : .drop }
                XCTAssertEqual(port.forward(burst, queue: q, from: port), TxResult(sent: 30, dropped: 2, txFull: 0))
            }
        }
        XCTAssertEqual(port.counters.statistics(queue: 1).rx, 320)
        XCTAssertEqual(port.statistics.tx, 600)
        XCTAssertEqual(port.statistics.dropped, 40)
        XCTAssertTrue(port.linkState().up)
        XCTAssertEqual(pool.inUse, 0)
        XCTAssertFalse(port.extendedStatistics().isEmpty)
    }

    func testPcapDeviceReadsOneCaptureAndWritesAnother() throws {
        let dir = "/tmp/vfwall-dpdk-test-\(getpid())-\(DPDKTestEnvironment.unique("pcap"))"
        XCTAssertEqual(mkdir(dir, 0o700), 0)
        defer {
            unlink("\(dir)/in.pcap")
            unlink("\(dir)/out.pcap")
            rmdir(dir)
        }
        let frames = (0..<50).map { PortTestFrames.udp(index: $0, size: 60 + $0) }
        try TinyPcap.write(frames, to: "\(dir)/in.pcap")
        let name = DPDKTestEnvironment.unique("net_pcap")
        try DPDKEnvironment.createVirtualDevice(name: name, arguments: "rx_pcap=\(dir)/in.pcap,tx_pcap=\(dir)/out.pcap")
        let port = try DPDKPort(DPDKPortConfig(device: name), pool: pool)
        let received = drain(port, burst: &burst) { burst in
            burst.setVerdicts { i in PortTestFrames.index(of: Array(burst.frame(i)))! % 5 == 0 ? .drop : .accept }
            port.forward(burst, queue: 0, from: port)
        }
        port.close()  // closing flushes the output capture
        XCTAssertEqual(received, 50)
        let written = try TinyPcap.read("\(dir)/out.pcap")
        XCTAssertEqual(written, frames.enumerated().filter { $0.offset % 5 != 0 }.map(\.element))
        XCTAssertEqual(pool.inUse, 0)
    }

    func testCopyingBetweenMemoryAndDPDKPorts() throws {
        let ring = try ringPort()
        let memory = MemoryPort(name: "memory")
        defer {
            ring.close()
            memory.close()
        }
        let frames = (0..<20).map { PortTestFrames.udp(index: $0) }
        memory.inject(frames)
        XCTAssertEqual(memory.rxBurst(queue: 0, into: &burst), 20)
        burst.setVerdicts { $0 < 15 ? .accept : .drop }
        XCTAssertEqual(ring.forward(burst, queue: 0, from: memory), TxResult(sent: 15, dropped: 5))
        XCTAssertEqual(memory.statistics.dropped, 5)
        // And back: the ring returns them; the memory port copies them and frees the mbufs.
        XCTAssertEqual(ring.rxBurst(queue: 0, into: &burst), 15)
        burst.setVerdicts { _ in .accept }
        XCTAssertEqual(memory.forward(burst, queue: 0, from: ring), TxResult(sent: 15))
        XCTAssertEqual(memory.takeTransmitted(), Array(frames[0..<15]))
        XCTAssertEqual(pool.inUse, 0)
    }

    func testUnknownPortAndTooManyQueuesFailWithContext() throws {
        XCTAssertThrowsError(try DPDKPort(DPDKPortConfig(device: "net_ring_nosuch"), pool: pool)) { error in
            XCTAssertTrue("\(error)".contains("no DPDK port net_ring_nosuch"), "\(error)")
        }
        let name = DPDKTestEnvironment.unique("net_ring")
        try DPDKEnvironment.createVirtualDevice(name: name)
        XCTAssertThrowsError(try DPDKPort(DPDKPortConfig(device: name, queues: 64), pool: pool)) { error in
            XCTAssertTrue("\(error)".contains("has at most"), "\(error)")
        }
        XCTAssertThrowsError(try DPDKEnvironment.createVirtualDevice(name: "net_bogus0")) { error in
            XCTAssertTrue("\(error)".contains("cannot create virtual device net_bogus0"), "\(error)")
        }
        XCTAssertThrowsError(try DPDKEnvironment.initialize(arguments: ["--no-huge"])) { error in
            XCTAssertTrue("\(error)".contains("already initialised"), "\(error)")
        }
    }

    func testUnreadBurstIsFreedByTheNextReceive() throws {
        let a = try ringPort()
        defer { a.close() }
        a.send(copying: (0..<10).map { PortTestFrames.udp(index: $0) })
        XCTAssertEqual(a.rxBurst(queue: 0, into: &burst), 10)
        XCTAssertEqual(pool.inUse, 10)
        XCTAssertEqual(a.rxBurst(queue: 0, into: &burst), 0)
        XCTAssertEqual(pool.inUse, 0)
    }

    func testAFPacketVdevOnAVethTalksToAnAFPacketPort() throws {
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("a5", "b5")
        let device = DPDKTestEnvironment.unique("net_af_packet")
        // net_af_packet opens its socket when the device is created: inside the namespace.
        let (dpdk, peer) = try ns.inside { () -> (DPDKPort, AFPacketPort) in
            try DPDKEnvironment.createVirtualDevice(name: device, arguments: "iface=b5,qpairs=1")
            return (try DPDKPort(DPDKPortConfig(device: device), pool: pool), try AFPacketPort(.init(interface: "a5")))
        }
        defer {
            dpdk.close()
            peer.close()
            try? DPDKEnvironment.removeVirtualDevice(name: device)
        }
        XCTAssertEqual(dpdk.driver, "net_af_packet")

        let frames = (0..<50).map { PortTestFrames.udp(index: $0) }
        let memory = MemoryPort(name: "injector")
        defer { memory.close() }
        memory.inject(frames)
        XCTAssertEqual(memory.rxBurst(queue: 0, into: &burst), 32)
        burst.setVerdicts { _ in .accept }
        peer.forward(burst, queue: 0, from: memory)
        XCTAssertEqual(memory.rxBurst(queue: 0, into: &burst), 18)
        burst.setVerdicts { _ in .accept }
        peer.forward(burst, queue: 0, from: memory)

        // DPDK receives them and sends every other one back out of b5, to a5.
        var got: [[UInt8]] = []
        var quiet = 0
        while got.count < 50 && quiet < 50 {
            guard dpdk.rxBurst(queue: 0, into: &burst) > 0 else {
                quiet += 1
                usleep(2000)
                continue
            }
            let ours = burst.copies()
            got += ours.filter { PortTestFrames.index(of: $0) != nil }
            burst.setVerdicts { i in (PortTestFrames.index(of: ours[i]) ?? 1) % 2 == 0 ? .accept : .drop }
            dpdk.forward(burst, queue: 0, from: dpdk)
        }
        XCTAssertEqual(got, frames)
        var back: [[UInt8]] = []
        quiet = 0
        while back.count < 25 && quiet < 20 {
            guard peer.rxBurst(queue: 0, into: &burst) > 0 else {
                quiet += 1
                peer.waitForFrames(queue: 0, timeoutMs: 20)
                continue
            }
            back += burst.copies().filter { PortTestFrames.index(of: $0) != nil }
            peer.release(burst, queue: 0)
        }
        XCTAssertEqual(back, frames.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        XCTAssertEqual(pool.inUse, 0)
    }
}
