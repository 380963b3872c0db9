import XCTest
@testable import FirewallCore
import Workloads

/// A pipeline looks flows up by walking entries while its live flows fit in the caches, and by
/// walking tags (with a prefetch pass) beyond. The two must decide every frame alike.
final class PipelineLookupModeTests: XCTestCase {
    func testTagAndEntryLookupsDecideEveryFrameAlike() {
        var settings = ConntrackSettings()
        settings.maxFlows = 4096
        let policy = CompiledPolicy(SyntheticPolicy.make(rules: 50))
        let byTags = Pipeline(policy: policy, conntrack: settings, burstCapacity: 32, tagLookupsFromFlows: 0)
        let byEntries = Pipeline(policy: policy, conntrack: settings, burstCapacity: 32, tagLookupsFromFlows: .max)
        let traffic = SyntheticTraffic(flows: 3000)
        var burst = FrameBurst(capacity: 32)
        defer {
            traffic.deallocate()
            burst.deallocate()
        }
        var rng = SplitMix64(seed: 0x7A95)
        var now: UInt64 = 1_000_000_000
        var fresh = 0
        for round in 0..<2000 {
            burst.count = 32
            for k in 0..<32 {
                // Known flows both ways, never-seen flows, and (past the table's bound) refusals.
                if rng.next() % 4 == 0 {
                    traffic.fillNew(&burst, slot: k, flowNumber: fresh, now: now)
                    fresh += 1
                } else {
                    traffic.fill(&burst, slot: k, flow: Int(rng.next() % 3000), reply: rng.next() & 1 == 1, now: now)
                }
            }
            // Time moves on in jumps now and then, so flows expire and are swept in both.
            now &+= rng.next() % 50 == 0 ? 40_000_000_000 : 1_000_000
            for k in 0..<32 { burst.timestamps[k] = now }
            byTags.process(burst, ingress: round & 1, link: .ethernet)
            let tagged = (0..<32).map { burst.verdicts[$0] }
            byEntries.process(burst, ingress: round & 1, link: .ethernet)
            for k in 0..<32 where burst.verdicts[k] != tagged[k] {
                XCTFail("round \(round) frame \(k): \(tagged[k]) by tags, \(burst.verdicts[k]) by entries")
                return
            }
        }
        XCTAssertTrue(byTags.looksUpByTags)
        XCTAssertFalse(byEntries.looksUpByTags)
        XCTAssertEqual(byTags.conntrack.count, byEntries.conntrack.count)
        XCTAssertGreaterThan(byTags.conntrack.count, 1000, "the traffic must keep many flows live")
        XCTAssertGreaterThan(byTags.conntrack.expired, 0, "and let some expire")
        let a = byTags.counters, b = byEntries.counters
        XCTAssertEqual(a.ruleHits, b.ruleHits)
        XCTAssertEqual(a.reasons, b.reasons)
        XCTAssertEqual(a.actions, b.actions)
        XCTAssertEqual(a.conntrackAccepted, b.conntrackAccepted)
        XCTAssertGreaterThan(a.conntrackAccepted, 0)
        XCTAssertGreaterThan(a.count(.conntrackFull) + byTags.conntrack.earlyDropped, 0, "the table must fill up")
    }
}
