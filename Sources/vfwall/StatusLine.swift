import Dataplane
import EngineConfig
import Ports
#if canImport(Glibc)
    import Glibc
#endif

/// The once-a-second line of `vfwall run` on a terminal: packets per second in, out and dropped
/// per port, and the tracked flows. Rewritten in place (carriage return, erase to end of line).
final class StatusLine {
    let enabled: Bool
    private var last: [PortStatistics] = []
    private var printed = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ engine: Engine, seconds: Double) {
        guard enabled else { return }
        let now = engine.ports.map(\.statistics)
        // Flows come from the workers' last published counters; ask for the next second's now.
        let stats = engine.statistics(fresh: false)
        engine.control.requestSnapshots()
        defer { last = now }
        guard last.count == now.count, seconds > 0 else { return }
        let parts = zip(zip(engine.ports, now), last).map { pair, before -> String in
            let (port, s) = pair
            func rate(_ a: UInt64, _ b: UInt64) -> String { compact(Double(a &- b) / seconds) }
            return
                "\(port.name) in \(rate(s.rx, before.rx)) out \(rate(s.tx, before.tx)) drop "
                + "\(rate(s.dropped &+ s.txFull &+ s.errors, before.dropped &+ before.txFull &+ before.errors))"
        }
        let line = parts.joined(separator: " | ") + " | flows \(stats.flows)  (pkt/s)"
        fputs("\r\u{1B}[K" + line, stdout)
        fflush(stdout)
        printed = true
    }

    /// Ends the line so what follows starts on a fresh one.
    func finish() {
        if printed { fputs("\n", stdout) }
    }

    /// 950, 12.3k, 4.56M.
    func compact(_ v: Double) -> String {
        if v < 1000 { return String(Int(v.rounded())) }
        if v < 1e6 { return fixed(v / 1e3, 1) + "k" }
        return fixed(v / 1e6, 2) + "M"
    }
}
