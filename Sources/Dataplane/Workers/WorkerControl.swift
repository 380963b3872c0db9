import CLinux
import FirewallCore
import Glibc
import LinuxIO

/// What a control thread tells the workers, and how they answer, without a lock on the fast
/// path: the workers read two words per loop (run flag, policy generation) with acquire loads
/// and take the mailbox's lock only when the generation moved.
///
/// Policy generations: 1 is the policy the workers were made with; each `publish` adds one.
/// A worker answers by storing the generation it installed beside its heartbeat, so a reload
/// can wait until every worker runs the new policy (`awaitInstalled`).
public final class WorkerControl: @unchecked Sendable {
    /// [0] run flag (1 while workers should run), [1] policy generation, [2] snapshot generation.
    private let words: UnsafeMutablePointer<UInt64>
    private let mailbox = PThreadLock(Mailbox())
    /// One cache line (8 words, 64 bytes) per worker, written only by that worker, read by the
    /// control side: [0] its loop counter, bumped once per loop turn (a counter that stops moving
    /// means a stalled worker, which forwards nothing from its queues: `StallWatch` says so);
    /// [1] the policy generation it has installed (0 until its loop first turned).
    private let beats: UnsafeMutablePointer<UInt64>
    public static let maxWorkers = 256

    struct Mailbox {
        var policy: CompiledPolicy?
        var snapshots: [Int: PipelineCounters] = [:]
        var flows: [Int: Int] = [:]
        var conntrack: [Int: ConntrackCounters] = [:]
        var routers: [Int: RouterSnapshot] = [:]
        /// The snapshot generation each worker last answered.
        var answered: [Int: UInt64] = [:]
    }

    public init() {
        words = .allocate(capacity: 8)
        words.initialize(repeating: 0, count: 8)
        clinux_store_release(words + 1, 1)
        clinux_store_release(words, 1)
        beats = .allocate(capacity: Self.maxWorkers * 8)
        beats.initialize(repeating: 0, count: Self.maxWorkers * 8)
    }

    deinit {
        words.deallocate()
        beats.deallocate()
    }

    /// How many loop turns worker `worker` has made (read by a watchdog, off the fast path).
    public func heartbeat(of worker: Int) -> UInt64 { clinux_load_acquire(beats + worker * 8) }

    /// The policy generation worker `worker` has installed (0 before its loop first turned).
    public func installedGeneration(of worker: Int) -> UInt64 { clinux_load_acquire(beats + worker * 8 + 1) }

    // MARK: control side

    /// Asks every worker to finish its current burst and return.
    public func stop() { clinux_store_release(words, 0) }

    /// Hands a compiled policy to every worker; each installs it between two bursts and then
    /// reports the returned generation (`installedGeneration(of:)`, `awaitInstalled`).
    @discardableResult
    public func publish(_ policy: CompiledPolicy) -> UInt64 {
        // Under the lock: a worker reads the policy and its generation as one.
        mailbox.withLock { m in
            m.policy = policy
            return clinux_fetch_add(words + 1, 1) &+ 1
        }
    }

    /// Waits (polling, off the fast path) until workers `0..<workers` have installed policy
    /// `generation` or a later one, or `timeoutMs` passed. Returns the workers that have not
    /// (empty: every worker runs it).
    public func awaitInstalled(_ generation: UInt64, workers: Int, timeoutMs: Int = 5000) -> [Int] {
        let deadline = monotonicNanoseconds() &+ UInt64(max(0, timeoutMs)) &* 1_000_000
        while true {
            let late = (0..<workers).filter { installedGeneration(of: $0) < generation }
            if late.isEmpty || monotonicNanoseconds() >= deadline { return late }
            usleep(1000)
        }
    }

    /// Asks workers to copy their pipeline counters into the mailbox (they do so between bursts).
    /// Returns the generation of this request: `awaitSnapshots` waits for it.
    @discardableResult
    public func requestSnapshots() -> UInt64 { clinux_fetch_add(words + 2, 1) &+ 1 }

    /// Waits (polling, off the fast path) until `workers` workers have published counters for
    /// request `generation` or a later one, or `timeoutMs` passed. Returns whether they all did.
    public func awaitSnapshots(_ generation: UInt64, workers: Int, timeoutMs: Int = 1000) -> Bool {
        for _ in 0...max(0, timeoutMs) {
            let done = mailbox.withLock { m in m.answered.values.filter { $0 >= generation }.count }
            if done >= workers { return true }
            usleep(1000)
        }
        return false
    }

    /// The latest counters each worker published, by worker index.
    public func snapshots() -> [Int: PipelineCounters] { mailbox.withLock { $0.snapshots } }
    /// The flow count each worker published with its counters.
    public func flowCounts() -> [Int: Int] { mailbox.withLock { $0.flows } }
    /// The connection-tracking counters each worker published with its counters.
    public func conntrackCounters() -> [Int: ConntrackCounters] { mailbox.withLock { $0.conntrack } }
    /// Route mode: what each worker's router published with its counters.
    public func routerSnapshots() -> [Int: RouterSnapshot] { mailbox.withLock { $0.routers } }

    // MARK: worker side

    @inline(__always) var running: Bool { clinux_load_acquire(words) == 1 }
    @inline(__always) var policyGeneration: UInt64 { clinux_load_acquire(words + 1) }
    @inline(__always) var snapshotGeneration: UInt64 { clinux_load_acquire(words + 2) }

    /// One loop turn of `worker`; only that worker writes its counter, so load and store suffice.
    @inline(__always) func beat(_ worker: Int) {
        let p = beats + worker * 8
        clinux_store_release(p, clinux_load_acquire(p) &+ 1)
    }

    /// The latest published policy (nil: none since the workers were made) and its generation.
    func currentPolicy() -> (policy: CompiledPolicy?, generation: UInt64) {
        mailbox.withLock { m in (m.policy, clinux_load_acquire(words + 1)) }
    }

    /// Worker `worker` now runs policy `generation`; only that worker writes its word.
    @inline(__always) func acknowledge(policy generation: UInt64, worker: Int) {
        clinux_store_release(beats + worker * 8 + 1, generation)
    }

    func publish(
        counters: PipelineCounters, flows: Int, conntrack: ConntrackCounters? = nil, router: RouterSnapshot? = nil,
        worker: Int, generation: UInt64
    ) {
        mailbox.withLock {
            $0.snapshots[worker] = counters
            if let router { $0.routers[worker] = router }
            $0.flows[worker] = flows
            if let conntrack { $0.conntrack[worker] = conntrack }
            $0.answered[worker] = generation
        }
    }
}

/// A worker's connection-tracking shard's counters since it started (copied on request, with
/// the pipeline's counters: off the fast path).
public struct ConntrackCounters: Equatable, Sendable {
    public var created: UInt64 = 0
    public var expired: UInt64 = 0
    /// Flows evicted to make room for a new one (early drop).
    public var earlyDropped: UInt64 = 0
    /// New flows refused because the table was full (their packets dropped as conntrack-full).
    public var refused: UInt64 = 0

    public init(created: UInt64 = 0, expired: UInt64 = 0, earlyDropped: UInt64 = 0, refused: UInt64 = 0) {
        self.created = created
        self.expired = expired
        self.earlyDropped = earlyDropped
        self.refused = refused
    }

    public init(_ c: Conntrack) {
        self.init(created: c.created, expired: c.expired, earlyDropped: c.earlyDropped, refused: c.refused)
    }
}
