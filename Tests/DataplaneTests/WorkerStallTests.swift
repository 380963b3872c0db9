@testable import DPDKPorts
@testable import Dataplane
import FirewallCore
import Glibc
@testable import LinuxIO
@testable import Ports
import Synchronization
import XCTest

/// A worker whose loop stalls (here: a receive call that blocks) forwards nothing, in either
/// direction, and the stall watch names it; once the loop turns again, the watch clears.
final class WorkerStallTests: XCTestCase {
    /// A memory port whose frames are received only when `state` is `.open`; `.held` receives
    /// nothing (the worker idles), `.blocked` does not return from `rxBurst` (a driver call that
    /// hangs, or a bug looping inside the worker). Frames are injected before the worker starts:
    /// a memory port is not meant for injection while a worker reads it.
    final class GatedPort: PacketPort {
        enum State { case held, blocked, open }
        let inner: MemoryPort
        let state = Mutex(State.held)
        init(_ inner: MemoryPort) { self.inner = inner }
        var name: String { inner.name }
        var queueCount: Int { inner.queueCount }
        var linkType: LinkType { inner.linkType }
        var backend: PortBackend { inner.backend }
        var macAddress: MACAddress? { inner.macAddress }
        var counters: PortCounters { inner.counters }
        func linkState() -> LinkState { inner.linkState() }
        func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
            while true {
                switch state.withLock({ $0 }) {
                case .held: burst.count = 0; return 0
                case .blocked: usleep(1000)
                case .open: return inner.rxBurst(queue: queue, into: &burst)
                }
            }
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
        let inside = MemoryPort(name: "inside"), outside = GatedPort(MemoryPort(name: "outside"))
        defer { inside.close(); outside.close() }
        inside.inject([PortTestFrames.udp(index: 1)])
        outside.inner.inject((2..<12).map { PortTestFrames.udp(index: $0) })
        let control = WorkerControl()
        let worker = Worker(index: 0, inside: inside, outside: outside, policy: PortWorkerTests.acceptAllPolicy(),
                            conntrack: ConntrackSettings(), control: control,
                            options: WorkerOptions(idleSleepMicroseconds: 100, idleRoundsBeforeSleep: 16))
        let group = WorkerGroup(workers: [worker], control: control)
        let watch = StallWatch(control: control, workers: 1, limitMilliseconds: 100, now: monotonicNanoseconds())
        try group.start(.threads(cpus: [nil]))
        defer { outside.state.withLock { $0 = .open }; group.stop() }

        waitFor("the running worker forwards") { outside.inner.statistics.tx == 1 }
        usleep(150_000)
        XCTAssertEqual(watch.stalled(now: monotonicNanoseconds()), [], "an idle worker still turns its loop")

        outside.state.withLock { $0 = .blocked }
        waitFor("the stall to be noticed") { watch.stalled(now: monotonicNanoseconds()) == [0] }
        XCTAssertEqual(inside.statistics.tx, 0, "nothing passes while the worker is stalled")

        outside.state.withLock { $0 = .open }
        waitFor("the frames held during the stall to pass") { inside.statistics.tx == 10 }
        waitFor("the watch to clear") { watch.stalled(now: monotonicNanoseconds()).isEmpty }
    }
}
