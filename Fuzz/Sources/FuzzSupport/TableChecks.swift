import FirewallCore

/// Structural invariants of an open-addressing flow table, checked after each step of a fuzz run:
/// the count matches the occupied slots, stays within the bound, and every stored flow is found
/// again from its own key (a broken backward-shift deletion would hide flows behind a hole).
public func checkTable(_ t: FlowTable, _ name: String) {
    var occupied = 0
    for slot in 0..<t.capacity {
        let e = t[slot]
        guard e.flags & FlowEntry.occupied != 0 else { continue }
        occupied += 1
        let k = FlowKey(exactSource: e.a, destination: e.b, sport: e.portA, dport: e.portB, proto: e.proto, v6: e.isV6)
        check(k.hash == e.hash, "\(name): slot \(slot) holds a stale hash")
        check(t.find(k) == slot, "\(name): the flow in slot \(slot) is not found from its key")
    }
    check(occupied == t.count, "\(name): count \(t.count) but \(occupied) occupied slots")
    check(t.count <= t.maxFlows, "\(name): \(t.count) flows exceed the bound \(t.maxFlows)")
}
