@testable import Dataplane
import EngineConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

final class MemoryPortTests: XCTestCase {
    func testFramesInjectedComeOutOfTheRxQueueInOrder() {
        let port = MemoryPort(name: "m0")
        defer { port.close() }
        let frames = (0..<40).map { PortTestFrames.udp(index: $0) }
        XCTAssertEqual(port.inject(frames, timestamps: (0..<40).map { UInt64($0) * 10 }), 40)
        var burst = FrameBurst(capacity: 32)
        defer { burst.deallocate() }
        XCTAssertEqual(port.rxBurst(queue: 0, into: &burst), 32)
        XCTAssertEqual(burst.copies(), Array(frames[0..<32]))
        XCTAssertEqual(burst.timestamps[31], 310)
        port.release(burst, queue: 0)
        XCTAssertEqual(port.rxBurst(queue: 0, into: &burst), 8)
        XCTAssertEqual(burst.copies(), Array(frames[32..<40]))
        port.release(burst, queue: 0)
        XCTAssertEqual(port.rxBurst(queue: 0, into: &burst), 0)
        XCTAssertEqual(port.statistics.rx, 40)
        XCTAssertEqual(port.statistics.rxBytes, 40 * 64)
    }

    func testTransmitSendsAcceptedFramesCountsDropsAndTxFull() {
        let inside = MemoryPort(name: "inside")
        let outside = MemoryPort(name: "outside", txSlots: 10)
        defer {
            inside.close()
            outside.close()
        }
        let frames = (0..<30).map { PortTestFrames.udp(index: $0) }
        inside.inject(frames)
        var burst = FrameBurst(capacity: 32)
        defer { burst.deallocate() }
        XCTAssertEqual(inside.rxBurst(queue: 0, into: &burst), 30)
        burst.setVerdicts { $0 % 2 == 0 ? .accept : ($0 % 4 == 1 ? .drop : .reject) }
        let result = outside.forward(burst, queue: 0, from: inside)
        XCTAssertEqual(result, TxResult(sent: 10, dropped: 15, txFull: 5))
        XCTAssertEqual(outside.takeTransmitted().map { PortTestFrames.index(of: $0) }, (0..<10).map { $0 * 2 })
        XCTAssertEqual(inside.statistics.dropped, 15)
        XCTAssertEqual(outside.statistics.tx, 10)
        XCTAssertEqual(outside.statistics.txFull, 5)
        XCTAssertEqual(inside.pendingReceive(), 0, "forwarding released the burst")
    }

    func testOversizedAndOverflowingInjectionIsRefused() {
        let port = MemoryPort(name: "m1", rxSlots: 4, slotSize: 100)
        defer { port.close() }
        XCTAssertEqual(port.inject([[UInt8](repeating: 0, count: 101)]), 0)
        XCTAssertEqual(port.inject((0..<6).map { PortTestFrames.udp(index: $0) }), 4)
    }

    func testQueuesAreIndependent() {
        let port = MemoryPort(name: "m2", queues: 2)
        defer { port.close() }
        port.inject([PortTestFrames.udp(index: 1)], queue: 1)
        var burst = FrameBurst(capacity: 8)
        defer { burst.deallocate() }
        XCTAssertEqual(port.rxBurst(queue: 0, into: &burst), 0)
        XCTAssertEqual(port.rxBurst(queue: 1, into: &burst), 1)
        XCTAssertEqual(port.counters.statistics(queue: 1).rx, 1)
        XCTAssertEqual(port.counters.statistics(queue: 0).rx, 0)
    }

    /// One thread injects while another receives and gives back, as a test does beside a running
    /// worker: every frame arrives once, in order, with its own bytes (a small ring, so the two
    /// sides wrap around it thousands of times).
    ///
    /// Both sides yield when they cannot move: an in-process EAL pins the test process's threads
    /// to one CPU, where a spinning side would hold it for a whole time slice.
    func testInjectionWhileAnotherThreadReceivesLosesNothing() {
        let port = MemoryPort(name: "m3", rxSlots: 8)
        let total = 20_000
        let frames = (0..<64).map { PortTestFrames.udp(index: $0) }
        let deadline = Date().addingTimeInterval(20)
        let injectorDone = DispatchSemaphore(value: 0)
        let injector = Thread {
            defer { injectorDone.signal() }
            var sent = 0
            while sent < total && Date() < deadline {
                let chunk = (sent..<min(total, sent + 5)).map { frames[$0 % frames.count] }
                let accepted = port.inject(chunk, timestamps: (sent..<sent + chunk.count).map { UInt64($0) })
                sent += accepted
                if accepted == 0 { sched_yield() }
            }
        }
        injector.start()
        // The port goes only once the injector has stopped, whatever the assertions said.
        defer {
            XCTAssertEqual(injectorDone.wait(timeout: .now() + 30), .success, "the injector finished")
            port.close()
        }
        var burst = FrameBurst(capacity: 4)
        defer { burst.deallocate() }
        var received = 0, mismatches = 0
        while received < total && Date() < deadline {
            let n = port.rxBurst(queue: 0, into: &burst)
            for i in 0..<n {
                let expected = received + i
                if burst.timestamps[i] != UInt64(expected) || Array(burst.frame(i)) != frames[expected % frames.count] {
                    mismatches += 1
                }
            }
            received += n
            port.release(burst, queue: 0)
            if n == 0 { sched_yield() }
        }
        XCTAssertEqual(received, total, "every injected frame was received")
        XCTAssertEqual(mismatches, 0, "each in its place with its own bytes")
        XCTAssertEqual(port.pendingReceive(), 0)
    }
}
