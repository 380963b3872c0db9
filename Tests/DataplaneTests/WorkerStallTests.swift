@testable import Dataplane
import EngineConfig
import FirewallCore
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// A worker whose loop stalls (here: a receive call that blocks) forwards nothing, in either
/// direction, and the stall watch names it; once the loop turns again, the watch clears.
///
/// The watch's clock is the test's to give (milliseconds below, as nanoseconds), so nothing here
/// waits for time to pass: the test waits for the worker's own word, its heartbeat moving, or for
/// the gated port to report the worker stuck inside a receive call.
final class WorkerStallTests: XCTestCase {
    func testAStalledWorkerForwardsNothingAndIsNamedUntilItTurnsAgain() throws {
        let inside = MemoryPort(name: "inside"), outside = GatedPort(MemoryPort(name: "outside"))
        defer {
            inside.close()
            outside.close()
        }
        inside.inject([PortTestFrames.udp(index: 1)])
        outside.inner.inject((2..<12).map { PortTestFrames.udp(index: $0) })
        let control = WorkerControl()
        let worker = Worker(
            index: 0, inside: inside, outside: outside, policy: PortWorkerTests.acceptAllPolicy(),
            conntrack: ConntrackSettings(), control: control,
            options: WorkerOptions(idleSleepMicroseconds: 100, idleRoundsBeforeSleep: 16))
        let group = WorkerGroup(workers: [worker], control: control)
        func ms(_ n: UInt64) -> UInt64 { n * 1_000_000 }
        let watch = StallWatch(control: control, workers: 1, limitMilliseconds: 100, now: 0)
        try group.start(.threads(cpus: [nil]))
        defer {
            outside.state = .open
            group.stop()
        }
        /// Waits until worker 0's loop has turned since now (its heartbeat is its answer).
        func waitForATurn(_ why: String) {
            let beat = control.heartbeat(of: 0)
            waitUntil(timeout: 5, what: why) { control.heartbeat(of: 0) > beat }
        }

        waitUntil(timeout: 5, what: "the running worker forwards") { outside.inner.statistics.tx == 1 }
        // Idle, with nothing to forward, the loop still turns: past the limit twice, no stall.
        waitForATurn("the idle worker to turn")
        XCTAssertEqual(watch.stalled(now: ms(150)), [], "an idle worker still turns its loop")
        waitForATurn("the idle worker to turn again")
        XCTAssertEqual(watch.stalled(now: ms(300)), [], "an idle worker still turns its loop")

        outside.state = .blocked
        waitUntil(timeout: 5, what: "the worker to be stuck in a receive call") { outside.blockedCalls == 1 }
        // Its heartbeat stands still from here on: the first look may still see the last turns.
        _ = watch.stalled(now: ms(350))
        XCTAssertEqual(watch.stalled(now: ms(500)), [0], "the stall is noticed once past the limit")
        XCTAssertEqual(inside.statistics.tx, 0, "nothing passes while the worker is stalled")

        outside.state = .open
        waitUntil(timeout: 5, what: "the frames held during the stall to pass") { inside.statistics.tx == 10 }
        waitForATurn("the worker to turn again")
        XCTAssertEqual(watch.stalled(now: ms(600)), [], "the watch clears once the loop turns")
    }
}
