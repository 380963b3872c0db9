import CLinux
import Glibc
import Ports

/// Where the workers of a group run.
public enum WorkerPlacement: Equatable {
    /// One POSIX thread per worker, pinned to the CPU at the worker's index (nil: not pinned).
    case threads(cpus: [Int?])
    /// The threads of the backend that opened the ports (DPDK: EAL's worker lcores, in order).
    case backend(OpenedDevices)

    public static func == (a: WorkerPlacement, b: WorkerPlacement) -> Bool {
        switch (a, b) {
        case let (.threads(x), .threads(y)): return x == y
        case let (.backend(x), .backend(y)): return x === y
        default: return false
        }
    }
}

/// Starts workers, pinned, and waits for them. Stopping goes through the shared `WorkerControl`.
public final class WorkerGroup {
    public let workers: [Worker]
    public let control: WorkerControl
    private var threads: [pthread_t] = []
    private var backend: OpenedDevices?
    private var started = false

    public init(workers: [Worker], control: WorkerControl) {
        self.workers = workers
        self.control = control
    }

    /// Starts every worker; throws (after stopping the ones started) when a thread cannot be
    /// created or pinned, or when the backend cannot run them all (EAL has too few lcores).
    public func start(_ placement: WorkerPlacement) throws {
        precondition(!started, "a worker group starts once")
        started = true
        switch placement {
        case let .threads(cpus):
            for (i, worker) in workers.enumerated() {
                let cpu = i < cpus.count ? cpus[i] : nil
                let context = Unmanaged.passRetained(ThreadContext(worker: worker, cpu: cpu)).toOpaque()
                var thread = pthread_t()
                let rc = pthread_create(
                    &thread, nil,
                    { raw in
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
                throw PortError.system(
                    call: "pthread_setaffinity_np(cpu \(cpu))", subject: "worker \(bad.index)", errno: bad.pinError)
            }
        case let .backend(devices):
            backend = devices
            let workers = self.workers
            do {
                try devices.launch(workers: workers.count) { i in ThreadContext(worker: workers[i], cpu: nil).run() }
            } catch {
                stop()
                throw error
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
        backend?.waitForWorkers()
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
