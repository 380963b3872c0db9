@testable import Dataplane
import FirewallCore
import Glibc
import Synchronization
import XCTest

/// A worker whose loop stalls (here: a receive call that blocks) forwards nothing, in either
/// direction, and the stall watch names it; once the loop turns again, the watch clears.
final class WorkerStallTests: XCTestCase {
    /// A memory port whose `rxBurst` blocks while `blocked` is set: a stand-in for a driver call
    /// that hangs or a bug looping inside the worker.
    final class BlockingPort: PacketPort {
        let inner: MemoryPort
        let blocked = Mutex(false)
        init(_ inner: MemoryPort) { self.inner = inner }
        var name: String { inner.name }
        var queueCount: Int { inner.queueCount }
        var linkType: LinkType { inner.linkType }
        var backend: PortBackend { inner.backend }
        var macAddress: MACAddress? { inner.macAddress }
        var counters: PortCounters { inner.counters }
        func linkState() -> LinkState { inner.linkState() }
        func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
            while blocked.withLock({ $0 }) { usleep(1000) }
            return inner.rxBurst(queue: queue, into: &burst)
        }
        func transmit(_ burst: FrameBurst, queue: Int, from source: PacketPort) -> TxResult {
            inner.transmit(burst, queue: queue, from: source)
        }
        func release(_ burst: FrameBurst, queue: Int) { inner.release(burst, queue: queue) }
        func close() { inner.close() }
    }

    func waitFor(_ what: String, seconds: Double = 5, _ done: () -> Bool) {
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
        while !done() {
            if monotonicNanoseconds() > deadline { XCTFail("timed out waiting for \(what)"); return }
            usleep(1000)
        }
    }

    func testAStalledWorkerForwardsNothingAndIsNamedUntilItTurnsAgain() throws {
        let inside = BlockingPort(MemoryPort(name: "inside")), outside = MemoryPort(name: "outside")
        defer { inside.close(); outside.close() }
        let control = WorkerControl()
        let worker = Worker(index: 0, inside: inside, outside: outside, policy: PortWorkerTests.acceptAllPolicy(),
                            conntrack: ConntrackSettings(), control: control,
                            options: WorkerOptions(idleSleepMicroseconds: 100, idleRoundsBeforeSleep: 16))
        let group = WorkerGroup(workers: [worker], control: control)
        let watch = StallWatch(control: control, workers: 1, limitMilliseconds: 100, now: monotonicNanoseconds())
        try group.start(.threads(cpus: [nil]))
        defer { inside.blocked.withLock { $0 = false }; group.stop() }

        _ = outside.inject([PortTestFrames.udp(index: 1)])
        waitFor("the running worker forwards") { inside.inner.statistics.tx == 1 }
        usleep(150_000)
        XCTAssertEqual(watch.stalled(now: monotonicNanoseconds()), [], "an idle worker still turns its loop")

        inside.blocked.withLock { $0 = true }
        usleep(20_000)   // the worker is now inside the blocking receive call
        _ = outside.inject((2..<12).map { PortTestFrames.udp(index: $0) })
        waitFor("the stall to be noticed") { watch.stalled(now: monotonicNanoseconds()) == [0] }
        XCTAssertEqual(inside.inner.statistics.tx, 1, "nothing passes while the worker is stalled")

        inside.blocked.withLock { $0 = false }
        waitFor("the frames held during the stall to pass") { inside.inner.statistics.tx == 11 }
        waitFor("the watch to clear") { watch.stalled(now: monotonicNanoseconds()).isEmpty }
    }
}
