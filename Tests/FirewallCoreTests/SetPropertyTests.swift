import XCTest
@testable import FirewallCore
import Workloads

/// A set with the elements it was built from, so tests can check it by brute force.
struct SetWithElements {
    let set: NamedSet
    let prefixes: [IPPrefix]
    let ports: [PortRange]
    let protocols: [UInt8]

    /// Membership by a plain scan of the elements: the oracle for the set tables.
    func naiveContains(_ key: IPAddress) -> Bool {
        switch set.type {
        case .ipv4: return prefixes.contains { $0.contains(IPAddress(v4: key.v4), v6: false) }
        case .ipv6: return prefixes.contains { $0.contains(key, v6: true) }
        case .port: return ports.contains { key.lo <= 65535 && $0.contains(UInt16(key.lo)) }
        case .proto: return protocols.contains { UInt64($0) == key.lo }
        }
    }
}

extension RandomPolicy {
    mutating func randomSet(_ type: SetType, name: String) -> SetWithElements {
        let n = chance(20) ? int(1...2) : int(1...40)
        switch type {
        case .ipv4, .ipv6:
            let p = (0..<n).map { _ in prefix(v6: type == .ipv6) }
            let s = NamedSet(name: name, prefixes: p, v6: type == .ipv6)
            return SetWithElements(set: s, prefixes: p, ports: [], protocols: [])
        case .port:
            let p = (0..<n).map { _ in portRange() }
            return SetWithElements(set: NamedSet(name: name, ports: p), prefixes: [], ports: p, protocols: [])
        case .proto:
            let p = (0..<int(1...4)).map { _ in pick(RandomPolicy.protos) }
            return SetWithElements(set: NamedSet(name: name, protocols: p), prefixes: [], ports: [], protocols: p)
        }
    }

    /// A random rule where some fields test one of `sets` instead of a list.
    mutating func ruleWithSets(_ sets: [SetWithElements]) -> RuleMatch {
        var m = rule()
        for field in SetField.allCases where chance(35) {
            let fitting = sets.filter { field.accepts($0.set.type) }
            guard !fitting.isEmpty else { continue }
            let s = pick(fitting)
            switch field {
            case .source: m.sources = []
            case .destination: m.destinations = []
            case .proto: m.protocols = []
            case .sourcePort: m.sourcePorts = []
            case .destinationPort: m.destinationPorts = []
            }
            m.sets.append(SetMatch(field, s.set, negated: chance(35)))
        }
        return m
    }
}

final class SetPropertyTests: XCTestCase {
    /// The semantics again, with sets tested by scanning their elements: independent of the
    /// set tables that both classifiers use.
    func oracle(_ rules: [RuleMatch], _ sets: [SetWithElements], _ m: PacketMeta) -> Int32 {
        for (i, r) in rules.enumerated() {
            var plain = r
            plain.sets = []
            guard plain.matches(m) else { continue }
            let all = r.sets.allSatisfy { t in
                let s = sets.first { $0.set === t.set }!
                switch t.field {
                case .source, .destination:
                    guard (t.set.type == .ipv6) == m.isV6 else { return false }
                    return s.naiveContains(t.field == .source ? m.src : m.dst) != t.negated
                case .proto: return s.naiveContains(IPAddress(hi: 0, lo: UInt64(m.proto))) != t.negated
                case .sourcePort, .destinationPort:
                    guard m.hasPorts else { return false }
                    let p = t.field == .sourcePort ? m.sport : m.dport
                    return s.naiveContains(IPAddress(hi: 0, lo: UInt64(p))) != t.negated
                }
            }
            if all { return Int32(i) }
        }
        return -1
    }

    func compare(seed: UInt64, maxRules: Int, headers: Int) -> String? {
        var g = RandomPolicy(seed: seed)
        let sets = SetType.allCases.flatMap { t in (0..<2).map { g.randomSet(t, name: "\(t)-\($0)") } }
        let rules = (0..<g.int(1...maxRules)).map { _ in g.ruleWithSets(sets) }
        let compiled = BitVectorClassifier(matches: rules, foldBudget: seed % 2 == 1 ? 0 : 1 << 25)
        let reference = ReferenceClassifier(matches: rules)
        var metas: [PacketMeta] = (0..<headers).map { _ in
            let near = g.pick(rules)
            var m = g.header(near: near)
            // Land on a set's elements (and their edges) often, not only by chance.
            if let t = near.sets.first, g.chance(70) {
                let s = sets.first { $0.set === t.set }!
                if !s.prefixes.isEmpty {
                    m.ipVersion = s.set.type == .ipv6 ? 6 : 4
                    let a = g.address(inside: s.prefixes, v6: m.isV6)
                    if t.field == .source { m.src = a } else { m.dst = a }
                } else if !s.ports.isEmpty {
                    m.dport = g.port(inside: s.ports)
                    m.sport = g.port(inside: s.ports)
                } else {
                    m.proto = g.pick(s.protocols)
                }
            }
            return m
        }
        var got = [Int32](repeating: -2, count: headers)
        metas.withUnsafeMutableBufferPointer { m in
            got.withUnsafeMutableBufferPointer {
                compiled.classifyBurst(m.baseAddress!, count: headers, results: $0.baseAddress!)
            }
        }
        for i in 0..<headers {
            let want = oracle(rules, sets, metas[i])
            let ref = withUnsafePointer(to: &metas[i]) { reference.classify($0) }
            if got[i] != want || ref != want {
                return "seed \(seed): header \(i): compiled \(got[i]), reference \(ref), oracle \(want)\n\(metas[i])"
            }
        }
        return nil
    }

    func testClassifiersWithSetsAgreeWithOracle() {
        for seed in UInt64(1)...120 {
            if let d = compare(seed: seed, maxRules: 20, headers: 150) {
                XCTFail(d)
                return
            }
        }
    }

    /// The property test covers both ways the compiled classifier takes a set: cut into its
    /// fields (small positive sets) and checked per candidate (the rest).
    func testRandomRulesFoldSomeSetsAndCheckOthers() {
        var folded = 0, checked = 0
        for seed in UInt64(1)...120 {
            var g = RandomPolicy(seed: seed)
            let sets = SetType.allCases.flatMap { t in (0..<2).map { g.randomSet(t, name: "\(t)-\($0)") } }
            for r in (0..<g.int(1...20)).map({ _ in g.ruleWithSets(sets) }) {
                for s in r.sets { if s.folds(into: r) { folded += 1 } else { checked += 1 } }
            }
        }
        XCTAssertGreaterThan(folded, 100)
        XCTAssertGreaterThan(checked, 100)
    }

    func testMatchesAreNotAllTheSame() {
        // The property test would pass vacuously if no header ever matched a set rule.
        var g = RandomPolicy(seed: 7)
        let s = g.randomSet(.ipv4, name: "s")
        var r = RuleMatch()
        r.ipVersion = 4
        r.sets = [SetMatch(.source, s.set)]
        var neg = r
        neg.sets = [SetMatch(.source, s.set, negated: true)]
        var inside = 0, outside = 0
        for _ in 0..<500 {
            var m = g.header(near: nil)
            m.ipVersion = 4
            m.src = g.address(inside: s.prefixes, v6: false)
            let a = r.matches(m), b = neg.matches(m)
            XCTAssertNotEqual(a, b)
            if a { inside += 1 } else { outside += 1 }
        }
        XCTAssertGreaterThan(inside, 50)
        XCTAssertGreaterThan(outside, 0)
    }

    func testTablesAgreeWithElementScan() {
        var g = RandomPolicy(seed: 99)
        for round in 0..<60 {
            for type in SetType.allCases {
                let s = g.randomSet(type, name: "t\(round)")
                for _ in 0..<300 {
                    let key: IPAddress
                    switch type {
                    case .ipv4:
                        key = g.chance(60) ? g.address(inside: s.prefixes, v6: false) : IPAddress(v4: g.v4Near())
                    case .ipv6: key = g.chance(60) ? g.address(inside: s.prefixes, v6: true) : g.v6Near()
                    case .port: key = IPAddress(hi: 0, lo: UInt64(g.port(inside: s.ports)))
                    case .proto: key = IPAddress(hi: 0, lo: UInt64(g.int(0...255)))
                    }
                    XCTAssertEqual(s.set.contains(key), s.naiveContains(key), "\(type) round \(round) key \(key)")
                }
                // The ranges read back from the table are what the elements cover.
                for r in s.set.ranges.prefix(20) {
                    for v in [r.lowerBound, r.upperBound] {
                        let k = IPAddress(hi: UInt64(truncatingIfNeeded: v >> 64), lo: UInt64(truncatingIfNeeded: v))
                        XCTAssertTrue(s.naiveContains(k), "\(type) round \(round) range \(r)")
                    }
                }
            }
        }
    }

    func testEdges() {
        let all = NamedSet(name: "all", prefixes: [IPPrefix.parse("0.0.0.0/0")!], v6: false)
        XCTAssertTrue(all.contains(IPAddress(v4: 0)))
        XCTAssertTrue(all.contains(IPAddress(v4: .max)))
        XCTAssertEqual(all.ranges, [0...UInt128(UInt32.max)])
        let top = NamedSet(name: "top", prefixes: [IPPrefix.parse("255.255.255.255")!], v6: false)
        XCTAssertTrue(top.contains(IPAddress(v4: .max)))
        XCTAssertFalse(top.contains(IPAddress(v4: .max - 1)))
        let v6all = NamedSet(name: "v6", prefixes: [IPPrefix.parse("::/0")!], v6: true)
        XCTAssertTrue(v6all.contains(IPAddress(hi: .max, lo: .max)))
        let ports = NamedSet(name: "p", ports: [PortRange(0, 65535)])
        XCTAssertTrue(ports.contains(IPAddress(hi: 0, lo: 65535)))
        XCTAssertFalse(ports.contains(IPAddress(hi: 0, lo: 65536)))
        let some = NamedSet(name: "q", ports: [PortRange(60, 70), PortRange(71, 128)])
        XCTAssertEqual(some.ranges, [60...128])
        XCTAssertFalse(some.contains(IPAddress(hi: 0, lo: 59)))
        XCTAssertTrue(some.contains(IPAddress(hi: 0, lo: 64)))
    }
}
