@testable import Dataplane
import EngineConfig
import FirewallCore
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// Workers running the real pipeline between ports: memory, AF_PACKET on veths.
final class PortWorkerTests: XCTestCase {
    static func udp2000Policy() -> CompiledPolicy { PortTestPolicies.udp2000() }

    static func acceptAllPolicy() -> CompiledPolicy {
        var p = Policy(portNames: ["inside", "outside"], rules: [])
        p.defaultAction = .accept
        return CompiledPolicy(p)
    }

    static func reply(index: Int) -> [UInt8] {
        PortTestFrames.udp(
            index: index, sourcePort: 2000, destinationPort: 1000, sourceIP: [10, 0, 0, 2], destinationIP: [10, 0, 0, 1]
        )
    }

    func testWorkerThreadForwardsBothWaysAndRepliesPassThroughConntrack() throws {
        let inside = MemoryPort(name: "inside"), outside = MemoryPort(name: "outside")
        defer {
            inside.close()
            outside.close()
        }
        inside.inject(
            (0..<10).map { PortTestFrames.udp(index: $0) }
                + (10..<15).map { PortTestFrames.udp(index: $0, destinationPort: 3000) },
            timestamps: (0..<15).map { 1_000 + UInt64($0) })
        outside.inject(
            (100..<110).map { Self.reply(index: $0) }
                + [
                    PortTestFrames.udp(
                        index: 200, sourcePort: 5, destinationPort: 6, sourceIP: [10, 0, 0, 9],
                        destinationIP: [10, 0, 0, 1])
                ],
            timestamps: (0..<11).map { 2_000 + UInt64($0) })
        let control = WorkerControl()
        let worker = Worker(
            index: 0, inside: inside, outside: outside, policy: Self.udp2000Policy(),
            conntrack: ConntrackSettings(), control: control,
            options: WorkerOptions(idleSleepMicroseconds: 100, idleRoundsBeforeSleep: 16))
        let group = WorkerGroup(workers: [worker], control: control)
        try group.start(.threads(cpus: [0]))
        waitUntil(timeout: 5, what: "both directions forwarded") {
            outside.statistics.tx == 10 && inside.statistics.tx == 10
        }
        group.stop()

        XCTAssertEqual(outside.takeTransmitted().compactMap(PortTestFrames.index), Array(0..<10))
        XCTAssertEqual(inside.takeTransmitted().compactMap(PortTestFrames.index), Array(100..<110))
        XCTAssertEqual(inside.statistics.dropped, 5)
        XCTAssertEqual(outside.statistics.dropped, 1)
        let counters = try XCTUnwrap(control.snapshots()[0])
        XCTAssertEqual(counters.count(.accept), 20)
        XCTAssertEqual(counters.count(.drop), 6)
        XCTAssertEqual(counters.conntrackAccepted, 10)
        XCTAssertEqual(control.flowCounts()[0], 1)
    }

    func testPinningToAMissingCPUFailsFastWithContext() throws {
        let a = MemoryPort(name: "a"), b = MemoryPort(name: "b")
        defer {
            a.close()
            b.close()
        }
        let control = WorkerControl()
        let worker = Worker(
            index: 0, inside: a, outside: b, policy: Self.acceptAllPolicy(),
            conntrack: ConntrackSettings(), control: control)
        let group = WorkerGroup(workers: [worker], control: control)
        XCTAssertThrowsError(try group.start(.threads(cpus: [4095]))) { error in
            XCTAssertTrue("\(error)".hasPrefix("pthread_setaffinity_np(cpu 4095) on worker 0 failed"), "\(error)")
        }
    }

    func testTwoWorkersOnAFPacketFanoutAndAReloadChangesVerdicts() throws {
        // client (c) ==veth== (i) [vfwall: i <-> o, 2 workers] (o) ==veth== (s) server
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("c", "i")
        try ns.addVethPair("o", "s")
        let ports = try ns.inside {
            (
                client: try AFPacketPort(.init(interface: "c")),
                inside: try AFPacketPort(.init(interface: "i", queues: 2)),
                outside: try AFPacketPort(.init(interface: "o", queues: 2)),
                server: try AFPacketPort(.init(interface: "s"))
            )
        }
        defer { [ports.client, ports.inside, ports.outside, ports.server].forEach { $0.close() } }
        let control = WorkerControl()
        let workers = (0..<2).map {
            Worker(
                index: $0, inside: ports.inside, outside: ports.outside, policy: Self.udp2000Policy(),
                conntrack: ConntrackSettings(), control: control,
                options: WorkerOptions(idleSleepMicroseconds: 200, idleRoundsBeforeSleep: 64))
        }
        let group = WorkerGroup(workers: workers, control: control)
        try group.start(.threads(cpus: [0, 1].map { $0 < sysconf(Int32(_SC_NPROCESSORS_ONLN)) ? $0 : nil }))
        defer { group.stop() }

        var burst = FrameBurst(capacity: 32)
        defer { burst.deallocate() }
        func send(_ frames: [[UInt8]], from port: AFPacketPort) {
            let memory = MemoryPort(name: "injector")
            defer { memory.close() }
            memory.inject(frames)
            while memory.rxBurst(queue: 0, into: &burst) > 0 {
                burst.setVerdicts { _ in .accept }
                port.forward(burst, queue: 0, from: memory)
            }
        }
        func received(_ port: AFPacketPort, expecting n: Int) -> [Int] {
            var got: [Int] = []
            var quiet = 0
            while got.count < n && quiet < 25 {
                guard port.rxBurst(queue: 0, into: &burst) > 0 else {
                    quiet += 1
                    port.waitForFrames(queue: 0, timeoutMs: 20)
                    continue
                }
                got += burst.copies().compactMap(PortTestFrames.index)
                port.release(burst, queue: 0)
            }
            return got
        }

        // 8 flows to port 2000 (allowed) and 8 to port 3000 (not), then the server's replies.
        let allowed = (0..<8).map { PortTestFrames.udp(index: $0, sourcePort: UInt16(1000 + $0)) }
        let blocked = (0..<8).map {
            PortTestFrames.udp(index: 10 + $0, sourcePort: UInt16(1000 + $0), destinationPort: 3000)
        }
        send(allowed + blocked, from: ports.client)
        XCTAssertEqual(Set(received(ports.server, expecting: 8)), Set(0..<8), "allowed flows pass, blocked ones do not")
        let replies = (0..<8).map {
            PortTestFrames.udp(
                index: 100 + $0, sourcePort: 2000, destinationPort: UInt16(1000 + $0),
                sourceIP: [10, 0, 0, 2], destinationIP: [10, 0, 0, 1])
        }
        send(replies, from: ports.server)
        XCTAssertEqual(Set(received(ports.client, expecting: 8)), Set(100..<108), "replies pass through conntrack")

        // Reload: accept everything; the blocked flows now pass, without a restart.
        let generation = control.publish(Self.acceptAllPolicy())
        waitUntil(timeout: 5, what: "both workers to report the new policy installed") {
            (0..<2).allSatisfy { control.installedGeneration(of: $0) >= generation }
        }
        send(blocked, from: ports.client)
        XCTAssertEqual(Set(received(ports.server, expecting: 8)), Set(10..<18))
        XCTAssertEqual(ports.inside.statistics.dropped, 8)
        XCTAssertGreaterThan(ports.inside.counters.statistics(queue: 0).rx, 0, "fanout feeds worker 0")
        XCTAssertGreaterThan(ports.inside.counters.statistics(queue: 1).rx, 0, "fanout feeds worker 1")
    }
}
