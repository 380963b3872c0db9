import Foundation
import XCTest
@testable import FirewallCore
import Workloads

/// Every header of every shared ClassBench trace gets the same first match from the compiled
/// classifier as from a linear scan.
///
/// `ReferenceClassifier` takes about 5 ms per header on the 8k sets in a debug build, so it checks
/// every header of the 1k sets and every 16th of the 8k sets; every header of every set is also
/// checked against `FlatScan`, the same first-match scan over flat ClassBench tuples (which agrees
/// with the reference wherever both run: asserted below).
final class ClassifierClassBenchTests: XCTestCase {
    /// data/classbench in the repository (this file is two levels below its root).
    static var dataDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/classbench")
    }

    func load(_ set: String) throws -> ([RuleMatch], [ClassBench.TraceEntry]) { try Self.load(set) }

    static func load(_ set: String) throws -> ([RuleMatch], [ClassBench.TraceEntry]) {
        let dir = Self.dataDirectory
        let rules = try ClassBench.parseRules(
            String(contentsOf: dir.appendingPathComponent("\(set).rules"), encoding: .utf8))
        let trace = try ClassBench.parseTrace(
            String(contentsOf: dir.appendingPathComponent("\(set).trace"), encoding: .utf8))
        return (rules, trace)
    }

    func check(_ set: String, referenceStride: Int) throws {
        let (rules, trace) = try load(set)
        XCTAssertGreaterThan(rules.count, 500)
        XCTAssertGreaterThan(trace.count, 500)
        let compiled = BitVectorClassifier(matches: rules)
        let reference = ReferenceClassifier(matches: rules)
        let flat = FlatScan(rules)
        let metas = trace.map(\.meta)
        var got = [Int32](repeating: -2, count: metas.count)
        metas.withUnsafeBufferPointer { m in
            got.withUnsafeMutableBufferPointer { g in
                compiled.classifyBurst(m.baseAddress!, count: m.count, results: g.baseAddress!)
            }
        }
        // The reference scan on a stride of headers, spread over the cores.
        let sampled = Array(stride(from: 0, to: metas.count, by: referenceStride))
        var want = [Int32](repeating: -2, count: sampled.count)
        want.withUnsafeMutableBufferPointer { w in
            let wp = w.baseAddress!
            metas.withUnsafeBufferPointer { m in
                let mp = m.baseAddress!
                DispatchQueue.concurrentPerform(iterations: 8) { c in
                    for k in stride(from: c, to: sampled.count, by: 8) { wp[k] = reference.classify(mp + sampled[k]) }
                }
            }
        }
        var failures = 0
        for (k, i) in sampled.enumerated() where got[i] != want[k] || flat.first(metas[i]) != want[k] {
            failures += 1
            if failures <= 5 {
                XCTFail("\(set) header \(i): compiled \(got[i]), flat \(flat.first(metas[i])), reference \(want[k])")
            }
        }
        for i in 0..<metas.count where got[i] != flat.first(metas[i]) {
            failures += 1
            if failures <= 5 { XCTFail("\(set) header \(i): compiled \(got[i]), flat scan \(flat.first(metas[i]))") }
        }
        XCTAssertEqual(failures, 0, "\(set): \(failures) differences over \(metas.count) headers")
        // The generator's rule matches its header, so the first match is never later than it.
        for (i, e) in trace.enumerated() where got[i] < 0 || Int(got[i]) > e.generatorRule {
            XCTFail("\(set) header \(i): first match \(got[i]) beyond generator rule \(e.generatorRule)")
            break
        }
    }

    func testACL1_1k() throws { try check("acl1_1k", referenceStride: 1) }
    func testFW1_1k() throws { try check("fw1_1k", referenceStride: 1) }
    func testIPC1_1k() throws { try check("ipc1_1k", referenceStride: 1) }
    func testACL1_8k() throws { try check("acl1_8k", referenceStride: 16) }
    func testFW1_8k() throws { try check("fw1_8k", referenceStride: 16) }
    func testIPC1_8k() throws { try check("ipc1_8k", referenceStride: 16) }
}

/// First-match linear scan over ClassBench rules flattened to integer bounds: what
/// `RuleMatch.matches` computes for these rules (one IPv4 prefix each way, one range each way,
/// a protocol list) and for IPv4 headers with ports, without its generality.
struct FlatScan {
    var bounds: [UInt32] = []  // per rule: srcLo, srcHi, dstLo, dstHi, spLo, spHi, dpLo, dpHi
    var protocols: [UInt64] = []  // per rule: 256-bit set
    let count: Int

    init(_ rules: [RuleMatch]) {
        count = rules.count
        for m in rules {
            precondition(
                m.sources.count <= 1 && m.destinations.count <= 1 && m.sourcePorts.count <= 1
                    && m.destinationPorts.count <= 1, "not a ClassBench rule")
            for p in [m.sources.first, m.destinations.first] {
                let r = p.map(KeyRange.init) ?? KeyRange(0, 0xFFFF_FFFF)
                bounds += [UInt32(r.lo.lo), UInt32(r.hi.lo)]
            }
            for r in [m.sourcePorts.first ?? .any, m.destinationPorts.first ?? .any] {
                bounds += [UInt32(r.lo), UInt32(r.hi)]
            }
            var set = [UInt64](repeating: m.protocols.isEmpty ? ~0 : 0, count: 4)
            for p in m.protocols { set[Int(p) >> 6] |= 1 << UInt64(p & 63) }
            protocols += set
        }
    }

    func first(_ m: PacketMeta) -> Int32 {
        let s = m.src.v4, d = m.dst.v4, sp = UInt32(m.sport), dp = UInt32(m.dport), p = Int(m.proto)
        return bounds.withUnsafeBufferPointer { b in
            protocols.withUnsafeBufferPointer { ps in
                for r in 0..<count {
                    let x = b.baseAddress! + 8 * r
                    if s < x[0] || s > x[1] || d < x[2] || d > x[3] { continue }
                    if sp < x[4] || sp > x[5] || dp < x[6] || dp > x[7] { continue }
                    if ps[4 * r + (p >> 6)] & (1 << UInt64(p & 63)) == 0 { continue }
                    return Int32(r)
                }
                return -1
            }
        }
    }
}
