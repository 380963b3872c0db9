import CDPDK
import CLinux
import DPDKPorts
import Glibc
import Ports

/// Where the workers of a group run.
public enum WorkerPlacement: Sendable, Equatable {
    /// One POSIX thread per worker, pinned to the CPU at the worker's index (nil: not pinned).
    case threads(cpus: [Int?])
    /// DPDK's worker lcores (the `-l`/`--lcores` EAL arguments), in order, main lcore excluded.
    case dpdkLcores
}

/// Starts workers, pinned, and waits for them. Stopping goes through the shared `WorkerControl`.
public final class WorkerGroup {
    public let workers: [Worker]
    public let control: WorkerControl
    private var threads: [pthread_t] = []
    private var lcores: [UInt32] = []
    private var started = false

    public init(workers: [Worker], control: WorkerControl) {
        self.workers = workers
        self.control = control
    }

    /// Starts every worker; throws (after stopping the ones started) when a thread cannot be
    /// created or pinned, or when EAL has fewer worker lcores than there are workers.
    public func start(_ placement: WorkerPlacement) throws {
        precondition(!started, "a worker group starts once")
        started = true
        switch placement {
        case let .threads(cpus):
            for (i, worker) in workers.enumerated() {
                let cpu = i < cpus.count ? cpus[i] : nil
                let context = Unmanaged.passRetained(ThreadContext(worker: worker, cpu: cpu)).toOpaque()
                var thread = pthread_t()
                let rc = pthread_create(&thread, nil, { raw in
                    let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                    context.run()
                    return nil
                }, context)
                if rc != 0 {
                    Unmanaged<ThreadContext>.fromOpaque(context).release()
                    stop()
                    throw PortError.system(call: "pthread_create", subject: "worker \(i)", errno: rc)
                }
                threads.append(thread)
            }
            // Fail fast when a CPU was refused (not in the container's cpuset, offline ...).
            waitUntilStarted()
            if let bad = workers.first(where: { $0.pinError != 0 }) {
                stop()
                let cpu = cpus.indices.contains(bad.index) ? cpus[bad.index].map(String.init) ?? "-" : "-"
                throw PortError.system(call: "pthread_setaffinity_np(cpu \(cpu))", subject: "worker \(bad.index)", errno: bad.pinError)
            }
        case .dpdkLcores:
            try DPDKEnvironment.requireInitialized()
            var lcore = cdpdk_next_lcore(UInt32.max, true)
            for worker in workers {
                guard lcore < cdpdk_max_lcores() else {
                    stop()
                    throw PortError.invalid("\(workers.count) workers but EAL has only \(lcores.count) worker lcores: give EAL more cores (-l/--lcores)")
                }
                let context = Unmanaged.passRetained(ThreadContext(worker: worker, cpu: nil)).toOpaque()
                let rc = cdpdk_remote_launch({ raw in
                    Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue().run()
                    return 0
                }, context, lcore)
                if rc < 0 {
                    Unmanaged<ThreadContext>.fromOpaque(context).release()
                    stop()
                    throw PortError.dpdk(action: "launch worker \(worker.index) on lcore \(lcore)", code: rc)
                }
                lcores.append(lcore)
                lcore = cdpdk_next_lcore(lcore, true)
            }
        }
    }

    /// Tells the workers to stop and waits until every one has returned. Idempotent.
    public func stop() {
        control.stop()
        wait()
    }

    /// Waits for the workers to return (they return only after `control.stop()`).
    public func wait() {
        for t in threads { pthread_join(t, nil) }
        threads.removeAll()
        for l in lcores { _ = cdpdk_wait_lcore(l) }
        lcores.removeAll()
    }

    private func waitUntilStarted() {
        while workers.contains(where: { !$0.pinAttempted }) { usleep(100) }
    }
}

/// What a worker thread needs: the worker and its CPU. Retained across the C boundary.
private final class ThreadContext {
    let worker: Worker
    let cpu: Int?
    init(worker: Worker, cpu: Int?) {
        self.worker = worker
        self.cpu = cpu
    }

    func run() {
        if let cpu {
            let rc = clinux_pin_current_thread(Int32(cpu))
            worker.pinError = rc
        }
        worker.markStarted()
        if worker.pinError == 0 { worker.run() }
    }
}
