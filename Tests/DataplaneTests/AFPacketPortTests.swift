@testable import Dataplane
import EngineConfig
import FirewallCore
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// Real AF_PACKET sockets on real veth pairs, in a namespace of the test's own.
final class AFPacketPortTests: XCTestCase {
    var burst = FrameBurst(capacity: 32)
    override func tearDown() { burst.deallocate() }

    /// Sends `frames` out of `port` (through a memory port, as a worker would forward them).
    private func send(_ frames: [[UInt8]], out port: AFPacketPort, queue: Int = 0) -> TxResult {
        let memory = MemoryPort(name: "injector", rxSlots: max(1, frames.count))
        defer { memory.close() }
        memory.inject(frames)
        var total = TxResult()
        while memory.rxBurst(queue: 0, into: &burst) > 0 {
            burst.setVerdicts { _ in .accept }
            let r = port.forward(burst, queue: 0, from: memory)
            total.sent += r.sent
            total.dropped += r.dropped
            total.txFull += r.txFull
        }
        return total
    }

    /// Our frames (those `PortTestFrames.index` recognises) received on `queue` of `port` until
    /// `expected` arrived or the line went quiet.
    private func receive(_ port: AFPacketPort, queue: Int = 0, expected: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var quiet = 0
        while out.count < expected && quiet < 20 {
            if port.rxBurst(queue: queue, into: &burst) == 0 {
                quiet += 1
                port.waitForFrames(queue: queue, timeoutMs: 20)
                continue
            }
            out += burst.copies().filter { PortTestFrames.index(of: $0) != nil }
            port.release(burst, queue: queue)
        }
        return out
    }

    func testFramesSentIntoOneVethEndArriveAtTheOtherIntact() throws {
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("a0", "b0")
        let (a, b) = try ns.inside {
            (try AFPacketPort(.init(interface: "a0")), try AFPacketPort(.init(interface: "b0")))
        }
        defer {
            a.close()
            b.close()
        }
        let frames = (0..<200).map { PortTestFrames.udp(index: $0, size: 60 + $0 % 1400) }
        XCTAssertEqual(send(frames, out: a), TxResult(sent: 200))
        XCTAssertEqual(receive(b, expected: 200), frames, "every frame, bytes intact, in order")
        XCTAssertEqual(a.statistics.tx, 200)
        XCTAssertGreaterThanOrEqual(b.statistics.rx, 200)
        XCTAssertEqual(receive(a, expected: 1), [], "a port does not read back what it sent")
    }

    func testForwardingBetweenTwoInterfacesDropsByVerdict() throws {
        // client -> a1 ==veth== b1 [firewall: b1 -> a2] a2 ==veth== b2 -> server
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("a1", "b1")
        try ns.addVethPair("a2", "b2")
        let ports = try ns.inside {
            try ["a1", "b1", "a2", "b2"].map { try AFPacketPort(.init(interface: $0)) }
        }
        defer { ports.forEach { $0.close() } }
        let (client, inside, outside, server) = (ports[0], ports[1], ports[2], ports[3])
        let frames = (0..<100).map { PortTestFrames.udp(index: $0) }
        XCTAssertEqual(send(frames, out: client).sent, 100)

        var forwarded = 0, quiet = 0
        while forwarded < 100 && quiet < 20 {
            guard inside.rxBurst(queue: 0, into: &burst) > 0 else {
                quiet += 1
                inside.waitForFrames(queue: 0, timeoutMs: 20)
                continue
            }
            burst.setVerdicts { i in (PortTestFrames.index(of: Array(burst.frame(i))) ?? 1) % 4 == 0 ? .accept : .drop }
            let r = outside.forward(burst, queue: 0, from: inside)
            forwarded += r.sent + r.dropped
        }
        let arrived = receive(server, expected: 25)
        XCTAssertEqual(arrived, frames.enumerated().filter { $0.offset % 4 == 0 }.map(\.element))
        XCTAssertEqual(inside.statistics.dropped, 75)
        XCTAssertEqual(outside.statistics.tx, 25)
        XCTAssertEqual(outside.statistics.txFull, 0)
    }

    func testFanoutKeepsBothDirectionsOfEachFlowOnOneQueue() throws {
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("a3", "b3")
        let (a, b) = try ns.inside {
            (try AFPacketPort(.init(interface: "a3")), try AFPacketPort(.init(interface: "b3", queues: 2)))
        }
        defer {
            a.close()
            b.close()
        }
        XCTAssertNotEqual(b.fanoutGroup, 0)
        // 32 flows, 4 frames each way; the reply swaps addresses and ports.
        var frames: [[UInt8]] = []
        for flow in 0..<32 {
            for k in 0..<4 {
                let port = UInt16(10_000 + flow)
                frames.append(PortTestFrames.udp(index: flow * 100 + k * 2, sourcePort: port, destinationPort: 53))
                frames.append(
                    PortTestFrames.udp(
                        index: flow * 100 + k * 2 + 1, sourcePort: 53, destinationPort: port,
                        sourceIP: [10, 0, 0, 2], destinationIP: [10, 0, 0, 1]))
            }
        }
        XCTAssertEqual(send(frames, out: a).sent, frames.count)
        var queueOfFlow: [Int: Set<Int>] = [:]
        var total = 0
        for q in 0..<2 {
            // Each queue gets only its share: read until quiet.
            for frame in receive(b, queue: q, expected: frames.count) {
                queueOfFlow[PortTestFrames.index(of: frame)! / 100, default: []].insert(q)
                total += 1
            }
        }
        XCTAssertEqual(total, frames.count)
        XCTAssertEqual(queueOfFlow.count, 32)
        XCTAssertTrue(
            queueOfFlow.values.allSatisfy { $0.count == 1 }, "each flow, both directions, on one queue: \(queueOfFlow)")
        XCTAssertEqual(Set(queueOfFlow.values.map { $0.first! }), [0, 1], "32 flows use both queues")
    }

    func testPortIsPromiscuousWhileOpenAndReportsMACAndLink() throws {
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("a4", "b4")
        try NamespaceLab.ip(["-n", ns.name, "link", "set", "b4", "address", "02:00:5e:00:00:42"])
        let port = try ns.inside { try AFPacketPort(.init(interface: "b4")) }
        XCTAssertEqual(port.macAddress?.description, "02:00:5e:00:00:42")
        XCTAssertTrue(port.linkState().up)
        // PACKET_MR_PROMISC raises the promiscuity count (the PROMISC flag shows only `ip link set promisc`).
        let details = try ns.linkShow("b4")
        XCTAssertTrue(details.contains("promiscuity 1"), details)
        try NamespaceLab.ip(["-n", ns.name, "link", "set", "a4", "down"])
        XCTAssertFalse(port.linkState().up, "the peer is down: no carrier")
        port.close()
        XCTAssertTrue(try ns.linkShow("b4").contains("promiscuity 0"), "closing the port undoes promiscuous mode")
    }

    func testUnknownInterfaceAndBadSizesFailWithContext() throws {
        try requireRoot("AF_PACKET sockets")
        XCTAssertThrowsError(try AFPacketPort(.init(interface: "vfdp-nosuch0"))) { error in
            XCTAssertEqual("\(error)", "if_nametoindex on vfdp-nosuch0 failed: No such device (errno 19)")
        }
        XCTAssertThrowsError(try AFPacketPort(.init(interface: "lo", rxBlockSize: 1000))) { error in
            XCTAssertTrue("\(error)".contains("page multiples"), "\(error)")
        }
    }
}
