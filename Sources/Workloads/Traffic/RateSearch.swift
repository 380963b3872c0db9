/// The no-drop (NDR) and partial-drop (PDR) rate search, as RFC 2544 26.1 and FD.io CSIT's
/// MLRsearch do it: trials of a fixed length at chosen offered rates, loss counted at the sink,
/// bisection between the highest rate that passed and the lowest that failed.
///
/// Phases: short coarse trials first, to a wider bracket; then full-length trials to the final
/// width. A rate that failed in a shorter trial fails a longer one too (loss only accumulates),
/// so failures of every length bound every phase from above; a pass counts only at the phase's
/// length or longer. Bounds are conservative where the path is noisy: the lower bound is the
/// highest pass *below* the lowest failure. The result is an interval per loss target: the
/// rate lies in [lower, upper), and (upper - lower) / upper is the search's error bound.
/// No clock here: trials are a closure, so tests drive it with a simulated path.
public struct RateSearch {
    /// `v` with four decimals ("0.5000"), without Foundation.
    static func fixed4(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        let scaled = Int64((abs(v) * 10_000).rounded())
        let fraction = String(scaled % 10_000)
        return (v < 0 ? "-" : "") + "\(scaled / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }

    public struct Trial: Sendable {
        public var rate: Double  // asked, frames/s
        public var seconds: Double  // trial length asked
        public var sent: UInt64  // frames the generator sent
        public var received: UInt64  // frames that reached the sink
        public var elapsed: Double  // how long the generator actually sent
        public init(rate: Double, seconds: Double, sent: UInt64, received: UInt64, elapsed: Double) {
            self.rate = rate
            self.seconds = seconds
            self.sent = sent
            self.received = received
            self.elapsed = elapsed
        }
        public var lossRatio: Double { sent == 0 ? 1 : Double(sent - min(sent, received)) / Double(sent) }
        public var receivedRate: Double { Double(received) / max(elapsed, 1e-9) }
        public var sentRate: Double { Double(sent) / max(elapsed, 1e-9) }
    }

    public struct Phase: Sendable {
        public var seconds: Double, width: Double
        public init(seconds: Double, width: Double) {
            self.seconds = seconds
            self.width = width
        }
    }

    public struct Bound: Sendable, CustomStringConvertible {
        public var target: Double  // the loss ratio allowed (0 for NDR)
        public var lower: Double  // highest rate that passed (0: none did)
        public var upper: Double?  // lowest rate that failed (nil: none did, up to the maximum)
        /// What the generator really offered in the trial that set `lower` (its frames over its
        /// sending window; at most the rate asked): the figure to report.
        public var offered: Double = 0
        public var relativeWidth: Double { upper.map { $0 > 0 ? ($0 - lower) / $0 : 0 } ?? 0 }
        public var description: String {
            let u = upper.map { RateSearch.fixed4($0 / 1e6) } ?? "max"
            return "[\(RateSearch.fixed4(lower / 1e6)), \(u)) Mpps"
        }
    }

    public var minRate: Double
    public var maxRate: Double
    public var phases: [Phase]
    public var targets: [Double]  // searched in reverse order (the loosest first)
    public var maxTrials: Int
    public private(set) var trials: [Trial] = []

    public init(minRate: Double, maxRate: Double, phases: [Phase], targets: [Double] = [0, 0.005], maxTrials: Int = 40)
    {
        precondition(maxRate > minRate && minRate > 0 && !phases.isEmpty)
        self.minRate = minRate
        self.maxRate = maxRate
        self.phases = phases
        self.targets = targets
        self.maxTrials = maxTrials
    }

    /// Adds a trial run outside the search (a flat-out one at the rate it reached, say).
    public mutating func record(_ t: Trial) { trials.append(t) }

    /// The bound for `target` from the trials so far, for a phase of `seconds`.
    public func bound(_ target: Double, seconds: Double) -> Bound {
        let failed = trials.filter { $0.lossRatio > target }.map(\.rate)
        let upper = failed.min()
        let passed = trials.filter { $0.lossRatio <= target && $0.seconds >= seconds && $0.rate < (upper ?? .infinity) }
        let best = passed.max { $0.rate < $1.rate }
        return Bound(
            target: target, lower: best?.rate ?? 0, upper: upper, offered: best.map { min($0.rate, $0.sentRate) } ?? 0)
    }

    /// Runs the search; `measure(rate, seconds)` runs one trial, `progress` hears of each.
    public mutating func run(
        measure: (Double, Double) throws -> Trial,
        progress: (Trial, [Bound]) -> Void = { _, _ in }
    ) rethrows -> [Bound] {
        for target in targets.sorted(by: >) {
            for phase in phases {
                var misses = 0
                while trials.count < maxTrials, let rate = next(target, phase, misses: &misses) {
                    trials.append(try measure(rate, phase.seconds))
                    progress(trials.last!, targets.map { bound($0, seconds: phase.seconds) })
                }
            }
        }
        let final = phases.last!.seconds
        return targets.map { bound($0, seconds: final) }
    }

    /// The next rate to try for `target` in `phase`, or nil when the bracket is narrow enough.
    func next(_ target: Double, _ phase: Phase, misses: inout Int) -> Double? {
        let b = bound(target, seconds: phase.seconds)
        guard let upper = b.upper else {
            // Nothing failed: the maximum itself, unless it already passed at this length.
            return b.lower >= maxRate ? nil : (b.lower > 0 ? maxRate : previousLower(target, phase) ?? maxRate)
        }
        if b.lower > 0 {
            if (upper - b.lower) / upper <= phase.width { return nil }
            return (b.lower + upper) / 2
        }
        if upper <= minRate { return nil }
        // Nothing passed below the failure: a pass at a shorter length is the first guess, then
        // the rate the sink received at the failure, stepping further down after each miss.
        if misses == 0, let p = previousLower(target, phase), p < upper {
            misses += 1
            return p
        }
        let failedTrial = trials.filter { $0.rate == upper }.min { $0.receivedRate < $1.receivedRate }!
        let step = min(0.75, phase.width * 2 * Double(1 << min(misses, 10)))
        misses += 1
        let hint = failedTrial.receivedRate * (1 - phase.width)
        return max(minRate, min(hint, upper * (1 - step)))
    }

    /// The lower bound a shorter phase reached, to start a longer one from.
    private func previousLower(_ target: Double, _ phase: Phase) -> Double? {
        let shorter = trials.filter { $0.seconds < phase.seconds && $0.lossRatio <= target }.map(\.rate)
        let upper = bound(target, seconds: phase.seconds).upper ?? .infinity
        return shorter.filter { $0 < upper }.max()
    }
}
