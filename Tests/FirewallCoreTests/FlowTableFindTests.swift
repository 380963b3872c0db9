import Workloads
import XCTest
@testable import FirewallCore

/// The table's two lookups, the entry walk and the tag walk, which must agree on every key.
private func both(_ t: FlowTable, _ k: FlowKey) -> Int {
    let byEntries = t.find(k)
    let byTags = withUnsafePointer(to: k) { t.findByTags(at: $0) }
    XCTAssertEqual(byEntries, byTags, "the entry walk and the tag walk disagree")
    return byEntries
}

/// `FlowTable.find` compares entries as words; these pin down what the words must and must not
/// include: every key field counts, the flags and TCP state do not.
final class FlowTableFindTests: XCTestCase {
    private func key(
        _ src: UInt32, _ dst: UInt32, _ sport: UInt16, _ dport: UInt16, proto: UInt8 = IPProto.tcp, v6: Bool = false
    ) -> FlowKey {
        v6
            ? FlowKey(
                src: IPAddress(hi: 0x2001_0DB8_0000_0000, lo: UInt64(src)),
                dst: IPAddress(hi: 0x2001_0DB8_0000_0000, lo: UInt64(dst)),
                sport: sport, dport: dport, proto: proto, v6: true)
            : FlowKey(
                src: IPAddress(v4: src), dst: IPAddress(v4: dst), sport: sport, dport: dport, proto: proto, v6: false)
    }

    func testLayoutIsWhatFindAssumes() {
        XCTAssertTrue(FlowTable.layoutIsAsAssumed)
    }

    func testFlagsAndStateChangesDoNotHideAFlow() {
        let t = FlowTable(maxFlows: 16)
        let k = key(1, 2, 1000, 80)
        let slot = t.insert(k, flags: FlowEntry.originIsA, tcpState: .synSent, expires: 10, rule: 3)
        t[slot].flags |= FlowEntry.seenReply | FlowEntry.assured
        t[slot].tcpState = .timeWait
        t[slot].verdictTag = ~0
        t[slot].expires = .max
        XCTAssertEqual(both(t, k), slot)
        XCTAssertEqual(both(t, key(2, 1, 80, 1000)), slot, "the reverse direction normalises to the same key")
    }

    func testEveryKeyFieldTells() {
        let t = FlowTable(maxFlows: 64)
        let base = key(0x0A00_0001, 0x0A00_0002, 1000, 80)
        _ = t.insert(base, flags: 0, tcpState: .none, expires: 1, rule: 0)
        let others = [
            key(0x0A00_0003, 0x0A00_0002, 1000, 80), key(0x0A00_0001, 0x0A00_0004, 1000, 80),
            key(0x0A00_0001, 0x0A00_0002, 1001, 80), key(0x0A00_0001, 0x0A00_0002, 1000, 81),
            key(0x0A00_0001, 0x0A00_0002, 1000, 80, proto: IPProto.udp),
            key(0x0A00_0001, 0x0A00_0002, 1000, 80, v6: true)
        ]
        for (n, o) in others.enumerated() {
            XCTAssertEqual(both(t, o), -1, "key \(n) differs in one field and must not match")
            // Same home slot and same stored hash, different key: the full compare must tell.
            var forged = o
            forged.hash = base.hash
            XCTAssertEqual(both(t, forged), -1, "key \(n) with a colliding hash must not match")
        }
        XCTAssertGreaterThanOrEqual(both(t, base), 0)
    }

    func testLongProbeRunsAndRemovalKeepEveryFlowFindable() {
        let t = FlowTable(maxFlows: 4096)
        var keys: [FlowKey] = []
        for i in 0..<4096 {
            let k = key(
                0x0A00_0000 | UInt32(i >> 6), 0xC000_0200 | UInt32(i & 0xFF), UInt16(1024 + (i & 63)), 53,
                proto: IPProto.udp)
            _ = t.insert(k, flags: 0, tcpState: .none, expires: 1, rule: Int32(i))
            keys.append(k)
        }
        for i in stride(from: 0, to: 4096, by: 3) { t.remove(both(t, keys[i])) }
        for (i, k) in keys.enumerated() {
            let slot = both(t, k)
            if i % 3 == 0 { XCTAssertEqual(slot, -1) } else { XCTAssertEqual(slot >= 0 ? t[slot].rule : -1, Int32(i)) }
        }
    }
}

extension FlowTableFindTests {
    /// `find` trusts the tag array: after any mix of inserts, removals (with their backward
    /// shifts), sweeps and early drops, each slot's tag is its hash with the low bit set, or 0.
    func testTagsMirrorTheEntriesThroughEveryChange() {
        let t = FlowTable(maxFlows: 512)
        var rng = SplitMix64(seed: 0x7A65)
        var live: [FlowKey] = []
        for round in 0..<4000 {
            let r = rng.next()
            if live.count < t.maxFlows && (r % 3 != 0 || live.isEmpty) {
                let k = key(
                    UInt32(truncatingIfNeeded: rng.next() % 300), 7, UInt16(truncatingIfNeeded: rng.next() % 40), 53,
                    proto: IPProto.udp)
                if both(t, k) < 0 {
                    _ = t.insert(k, flags: 0, tcpState: .none, expires: rng.next() % 100, rule: 0)
                    live.append(k)
                }
            } else if r % 6 == 0 {
                _ = t.sweep(now: 50, budget: 64)
                live = live.filter { both(t, $0) >= 0 }
            } else if r % 7 == 0 {
                _ = t.evictEmbryonic(near: UInt32(truncatingIfNeeded: rng.next()), now: 50, scan: 8)
                live = live.filter { both(t, $0) >= 0 }
            } else {
                let k = live.remove(at: Int(rng.next() % UInt64(live.count)))
                t.remove(both(t, k))
            }
            if round % 500 == 499 || round == 3999 {
                for i in 0..<t.capacity {
                    let want: UInt32 = t.slots[i].isOccupied ? t.slots[i].hash | 1 : 0
                    XCTAssertEqual(t.tags[i], want, "slot \(i) after round \(round)")
                }
                XCTAssertEqual(live.count, t.count)
                for k in live { XCTAssertGreaterThanOrEqual(both(t, k), 0) }
            }
        }
    }
}

final class TCPStateMachineRowsTests: XCTestCase {
    /// `next` turns a row's code into a `TCPState` without checking: every code must be a state
    /// (0...9), ignore (0xE) or invalid (0xF).
    func testRowsHoldOnlyStates() {
        let segments: [TCPStateMachine.Segment] = [.syn, .synAck, .fin, .ack, .rst, .none]
        for origin in [true, false] {
            for seg in segments {
                let row = TCPStateMachine.row(seg, fromOriginator: origin)
                XCTAssertEqual(row >> 40, 0, "a row holds ten states")
                for state in 0..<10 {
                    let code = (row >> (UInt64(state) * 4)) & 0xF
                    XCTAssertTrue(
                        code < UInt64(TCPState.allCases.count) || code >= 0xE,
                        "row \(seg) origin \(origin) state \(state): code \(code)")
                }
            }
        }
    }

    /// Conntrack looks transitions up in the flattened table: it must give `next` for every
    /// state, flags byte and direction (and nothing but states, ignore or invalid).
    func testFlattenedTransitionsMatchTheRows() {
        let codes = TCPStateMachine.transitionCodes()
        for origin in [true, false] {
            for flags in 0...255 {
                for state in TCPState.allCases {
                    let code = codes[
                        TCPStateMachine.transitionIndex(state, flags: UInt8(flags), fromOriginator: origin)]
                    let want: UInt8
                    switch TCPStateMachine.next(
                        state, TCPStateMachine.segment(flags: UInt8(flags)), fromOriginator: origin)
                    {
                    case .invalid: want = TCPStateMachine.invalidCode
                    case .ignore: want = TCPStateMachine.ignoreCode
                    case .move(let s): want = s.rawValue
                    }
                    XCTAssertEqual(code, want, "state \(state) flags \(flags) origin \(origin)")
                }
            }
        }
        XCTAssertTrue(codes.allSatisfy { $0 < UInt8(TCPState.allCases.count) || $0 >= TCPStateMachine.ignoreCode })
    }
}
