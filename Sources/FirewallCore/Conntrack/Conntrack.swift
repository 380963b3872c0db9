/// Connection tracking for one worker: decides the `ConnState` of each packet from its flow, moves
/// the flow's state machine on, and creates flows for accepted new connections. Time comes only
/// from packet timestamps (nanoseconds), so a replay gives the same answers every time.
public final class Conntrack {
    public let settings: ConntrackSettings
    public let table: FlowTable
    @usableFromInline let ns: UInt64 = 1_000_000_000
    /// Timeouts in ns by `TCPState` raw value: a flat array the fast path indexes without checks.
    let tcpTimeouts: UnsafeMutablePointer<UInt64>
    /// Timeouts in ns of the other protocols, at `proto << 1 | replied`: one load, no switch.
    let otherTimeouts: UnsafeMutablePointer<UInt64>
    /// `TCPStateMachine.transitionCodes()`: a segment's transition in one load.
    let tcpTransitions: UnsafeMutablePointer<UInt8>

    /// Flows created, evicted by early drop, refused because the table was full, expired.
    public private(set) var created: UInt64 = 0
    public private(set) var earlyDropped: UInt64 = 0
    public private(set) var refused: UInt64 = 0
    public private(set) var expired: UInt64 = 0

    public init(settings: ConntrackSettings, memory: RegionAllocator = .heap) {
        self.settings = settings
        table = FlowTable(maxFlows: settings.maxFlows, memory: memory)
        let t = settings.timeouts
        tcpTimeouts = .allocate(capacity: TCPState.allCases.count)
        for st in TCPState.allCases { tcpTimeouts[Int(st.rawValue)] = t.tcp(st) * 1_000_000_000 }
        tcpTransitions = .copying(TCPStateMachine.transitionCodes())
        otherTimeouts = .allocate(capacity: 512)
        for proto in 0..<256 {
            for replied in [false, true] {
                let seconds: UInt64
                switch UInt8(proto) {
                case IPProto.udp: seconds = replied ? t.udpStream : t.udp
                case IPProto.icmp, IPProto.icmpv6: seconds = t.icmp
                default: seconds = t.generic
                }
                otherTimeouts[proto << 1 | (replied ? 1 : 0)] = seconds * 1_000_000_000
            }
        }
    }

    deinit {
        tcpTimeouts.deallocate()
        otherTimeouts.deallocate()
        tcpTransitions.deallocate()
    }

    public var count: Int { table.count }

    /// The key a packet is looked up by: its own connection, or for an ICMP error the connection
    /// of the packet it quotes.
    @inline(__always)
    public static func key(for m: PacketMeta) -> FlowKey { withUnsafePointer(to: m) { key(for: $0) } }

    /// The same, read field by field through a pointer: the fast path never copies a whole
    /// `PacketMeta` (a wide copy of fields the parser has just stored one by one stalls on
    /// store forwarding).
    @inline(__always)
    public static func key(for m: UnsafePointer<PacketMeta>) -> FlowKey {
        if m.pointee.hasInner && m.pointee.hasICMP {
            return FlowKey(
                src: m.pointee.innerSrc, dst: m.pointee.innerDst, sport: m.pointee.innerSport,
                dport: m.pointee.innerDport, proto: m.pointee.innerProto, v6: m.pointee.isV6)
        }
        return FlowKey(
            src: m.pointee.src, dst: m.pointee.dst, sport: m.pointee.sport, dport: m.pointee.dport,
            proto: m.pointee.proto, v6: m.pointee.isV6)
    }

    /// Starts fetching where a lookup of `hash` begins (its tag line when lookups go `byTags`,
    /// else its home entry), so the cache miss overlaps the work on other packets. `byTags` is
    /// the mode the caller's lookups of the same burst pass.
    @inline(__always)
    public func prefetchHome(_ hash: UInt32, byTags: Bool) {
        if byTags { table.prefetchHome(hash) } else { table.prefetchHomeEntry(hash) }
    }

    /// Starts fetching the key's entry, found from its tags (once `prefetchHome` has brought them).
    @inline(__always)
    public func prefetchEntry(_ k: UnsafePointer<FlowKey>) { table.prefetchEntry(k.pointee.hash) }

    public func observe(_ m: PacketMeta, now: UInt64) -> Observation {
        observe(m, key: Conntrack.key(for: m), now: now)
    }
    public func confirm(_ m: PacketMeta, now: UInt64, rule: Int32) -> Reason {
        confirm(m, key: Conntrack.key(for: m), now: now, rule: rule)
    }
    public func observe(_ m: PacketMeta, key k: FlowKey, now: UInt64) -> Observation {
        withUnsafePointer(to: m) { observe($0, key: k, now: now) }
    }
    public func confirm(_ m: PacketMeta, key k: FlowKey, now: UInt64, rule: Int32, verdictTag: UInt64 = 0) -> Reason {
        withUnsafePointer(to: m) { confirm($0, key: k, now: now, rule: rule, verdictTag: verdictTag) }
    }

    /// The result of looking a packet up.
    public struct Observation {
        public var state: ConnState
        /// The flow's slot, or -1 when the packet has no flow (yet).
        public var slot: Int
        /// Whether a flow may be created for this packet if the policy accepts it.
        public var trackable: Bool
    }

    /// Finds the packet's flow and advances it. Does not create flows: that waits for the
    /// policy's verdict (`confirm`), as nf_conntrack confirms only accepted connections.
    ///
    /// Inlined into the pipeline's loop, so only the common case lives here (a packet of a live
    /// flow); ICMP errors, misses and expiry are calls, which keeps the loop's registers free.
    @inline(__always)
    public func observe(_ mp: UnsafePointer<PacketMeta>, key k: FlowKey, now: UInt64) -> Observation {
        withUnsafePointer(to: k) { observe(mp, keyAt: $0, now: now) }
    }

    /// The same, with the key read where it lies (the pipeline's key array).
    /// `byTags`: the lookup walks the tags (`FlowTable.findByTags`), for a caller that has
    /// prefetched them; both ways find the same flow.
    @inline(__always)
    public func observe(
        _ mp: UnsafePointer<PacketMeta>, keyAt kp: UnsafePointer<FlowKey>, now: UInt64,
        byTags: Bool = false
    ) -> Observation {
        if mp.pointee.hasICMP && ICMPKind.isError(type: mp.pointee.icmpType, v6: mp.pointee.isV6) {
            return observeICMPError(mp, keyAt: kp, now: now, byTags: byTags)
        }
        let slot = live(at: kp, now: now, byTags: byTags)
        if slot < 0 { return observeMiss(mp) }
        return advance(
            table.slots + slot, slot: slot, keyAt: kp, proto: mp.pointee.proto, hasL4: mp.pointee.hasL4,
            tcpFlags: mp.pointee.tcpFlags, now: now)
    }

    /// Moves the live flow in `slot` (its entry `e`) on by one packet of `kp`'s direction: its
    /// TCP state or its reply flag, and its expiry. The part of `observe` after the lookup,
    /// which the pipeline's fast lane calls with the few fields it parsed (and whose `e` it
    /// keeps for `cachedRule(entry:)`, rather than reloading the table's base after the writes).
    @inline(__always)
    func advance(
        _ e: UnsafeMutablePointer<FlowEntry>, slot: Int, keyAt kp: UnsafePointer<FlowKey>, proto: UInt8, hasL4: Bool,
        tcpFlags: UInt8, now: UInt64
    ) -> Observation {
        let fromOrigin = kp.pointee.fromA == (e.pointee.flags & FlowEntry.originIsA != 0)
        if proto == IPProto.tcp && hasL4 {
            let old = e.pointee.tcpState
            let code = tcpTransitions[TCPStateMachine.transitionIndex(old, flags: tcpFlags, fromOriginator: fromOrigin)]
            if code == TCPStateMachine.invalidCode { return Observation(state: .invalid, slot: slot, trackable: false) }
            if code != TCPStateMachine.ignoreCode {
                // Every other code is a state (`transitionCodes`): no failable initialiser per segment.
                let s = unsafeBitCast(code, to: TCPState.self)
                if s == .synSent && (old == .timeWait || old == .close) {
                    // A new SYN reopens a closing connection: it starts over, unanswered.
                    e.pointee.flags &= ~(FlowEntry.seenReply | FlowEntry.assured)
                }
                e.pointee.tcpState = s
                e.pointee.expires = now &+ tcpTimeouts[Int(s.rawValue)]
                if s == .established { e.pointee.flags |= FlowEntry.assured }
                if !fromOrigin { e.pointee.flags |= FlowEntry.seenReply }
            }
        } else {
            if !fromOrigin { e.pointee.flags |= FlowEntry.seenReply | FlowEntry.assured }
            let replied = e.pointee.flags & FlowEntry.seenReply != 0
            e.pointee.expires = now &+ timeout(proto: proto, replied: replied)
        }
        let replied = e.pointee.flags & FlowEntry.seenReply != 0
        return Observation(state: fromOrigin && !replied ? .new : .established, slot: slot, trackable: false)
    }

    /// An ICMP error: related to the flow of the packet it quotes, if that flow is live.
    @inline(never)
    func observeICMPError(
        _ mp: UnsafePointer<PacketMeta>, keyAt kp: UnsafePointer<FlowKey>, now: UInt64,
        byTags: Bool
    ) -> Observation {
        guard mp.pointee.hasInner else { return Observation(state: .invalid, slot: -1, trackable: false) }
        let slot = live(at: kp, now: now, byTags: byTags)
        return Observation(state: slot >= 0 ? .related : .invalid, slot: slot, trackable: false)
    }

    /// A packet without a flow: new (if it may open one) or invalid.
    @inline(never)
    func observeMiss(_ mp: UnsafePointer<PacketMeta>) -> Observation {
        Observation(state: stateWithoutFlow(mp), slot: -1, trackable: isTrackable(mp))
    }

    /// Creates the flow of an accepted new packet. Returns the verdict reason when the table
    /// refused it (`.conntrackFull`), `.none` otherwise.
    @inline(__always)
    public func confirm(
        _ mp: UnsafePointer<PacketMeta>, key k: FlowKey, now: UInt64, rule: Int32, verdictTag: UInt64 = 0
    ) -> Reason {
        if table.count >= table.maxFlows {
            guard table.evictEmbryonic(near: k.hash, now: now, scan: settings.earlyDropScan) else {
                refused &+= 1
                return .conntrackFull
            }
            earlyDropped &+= 1
        }
        var tcp = TCPState.none
        var expires: UInt64
        let proto = mp.pointee.proto
        if proto == IPProto.tcp {
            // A SYN opens in syn_sent; a loosely picked-up segment is taken as established.
            tcp = mp.pointee.tcpFlags & TCPFlag.syn != 0 ? .synSent : .established
            expires = now &+ tcpTimeouts[Int(tcp.rawValue)]
        } else {
            expires = now &+ timeout(proto: proto, replied: false)
        }
        let slot = table.insert(
            k, flags: k.fromA ? FlowEntry.originIsA : 0, tcpState: tcp, expires: expires, rule: rule)
        table[slot].verdictTag = verdictTag
        created &+= 1
        return .none
    }

    /// The rule that accepted the flow's first packet, if it was decided under the same
    /// `verdictTag` (policy generation, ingress port, VLAN): a later packet of a flow that has not
    /// been answered yet is classified exactly as its first was, so the search can be skipped.
    @inline(__always)
    public func cachedRule(slot: Int, verdictTag: UInt64) -> Int32? {
        cachedRule(entry: table.slots + slot, verdictTag: verdictTag)
    }

    /// The same, given the flow's entry. (Two fields read in place: `table[slot]` copied the
    /// whole entry.)
    @inline(__always)
    func cachedRule(entry e: UnsafePointer<FlowEntry>, verdictTag: UInt64) -> Int32? {
        verdictTag != 0 && e.pointee.verdictTag == verdictTag ? e.pointee.rule : nil
    }

    /// Expires up to `budget` slots' worth of old flows; called once per burst.
    @inline(__always)
    public func sweep(now: UInt64, budget: Int) {
        expired &+= UInt64(table.sweep(now: now, budget: budget))
    }

    // MARK: - Helpers

    /// Slot of the key's flow if it exists and has not expired (an expired one is removed).
    /// `byTags` as in `observe`; `v4Key` for a key the caller knows to be IPv4 (`FlowTable.find`).
    @inline(__always)
    func live(at kp: UnsafePointer<FlowKey>, now: UInt64, byTags: Bool, v4Key: Bool = false) -> Int {
        let slot = byTags ? table.findByTags(at: kp, v4Key: v4Key) : table.find(at: kp, v4Key: v4Key)
        if slot >= 0 && table.slots[slot].expires <= now {
            expire(slot)
            return -1
        }
        return slot
    }

    @inline(never)
    func expire(_ slot: Int) {
        table.remove(slot)
        expired &+= 1
    }

    @inline(__always)
    func stateWithoutFlow(_ mp: UnsafePointer<PacketMeta>) -> ConnState {
        if mp.pointee.proto == IPProto.tcp {
            guard mp.pointee.hasL4 else { return .invalid }
            let f = mp.pointee.tcpFlags
            if f & (TCPFlag.syn | TCPFlag.ack | TCPFlag.rst | TCPFlag.fin) == TCPFlag.syn { return .new }
            return settings.tcpLoose && f & (TCPFlag.rst | TCPFlag.syn) == 0 ? .new : .invalid
        }
        if mp.pointee.hasICMP && ICMPKind.isEcho(type: mp.pointee.icmpType, v6: mp.pointee.isV6) {
            // An echo reply with no request on record answers nothing we saw.
            return ICMPKind.isEchoRequest(type: mp.pointee.icmpType, v6: mp.pointee.isV6) ? .new : .invalid
        }
        return .new
    }

    /// Packets that open a flow when accepted: everything but ICMP other than echo requests
    /// (neighbour discovery and the like are classified as new but leave no state behind).
    @inline(__always)
    func isTrackable(_ mp: UnsafePointer<PacketMeta>) -> Bool {
        if mp.pointee.hasICMP { return ICMPKind.isEchoRequest(type: mp.pointee.icmpType, v6: mp.pointee.isV6) }
        if mp.pointee.proto == IPProto.tcp { return mp.pointee.hasL4 }
        return true
    }

    @inline(__always)
    func timeout(proto: UInt8, replied: Bool) -> UInt64 {
        otherTimeouts[Int(proto) << 1 | (replied ? 1 : 0)]
    }
}
