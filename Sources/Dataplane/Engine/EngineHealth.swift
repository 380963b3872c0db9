import Glibc
import LinuxIO

/// Whether a running engine is alive and ready, and why not: `vfwall health` (the control
/// protocol's `health`), and `/healthz`, `/readyz` on the metrics listener.
///
/// - Live: the workers run and every worker's loop turns (its heartbeat moves).
/// - Ready: live, both ports' links are up, and every worker reports the policy in force
///   installed (a reload still on its way makes the engine briefly not ready).
public struct EngineHealth: Equatable, Sendable {
    /// Why the engine is not live (empty: live).
    public var liveProblems: [String]
    /// Why the engine is not ready (empty: ready); includes the liveness problems.
    public var readyProblems: [String]
    /// What was looked at, for the answers when all is well: the workers (live), and the
    /// workers, ports and policy (ready).
    public var liveSummary: String
    public var summary: String

    public var live: Bool { liveProblems.isEmpty }
    public var ready: Bool { readyProblems.isEmpty }

    public init(liveProblems: [String], readyProblems: [String], liveSummary: String, summary: String) {
        self.liveProblems = liveProblems
        self.readyProblems = readyProblems
        self.liveSummary = liveSummary
        self.summary = summary
    }

    /// One line each: "ok: live: ..." or "error: not live: ...".
    public var liveAnswer: String {
        live ? "ok: live: \(liveSummary)" : "error: not live: " + liveProblems.joined(separator: "; ")
    }

    public var readyAnswer: String {
        ready ? "ok: ready: \(summary)" : "error: not ready: " + readyProblems.joined(separator: "; ")
    }

    /// The control socket's answer to `health`: ok when live and ready, else the reasons.
    public var answer: String {
        ready ? "ok: live and ready: \(summary)" : live ? readyAnswer : liveAnswer
    }
}

extension Engine {
    /// How long `health()` waits by default for every worker's heartbeat to move.
    public static let heartbeatWaitMs = 1000

    /// Looks at the engine now (off the fast path; reads what the workers already write): each
    /// worker's heartbeat must move within `heartbeatWaitMs` (an idle worker still turns its loop),
    /// every port's link must be up, and every worker must run the policy generation in force.
    public func health(heartbeatWaitMs: Int = Engine.heartbeatWaitMs) -> EngineHealth {
        var live: [String] = []
        if !running {
            live.append("the workers are not running")
        } else {
            let stuck = stalledWorkers(waitMs: heartbeatWaitMs)
            if !stuck.isEmpty {
                let names = stuck.map { "worker \($0) (core \(plan.cpus[$0]))" }.joined(separator: ", ")
                live.append("\(names): loop not turning (heartbeat still for \(heartbeatWaitMs) ms)")
            }
        }
        var ready = live
        for port in ports where !port.linkState().up { ready.append("port '\(port.name)' is down") }
        let generation = UInt64(state.withLock { $0.policyGeneration })
        let behind = workers.indices.filter { control.installedGeneration(of: $0) < generation }
        if running && !behind.isEmpty {
            let names = behind.map { "worker \($0) (core \(plan.cpus[$0]))" }.joined(separator: ", ")
            ready.append("\(names) not yet running policy generation \(generation)")
        }
        let turning = "\(workers.count) worker(s) turning"
        let summary =
            "\(turning), ports \(ports.map(\.name).joined(separator: ", ")) up, "
            + "policy generation \(generation) installed on every worker"
        return EngineHealth(liveProblems: live, readyProblems: ready, liveSummary: turning, summary: summary)
    }

    /// Workers whose heartbeat did not move within `waitMs` (polling every millisecond).
    private func stalledWorkers(waitMs: Int) -> [Int] {
        let first = workers.indices.map { control.heartbeat(of: $0) }
        var still = Array(workers.indices)
        let deadline = monotonicNanoseconds() &+ UInt64(max(0, waitMs)) &* 1_000_000
        while true {
            still = still.filter { control.heartbeat(of: $0) == first[$0] }
            if still.isEmpty || monotonicNanoseconds() >= deadline { return still }
            usleep(1000)
        }
    }
}
