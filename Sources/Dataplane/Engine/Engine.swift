import FirewallCore
import Glibc
import LinuxIO
import Ports

/// Where the engine's policy comes from, read again on reload (vfwall: its configuration file).
public protocol PolicySource: Sendable {
    /// Names the source in statistics and messages (a file path).
    var location: String { get }
    /// Reads the source again: the plan it describes (to tell what would need a restart) and
    /// its policy. Throws an error naming what is wrong and where (file:line:column).
    func load() throws -> (plan: EnginePlan, policy: Policy)
}

/// The running firewall: two ports, one pinned worker per core (each with its own pipeline and
/// conntrack shard, owning queue i of both ports), and the control side: stop, reload, stats.
///
///     let engine = try Engine.open(plan: plan, policy: policy, source: file)   // ports up, or none open
///     try engine.start()                            // workers run
///     engine.reload()                               // re-reads the source; the old policy stays on error;
///                                                   // answers once every worker runs the new one
///     engine.statistics()                           // ports, workers, rules, reasons, flows
///     engine.stop(); engine.close()                 // drain, then close ports (and EAL)
///
/// Control calls may come from several threads (signals, the control socket): reloads are
/// serialised by a lock; nothing here is on the workers' fast path.
public final class Engine: @unchecked Sendable {
    public let plan: EnginePlan
    public let source: PolicySource
    public let ports: [PacketPort]
    public let workers: [Worker]
    public let control: WorkerControl
    public let startedAt: UInt64
    private let group: WorkerGroup
    private let placement: WorkerPlacement
    private let opened: EnginePorts
    let state: PThreadLock<ControlState>
    /// Held for a whole reload, so two (SIGHUP and the socket) cannot interleave their
    /// publish and their record of the policy in force.
    let reloading = PThreadLock<Int>(0)
    private(set) var running = false

    struct ControlState {
        var policy: Policy
        var policyGeneration = 1
        var reloads = 0
        var failedReloads = 0
        var lastReloadError: String?
    }

    /// Compiles the policy, opens the plan's ports and waits for their links (up to
    /// `linkWaitSeconds`). `devices` opens DPDK ports (the program passes the DPDK side's
    /// `DPDKDevices()`). Throws `EngineError` naming the port; nothing stays open then.
    public static func open(
        plan: EnginePlan, policy: Policy, source: PolicySource, devices: DeviceBackend? = nil,
        linkWaitSeconds: Double = 3
    ) throws -> Engine {
        let opened = try EnginePorts.open(plan, devices: devices, linkWaitSeconds: linkWaitSeconds)
        let placement: WorkerPlacement =
            opened.devices.map { .backend($0) }
            ?? .threads(cpus: plan.cpus.map { Optional($0) })
        return Engine(plan: plan, policy: policy, source: source, ports: opened, placement: placement)
    }

    /// An engine over ports opened elsewhere (tests: memory ports). `ports` are closed by `close()`.
    public convenience init(
        plan: EnginePlan, policy: Policy, source: PolicySource, ports: [PacketPort],
        placement: WorkerPlacement
    ) {
        self.init(plan: plan, policy: policy, source: source, ports: EnginePorts(ports: ports), placement: placement)
    }

    private init(
        plan: EnginePlan, policy: Policy, source: PolicySource, ports opened: EnginePorts,
        placement: WorkerPlacement
    ) {
        self.plan = plan
        self.source = source
        self.opened = opened
        self.ports = opened.ports
        self.placement = placement
        let control = WorkerControl()
        self.control = control
        let options = WorkerOptions(
            burst: plan.burst, idleSleepMicroseconds: plan.idleSleepMicroseconds,
            idleRoundsBeforeSleep: 1024)
        let compiled = Self.compile(policy)
        workers = (0..<plan.workers).map { i in
            Worker(
                index: i, queue: i, inside: opened.ports[0], outside: opened.ports[1], insideIngress: 0,
                outsideIngress: 1, policy: compiled, conntrack: plan.conntrack, control: control, options: options,
                routing: plan.routing)
        }
        group = WorkerGroup(workers: workers, control: control)
        state = PThreadLock(ControlState(policy: policy))
        startedAt = monotonicNanoseconds()
    }

    /// The policy in its fast form: the compiled classifier, shared by all workers.
    static func compile(_ policy: Policy) -> CompiledPolicy { CompiledPolicy(policy) }

    /// The policy in force.
    public var policy: Policy { state.withLock { $0.policy } }

    /// Things found at open that do not stop the start but that the operator should read.
    public var warnings: [String] { opened.warnings }

    /// Starts the workers, pinned. On failure the workers started are stopped; call `close()`.
    public func start() throws {
        do { try group.start(placement) } catch { throw EngineError("cannot start the workers: \(error)") }
        running = true
    }

    /// Stops the workers after the burst each has in hand (every frame sent or freed). Idempotent.
    public func stop() {
        group.stop()
        running = false
    }

    /// Stops, then closes the ports (and releases DPDK). Idempotent.
    public func close() {
        stop()
        opened.close()
    }

    /// True when every port reads from a file (pcap backend) and all files are exhausted.
    public var inputsExhausted: Bool {
        ports.allSatisfy { ($0 as? PcapPort)?.inputExhausted ?? false }
    }

    // MARK: reload

    /// What a reload did.
    public enum ReloadOutcome: Equatable, Sendable {
        /// Every worker runs the new policy; `notes` lists changes that need a restart (ignored
        /// until then).
        case applied(rules: Int, notes: [String])
        /// The new policy (`generation`) was handed to the workers, but `workers` (on `cores`)
        /// did not report it installed within `timeoutMs`: stalled, or far behind. The others
        /// run it; a laggard installs it when its loop turns again.
        case unacknowledged(rules: Int, generation: Int, workers: [Int], cores: [Int], timeoutMs: Int)
        /// Refused: the old policy stays.
        case refused(String)

        /// The control socket's answer: "ok: ..." or "error: ...".
        public var answer: String {
            switch self {
            case let .applied(rules, notes):
                return (["ok: \(rules) rules in force"] + notes.map { "note: \($0)" }).joined(separator: "\n")
            case .unacknowledged, .refused:
                return "error: " + (failure ?? "")
            }
        }

        /// Why the reload did not take full effect; nil when it did.
        public var failure: String? {
            switch self {
            case .applied:
                return nil
            case let .unacknowledged(rules, generation, workers, cores, timeoutMs):
                let late = zip(workers, cores).map { "worker \($0) (core \($1))" }.joined(separator: ", ")
                return "policy generation \(generation) (\(rules) rules) was handed to the workers, "
                    + "but \(late) did not install it within \(timeoutMs) ms (stalled?); the others run it"
            case let .refused(message):
                return message
            }
        }
    }

    /// How long a reload waits for every worker to report the new policy installed.
    public static let reloadAckTimeoutMs = 5000

    /// Re-reads the policy source and, if it is valid, swaps its policy in.
    @discardableResult
    public func reload(ackTimeoutMs: Int = Engine.reloadAckTimeoutMs) -> ReloadOutcome {
        reload(from: source.load, ackTimeoutMs: ackTimeoutMs)
    }

    /// Swaps in what `load` returns; refused, keeping the running policy, when it throws.
    @discardableResult
    public func reload(
        from load: () throws -> (plan: EnginePlan, policy: Policy),
        ackTimeoutMs: Int = Engine.reloadAckTimeoutMs
    ) -> ReloadOutcome {
        do {
            let (newPlan, newPolicy) = try load()
            return reload(plan: newPlan, policy: newPolicy, ackTimeoutMs: ackTimeoutMs)
        } catch {
            return refuse("\(error)")
        }
    }

    /// Compiles `policy` off the fast path and hands it to every worker (each installs it
    /// between two bursts and reports its generation). Answers once every running worker has
    /// reported it, or after `ackTimeoutMs` naming the workers that did not. Refused when the
    /// ports of `plan` differ from the running plan's (rules index them by position); other plan
    /// changes are noted and wait for a restart.
    @discardableResult
    public func reload(plan new: EnginePlan, policy: Policy, ackTimeoutMs: Int = Engine.reloadAckTimeoutMs)
        -> ReloadOutcome
    {
        reloading.withLock { _ in apply(new, policy, ackTimeoutMs: ackTimeoutMs) }
    }

    private func apply(_ new: EnginePlan, _ read: Policy, ackTimeoutMs: Int) -> ReloadOutcome {
        let (policy, setNotes) = read.keepingRuntimeSets(of: self.policy)
        let old = plan
        guard new.portNames == old.portNames else {
            let change = "\(old.portNames.joined(separator: ", ")) -> \(new.portNames.joined(separator: ", "))"
            return refuse("\(source.location): the ports changed (\(change)); changing ports needs a restart")
        }
        var notes = setNotes
        if new.ports != old.ports { notes.append("port settings changed; they take effect on restart") }
        // The idle sleep is the program's choice at start (--busy-poll), not the source's.
        var dataplane = new
        dataplane.ports = old.ports
        dataplane.conntrack = old.conntrack
        dataplane.idleSleepMicroseconds = old.idleSleepMicroseconds
        if dataplane != old { notes.append("dataplane settings changed; they take effect on restart") }
        if new.conntrack != old.conntrack { notes.append("conntrack settings changed; they take effect on restart") }
        let compiled = Self.compile(policy)
        let generation = control.publish(compiled)
        state.withLock { s in
            s.policy = policy
            s.policyGeneration = Int(generation)
            s.reloads += 1
            s.lastReloadError = nil
        }
        // Workers not started yet install it on their first turn: nothing to wait for.
        guard running else { return .applied(rules: policy.rules.count, notes: notes) }
        let late = control.awaitInstalled(generation, workers: workers.count, timeoutMs: ackTimeoutMs)
        guard late.isEmpty else {
            let outcome = ReloadOutcome.unacknowledged(
                rules: policy.rules.count, generation: Int(generation),
                workers: late, cores: late.map { plan.cpus[$0] },
                timeoutMs: ackTimeoutMs)
            state.withLock { $0.lastReloadError = outcome.failure }
            return outcome
        }
        return .applied(rules: policy.rules.count, notes: notes)
    }

    private func refuse(_ message: String) -> ReloadOutcome {
        state.withLock { s in
            s.failedReloads += 1
            s.lastReloadError = message
        }
        return .refused(message)
    }

    // MARK: statistics

    /// Counters now: ports (read directly), workers (each publishes between bursts; with
    /// `fresh`, wait up to `timeoutMs` for every worker's answer, else use the last one).
    public func statistics(fresh: Bool = true, timeoutMs: Int = 500) -> EngineStatistics {
        if fresh && running {
            let generation = control.requestSnapshots()
            _ = control.awaitSnapshots(generation, workers: workers.count, timeoutMs: timeoutMs)
        }
        let s = state.withLock { $0 }
        let snapshots = control.snapshots()
        let flows = control.flowCounts()
        let tracking = control.conntrackCounters()
        return EngineStatistics(
            configFile: source.location, backend: plan.backend.rawValue, policy: s.policy,
            policyGeneration: s.policyGeneration, reloads: s.reloads, failedReloads: s.failedReloads,
            lastReloadError: s.lastReloadError,
            uptimeSeconds: Double(monotonicNanoseconds() - startedAt) / 1e9,
            ports: ports.map { EngineStatistics.Port(name: $0.name, counters: $0.statistics, link: $0.linkState()) },
            workers: workers.map { w in
                EngineStatistics.Worker(
                    index: w.index, cpu: plan.cpus[w.index], queue: w.queue,
                    policyGeneration: Int(control.installedGeneration(of: w.index)),
                    counters: snapshots[w.index], flows: flows[w.index] ?? 0,
                    rejectReplies: w.rejectReplies.sent, heartbeat: control.heartbeat(of: w.index),
                    conntrack: tracking[w.index],
                    table: EngineStatistics.FlowTableFacts(w.pipeline.conntrack.table))
            },
            routing: plan.routing.map {
                RoutingStatistics(plan: $0, portNames: plan.portNames, snapshots: control.routerSnapshots())
            })
    }
}
