import Dataplane
import EngineConfig
@testable import Workloads
import XCTest

/// The NDR/PDR search against simulated paths: no clock, no network; each simulated trial
/// delivers what a path of a known capacity would (plus seeded noise where asked).
final class RateSearchTests: XCTestCase {
    /// A path that forwards up to `capacity` frames/s and loses the excess; `noise` perturbs the
    /// capacity per trial (seeded), `sendCeiling` caps what the generator offers.
    struct LossyPath {
        var capacity: Double
        var noise = 0.0
        var sendCeiling = Double.infinity
        var rng = SplitMix64(seed: 17)
        mutating func trial(_ rate: Double, _ secs: Double) -> RateSearch.Trial {
            let offered = min(rate, sendCeiling)
            let cap = capacity * (1 + noise * (Double(rng.next() % 2001) / 1000 - 1))
            let sent = UInt64(offered * secs)
            let received = UInt64(min(offered, cap) * secs)
            return RateSearch.Trial(rate: rate, seconds: secs, sent: sent, received: received, elapsed: secs)
        }
    }

    let phases = [RateSearch.Phase(seconds: 0.5, width: 0.08), RateSearch.Phase(seconds: 2, width: 0.02)]

    func testConvergesOnAKnownThreshold() throws {
        var path = LossyPath(capacity: 480_000)
        var s = RateSearch(minRate: 1000, maxRate: 3_000_000, phases: phases)
        let b = s.run { path.trial($0, $1) }
        let ndr = b[0], pdr = b[1]
        // The NDR is below the capacity and within the final width of it.
        XCTAssertLessThanOrEqual(ndr.lower, 480_000)
        XCTAssertGreaterThan(ndr.lower, 480_000 * (1 - 0.02))
        XCTAssertLessThanOrEqual(ndr.relativeWidth, 0.02)
        XCTAssertGreaterThan(try XCTUnwrap(ndr.upper), 480_000)
        // The PDR: loss of at most 0.5 % means up to capacity / 0.995.
        let pdrTrue = 480_000 / 0.995
        XCTAssertLessThanOrEqual(pdr.lower, pdrTrue)
        XCTAssertGreaterThan(pdr.lower, pdrTrue * (1 - 0.02))
        XCTAssertGreaterThanOrEqual(pdr.lower, ndr.lower)
        XCTAssertLessThan(s.trials.count, 25, "bisection, not a sweep")
        // Every final bound was set by a full-length trial.
        let finalPass = s.trials.filter { $0.rate == ndr.lower }
        XCTAssertTrue(finalPass.contains { $0.seconds == 2 && $0.lossRatio == 0 })
    }

    func testAPathFasterThanTheGeneratorEndsAtTheMaximum() {
        var path = LossyPath(capacity: 10_000_000)
        var s = RateSearch(minRate: 1000, maxRate: 3_000_000, phases: phases)
        let b = s.run { path.trial($0, $1) }
        XCTAssertEqual(b[0].lower, 3_000_000)
        XCTAssertNil(b[0].upper, "nothing failed: the result is the generator's limit, not the path's")
        XCTAssertLessThanOrEqual(s.trials.count, 3)
    }

    func testNoisyPathStaysConservativeAndBounded() {
        for seed in [1, 2, 3, 99] as [UInt64] {
            var path = LossyPath(capacity: 1_000_000, noise: 0.03)
            path.rng = SplitMix64(seed: seed)
            var s = RateSearch(minRate: 1000, maxRate: 4_000_000, phases: phases, maxTrials: 30)
            let b = s.run { path.trial($0, $1) }
            XCTAssertLessThanOrEqual(s.trials.count, 30)
            // Never above the best the path can do, never far below its worst.
            XCTAssertLessThanOrEqual(b[0].lower, 1_030_000, "seed \(seed)")
            XCTAssertGreaterThan(b[0].lower, 1_000_000 * 0.97 * 0.9, "seed \(seed)")
            if let u = b[0].upper { XCTAssertGreaterThan(u, b[0].lower) }
        }
    }

    func testOfferedIsWhatTheGeneratorSentNotWhatWasAsked() {
        var path = LossyPath(capacity: 10_000_000, sendCeiling: 2_000_000)
        var s = RateSearch(minRate: 1000, maxRate: 3_000_000, phases: phases)
        let b = s.run { path.trial($0, $1) }
        XCTAssertEqual(b[0].lower, 3_000_000)
        XCTAssertEqual(b[0].offered, 2_000_000, accuracy: 1)
    }

    func testNothingPassesGivesZero() {
        var s = RateSearch(minRate: 1000, maxRate: 100_000, phases: phases)
        let b = s.run { RateSearch.Trial(rate: $0, seconds: $1, sent: UInt64($0 * $1), received: 0, elapsed: $1) }
        XCTAssertEqual(b[0].lower, 0)
        XCTAssertEqual(b[1].lower, 0)
        XCTAssertLessThanOrEqual(s.trials.count, 40)
    }
}
