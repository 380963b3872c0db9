import XCTest
@testable import FirewallCore

/// One component value of an element as the test wrote it: the oracle's side of the set.
enum ConcatPart {
    case prefix(IPPrefix)
    case ports(PortRange)
    case proto(UInt8)

    var text: String {
        switch self {
        case .prefix(let p): return p.description
        case .ports(let r): return r.description
        case .proto(let n): return "\(n)"
        }
    }
}

/// A concatenated set with the elements it was built from (through the element parser), so
/// the tests check its table by scanning them.
struct ConcatWithElements {
    let set: NamedSet
    let elements: [[ConcatPart]]

    func naiveContains(_ values: [IPAddress]) -> Bool {
        elements.contains { e in
            zip(e, values).allSatisfy { part, v in
                switch part {
                case .prefix(let p): return p.contains(v, v6: p.isV6)
                case .ports(let r): return r.contains(UInt16(truncatingIfNeeded: v.lo))
                case .proto(let n): return UInt64(n) == v.lo
                }
            }
        }
    }
}

extension RandomPolicy {
    static let concatTypes: [[SetType]] = [
        [.ipv4, .port], [.ipv6, .port], [.port, .proto], [.ipv4, .ipv4, .port], [.proto, .ipv4],
        [.ipv4, .proto, .port], [.ipv6, .ipv6]
    ]

    /// Exact tuples (hash table), ranged ones (intervals of the first component), or both.
    mutating func randomConcat(name: String) -> ConcatWithElements {
        let components = pick(RandomPolicy.concatTypes)
        let exactShare = pick([0, 50, 100])
        var elements: [[ConcatPart]] = []
        for _ in 0..<(chance(20) ? int(1...2) : int(1...60)) {
            let exact = chance(exactShare)
            elements.append(
                components.map { t in
                    switch t {
                    case .ipv4, .ipv6:
                        let p = prefix(v6: t == .ipv6)
                        return .prefix(
                            exact ? IPPrefix(address: p.address, length: t == .ipv6 ? 128 : 32, isV6: p.isV6) : p)
                    case .port:
                        let r = portRange()
                        return .ports(exact ? PortRange(r.lo) : r)
                    case .proto: return .proto(pick(RandomPolicy.protos))
                    }
                })
        }
        var parsed = SetElements(components: components)
        for e in elements {
            let problem = parsed.add(Substring(e.map(\.text).joined(separator: " . ")))
            precondition(problem == nil, "\(problem!)")
        }
        return ConcatWithElements(set: parsed.build(name), elements: elements)
    }

    /// The packet fields a set of `components` can test, in order (random among the fitting).
    mutating func concatFields(_ components: [SetType]) -> [SetField] {
        components.map { t in
            switch t {
            case .ipv4, .ipv6: return pick([SetField.source, .destination])
            case .port: return pick([SetField.sourcePort, .destinationPort])
            case .proto: return .proto
            }
        }
    }
}

final class ConcatSetPropertyTests: XCTestCase {
    static func value(_ f: SetField, _ m: PacketMeta) -> IPAddress {
        switch f {
        case .source: return m.isV6 ? m.src : IPAddress(v4: UInt32(truncatingIfNeeded: m.src.lo))
        case .destination: return m.isV6 ? m.dst : IPAddress(v4: UInt32(truncatingIfNeeded: m.dst.lo))
        case .proto: return IPAddress(hi: 0, lo: UInt64(m.proto))
        case .sourcePort: return IPAddress(hi: 0, lo: UInt64(m.sport))
        case .destinationPort: return IPAddress(hi: 0, lo: UInt64(m.dport))
        }
    }

    /// The semantics with concatenations tested by scanning their elements.
    func oracle(_ rules: [RuleMatch], _ sets: [ConcatWithElements], _ m: PacketMeta) -> Int32 {
        for (i, r) in rules.enumerated() {
            var plain = r
            plain.concats = []
            guard plain.matches(m) else { continue }
            let all = r.concats.allSatisfy { c in
                let s = sets.first { $0.set === c.set }!
                let components = c.set.components
                // As for plain address sets: the family is the packet's `isV6`.
                if components.contains(.ipv4) && m.isV6 { return false }
                if components.contains(.ipv6) && !m.isV6 { return false }
                if components.contains(.port) && !m.hasPorts { return false }
                return s.naiveContains(c.fields.map { Self.value($0, m) }) != c.negated
            }
            if all { return Int32(i) }
        }
        return -1
    }

    /// Puts a packet on an element of the rule's first concatenation (inside its ranges).
    func land(_ m: inout PacketMeta, _ c: ConcatMatch, _ s: ConcatWithElements, _ g: inout RandomPolicy) {
        let e = g.pick(s.elements)
        m.hasL4 = true
        m.hasPorts = true
        for (f, part) in zip(c.fields, e) {
            var v = IPAddress.zero
            switch part {
            case .prefix(let p):
                m.ipVersion = p.isV6 ? 6 : 4
                v = g.address(inside: [p], v6: p.isV6)
            case .ports(let r): v = IPAddress(hi: 0, lo: UInt64(g.port(inside: [r])))
            case .proto(let n): v = IPAddress(hi: 0, lo: UInt64(n))
            }
            switch f {
            case .source: m.src = v
            case .destination: m.dst = v
            case .proto: m.proto = UInt8(truncatingIfNeeded: v.lo)
            case .sourcePort: m.sport = UInt16(truncatingIfNeeded: v.lo)
            case .destinationPort: m.dport = UInt16(truncatingIfNeeded: v.lo)
            }
        }
    }

    func compare(seed: UInt64, maxRules: Int, headers: Int) -> String? {
        var g = RandomPolicy(seed: seed)
        let sets = (0..<4).map { g.randomConcat(name: "c\($0)") }
        let rules = (0..<g.int(1...maxRules)).map { _ -> RuleMatch in
            var m = g.rule()
            for _ in 0..<(g.chance(70) ? 1 : 2) {
                let s = g.pick(sets)
                m.concats.append(ConcatMatch(g.concatFields(s.set.components), s.set, negated: g.chance(30)))
            }
            return m
        }
        let classifiers: [(String, Classifier)] = [
            ("bitvector", BitVectorClassifier(matches: rules)),
            ("chunked", ChunkedClassifier(matches: rules, chunkRules: 64)),
            ("reference", ReferenceClassifier(matches: rules))
        ]
        var metas: [PacketMeta] = (0..<headers).map { _ in
            let near = g.pick(rules)
            var m = g.header(near: near)
            if let c = near.concats.first, g.chance(70) {
                land(&m, c, sets.first { $0.set === c.set }!, &g)
            }
            return m
        }
        let want = metas.map { oracle(rules, sets, $0) }
        for (name, classifier) in classifiers {
            var got = [Int32](repeating: -2, count: headers)
            metas.withUnsafeMutableBufferPointer { m in
                got.withUnsafeMutableBufferPointer {
                    classifier.classifyBurst(m.baseAddress!, count: headers, results: $0.baseAddress!)
                }
            }
            for i in 0..<headers where got[i] != want[i] {
                let r = Int(got[i]) < rules.count && got[i] >= 0 ? "\(rules[Int(got[i])])" : ""
                return "seed \(seed): header \(i): \(name) \(got[i]), oracle \(want[i])\n\(metas[i])\n\(r)"
            }
        }
        return nil
    }

    func testClassifiersWithConcatenationsAgreeWithOracle() {
        for seed in UInt64(1)...100 {
            if let d = compare(seed: seed, maxRules: 120, headers: 200) {
                XCTFail(d)
                return
            }
        }
    }

    /// The packets land on elements often enough that both outcomes of the tests are seen.
    func testRandomPacketsHitAndMissTheSets() {
        var hits = 0, misses = 0
        for seed in UInt64(1)...40 {
            var g = RandomPolicy(seed: seed)
            let s = g.randomConcat(name: "c")
            let c = ConcatMatch(g.concatFields(s.set.components), s.set)
            for _ in 0..<100 {
                var m = g.header(near: nil)
                if g.chance(50) { land(&m, c, s, &g) }
                if c.matches(m) { hits += 1 } else { misses += 1 }
            }
        }
        XCTAssertGreaterThan(hits, 500)
        XCTAssertGreaterThan(misses, 500)
    }
}
