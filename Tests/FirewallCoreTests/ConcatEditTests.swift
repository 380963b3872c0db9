import Workloads
import XCTest

@testable import FirewallCore

/// Runtime changes of a concatenated set (`vfwall set add|del|flush` on `ipv4 . port`) against a
/// plain Swift `Set` of every (address, port) pair it should hold, over a key space small enough
/// to check every pair.
final class ConcatEditTests: XCTestCase {
    static let addresses: UInt32 = 64  // 10.0.0.0/26
    static let ports: UInt16 = 48

    func element(_ rng: inout SplitMix64) -> (text: String, pairs: [UInt32: ClosedRange<UInt16>]) {
        let length = 26 + Int(rng.next() % 7)
        let host = (UInt32(1) << UInt32(32 - length)) - 1
        let lo = (0x0A00_0000 + UInt32(rng.next() % UInt64(Self.addresses))) & ~host
        let portLo = UInt16(rng.next() % UInt64(Self.ports))
        let portHi = rng.next() % 3 == 0 ? portLo : min(Self.ports - 1, portLo + UInt16(rng.next() % 12))
        let address = "10.0.0.\(lo & 255)" + (length == 32 && rng.next() % 2 == 0 ? "" : "/\(length)")
        let ports = portLo == portHi ? "\(portLo)" : "\(portLo)-\(portHi)"
        var pairs: [UInt32: ClosedRange<UInt16>] = [:]
        for a in lo...(lo | host) { pairs[a] = portLo...portHi }
        return ("\(address) . \(ports)", pairs)
    }

    func meta(_ address: UInt32, _ port: UInt16) -> PacketMeta {
        var m = PacketMeta()
        m.ipVersion = 4
        m.dst = IPAddress(v4: address)
        m.dport = port
        m.proto = 6
        m.hasL4 = true
        m.hasPorts = true
        return m
    }

    func testAddDeleteFlushAgreeWithAPlainSetOverEveryPair() throws {
        var rng = SplitMix64(seed: 0xC0_4CA7)
        let components: [SetType] = [.ipv4, .port]
        var set = NamedSet(name: "s", components: components, tuples: [])
        var model = Set<UInt64>()
        var checkedIn = 0, checkedOut = 0
        for round in 0..<80 {
            var parsed = SetElements(components: components)
            var keys: [UInt64] = []
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let (text, pairs) = element(&rng)
                XCTAssertNil(parsed.add(Substring(text)), text)
                for (a, ports) in pairs { keys += ports.map { UInt64(a) << 16 | UInt64($0) } }
            }
            switch rng.next() % 8 {
            case 0:
                set = try set.applying(.flush)
                model = []
            case 1, 2, 3:
                set = try set.applying(.delete(parsed))
                model.subtract(keys)
            default:
                set = try set.applying(.add(parsed))
                model.formUnion(keys)
            }
            let test = ConcatMatch([.destination, .destinationPort], set)
            for a in 0x0A00_0000..<(0x0A00_0000 + Self.addresses) {
                for p in 0..<Self.ports {
                    let want = model.contains(UInt64(a) << 16 | UInt64(p))
                    if want { checkedIn += 1 } else { checkedOut += 1 }
                    guard test.matches(meta(a, p)) == want else {
                        return XCTFail("round \(round): pair \(a) . \(p): set says \(!want), model \(want)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(checkedIn, 10_000)
        XCTAssertGreaterThan(checkedOut, 10_000)
    }

    func testDuplicatesAreStoredOnce() {
        var parsed = SetElements(components: [.ipv4, .port])
        for text in ["10.0.0.1 . 80", "10.0.0.1 . 80", "10.0.0.0/24 . 1-9", "10.0.0.0/24 . 1-9", "10.0.0.1 . 81"] {
            XCTAssertNil(parsed.add(Substring(text)), text)
        }
        let set = parsed.build("d")
        XCTAssertEqual(set.elementCount, 5, "as given")
        XCTAssertEqual(set.rangeCount, 3, "distinct")
        XCTAssertEqual(set.tuples.count, 6)
        let test = ConcatMatch([.destination, .destinationPort], set)
        XCTAssertEqual([80, 81, 82, 5].map { test.matches(meta(0x0A00_0001, $0)) }, [true, true, false, true])
    }

    func testElementsOfOtherComponentsAreRefused() {
        let set = NamedSet(name: "s", components: [.ipv4, .port], tuples: [])
        var parsed = SetElements(components: [.ipv4, .proto])
        XCTAssertNil(parsed.add("10.0.0.1 . tcp"))
        XCTAssertThrowsError(try set.applying(.add(parsed))) { e in
            XCTAssertEqual("\(e)", "set 's' holds ipv4 . port elements, not ipv4 . proto")
        }
    }

    /// A policy whose set changed refers to the new set in every rule that tests it.
    func testReplacingASetReachesConcatenationTests() throws {
        let old = NamedSet(name: "s", components: [.ipv4, .port], tuples: [])
        var m = RuleMatch()
        m.concats = [ConcatMatch([.destination, .destinationPort], old)]
        var policy = Policy(portNames: ["in", "out"], rules: [Rule(name: "r", action: .accept, match: m)])
        policy.sets = [old]
        var parsed = SetElements(components: [.ipv4, .port])
        XCTAssertNil(parsed.add("10.0.0.1 . 443"))
        let new = try old.applying(.add(parsed))
        let p = policy.replacing(set: new)
        XCTAssertTrue(p.rules[0].match.concats[0].set === new)
        XCTAssertTrue(p.rules[0].match.matches(meta(0x0A00_0001, 443)))
        XCTAssertFalse(policy.rules[0].match.matches(meta(0x0A00_0001, 443)))
    }

    /// `keep-runtime` with a union over the size bound: the reload keeps the file's elements and
    /// says so, where before it kept them silently.
    func testKeepingRuntimeElementsOverTheBoundIsNoted() {
        // Nested first ranges, [i, max - i]: n of them list about n^2 interval entries, so each
        // half of 6,000 (9 million) fits the bound (2^25) and the two together (36 million) do not.
        func nested(_ indexes: StrideTo<UInt128>) -> [ClosedRange<UInt128>] {
            indexes.flatMap { i in [i...(0xFFFF_FFFF - i), 80...80] }
        }
        let file = NamedSet(
            name: "s", components: [.ipv4, .port], tuples: nested(stride(from: 0, to: 6000, by: 2)),
            keepsRuntimeChanges: true)
        let running = NamedSet(name: "s", components: [.ipv4, .port], tuples: nested(stride(from: 1, to: 6000, by: 2)))
        var p = Policy(portNames: ["in", "out"], rules: [])
        p.sets = [file]
        var old = p
        old.sets = [running]
        let (reloaded, notes) = p.keepingRuntimeSets(of: old)
        XCTAssertEqual(reloaded.sets[0].tuples.count, file.tuples.count, "the file's elements only")
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.contains("set 's'") ?? false, "\(notes)")
        XCTAssertTrue(notes.first?.contains("the file's elements only") ?? false, "\(notes)")
        // Under the bound, the union is kept and nothing is noted.
        old.sets = [NamedSet(name: "s", components: [.ipv4, .port], tuples: nested(stride(from: 1, to: 60, by: 2)))]
        let (merged, none) = p.keepingRuntimeSets(of: old)
        XCTAssertEqual(merged.sets[0].tuples.count, file.tuples.count + 60)
        XCTAssertEqual(none, [])
    }
}
