import XCTest
@testable import FirewallCore
import Workloads

/// The benchmark workloads measure what their names say.
final class PipelineWorkloadTests: XCTestCase {
    func testEachModeDrivesThePathItNames() {
        let est = PipelineWorkload(mode: .established, flows: 500, rules: 50)
        let before = est.pipeline.counters
        for _ in 0..<10 { _ = est.step() }
        let after = est.pipeline.counters
        XCTAssertEqual(
            after.conntrackAccepted - before.conntrackAccepted, 320, "established: every frame accepted by its flow")

        let one = PipelineWorkload(mode: .unanswered, flows: 500, rules: 50)
        for _ in 0..<10 { _ = one.step() }
        XCTAssertEqual(one.pipeline.counters.conntrackAccepted, 0)
        XCTAssertEqual(one.pipeline.counters.ruleHits[49], 500 + 320, "unanswered: the last rule decides every frame")

        let new = PipelineWorkload(mode: .new, flows: 500, rules: 50)
        for _ in 0..<10 { _ = new.step() }
        XCTAssertEqual(new.pipeline.conntrack.created, 320, "new: every frame opens a flow")
        XCTAssertEqual(new.pipeline.counters.count(.accept), 320)
    }
}
