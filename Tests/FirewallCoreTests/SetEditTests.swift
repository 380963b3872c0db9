import Workloads
import XCTest

@testable import FirewallCore

/// Runtime set changes (`vfwall set add|del|flush`) against a reference model: a plain Swift
/// `Set` of every key the set should hold, checked over the whole key space the elements fall in.
final class SetEditTests: XCTestCase {
    /// A key space small enough to check every key, and random elements in it (with their text).
    struct Space {
        let type: SetType
        let base: UInt128
        let size: UInt128

        /// A random element as set-file text and the keys it covers.
        func element(_ rng: inout SplitMix64) -> (text: String, keys: ClosedRange<UInt128>) {
            func below(_ n: UInt64) -> UInt64 { rng.next() % n }
            switch type {
            case .ipv4:
                let length = 20 + Int(below(13))
                let host = (UInt128(1) << UInt128(32 - length)) - 1
                let lo = (base + UInt128(below(UInt64(size)))) & ~host
                let text = (0..<4).map { String((lo >> UInt128(24 - 8 * $0)) & 255) }.joined(separator: ".")
                return (length == 32 && below(2) == 0 ? text : "\(text)/\(length)", lo...(lo | host))
            case .ipv6:
                let length = 116 + Int(below(13))
                let host = (UInt128(1) << UInt128(128 - length)) - 1
                let lo = (base + UInt128(below(UInt64(size)))) & ~host
                return ("2001:db8::\(String(UInt16(lo & 0xFFFF), radix: 16))/\(length)", lo...(lo | host))
            case .port:
                let lo = below(UInt64(size)), hi = min(UInt64(size) - 1, lo + below(300))
                return (lo == hi ? "\(lo)" : "\(lo)-\(hi)", UInt128(lo)...UInt128(hi))
            case .proto:
                let p = below(256)
                let names = ["tcp": 6, "udp": 17, "gre": 47]
                if below(4) == 0, let (name, n) = names.randomElement(using: &rng) {
                    return (name, UInt128(n)...UInt128(n))
                }
                return ("\(p)", UInt128(p)...UInt128(p))
            }
        }

        func key(_ k: UInt128) -> IPAddress {
            IPAddress(hi: UInt64(truncatingIfNeeded: k >> 64), lo: UInt64(truncatingIfNeeded: k))
        }
    }

    static let spaces = [
        Space(type: .ipv4, base: 0x0A00_0000, size: 4096),  // 10.0.0.0/20
        Space(type: .ipv6, base: UInt128(0x2001_0db8) << 96, size: 65536),  // 2001:db8::/112
        Space(type: .port, base: 0, size: 65536),
        Space(type: .proto, base: 0, size: 256)
    ]

    func testAddDeleteFlushAgreeWithAPlainSetOverEveryKey() throws {
        for space in Self.spaces {
            var rng = SplitMix64(seed: 0x5E7_ED17 &+ UInt64(space.size))
            var set = NamedSet(name: "s", type: space.type, ranges: [])
            var model = Set<UInt128>()
            for round in 0..<60 {
                let verb = rng.next() % 10
                if verb == 0 {
                    set = try set.applying(.flush)
                    model.removeAll()
                } else {
                    var parsed = SetElements(space.type)
                    var text = "# round \(round)\n"
                    var covered: [ClosedRange<UInt128>] = []
                    for _ in 0..<(1 + Int(rng.next() % 6)) {
                        let e = space.element(&rng)
                        text += "  \(e.text)  # an element\n\n"
                        covered.append(e.keys)
                    }
                    let problem = Array(text.utf8).withUnsafeBufferPointer { parsed.addLines($0, set: "s") }
                    XCTAssertNil(problem, "\(space.type): \(text)")
                    let adding = verb <= 6
                    set = try set.applying(adding ? .add(parsed) : .delete(parsed))
                    for r in covered {
                        for k in r { if adding { model.insert(k) } else { model.remove(k) } }
                    }
                }
                var runs = 0
                for offset in 0..<space.size {
                    let k = space.base + offset
                    let expected = model.contains(k)
                    if expected && !model.contains(k &- 1) { runs += 1 }
                    guard set.contains(space.key(k)) == expected else {
                        return XCTFail("\(space.type) round \(round): key \(k) should be \(expected ? "in" : "out")")
                    }
                }
                XCTAssertFalse(set.contains(space.key(space.base &- 1)) && space.base > 0, "\(space.type)")
                XCTAssertEqual(set.rangeCount, runs, "\(space.type) round \(round): merged ranges")
                XCTAssertEqual(set.ranges.map { $0.count }.reduce(0, +), model.count, "\(space.type)")
            }
        }
    }

    func testAWrongTypeIsRefusedAndTheSetStaysAsItWas() throws {
        let set = NamedSet(name: "web", ports: [PortRange(80), PortRange(443)])
        var v4 = SetElements(.ipv4)
        XCTAssertNil(v4.add("192.0.2.1"))
        XCTAssertThrowsError(try set.applying(.add(v4))) { error in
            XCTAssertEqual("\(error)", "set 'web' holds port elements, not ipv4")
        }
        XCTAssertEqual(set.ranges, [80...80, 443...443])
        var ports = SetElements(.port)
        let text = Array("80\n# fine\n 8000-80\n".utf8)
        let problem = text.withUnsafeBufferPointer { ports.addLines($0, set: "web") }
        XCTAssertEqual(
            problem,
            SetElements.LineProblem(
                line: 3, column: 2, message: "set 'web': range '8000-80' is empty: its start is above its end"))
    }

    func testReplacingASetSharesTheOthersAndReachesEveryRuleThatTestsIt() throws {
        let blocked = NamedSet(name: "blocked", v4Ranges: [1...1])
        let web = NamedSet(name: "web", ports: [PortRange(80)])
        var a = RuleMatch(), b = RuleMatch()
        a.sets = [SetMatch(.source, blocked), SetMatch(.destinationPort, web)]
        b.sets = [SetMatch(.destination, blocked, negated: true)]
        var policy = Policy(
            portNames: ["inside", "outside"],
            rules: [Rule(name: "a", action: .drop, match: a), Rule(name: "b", action: .accept, match: b)])
        policy.sets = [blocked, web]
        var two = SetElements(.ipv4)
        XCTAssertNil(two.add("0.0.0.2"))
        let grown = try blocked.applying(.add(two))
        let next = policy.replacing(set: grown)
        XCTAssertTrue(next.sets[0] === grown && next.sets[1] === web)
        XCTAssertTrue(next.rules[0].match.sets[0].set === grown && next.rules[0].match.sets[1].set === web)
        XCTAssertTrue(next.rules[1].match.sets[0].set === grown && next.rules[1].match.sets[0].negated)
        XCTAssertTrue(policy.rules[0].match.sets[0].set === blocked, "the running policy is left as it was")
        XCTAssertEqual(grown.ranges, [1...2])
    }

    /// A reload keeps the running elements only of sets marked keep-runtime (the file's plus them).
    func testAReloadKeepsRuntimeElementsOnlyWhereTheSetSaysSo() throws {
        func policy(_ sets: [NamedSet]) -> Policy {
            var p = Policy(portNames: ["inside", "outside"], rules: [])
            p.sets = sets
            return p
        }
        let running = policy([
            NamedSet(name: "feed", v4Ranges: [1...1, 9...9]), NamedSet(name: "plain", v4Ranges: [1...1, 9...9])
        ])
        let file = policy([
            NamedSet(name: "feed", v4Ranges: [2...2], keepsRuntimeChanges: true),
            NamedSet(name: "plain", v4Ranges: [2...2])
        ])
        let (reloaded, notes) = file.keepingRuntimeSets(of: running)
        XCTAssertEqual(notes, [])
        XCTAssertEqual(reloaded.sets[0].ranges, [1...2, 9...9])
        XCTAssertTrue(reloaded.sets[0].keepsRuntimeChanges)
        XCTAssertEqual(reloaded.sets[1].ranges, [2...2], "the file wins")
    }
}
