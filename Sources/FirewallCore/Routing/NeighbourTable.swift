/// Timers of neighbour resolution, Linux's defaults (ip-sysctl: neigh/default/*), nanoseconds.
public struct NeighbourSettings: Equatable, Sendable {
    /// How long a confirmed entry stays REACHABLE (base_reachable_time, 30 s; Linux randomises
    /// it to 15-45 s, here it is fixed so a test can rely on it).
    public var reachableNanoseconds: UInt64 = 30_000_000_000
    /// A STALE entry used starts probing after this (delay_first_probe_time, 5 s).
    public var delayNanoseconds: UInt64 = 5_000_000_000
    /// Between two requests (retrans_time, 1 s).
    public var retransmitNanoseconds: UInt64 = 1_000_000_000
    /// Broadcast requests before an unresolved neighbour FAILS (mcast_solicit, 3), and unicast
    /// probes of a known one (ucast_solicit, 3).
    public var multicastSolicits = 3
    public var unicastSolicits = 3
    /// An unused STALE entry is forgotten after this (gc_stale_time, 60 s).
    public var staleForgetNanoseconds: UInt64 = 60_000_000_000
    /// A FAILED neighbour answers "unreachable" this long before it is tried again.
    public var failedHoldNanoseconds: UInt64 = 3_000_000_000

    public init() {}
}

/// The states of RFC 4861 7.3.2 (and Linux's ARP, which uses the same machine).
public enum NeighbourState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case incomplete, reachable, stale, delay, probe, failed
    /// Configured (Linux's `nud permanent`): used as given, never asked, never replaced.
    case permanent

    public var description: String {
        switch self {
        case .incomplete: "incomplete"
        case .reachable: "reachable"
        case .stale: "stale"
        case .delay: "delay"
        case .probe: "probe"
        case .failed: "failed"
        case .permanent: "permanent"
        }
    }
}

/// What forwarding to a neighbour needs now.
public struct NeighbourAnswer: Equatable, Sendable {
    public enum Request: UInt8, Sendable {
        case none
        /// Ask everyone on the link (ARP broadcast, NS to the solicited-node multicast group).
        case broadcast
        /// Ask the neighbour at the address we have (a unicast probe of a STALE entry).
        case unicast
    }

    /// The MAC to send to (0 when unknown: queue the frame, or answer unreachable if `failed`).
    public var mac: UInt64
    public var request: Request
    /// Resolution gave up: answer host unreachable.
    public var failed: Bool
    /// Until when the same question gets the same answer if no message about the neighbour
    /// arrives (a REACHABLE entry's confirmation runs out; a PERMANENT one's never): a caller may
    /// keep it until then. 0: ask again each time.
    public var holdsUntil: UInt64

    public init(mac: UInt64, request: Request, failed: Bool, holdsUntil: UInt64 = 0) {
        self.mac = mac
        self.request = request
        self.failed = failed
        self.holdsUntil = holdsUntil
    }
}

/// One worker's neighbour table: a fixed number of entries in flat memory, keyed by port and
/// address, with RFC 4861's state machine driven by the caller's clock. Owned by one worker
/// thread; nothing allocates after `init`. When full, an entry that FAILED or the STALE entry
/// used longest ago near the new key's slot makes room; if none does, `resolve` says failed.
public final class NeighbourTable: @unchecked Sendable {
    public struct Entry: Equatable, Sendable {
        public var port: UInt8
        public var v6: Bool
        public var address: IPAddress
        public var mac: UInt64
        public var state: NeighbourState
        /// When the state last changed (reachable: when confirmed).
        public var since: UInt64
        /// When the entry was last used to forward.
        public var used: UInt64
        var nextRequest: UInt64
        var requests: Int
    }

    public let settings: NeighbourSettings
    public let maxEntries: Int
    private let slots: UnsafeMutablePointer<Entry?>
    private let mask: Int
    public private(set) var count = 0

    public init(maxEntries: Int, settings: NeighbourSettings = NeighbourSettings()) {
        self.maxEntries = max(1, maxEntries)
        self.settings = settings
        var capacity = 16
        while capacity < self.maxEntries * 2 { capacity <<= 1 }
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
    }

    deinit {
        slots.deinitialize(count: mask + 1)
        slots.deallocate()
    }

    @inline(__always) func home(_ port: UInt8, _ address: IPAddress) -> Int {
        var h = address.hi &* 0x9E37_79B9_7F4A_7C15 ^ address.lo &* 0xC2B2_AE3D_27D4_EB4F ^ UInt64(port)
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    func find(_ port: UInt8, _ address: IPAddress, v6: Bool) -> Int? {
        var i = home(port, address)
        while let e = slots[i] {
            if e.port == port && e.address == address && e.v6 == v6 { return i }
            i = (i &+ 1) & mask
        }
        return nil
    }

    /// The entry for a neighbour, if any (statistics and tests).
    public func entry(port: UInt8, address: IPAddress, v6: Bool) -> Entry? {
        find(port, address, v6: v6).flatMap { slots[$0] }
    }

    /// Every entry (statistics: `vfwall stats`).
    public var entries: [Entry] { (0...mask).compactMap { slots[$0] } }

    /// What to do to forward to `address` on `port` now, advancing the entry's state.
    public func resolve(port: UInt8, address: IPAddress, v6: Bool, now: UInt64) -> NeighbourAnswer {
        guard let i = find(port, address, v6: v6) else {
            guard
                insert(
                    Entry(
                        port: port, v6: v6, address: address, mac: 0, state: .incomplete, since: now, used: now,
                        nextRequest: now &+ settings.retransmitNanoseconds, requests: 1), now: now)
            else { return NeighbourAnswer(mac: 0, request: .none, failed: true) }
            return NeighbourAnswer(mac: 0, request: .broadcast, failed: false)
        }
        var e = slots[i]!
        defer { slots[i] = e }
        e.used = now
        switch e.state {
        case .incomplete:
            return askAgain(&e, limit: settings.multicastSolicits, request: .broadcast, now: now)
        case .failed:
            guard now &- e.since >= settings.failedHoldNanoseconds else {
                return NeighbourAnswer(mac: 0, request: .none, failed: true)
            }
            e = Entry(
                port: port, v6: v6, address: address, mac: 0, state: .incomplete, since: now, used: now,
                nextRequest: now &+ settings.retransmitNanoseconds, requests: 1)
            return NeighbourAnswer(mac: 0, request: .broadcast, failed: false)
        case .reachable:
            if now &- e.since < settings.reachableNanoseconds {
                return NeighbourAnswer(
                    mac: e.mac, request: .none, failed: false, holdsUntil: e.since &+ settings.reachableNanoseconds)
            }
            e.state = .delay
            e.since = now
            return NeighbourAnswer(mac: e.mac, request: .none, failed: false)
        case .stale:
            e.state = .delay
            e.since = now
            return NeighbourAnswer(mac: e.mac, request: .none, failed: false)
        case .delay:
            guard now &- e.since >= settings.delayNanoseconds else {
                return NeighbourAnswer(mac: e.mac, request: .none, failed: false)
            }
            e.state = .probe
            e.since = now
            e.requests = 1
            e.nextRequest = now &+ settings.retransmitNanoseconds
            return NeighbourAnswer(mac: e.mac, request: .unicast, failed: false)
        case .probe:
            return askAgain(&e, limit: settings.unicastSolicits, request: .unicast, now: now)
        case .permanent:
            return NeighbourAnswer(mac: e.mac, request: .none, failed: false, holdsUntil: .max)
        }
    }

    /// INCOMPLETE or PROBE: another request once the last one's time is up, FAILED after `limit`.
    private func askAgain(_ e: inout Entry, limit: Int, request: NeighbourAnswer.Request, now: UInt64)
        -> NeighbourAnswer
    {
        guard now >= e.nextRequest else { return NeighbourAnswer(mac: e.mac, request: .none, failed: false) }
        guard e.requests < limit else {
            e.state = .failed
            e.since = now
            return NeighbourAnswer(mac: 0, request: .none, failed: true)
        }
        e.requests += 1
        e.nextRequest = now &+ settings.retransmitNanoseconds
        return NeighbourAnswer(mac: e.mac, request: request, failed: false)
    }

    /// A reply to our request (ARP reply, solicited NA): the neighbour is REACHABLE at `mac`.
    /// Replies nobody asked for are ignored, as Linux does with arp_accept off.
    @discardableResult
    public func confirm(port: UInt8, address: IPAddress, v6: Bool, mac: UInt64, now: UInt64) -> Bool {
        guard let i = find(port, address, v6: v6), slots[i]!.state != .permanent else { return false }
        slots[i]!.mac = mac
        slots[i]!.state = .reachable
        slots[i]!.since = now
        return true
    }

    /// The neighbour spoke to us (an ARP request or NS from it, with its MAC): remember it as
    /// STALE (RFC 4861 7.2.3), or update a known one whose MAC changed.
    public func learn(port: UInt8, address: IPAddress, v6: Bool, mac: UInt64, now: UInt64) {
        if let i = find(port, address, v6: v6) {
            let e = slots[i]!
            guard e.state != .permanent, e.state == .incomplete || e.state == .failed || e.mac != mac else { return }
            slots[i]!.mac = mac
            slots[i]!.state = .stale
            slots[i]!.since = now
            return
        }
        _ = insert(
            Entry(
                port: port, v6: v6, address: address, mac: mac, state: .stale, since: now, used: now, nextRequest: 0,
                requests: 0), now: now)
    }

    /// A configured neighbour: PERMANENT, in place of whatever was known. False when the table
    /// is full of entries that may not give way.
    @discardableResult
    public func setPermanent(port: UInt8, address: IPAddress, v6: Bool, mac: UInt64, now: UInt64) -> Bool {
        let entry = Entry(
            port: port, v6: v6, address: address, mac: mac, state: .permanent, since: now, used: now, nextRequest: 0,
            requests: 0)
        if let i = find(port, address, v6: v6) {
            slots[i] = entry
            return true
        }
        return insert(entry, now: now)
    }

    /// Forgets STALE entries unused for `staleForgetNanoseconds` and FAILED ones past their
    /// hold; returns how many went. Bounded work: call it from the slow path now and then.
    @discardableResult
    public func expire(now: UInt64) -> Int {
        var removed = 0
        var i = 0
        while i <= mask {
            if let e = slots[i], forgettable(e, now: now) {
                remove(at: i)
                removed += 1
                continue  // a later entry may have moved into slot i
            }
            i += 1
        }
        return removed
    }

    func forgettable(_ e: Entry, now: UInt64) -> Bool {
        switch e.state {
        case .stale: return now &- e.used >= settings.staleForgetNanoseconds
        case .failed: return now &- e.since >= settings.failedHoldNanoseconds
        default: return false
        }
    }

    private func insert(_ entry: Entry, now: UInt64) -> Bool {
        if count >= maxEntries && !evict(near: home(entry.port, entry.address), now: now) { return false }
        var i = home(entry.port, entry.address)
        while slots[i] != nil { i = (i &+ 1) & mask }
        slots[i] = entry
        count += 1
        return true
    }

    /// Makes room: a forgettable entry, else the STALE one used longest ago, within 32 slots.
    private func evict(near start: Int, now: UInt64) -> Bool {
        var victim = -1
        var oldest = UInt64.max
        for k in 0..<min(32, mask + 1) {
            let i = (start &+ k) & mask
            guard let e = slots[i] else { continue }
            if forgettable(e, now: now) {
                victim = i
                break
            }
            if e.state == .stale && e.used < oldest {
                oldest = e.used
                victim = i
            }
        }
        guard victim >= 0 else { return false }
        remove(at: victim)
        return true
    }

    /// Linear probing without tombstones: later entries of the run shift back into the hole.
    private func remove(at index: Int) {
        slots[index] = nil
        count -= 1
        var hole = index
        var i = (index &+ 1) & mask
        while let e = slots[i] {
            let want = home(e.port, e.address)
            // Move e into the hole when its home is not cyclically in (hole, i].
            let distanceToHole = (hole &- want) & mask
            let distanceToHere = (i &- want) & mask
            if distanceToHole < distanceToHere {
                slots[hole] = e
                slots[i] = nil
                hole = i
            }
            i = (i &+ 1) & mask
        }
    }
}
