/// Notices workers whose loop stopped turning. A stalled worker forwards nothing from its queues
/// (they are its alone), so the firewall is already closed for that traffic; what the watch adds
/// is knowing it, so the process can say which worker stalled and exit non-zero instead of
/// silently black-holing a share of the flows (docs/hardening.md).
///
/// Off the fast path: a control thread calls `stalled(now:)` periodically (once a second is
/// plenty), with CLOCK_MONOTONIC nanoseconds.
public final class StallWatch {
    let control: WorkerControl
    let limit: UInt64
    private var lastBeat: [UInt64]
    private var movedAt: [UInt64]

    /// Watches workers `0..<workers`; a worker is stalled once its loop counter has not moved for
    /// `limitMilliseconds`.
    public init(control: WorkerControl, workers: Int, limitMilliseconds: UInt64, now: UInt64) {
        self.control = control
        limit = limitMilliseconds * 1_000_000
        lastBeat = (0..<workers).map { control.heartbeat(of: $0) }
        movedAt = Array(repeating: now, count: workers)
    }

    /// Indexes of the workers stalled as of `now`.
    public func stalled(now: UInt64) -> [Int] {
        var out: [Int] = []
        for w in lastBeat.indices {
            let beat = control.heartbeat(of: w)
            if beat != lastBeat[w] {
                lastBeat[w] = beat
                movedAt[w] = now
            } else if now &- movedAt[w] >= limit {
                out.append(w)
            }
        }
        return out
    }
}
