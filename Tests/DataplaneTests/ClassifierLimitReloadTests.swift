import Dataplane
import EngineConfig
import FirewallConfig
import Foundation
import TestSupport
import XCTest

/// A reload whose policy's classifier would exceed `classifier.max-memory` is refused before
/// anything is built, and the running policy stays.
final class ClassifierLimitReloadTests: XCTestCase {
    func testReloadOverTheLimitIsRefusedAndKeepsThePolicy() throws {
        let scratch = try ScratchDirectory("engine-classifier-limit")
        defer { scratch.remove() }
        let text = try pcapDefaultConfigurationText(scratch)
        XCTAssertTrue(text.contains("max-memory: 1GiB"))
        func limited(_ size: String) -> String {
            text.replacingOccurrences(of: "max-memory: 1GiB", with: "max-memory: \(size)")
        }
        let c = try ConfigLoader.parse(yaml: text, file: try scratch.write("pcap.yaml", text))
        let engine = try Engine.open(c)
        defer { engine.close() }

        _ = try scratch.write("pcap.yaml", limited("64KiB"))
        guard case let .refused(error) = engine.reload() else { return XCTFail("a reload over the limit must fail") }
        XCTAssertTrue(error.hasPrefix(scratch.path("pcap.yaml") + ":"), error)
        XCTAssertTrue(error.contains("would take about"), error)
        XCTAssertTrue(error.contains("over classifier.max-memory (64 KiB)"), error)
        XCTAssertEqual(engine.policy.rules.count, c.policy.rules.count)
        XCTAssertEqual(engine.statistics(fresh: false).failedReloads, 1)

        _ = try scratch.write("pcap.yaml", limited("64MiB"))
        XCTAssertEqual(engine.reload(), .applied(rules: c.policy.rules.count, notes: []))
    }
}
