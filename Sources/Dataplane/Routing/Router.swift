import FirewallCore
import LinuxIO
import Ports

/// Route mode's step after the firewall (docs/dataplane.md#route-mode): each accepted IP packet
/// is looked up in the routing table, checked against the egress MTU and its TTL, rewritten for
/// its next hop (`HopRewrite`) and sent out of the port the route names; ARP and neighbour
/// discovery are answered and learned here, whatever the rules say, and never forwarded.
///
/// One per worker, everything allocated at start: the neighbour table, the queue of packets
/// waiting for resolution, one control output per port. Per burst nothing allocates, locks or
/// logs; misses and ICMP errors take a bounded slow path (a slot, a token).
final class Router {
    struct PortFacts {
        var mac: UInt64 = 0
        var mtu = 1500
        var v4Source = IPAddress.zero
        var hasV4 = false
        var v6Source = IPAddress.zero
        var hasV6 = false
    }

    struct RouteFacts {
        var port: UInt8
        var hasNextHop: Bool
        var nextHop: IPAddress
    }

    static let ports = 2
    let table: RouteTable
    let routes: UnsafeMutablePointer<RouteFacts>
    let facts: UnsafeMutablePointer<PortFacts>
    /// Our addresses, any port (packets to them are ours).
    let own: UnsafeMutablePointer<InterfaceAddress>
    /// The port each of `own` is on.
    let ownPorts: UnsafeMutablePointer<UInt8>
    let ownCount: Int
    /// Our IPv4 addresses as 32-bit values, for the fast path (`V4Lane`).
    let ownV4: UnsafeMutablePointer<UInt32>
    let ownV4Count: Int
    let ownV4LowBits: UInt64
    let neighbours: NeighbourTable
    let outputs: UnsafeMutablePointer<ControlOutput>
    var pending: PendingFrames
    var icmpTokens: TokenBucket
    let counters = RouterCounters()
    var toOther: BurstSplit
    var hairpin: BurstSplit
    let meta: UnsafeMutablePointer<PacketMeta>
    var sender: BurstForwarder
    /// The last next hop resolved in this burst (a burst's packets mostly share one): the clock
    /// does not move within a burst, so its answer stands until a neighbour message changes it.
    var lastHop = (valid: false, port: UInt8(0), v6: false, address: IPAddress.zero, mac: UInt64(0))
    /// The same answer for the IPv4 fast path, keyed by route (`V4Lane`).
    var v4Hop = V4Hop()

    /// `macs`: each port's MAC as the port reports it (the plan's override wins).
    init(plan: RoutingPlan, macs: [UInt64], burst: Int, neighbourEntries: Int = 1024, queueSlots: Int = 64) {
        table = RouteTable(plan.forwardingRoutes)
        routes = .allocate(capacity: max(1, table.routes.count))
        for (i, r) in table.routes.enumerated() {
            routes[i] = RouteFacts(port: r.port, hasNextHop: r.nextHop != nil, nextHop: r.nextHop ?? .zero)
        }
        facts = .allocate(capacity: Self.ports)
        facts.initialize(repeating: PortFacts(), count: Self.ports)
        for i in plan.interfaces where Int(i.port) < Self.ports {
            var f = PortFacts()
            f.mac = i.mac ?? (Int(i.port) < macs.count ? macs[Int(i.port)] : 0)
            f.mtu = i.mtu
            if let a = i.firstAddress(v6: false) { (f.v4Source, f.hasV4) = (a, true) }
            if let a = i.firstAddress(v6: true) { (f.v6Source, f.hasV6) = (a, true) }
            facts[Int(i.port)] = f
        }
        let addresses = plan.interfaces.flatMap { i in i.addresses.map { (i.port, $0) } }
        ownCount = addresses.count
        own = .allocate(capacity: max(1, addresses.count))
        ownPorts = .allocate(capacity: max(1, addresses.count))
        for (k, (port, a)) in addresses.enumerated() {
            own[k] = a
            ownPorts[k] = port
        }
        let v4Addresses = addresses.filter { !$0.1.isV6 }.map { $0.1.address.v4 }
        ownV4Count = v4Addresses.count
        ownV4 = .allocate(capacity: max(1, v4Addresses.count))
        for (k, a) in v4Addresses.enumerated() { ownV4[k] = a }
        ownV4LowBits = v4Addresses.reduce(0) { $0 | 1 << ($1 & 63) }
        neighbours = NeighbourTable(maxEntries: neighbourEntries)
        for i in plan.interfaces {
            for n in i.neighbours {
                neighbours.setPermanent(port: i.port, address: n.address, v6: n.isV6, mac: n.mac, now: 0)
            }
        }
        outputs = .allocate(capacity: Self.ports)
        for p in 0..<Self.ports { (outputs + p).initialize(to: ControlOutput(slots: burst)) }
        pending = PendingFrames(capacity: queueSlots)
        icmpTokens = TokenBucket(ratePerSecond: 1000, burst: 50, now: monotonicNanoseconds())
        toOther = BurstSplit(capacity: burst)
        hairpin = BurstSplit(capacity: burst)
        meta = .allocate(capacity: 1)
        meta.initialize(to: PacketMeta())
        sender = BurstForwarder(capacity: burst)
    }

    deinit {
        routes.deallocate()
        facts.deallocate()
        own.deallocate()
        ownPorts.deallocate()
        ownV4.deallocate()
        for p in 0..<Self.ports { outputs[p].deallocate() }
        outputs.deallocate()
        pending.deallocate()
        toOther.deallocate()
        hairpin.deallocate()
        meta.deallocate()
        sender.deallocate()
        counters.deallocate()
    }

    /// Whether `address` is one of ours.
    @inline(__always) func isOurs(_ address: IPAddress, v6: Bool) -> Bool {
        var k = 0
        while k < ownCount {
            if own[k].address == address && own[k].isV6 == v6 { return true }
            k &+= 1
        }
        return false
    }

    /// Routes `burst` (received by `rx`, port index `rxIndex`, and decided by the firewall):
    /// every frame ends here, sent, queued (as a copy) or given back to `rx`.
    func forward(
        _ burst: FrameBurst, rx: PacketPort, rxIndex: Int, tx: PacketPort, queue: Int, zeroCopy: Bool
    ) {
        let now = rx.stampsReceiptTime && burst.count > 0 ? burst.timestamps[0] : monotonicNanoseconds()
        toOther.acceptedCount = 0
        hairpin.acceptedCount = 0
        lastHop.valid = false
        if now >= v4Hop.validUntil { v4Hop.route = -1 }
        var refused = 0
        let ingress = UInt8(truncatingIfNeeded: rxIndex)
        let ingressMAC = facts[Int(ingress)].mac
        var lane = V4Lane(self, ingress: ingress)
        for i in 0..<burst.count {
            if lane.forward(burst, index: i) { continue }
            let frame = burst.frame(i)
            guard let base = frame.baseAddress, frame.count >= 14 else {
                refused &+= 1
                continue
            }
            var l3 = 14
            var type = base.be16(12)
            while (type == 0x8100 || type == 0x88A8) && l3 <= 18 && frame.count >= l3 &+ 4 {
                type = base.be16(l3 &+ 2)
                l3 &+= 4
            }
            if type == 0x0806 {
                lane.save(to: self)
                neighbourARP(frame, at: l3, port: ingress, now: now)
                lane = V4Lane(self, ingress: ingress)
                continue
            }
            if type == 0x86DD, isNeighbourDiscovery(frame, l3: l3) {
                lane.save(to: self)
                neighbourND(frame, l3: l3, port: ingress, now: now)
                lane = V4Lane(self, ingress: ingress)
                continue
            }
            guard burst.verdicts[i].action == .accept else {
                refused &+= 1
                continue
            }
            guard type == 0x0800 || type == 0x86DD else {
                counters.add(.notIP)
                continue
            }
            // Only what is sent to us is routed: frames for other hosts (a promiscuous port sees
            // them) and broadcast or multicast IP are not a router's to forward.
            guard HopRewrite.mac(base, at: 0) == ingressMAC else {
                counters.add(.notOurMAC)
                continue
            }
            lane.save(to: self)
            route(frame, l3: l3, v6: type == 0x86DD, index: i, ingress: ingress, now: now)
            lane = V4Lane(self, ingress: ingress)
        }
        lane.save(to: self)
        if toOther.acceptedCount &+ hairpin.acceptedCount > 0 {
            counters.add(.forwarded, toOther.acceptedCount &+ hairpin.acceptedCount)
        }
        if toOther.acceptedCount > 0 {
            // What is not sent by handle is given back to `rx` (copied out first, or dropped).
            if toOther.acceptedCount == burst.count {
                toOther.refusedCount = 0
            } else {
                toOther.refuseUnaccepted(of: burst.count)
            }
            let r =
                zeroCopy
                ? tx.send(taking: burst, toOther, queue: queue) : tx.send(copying: burst, toOther, queue: queue)
            BurstForwarder.count(r, on: tx, queue: queue)
        }
        if hairpin.acceptedCount > 0 {
            BurstForwarder.count(rx.send(copying: burst, hairpin, queue: queue), on: rx, queue: queue)
        }
        rx.release(burst, queue: queue, exceptTakenBy: zeroCopy && toOther.acceptedCount > 0 ? toOther : nil)
        if refused > 0 { rx.counters.add(.dropped, refused, queue: queue) }
        if pending.count > 0 { retry(now: now) }
        flush(rx: rx, rxIndex: rxIndex, tx: tx, queue: queue)
    }

    /// Between bursts with nothing received: resolution retries and their failures still happen.
    func idle(rx: PacketPort, rxIndex: Int, tx: PacketPort, queue: Int) {
        guard pending.count > 0 else { return }
        retry(now: monotonicNanoseconds())
        flush(rx: rx, rxIndex: rxIndex, tx: tx, queue: queue)
    }

    func flush(rx: PacketPort, rxIndex: Int, tx: PacketPort, queue: Int) {
        for p in 0..<Self.ports where outputs[p].burst.count > 0 {
            let sent = outputs[p].flush(to: p == rxIndex ? rx : tx, queue: queue, sender: &sender, counters: counters)
            _ = sent
        }
    }

    /// One accepted IP packet: ours, or routed, or answered with an ICMP error.
    @inline(__always)
    func route(_ frame: UnsafeRawBufferPointer, l3: Int, v6: Bool, index i: Int, ingress: UInt8, now: UInt64) {
        let base = frame.baseAddress!
        let headerLength = v6 ? 40 : 20
        guard frame.count >= l3 &+ headerLength, base.u8(l3) >> 4 == (v6 ? 6 : 4) else {
            counters.add(.notIP)
            return
        }
        let destination =
            v6 ? IPAddress(hi: base.be64(l3 &+ 24), lo: base.be64(l3 &+ 32)) : IPAddress(v4: base.be32(l3 &+ 16))
        if isOurs(destination, v6: v6) {
            toUs(frame, l3: l3, v6: v6, ingress: ingress, now: now)
            return
        }
        // A packet from one of our own addresses never arrives from outside (Linux: a martian).
        let source =
            v6 ? IPAddress(hi: base.be64(l3 &+ 8), lo: base.be64(l3 &+ 16)) : IPAddress(v4: base.be32(l3 &+ 12))
        if isOurs(source, v6: v6) {
            counters.add(.martianSource)
            return
        }
        let found = table.lookup(destination, v6: v6)
        guard found >= 0 else {
            icmpError(.netUnreachable, about: frame, ingress: ingress, now: now, count: .noRoute)
            return
        }
        let r = routes[Int(found)]
        let egress = Int(r.port)
        let ttl = base.u8(l3 &+ (v6 ? 7 : 8))
        guard ttl > 1 else {
            icmpError(.timeExceeded, about: frame, ingress: ingress, now: now, count: .ttlExceeded)
            return
        }
        let ipLength = v6 ? 40 &+ Int(base.be16(l3 &+ 4)) : Int(base.be16(l3 &+ 2))
        if ipLength > facts[egress].mtu {
            if v6 || base.u8(l3 &+ 6) & 0x40 != 0 {
                icmpError(.tooBig, about: frame, ingress: ingress, now: now, count: .tooBig, mtu: facts[egress].mtu)
            } else {
                counters.add(.fragmentationNotDone)
            }
            return
        }
        let nextHop = r.hasNextHop ? r.nextHop : destination
        if lastHop.valid && lastHop.address == nextHop && lastHop.port == r.port && lastHop.v6 == v6 {
            send(base, l3: l3, v6: v6, index: i, egress: egress, ingress: ingress, mac: lastHop.mac)
            return
        }
        let answer = neighbours.resolve(port: r.port, address: nextHop, v6: v6, now: now)
        if answer.request != .none {
            solicit(nextHop, v6: v6, port: r.port, knownMAC: answer.request == .unicast ? answer.mac : 0, now: now)
        }
        if answer.mac != 0 {
            if answer.request == .none {
                lastHop = (true, r.port, v6, nextHop, answer.mac)
                if !v6 && answer.holdsUntil > now {
                    v4Hop = V4Hop(
                        route: found, facts: r, destination: destination, mac: answer.mac, facts[egress],
                        validUntil: answer.holdsUntil)
                }
            }
            send(base, l3: l3, v6: v6, index: i, egress: egress, ingress: ingress, mac: answer.mac)
        } else if answer.failed {
            icmpError(.hostUnreachable, about: frame, ingress: ingress, now: now, count: .neighbourFailed)
        } else if pending.add(frame, l3: l3, ingress: ingress, egress: r.port, nextHop: nextHop, v6: v6, now: now) {
            counters.add(.neighbourMiss)
        } else {
            counters.add(.queueFull)
        }
    }

    /// Rewrites frame `i` for its next hop (TTL checked before) and marks it for its egress port.
    @inline(__always)
    func send(_ base: UnsafeRawPointer, l3: Int, v6: Bool, index i: Int, egress: Int, ingress: UInt8, mac: UInt64) {
        _ = HopRewrite.forward(
            UnsafeMutableRawPointer(mutating: base), l3: l3, v6: v6, nextHopMAC: mac, egressMAC: facts[egress].mac)
        mark(i, egress: egress, ingress: ingress)
    }

    /// Frame `i` leaves by `egress`: back out of its own port, or out of the other.
    @inline(__always)
    func mark(_ i: Int, egress: Int, ingress: UInt8) {
        if egress == Int(ingress) {
            hairpin.accepted[hairpin.acceptedCount] = Int32(truncatingIfNeeded: i)
            hairpin.acceptedCount &+= 1
        } else {
            toOther.accepted[toOther.acceptedCount] = Int32(truncatingIfNeeded: i)
            toOther.acceptedCount &+= 1
        }
    }

    /// A packet to one of our addresses: echo requests are answered, the rest dropped.
    func toUs(_ frame: UnsafeRawBufferPointer, l3: Int, v6: Bool, ingress: UInt8, now: UInt64) {
        guard Parser.parse(frame, link: .ethernet, into: &meta.pointee) == .none,
            meta.pointee.hasICMP, meta.pointee.icmpType == (v6 ? 128 : 8)
        else {
            counters.add(.toUsDropped)
            return
        }
        guard icmpTokens.take(now: now) else {
            counters.add(.icmpRateLimited)
            return
        }
        let out = outputs + Int(ingress)
        guard let slot = out.pointee.nextSlot() else { return }
        let n = RouterICMP.writeEchoReply(
            to: frame, meta: meta.pointee, ourMAC: facts[Int(ingress)].mac, into: slot,
            capacity: ControlOutput.slotBytes)
        guard n > 0 else {
            counters.add(.toUsDropped)
            return
        }
        out.pointee.commit(length: n, timestamp: now)
        counters.add(.echoAnswered)
        counters.add(.icmpSent)
    }

    /// An ICMP error about `frame` back out of its ingress port, from our address there.
    func icmpError(
        _ error: RouterICMP.Error, about frame: UnsafeRawBufferPointer, ingress: UInt8, now: UInt64,
        count: RouterCounters.Field, mtu: Int = 0
    ) {
        counters.add(count)
        let f = facts[Int(ingress)]
        guard Parser.parse(frame, link: .ethernet, into: &meta.pointee) == .none else { return }
        let v6 = meta.pointee.isV6
        guard v6 ? f.hasV6 : f.hasV4, RouterICMP.mayAnswer(meta.pointee) else { return }
        guard icmpTokens.take(now: now) else {
            counters.add(.icmpRateLimited)
            return
        }
        let out = outputs + Int(ingress)
        guard let slot = out.pointee.nextSlot() else { return }
        let n = RouterICMP.writeError(
            error, about: frame, meta: meta.pointee, source: v6 ? f.v6Source : f.v4Source, ourMAC: f.mac, mtu: mtu,
            into: slot, capacity: ControlOutput.slotBytes)
        if n > 0 {
            out.pointee.commit(length: n, timestamp: now)
            counters.add(.icmpSent)
        }
    }
}
