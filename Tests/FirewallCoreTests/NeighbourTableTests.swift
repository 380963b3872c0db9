import FirewallCore
import Workloads
import XCTest

/// RFC 4861's neighbour states with Linux's default timers, on the test's clock.
final class NeighbourTableTests: XCTestCase {
    static let s: UInt64 = 1_000_000_000
    let gateway = IPAddress(v4: 0x0A00_0001)

    func testAnUnansweredNeighbourIsAskedThreeTimesASecondApartThenFailsForAWhile() {
        let t = NeighbourTable(maxEntries: 8)
        func ask(_ at: UInt64) -> NeighbourAnswer { t.resolve(port: 1, address: gateway, v6: false, now: at) }
        XCTAssertEqual(ask(0), NeighbourAnswer(mac: 0, request: .broadcast, failed: false))
        XCTAssertEqual(ask(Self.s / 2), NeighbourAnswer(mac: 0, request: .none, failed: false), "wait: queue")
        XCTAssertEqual(ask(1 * Self.s).request, .broadcast)
        XCTAssertEqual(ask(2 * Self.s).request, .broadcast)
        XCTAssertEqual(ask(3 * Self.s), NeighbourAnswer(mac: 0, request: .none, failed: true), "three asked: failed")
        XCTAssertEqual(t.entry(port: 1, address: gateway, v6: false)?.state, .failed)
        XCTAssertTrue(ask(5 * Self.s).failed, "held failed for 3 s: host unreachable at once")
        XCTAssertEqual(ask(6 * Self.s).request, .broadcast, "then tried again")
    }

    func testAConfirmedNeighbourIsReachableThenDelayedProbedAndFailsWithoutAnAnswer() {
        let t = NeighbourTable(maxEntries: 8)
        let mac: UInt64 = 0x0200_0000_0042
        _ = t.resolve(port: 0, address: gateway, v6: false, now: 0)
        XCTAssertTrue(t.confirm(port: 0, address: gateway, v6: false, mac: mac, now: Self.s))
        XCTAssertFalse(t.confirm(port: 0, address: IPAddress(v4: 9), v6: false, mac: mac, now: Self.s), "unasked")
        // Reachable: the answer holds until 30 s after the confirmation, so a caller may keep it.
        XCTAssertEqual(
            t.resolve(port: 0, address: gateway, v6: false, now: 20 * Self.s),
            NeighbourAnswer(mac: mac, request: .none, failed: false, holdsUntil: 31 * Self.s))
        XCTAssertEqual(t.entry(port: 0, address: gateway, v6: false)?.state, .reachable)
        // 30 s after the confirmation: used once more, it goes to DELAY, still forwarding.
        XCTAssertEqual(
            t.resolve(port: 0, address: gateway, v6: false, now: 31 * Self.s),
            NeighbourAnswer(mac: mac, request: .none, failed: false))
        XCTAssertEqual(t.entry(port: 0, address: gateway, v6: false)?.state, .delay)
        XCTAssertEqual(t.resolve(port: 0, address: gateway, v6: false, now: 36 * Self.s).request, .unicast)
        XCTAssertEqual(t.entry(port: 0, address: gateway, v6: false)?.state, .probe)
        XCTAssertEqual(t.resolve(port: 0, address: gateway, v6: false, now: 37 * Self.s).request, .unicast)
        XCTAssertEqual(t.resolve(port: 0, address: gateway, v6: false, now: 38 * Self.s).request, .unicast)
        XCTAssertTrue(t.resolve(port: 0, address: gateway, v6: false, now: 39 * Self.s).failed)
        // An answer to a probe makes it reachable again.
        let other = IPAddress(v4: 0x0A00_0002)
        _ = t.resolve(port: 0, address: other, v6: false, now: 0)
        t.confirm(port: 0, address: other, v6: false, mac: mac, now: 0)
        _ = t.resolve(port: 0, address: other, v6: false, now: 31 * Self.s)
        XCTAssertEqual(t.resolve(port: 0, address: other, v6: false, now: 36 * Self.s).request, .unicast)
        t.confirm(port: 0, address: other, v6: false, mac: mac, now: 36 * Self.s)
        XCTAssertEqual(t.resolve(port: 0, address: other, v6: false, now: 37 * Self.s).request, .none)
        XCTAssertEqual(t.entry(port: 0, address: other, v6: false)?.state, .reachable)
    }

    func testALearnedNeighbourIsStaleAndForgottenOnceUnusedForSixtySeconds() {
        let t = NeighbourTable(maxEntries: 8)
        let sink = IPAddress(hi: 0xFD00_0000_0000_0000, lo: 2)
        t.learn(port: 1, address: sink, v6: true, mac: 0x0200_0000_0002, now: 0)
        XCTAssertEqual(t.entry(port: 1, address: sink, v6: true)?.state, .stale)
        XCTAssertNil(t.entry(port: 1, address: sink, v6: false), "families apart")
        XCTAssertNil(t.entry(port: 0, address: sink, v6: true), "ports apart")
        XCTAssertEqual(t.expire(now: 59 * Self.s), 0)
        XCTAssertEqual(t.expire(now: 60 * Self.s), 1)
        XCTAssertNil(t.entry(port: 1, address: sink, v6: true))
        XCTAssertEqual(t.count, 0)
    }

    func testAFullTableEvictsTheStaleEntryUsedLongestAgoAndOtherwiseRefuses() {
        let t = NeighbourTable(maxEntries: 4)
        for k in 0..<4 { t.learn(port: 0, address: IPAddress(v4: UInt32(k)), v6: false, mac: 1, now: UInt64(k)) }
        XCTAssertEqual(t.count, 4)
        XCTAssertEqual(t.resolve(port: 0, address: IPAddress(v4: 100), v6: false, now: 10).request, .broadcast)
        XCTAssertNil(t.entry(port: 0, address: IPAddress(v4: 0), v6: false), "the oldest stale one made room")
        XCTAssertEqual(t.count, 4)
        let busy = NeighbourTable(maxEntries: 2)
        _ = busy.resolve(port: 0, address: IPAddress(v4: 1), v6: false, now: 0)
        _ = busy.resolve(port: 0, address: IPAddress(v4: 2), v6: false, now: 0)
        XCTAssertTrue(busy.resolve(port: 0, address: IPAddress(v4: 3), v6: false, now: 0).failed, "nothing to evict")
    }

    func testLearningAndForgettingAgreeWithADictionaryModel() {
        var rng = SplitMix64(seed: 0x4861)
        let t = NeighbourTable(maxEntries: 512)
        var model: [UInt32: UInt64] = [:]  // address -> last learned time
        var now: UInt64 = 0
        for step in 0..<20000 {
            now += UInt64.random(in: 0...(Self.s / 50), using: &rng)
            let address = UInt32.random(in: 0..<400, using: &rng)
            if model[address] == nil {
                t.learn(port: 0, address: IPAddress(v4: address), v6: false, mac: UInt64(address), now: now)
                model[address] = now
            }
            if step % 97 == 0 {
                t.expire(now: now)
                model = model.filter { now - $0.value < 60 * Self.s }
            }
            XCTAssertEqual(t.count, model.count)
            let probe = UInt32.random(in: 0..<400, using: &rng)
            XCTAssertEqual(
                t.entry(port: 0, address: IPAddress(v4: probe), v6: false)?.mac, model[probe].map { _ in UInt64(probe) }
            )
        }
    }
}

extension NeighbourTableTests {
    func testAPermanentNeighbourIsUsedAsGivenAndNeverReplacedOrForgotten() {
        let t = NeighbourTable(maxEntries: 8)
        XCTAssertTrue(t.setPermanent(port: 1, address: gateway, v6: false, mac: 0x0200_0000_0099, now: 0))
        XCTAssertEqual(
            t.resolve(port: 1, address: gateway, v6: false, now: 1000 * Self.s),
            NeighbourAnswer(mac: 0x0200_0000_0099, request: .none, failed: false, holdsUntil: .max))
        t.learn(port: 1, address: gateway, v6: false, mac: 0x0200_0000_0001, now: 1)
        XCTAssertFalse(t.confirm(port: 1, address: gateway, v6: false, mac: 0x0200_0000_0002, now: 2))
        XCTAssertEqual(t.expire(now: 10_000 * Self.s), 0)
        XCTAssertEqual(t.entry(port: 1, address: gateway, v6: false)?.mac, 0x0200_0000_0099)
        XCTAssertEqual(t.entry(port: 1, address: gateway, v6: false)?.state, .permanent)
    }
}
