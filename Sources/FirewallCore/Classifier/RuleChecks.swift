/// The match fields the bit-vector index does not cut on (ingress port, VLAN, ICMP type/code,
/// TCP flags, connection state, named sets), compiled flat and checked only on candidate rules
/// that use one.
/// The checks mirror `RuleMatch.matches` field for field.
struct RuleCheck {
    /// Offset of a 256-bit ingress bitmap in `RuleChecks.ingressPool`, or -1 for any port.
    var ingressAt: Int32 = -1
    /// VLAN ranges `vlanAt..<vlanAt + vlanCount` in `RuleChecks.vlanPool`; count 0 for any.
    var vlanAt: Int32 = 0
    var vlanCount: Int32 = 0
    /// -1 for any.
    var icmpType: Int16 = -1
    var icmpCode: Int16 = -1
    var hasTCPFlags = false
    var tcpMask: UInt8 = 0
    var tcpValue: UInt8 = 0
    /// `ConnState.bit` set; 0 for any.
    var states: UInt8 = 0
    /// Set tests `setAt..<setAt + setCount` in `RuleChecks.setPool`; count 0 for none.
    var setAt: Int32 = 0
    var setCount: Int32 = 0
}

struct RuleChecks {
    /// Bit r set when rule r has a field to check here.
    let needed: UnsafeMutablePointer<UInt64>
    /// Rules with a bit in `needed` before word w: where word w's first check is in `checks`.
    let neededBefore: UnsafeMutablePointer<Int32>
    /// The checks of the rules in `needed` only, in rule order (most rules of a large policy
    /// have none, and a chunk of 4,096 would otherwise carry 112 KiB of empty checks).
    let checks: UnsafeMutablePointer<RuleCheck>
    let ingressPool: UnsafeMutablePointer<UInt64>
    let vlanPool: UnsafeMutablePointer<PortRange>
    /// The tables of the sets the rules test (owned by their `NamedSet`s, which the classifier
    /// keeps alive), so a test reads flat memory and no reference.
    let setPool: UnsafeMutablePointer<SetTest>
    /// False when no rule needs a check, so lookups skip the test entirely.
    let any: Bool
    let bytes: Int

    /// `foldingSets`: leave out the small set tests the bit-vector index cuts into its fields
    /// (`SetMatch.folds`); a classifier that cuts none checks every set.
    init(_ rules: [RuleMatch], words: Int, foldingSets: Bool = true) {
        var needed = [UInt64](repeating: 0, count: words)
        var checks: [RuleCheck] = []
        var ingress: [UInt64] = []
        var vlans: [PortRange] = []
        var sets: [SetTest] = []
        for (r, m) in rules.enumerated() {
            var c = RuleCheck()
            if !m.ingress.isEmpty {
                c.ingressAt = Int32(ingress.count)
                var bits = [UInt64](repeating: 0, count: 4)
                for p in m.ingress where p >= 0 && p < 256 { bits[p >> 6] |= 1 << UInt64(p & 63) }
                ingress.append(contentsOf: bits)
            }
            if !m.vlans.isEmpty {
                c.vlanAt = Int32(vlans.count)
                c.vlanCount = Int32(m.vlans.count)
                vlans.append(contentsOf: m.vlans)
            }
            if let t = m.icmpType { c.icmpType = Int16(t) }
            if let t = m.icmpCode { c.icmpCode = Int16(t) }
            if let f = m.tcpFlags {
                c.hasTCPFlags = true
                c.tcpMask = f.mask
                c.tcpValue = f.value
            }
            c.states = m.states
            let unfolded =
                m.sets.filter { !foldingSets || !$0.folds(into: m) }.map(SetTest.init) + m.concats.map(SetTest.init)
            if !unfolded.isEmpty {
                c.setAt = Int32(sets.count)
                c.setCount = Int32(unfolded.count)
                sets.append(contentsOf: unfolded)
            }
            let uses =
                c.ingressAt >= 0 || c.vlanCount > 0 || c.icmpType >= 0 || c.icmpCode >= 0
                || c.hasTCPFlags || c.states != 0 || c.setCount > 0
            if uses {
                needed[r >> 6] |= 1 << UInt64(r & 63)
                checks.append(c)
            }
        }
        any = needed.contains { $0 != 0 }
        var before: [Int32] = []
        var running: Int32 = 0
        for w in needed {
            before.append(running)
            running += Int32(w.nonzeroBitCount)
        }
        self.needed = .copying(needed)
        neededBefore = .copying(before)
        self.checks = .copying(checks)
        ingressPool = .copying(ingress)
        vlanPool = .copying(vlans)
        setPool = .copying(sets)
        bytes =
            needed.count * 12 + checks.count * MemoryLayout<RuleCheck>.stride + ingress.count * 8
            + vlans.count * MemoryLayout<PortRange>.stride + sets.count * MemoryLayout<SetTest>.stride
    }

    /// Whether rule `r`, already matched on the indexed fields, also matches the rest.
    @inline(__always) func passes(_ r: Int, _ m: UnsafePointer<PacketMeta>) -> Bool {
        let word = needed[r >> 6], bit: UInt64 = 1 << UInt64(r & 63)
        if !any || word & bit == 0 { return true }
        return check(checks[Int(neededBefore[r >> 6]) &+ (word & (bit &- 1)).nonzeroBitCount], m)
    }

    func check(_ c: RuleCheck, _ m: UnsafePointer<PacketMeta>) -> Bool {
        if c.ingressAt >= 0 {
            let p = Int(m.pointee.ingress)
            if ingressPool[Int(c.ingressAt) + (p >> 6)] & (1 << UInt64(p & 63)) == 0 { return false }
        }
        if c.vlanCount > 0 {
            let v = m.pointee.outerVlan
            var hit = false
            for i in Int(c.vlanAt)..<Int(c.vlanAt + c.vlanCount) where vlanPool[i].contains(v) {
                hit = true
                break
            }
            if !hit { return false }
        }
        if c.icmpType >= 0 && !(m.pointee.hasICMP && Int16(m.pointee.icmpType) == c.icmpType) { return false }
        if c.icmpCode >= 0 && !(m.pointee.hasICMP && Int16(m.pointee.icmpCode) == c.icmpCode) { return false }
        if c.hasTCPFlags
            && !(m.pointee.proto == IPProto.tcp && m.pointee.hasL4 && m.pointee.tcpFlags & c.tcpMask == c.tcpValue)
        {
            return false
        }
        if c.states != 0 && c.states & m.pointee.state.bit == 0 { return false }
        for i in Int(c.setAt)..<Int(c.setAt + c.setCount) where !setPool[i].matches(m) { return false }
        return true
    }

    func deallocate() {
        needed.deallocate()
        neededBefore.deallocate()
        checks.deallocate()
        ingressPool.deallocate()
        vlanPool.deallocate()
        setPool.deallocate()
    }
}
