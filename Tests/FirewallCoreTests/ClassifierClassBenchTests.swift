import Foundation
import XCTest
@testable import FirewallCore

/// Every header of every shared ClassBench trace: the compiled classifier's first match equals
/// the reference linear scan's.
final class ClassifierClassBenchTests: XCTestCase {
    static let sets = ["acl1_1k", "fw1_1k", "ipc1_1k", "acl1_8k", "fw1_8k", "ipc1_8k"]

    /// ../shared/data/classbench relative to the repository root (this file is two levels down).
    static var dataDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/data/classbench")
    }

    func load(_ set: String) throws -> ([RuleMatch], [ClassBench.TraceEntry]) {
        let dir = Self.dataDirectory
        guard FileManager.default.fileExists(atPath: dir.path) else {
            throw XCTSkip("ClassBench data not found at \(dir.path) (expected ../shared/data/classbench beside the repository)")
        }
        let rules = try ClassBench.parseRules(String(contentsOf: dir.appendingPathComponent("\(set).rules"), encoding: .utf8))
        let trace = try ClassBench.parseTrace(String(contentsOf: dir.appendingPathComponent("\(set).trace"), encoding: .utf8))
        return (rules, trace)
    }

    func check(_ set: String) throws {
        let (rules, trace) = try load(set)
        XCTAssertGreaterThan(rules.count, 500)
        XCTAssertEqual(trace.count, trace.count)
        let compiled = BitVectorClassifier(matches: rules)
        let reference = ReferenceClassifier(matches: rules)
        var metas = trace.map(\.meta)
        var got = [Int32](repeating: -2, count: metas.count)
        metas.withUnsafeBufferPointer { m in
            got.withUnsafeMutableBufferPointer { g in
                compiled.classifyBurst(m.baseAddress!, count: m.count, results: g.baseAddress!)
            }
        }
        // The reference scan is the slow part in debug builds; split it over the cores.
        var want = [Int32](repeating: -2, count: metas.count)
        let chunks = 8
        want.withUnsafeMutableBufferPointer { w in
            let wp = w.baseAddress!
            metas.withUnsafeMutableBufferPointer { m in
                let mp = m.baseAddress!
                let n = m.count
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    for i in stride(from: c, to: n, by: chunks) { wp[i] = reference.classify(mp + i) }
                }
            }
        }
        var mismatches = 0
        for i in 0..<metas.count where got[i] != want[i] {
            mismatches += 1
            if mismatches <= 5 { XCTFail("\(set) header \(i): compiled \(got[i]), reference \(want[i])") }
            _ = i
        }
        XCTAssertEqual(mismatches, 0, "\(set): \(mismatches) of \(metas.count) headers differ")
        // The generator's rule matches its header, so the first match is never later than it.
        for (i, e) in trace.enumerated() where want[i] < 0 || Int(want[i]) > e.generatorRule {
            XCTFail("\(set) header \(i): reference \(want[i]) beyond generator rule \(e.generatorRule)")
            break
        }
    }

    func testACL1_1k() throws { try check("acl1_1k") }
    func testFW1_1k() throws { try check("fw1_1k") }
    func testIPC1_1k() throws { try check("ipc1_1k") }
    func testACL1_8k() throws { try check("acl1_8k") }
    func testFW1_8k() throws { try check("fw1_8k") }
    func testIPC1_8k() throws { try check("ipc1_8k") }
}
