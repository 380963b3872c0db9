import CLinux
import FirewallCore
import Glibc
import LinuxIO
import Ports

/// How a worker loops.
public struct WorkerOptions: Sendable {
    /// Frames per burst (the pipeline's scratch arrays are sized to it).
    public var burst: Int = 32
    /// 0: poll without pause (DPDK style, a core per worker). Otherwise, after
    /// `idleRoundsBeforeSleep` empty rounds, sleep this long between rounds (AF_PACKET, pcap,
    /// and shared machines).
    public var idleSleepMicroseconds: UInt32 = 0
    public var idleRoundsBeforeSleep: Int = 1024

    public init(burst: Int = 32, idleSleepMicroseconds: UInt32 = 0, idleRoundsBeforeSleep: Int = 1024) {
        self.burst = burst
        self.idleSleepMicroseconds = idleSleepMicroseconds
        self.idleRoundsBeforeSleep = idleRoundsBeforeSleep
    }
}

/// One worker: owns queue `queue` of both ports of a pair, its pipeline (and with it its
/// conntrack shard) and its burst arrays. Run to completion, both directions in turn:
/// rx burst -> pipeline -> tx burst on the other port. The stop flag and the policy generation
/// are read between bursts (a new policy is installed there, and its generation reported back
/// to the control); nothing on the loop allocates, locks, logs or throws.
public final class Worker {
    public let index: Int
    public let queue: Int
    public let inside: PacketPort
    public let outside: PacketPort
    /// The policy's port indexes of `inside` and `outside` (`RuleMatch.ingress`).
    public let insideIngress: Int
    public let outsideIngress: Int
    public let pipeline: Pipeline
    public let options: WorkerOptions
    let control: WorkerControl
    /// Replies to rejected frames (TCP RST, ICMP unreachable), sent out of the ingress port.
    let rejects: RejectAnswers
    /// Route mode: routes what the firewall accepts (nil: a bridge, the other port takes it).
    let router: Router?
    /// Set by the thread before it runs, when pinning to its CPU failed.
    var pinError: Int32 = 0
    /// 1 once the thread has tried to pin itself (release store: `pinError` is visible after).
    private let startWord: UnsafeMutablePointer<UInt64>

    public init(
        index: Int, queue: Int? = nil, inside: PacketPort, outside: PacketPort,
        insideIngress: Int = 0, outsideIngress: Int = 1,
        policy: CompiledPolicy, conntrack: ConntrackSettings, control: WorkerControl,
        options: WorkerOptions = WorkerOptions(), routing: RoutingPlan? = nil
    ) {
        precondition(options.burst > 0, "a burst holds at least one frame")
        precondition(index >= 0 && index < WorkerControl.maxWorkers, "worker index \(index) out of range")
        self.index = index
        self.queue = queue ?? index
        self.inside = inside
        self.outside = outside
        self.insideIngress = insideIngress
        self.outsideIngress = outsideIngress
        self.options = options
        self.control = control
        pipeline = Pipeline(
            policy: policy, conntrack: conntrack, burstCapacity: options.burst, memory: HugePageRegion.allocator)
        rejects = RejectAnswers(
            burst: options.burst, queues: max(inside.queueCount, outside.queueCount, self.queue + 1))
        startWord = .allocate(capacity: 1)
        startWord.initialize(to: 0)
        router = routing.map { plan in
            Router(
                plan: plan, macs: [inside.macAddress?.value ?? 0, outside.macAddress?.value ?? 0], burst: options.burst)
        }
    }

    /// What the router did (route mode).
    public var routerCounters: RouterCounters? { router?.counters }

    /// The router's neighbour table (route mode): read only between bursts or once stopped.
    public var neighbours: NeighbourTable? { router?.neighbours }

    deinit {
        startWord.deallocate()
        rejects.deallocate()
    }

    /// Replies sent for rejected frames (and refused by a full TX ring), over both ports.
    public var rejectReplies: (sent: UInt64, txFull: UInt64) {
        (rejects.replies.total(.tx), rejects.replies.total(.txFull))
    }

    func markStarted() { clinux_store_release(startWord, 1) }
    var pinAttempted: Bool { clinux_load_acquire(startWord) == 1 }

    /// The loop: returns when the control's run flag drops, after the burst in hand is done
    /// (every received frame sent or freed: nothing is left lent out).
    public func run() {
        var burst = FrameBurst(capacity: options.burst)
        var forwarder = BurstForwarder(capacity: options.burst)
        defer {
            burst.deallocate()
            forwarder.deallocate()
        }
        let a = inside, b = outside
        var aIn = PortIngress(insideIngress), bIn = PortIngress(outsideIngress)
        let quiet = NoObserver()
        let q = queue
        let abZeroCopy = BurstForwarder.zeroCopy(from: a, to: b), baZeroCopy = BurstForwarder.zeroCopy(from: b, to: a)
        let pipeline = self.pipeline
        let control = self.control
        let rejects = self.rejects
        let router = self.router
        // The worker holds the router for as long as the loop runs: passes borrow it unretained.
        let routerRef = router.map { Unmanaged.passUnretained($0) }
        // One worker announces our addresses (gratuitous ARP, unsolicited NA) as the ports come up.
        if index == 0, let router {
            router.announce(now: monotonicNanoseconds())
            router.flush(rx: a, rxIndex: insideIngress, tx: b, queue: q)
        }
        let sleep = options.idleSleepMicroseconds
        let idleLimit = options.idleRoundsBeforeSleep
        // 0: no generation seen yet, so the first turn installs whatever was published before
        // the loop started (if anything) and reports the generation it runs.
        var seenPolicy: UInt64 = 0
        var seenSnapshot = control.snapshotGeneration
        var idle = 0
        let me = index
        while control.running {
            control.beat(me)
            let moved =
                WorkerPass.pass(
                    from: a, to: b, zeroCopy: abZeroCopy, ingress: &aIn, queue: q, pipeline, rejects,
                    &burst, &forwarder, quiet, router: routerRef)
                &+ WorkerPass.pass(
                    from: b, to: a, zeroCopy: baZeroCopy, ingress: &bIn, queue: q, pipeline, rejects,
                    &burst, &forwarder, quiet, router: routerRef)
            if moved == 0 {
                idle &+= 1
                if sleep > 0 && idle >= idleLimit { usleep(sleep) } else { clinux_cpu_relax() }
            } else {
                idle = 0
            }
            let policyNow = control.policyGeneration
            if policyNow != seenPolicy {
                let current = control.currentPolicy()
                if let p = current.policy { pipeline.install(p) }
                seenPolicy = current.generation
                control.acknowledge(policy: current.generation, worker: me)
            }
            let snapshotNow = control.snapshotGeneration
            if snapshotNow != seenSnapshot {
                seenSnapshot = snapshotNow
                publishCounters(generation: snapshotNow)
            }
        }
        publishCounters(generation: control.snapshotGeneration)
    }

    /// Copies the pipeline's counters to the control's mailbox (off the fast path: on request).
    func publishCounters(generation: UInt64) {
        control.publish(
            counters: pipeline.counters, flows: pipeline.conntrack.count,
            conntrack: ConntrackCounters(pipeline.conntrack), router: router?.snapshot(now: monotonicNanoseconds()),
            worker: index, generation: generation)
    }
}
