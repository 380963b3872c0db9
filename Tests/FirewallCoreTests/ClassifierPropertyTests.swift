import XCTest
@testable import FirewallCore
import Workloads

/// Random rule sets and headers built from a few shared values, so prefixes nest and overlap,
/// ranges share edges, and rules differ in one field only.
struct RandomPolicy {
    var rng: SplitMix64
    let v4Bases: [UInt32]
    let v6Bases: [IPAddress]
    static let ports: [UInt16] = [0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 8080, 65534, 65535]
    static let protos: [UInt8] = [1, 6, 17, 58, 132, 0, 255]

    init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
        var r = rng
        v4Bases = (0..<6).map { _ in UInt32(truncatingIfNeeded: r.next()) } + [0, 0xFFFF_FFFF, 0x0A00_0000]
        v6Bases = (0..<4).map { _ in IPAddress(hi: r.next(), lo: r.next()) } + [.zero, IPAddress(hi: .max, lo: .max)]
        rng = r
    }

    mutating func chance(_ percent: Int) -> Bool { Int(rng.next() % 100) < percent }
    mutating func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }

    /// An address near one of the bases: same high bits, random low bits.
    mutating func v4Near() -> UInt32 {
        let keep = int(0...32)
        let base = pick(v4Bases)
        let mask: UInt32 = keep == 0 ? 0 : ~0 << UInt32(32 - keep)
        return (base & mask) | (UInt32(truncatingIfNeeded: rng.next()) & ~mask)
    }

    mutating func v6Near() -> IPAddress {
        let base = pick(v6Bases)
        let keep = int(0...128)
        let p = IPPrefix(address: base, length: UInt8(keep), isV6: true)
        let noise = IPAddress(hi: rng.next(), lo: rng.next())
        let hostHi: UInt64 = keep >= 64 ? 0 : (keep == 0 ? ~0 : ~0 >> UInt64(keep))
        let hostLo: UInt64 = keep >= 128 ? 0 : (keep <= 64 ? ~0 : ~0 >> UInt64(keep - 64))
        return IPAddress(hi: p.address.hi | (noise.hi & hostHi), lo: p.address.lo | (noise.lo & hostLo))
    }

    mutating func prefix(v6: Bool) -> IPPrefix {
        if v6 {
            let len = pick([0, 1, 16, 32, 48, 63, 64, 65, 96, 127, 128, int(0...128)])
            return IPPrefix(address: v6Near(), length: UInt8(len), isV6: true)
        }
        let len = pick([0, 1, 8, 16, 23, 24, 25, 31, 32, int(0...32), int(0...32)])
        return IPPrefix(address: IPAddress(v4: v4Near()), length: UInt8(len), isV6: false)
    }

    mutating func portRange() -> PortRange {
        let a = chance(70) ? pick(RandomPolicy.ports) : UInt16(truncatingIfNeeded: rng.next())
        switch int(0...3) {
        case 0: return PortRange(a)
        case 1: return PortRange(a, max(a, pick(RandomPolicy.ports)))
        case 2: return PortRange(min(a, 1024), max(a, 1024))
        default: return PortRange(0, a)
        }
    }

    mutating func prefixList() -> [IPPrefix] {
        if chance(35) { return [] }
        let family = int(0...9)  // mostly IPv4, some IPv6, some mixed lists
        return (0..<int(1...3)).map { _ in prefix(v6: family >= 8 ? true : (family == 7 ? chance(50) : false)) }
    }

    mutating func rule() -> RuleMatch {
        var m = RuleMatch()
        if chance(10) { m.ingress = (0..<int(1...2)).map { _ in pick([0, 1, 2, 3, 255, 300]) } }
        if chance(10) {
            m.vlans = (0..<int(1...2)).map { _ in
                chance(40) ? PortRange(PacketMeta.untagged) : PortRange(UInt16(int(0...10)), UInt16(int(5...4095)))
            }
        }
        if chance(15) { m.ipVersion = pick([4, 6, 4, 5]) }
        m.sources = prefixList()
        m.destinations = prefixList()
        if chance(60) { m.protocols = (0..<int(1...3)).map { _ in pick(RandomPolicy.protos) } }
        if chance(50) { m.sourcePorts = (0..<int(1...2)).map { _ in portRange() } }
        if chance(60) { m.destinationPorts = (0..<int(1...3)).map { _ in portRange() } }
        if chance(8) { m.icmpType = UInt8(pick([0, 3, 8, 11])) }
        if chance(5) { m.icmpCode = UInt8(int(0...3)) }
        if chance(8) {
            let mask = UInt8(truncatingIfNeeded: pick([0x02, 0x12, 0x17, int(0...255)]))
            m.tcpFlags = TCPFlagsMatch(
                mask: mask, value: mask & UInt8(truncatingIfNeeded: pick([0x02, 0x10, int(0...255)])))
        }
        if chance(10) { m.states = UInt8(int(1...15)) }
        return m
    }

    /// A header that often lands inside `near`'s fields (then some fields are changed).
    mutating func header(near: RuleMatch?) -> PacketMeta {
        var m = PacketMeta()
        m.ipVersion = pick([4, 4, 4, 6, 6, 0])
        if let r = near, chance(70) {
            if let v = r.ipVersion, v == 4 || v == 6, chance(80) { m.ipVersion = v }
            let v6 = m.ipVersion == 6
            m.src = address(inside: r.sources.filter { $0.isV6 == v6 }, v6: v6)
            m.dst = address(inside: r.destinations.filter { $0.isV6 == v6 }, v6: v6)
            m.proto = r.protocols.isEmpty ? pick(RandomPolicy.protos) : pick(r.protocols)
            m.sport = port(inside: r.sourcePorts)
            m.dport = port(inside: r.destinationPorts)
        } else {
            m.src = m.ipVersion == 6 ? v6Near() : IPAddress(v4: v4Near())
            m.dst = m.ipVersion == 6 ? v6Near() : IPAddress(v4: v4Near())
            m.proto = pick(RandomPolicy.protos)
            m.sport = chance(50) ? pick(RandomPolicy.ports) : UInt16(truncatingIfNeeded: rng.next())
            m.dport = chance(50) ? pick(RandomPolicy.ports) : UInt16(truncatingIfNeeded: rng.next())
        }
        // IPv4 keeps its address in the low 32 bits; junk above must not matter.
        if m.ipVersion != 6 && chance(5) {
            m.src.hi = rng.next()
            m.dst.lo |= rng.next() << 32
        }
        m.hasL4 = chance(90)
        m.hasPorts = m.hasL4 && chance(85)
        m.hasICMP = m.hasL4 && !m.hasPorts && chance(70)
        m.icmpType = UInt8(pick([0, 3, 8, 11, int(0...255)]))
        m.icmpCode = UInt8(int(0...3))
        m.tcpFlags = UInt8(truncatingIfNeeded: pick([0x02, 0x12, 0x10, 0x11, int(0...255)]))
        m.outerVlan = chance(50) ? PacketMeta.untagged : UInt16(int(0...20))
        m.ingress = UInt8(int(0...3))
        m.state = ConnState(rawValue: UInt8(int(0...3)))!
        return m
    }

    mutating func address(inside list: [IPPrefix], v6: Bool) -> IPAddress {
        if list.isEmpty || chance(15) { return v6 ? v6Near() : IPAddress(v4: v4Near()) }
        let p = pick(list)
        let r = KeyRange(p)
        if chance(30) { return chance(50) ? r.lo : r.hi }  // the edges
        let noise = IPAddress(hi: rng.next(), lo: v6 ? rng.next() : UInt64(UInt32(truncatingIfNeeded: rng.next())))
        return IPAddress(hi: r.lo.hi | (noise.hi & (r.hi.hi ^ r.lo.hi)), lo: r.lo.lo | (noise.lo & (r.hi.lo ^ r.lo.lo)))
    }

    mutating func port(inside list: [PortRange]) -> UInt16 {
        if list.isEmpty || chance(15) { return pick(RandomPolicy.ports) }
        let r = pick(list)
        switch int(0...3) {
        case 0: return r.lo
        case 1: return r.hi
        case 2: return r.lo > 0 ? r.lo - 1 : r.hi &+ 1
        default: return r.lo + UInt16(truncatingIfNeeded: rng.next() % (UInt64(r.hi - r.lo) + 1))
        }
    }
}

final class ClassifierPropertyTests: XCTestCase {
    /// Seeds that once found a difference; they stay as regression tests.
    static let regressionSeeds: [UInt64] = []

    /// Builds a random policy from `seed` and compares compiled with reference on random headers.
    /// Returns a description of the first difference, or nil.
    func compare(seed: UInt64, maxRules: Int, headers: Int) -> String? {
        var g = RandomPolicy(seed: seed)
        let n = g.int(0...maxRules)
        let rules = (0..<n).map { _ in g.rule() }
        // Odd seeds keep the destination port unfolded, so both index layouts are exercised.
        let compiled = BitVectorClassifier(matches: rules, foldBudget: seed % 2 == 1 ? 0 : 1 << 25)
        let reference = ReferenceClassifier(matches: rules)
        var metas = (0..<headers).map { _ in g.header(near: rules.isEmpty ? nil : g.pick(rules)) }
        var got = [Int32](repeating: -2, count: headers)
        metas.withUnsafeMutableBufferPointer { m in
            got.withUnsafeMutableBufferPointer {
                compiled.classifyBurst(m.baseAddress!, count: headers, results: $0.baseAddress!)
            }
        }
        for i in 0..<headers {
            let want = withUnsafePointer(to: &metas[i]) { reference.classify($0) }
            let one = withUnsafePointer(to: &metas[i]) { compiled.classify($0) }
            if got[i] != want || one != want {
                return "seed \(seed): \(n) rules, header \(i): burst \(got[i]), single \(one), reference \(want)\n"
                    + "header: \(metas[i])\nreference rule: \(want >= 0 ? "\(rules[Int(want)])" : "none")"
            }
        }
        return nil
    }

    func testSmallRuleSets() {
        for seed in UInt64(1)...300 {
            if let d = compare(seed: seed, maxRules: 20, headers: 200) {
                XCTFail(d)
                return
            }
        }
    }

    func testMediumRuleSets() {
        for seed in UInt64(1001)...1040 {
            if let d = compare(seed: seed, maxRules: 300, headers: 500) {
                XCTFail(d)
                return
            }
        }
    }

    /// More than one summary word (rules > 4096), so the two-level scan crosses summaries.
    func testLargeRuleSet() {
        var g = RandomPolicy(seed: 4242)
        var rules = (0..<4500).map { _ in g.rule() }
        rules = rules.map { r in
            var r = r
            if r.sources.isEmpty && r.destinations.isEmpty { r.sources = [g.prefix(v6: false)] }
            return r
        }
        // Unfolded: folding thousands of random port ranges is slow in debug builds.
        let compiled = BitVectorClassifier(matches: rules, foldBudget: 0)
        XCTAssertFalse(compiled.foldsDestinationPort)
        let reference = ReferenceClassifier(matches: rules)
        for i in 0..<400 {
            var m = g.header(near: i % 4 == 0 ? rules[4100 + i] : g.pick(rules))
            let got = compiled.classify(&m), want = reference.classify(&m)
            if got != want {
                XCTFail("large set header \(i): compiled \(got), reference \(want)")
                return
            }
        }
    }

    func testRegressionSeeds() {
        for seed in Self.regressionSeeds {
            if let d = compare(seed: seed, maxRules: 300, headers: 500) { XCTFail(d) }
        }
    }

    func testEmptyPolicyMatchesNothing() {
        let c = BitVectorClassifier(matches: [])
        var m = ClassBench.header(src: 1, dst: 2, sport: 3, dport: 4, proto: 6)
        XCTAssertEqual(c.classify(&m), -1)
    }

    func testNonIPPacketFollowsReference() {
        // An IPv4 0.0.0.0/0 rule matches a non-IP packet (its addresses read as IPv4 zero).
        var any4 = RuleMatch()
        any4.sources = [IPPrefix.parse("0.0.0.0/0")!]
        var v4only = RuleMatch()
        v4only.ipVersion = 4
        let rules = [v4only, any4]
        var m = PacketMeta()
        XCTAssertEqual(
            BitVectorClassifier(matches: rules).classify(&m), ReferenceClassifier(matches: rules).classify(&m))
        XCTAssertEqual(BitVectorClassifier(matches: rules).classify(&m), 1)
    }
}
