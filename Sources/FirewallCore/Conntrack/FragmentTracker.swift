/// `fragments: track`: later fragments of a datagram follow the verdict of its first fragment.
///
/// Only the first fragment carries the transport header, so only it can be classified. Its verdict
/// is remembered under (source, destination, protocol, fragment ID) — exact, not normalised: a
/// fragment travelling the other way never inherits it — for `timeout` (Linux's ipfrag_time,
/// 30 s). A later fragment with no remembered first (sent first, or forged) is dropped under
/// `fragment`: nothing passes without a rule having seen its ports. The table is bounded; when
/// full, a new datagram evicts one near its slot.
public final class FragmentTracker {
    let table: FlowTable
    let timeout: UInt64
    public private(set) var remembered: UInt64 = 0
    public private(set) var followed: UInt64 = 0
    public private(set) var orphans: UInt64 = 0

    public init(maxDatagrams: Int, timeoutSeconds: UInt64) {
        table = FlowTable(maxFlows: maxDatagrams)
        timeout = timeoutSeconds * 1_000_000_000
    }

    public var count: Int { table.count }

    @inline(__always)
    static func key(_ m: PacketMeta) -> FlowKey {
        FlowKey(
            exactSource: m.src, destination: m.dst, sport: UInt16(truncatingIfNeeded: m.fragmentID >> 16),
            dport: UInt16(truncatingIfNeeded: m.fragmentID), proto: m.proto, v6: m.isV6)
    }

    /// Records the verdict of a first fragment.
    public func remember(_ m: PacketMeta, _ v: Verdict, now: UInt64) {
        let k = FragmentTracker.key(m)
        var slot = table.find(k)
        if slot < 0 {
            // Full: evict a neighbour (every entry here is "embryonic"). If none is near, the
            // datagram is not remembered and its later fragments drop: fail closed.
            if table.count >= table.maxFlows && !table.evictEmbryonic(near: k.hash, now: now, scan: 64) { return }
            slot = table.insert(k, flags: 0, tcpState: .none, expires: now &+ timeout, rule: v.rule)
            remembered &+= 1
        }
        table[slot].rule = v.rule
        table[slot].expires = now &+ timeout
        table[slot].verdictTag = UInt64(v.action.rawValue) | UInt64(v.state.rawValue) << 8
    }

    /// The verdict for a later fragment: its first fragment's, or a drop when there is none.
    public func follow(_ m: PacketMeta, now: UInt64) -> Verdict {
        let slot = table.find(FragmentTracker.key(m))
        guard slot >= 0, table[slot].expires > now else {
            if slot >= 0 { table.remove(slot) }
            orphans &+= 1
            return Verdict(action: .drop, reason: .fragment, state: .invalid, rule: Verdict.bySetting)
        }
        followed &+= 1
        let tag = table[slot].verdictTag
        let action = Action(rawValue: UInt8(truncatingIfNeeded: tag)) ?? .drop
        let state = ConnState(rawValue: UInt8(truncatingIfNeeded: tag >> 8)) ?? .invalid
        return Verdict(
            action: action == .reject ? .drop : action, reason: action == .accept ? .none : .fragment,
            state: state, rule: table[slot].rule)
    }

    /// Forgets every remembered verdict (on reload).
    public func forgetAll() { table.removeAll() }

    /// Expires a bounded number of slots (once per burst, like conntrack's sweep).
    public func sweep(now: UInt64, budget: Int) { _ = table.sweep(now: now, budget: budget) }
}
