@testable import Dataplane
import EngineConfig
@testable import LinuxIO
@testable import Ports
import FirewallCore
import Glibc

/// A memory port whose receive calls, on the gated queues, obey a gate: `.held` receives nothing
/// (the worker idles), `.blocked` does not return from `rxBurst` (a driver call that hangs, or a
/// bug looping inside the worker), `.open` receives. Queues not gated always receive.
///
/// The gate sits behind a pthread mutex (`PThreadLock`), which ThreadSanitizer sees.
final class GatedPort: PacketPort {
    enum State { case held, blocked, open }
    struct Gate {
        var state: State
        /// Receive calls inside the `.blocked` loop now.
        var blockedCalls = 0
    }

    let inner: MemoryPort
    let gatedQueues: Set<Int>?
    private let gate: PThreadLock<Gate>

    /// Gates `queues` (nil: every queue), starting in `state`.
    init(_ inner: MemoryPort, state: State = .held, queues: Set<Int>? = nil) {
        self.inner = inner
        gatedQueues = queues
        gate = PThreadLock(Gate(state: state))
    }

    var state: State {
        get { gate.withLock { $0.state } }
        set { gate.withLock { $0.state = newValue } }
    }

    /// How many receive calls are held inside the `.blocked` state (the worker's loop is stuck).
    var blockedCalls: Int { gate.withLock { $0.blockedCalls } }

    var name: String { inner.name }
    var queueCount: Int { inner.queueCount }
    var linkType: LinkType { inner.linkType }
    var zeroCopyDomain: ObjectIdentifier? { inner.zeroCopyDomain }
    var macAddress: MACAddress? { inner.macAddress }
    var counters: PortCounters { inner.counters }
    func linkState() -> LinkState { inner.linkState() }

    func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        guard gatedQueues?.contains(queue) ?? true else { return inner.rxBurst(queue: queue, into: &burst) }
        var inside = false
        while true {
            let now = gate.withLock { g -> State in
                if g.state == .blocked && !inside { g.blockedCalls += 1 }
                if g.state != .blocked && inside { g.blockedCalls -= 1 }
                return g.state
            }
            inside = now == .blocked
            switch now {
            case .held:
                burst.count = 0
                return 0
            // The hang: re-read the gate after a pause (this is the stalled worker's thread).
            case .blocked: usleep(1000)
            case .open: return inner.rxBurst(queue: queue, into: &burst)
            }
        }
    }

    func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        inner.send(copying: burst, split, queue: queue)
    }
    func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {
        inner.release(burst, queue: queue, exceptTakenBy: taken)
    }
    func close() { inner.close() }
}
