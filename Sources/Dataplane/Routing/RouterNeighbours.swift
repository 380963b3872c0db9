import FirewallCore
import Ports

/// The router's side of ARP and neighbour discovery: requests for our addresses are answered
/// (and their senders learned), replies confirm what we asked, and the queued packets for a
/// neighbour go out once it is known, or get host unreachable once it fails.
extension Router {
    /// Whether the IPv6 packet at `l3` is an NS or NA (ICMPv6 135/136 right after the header).
    @inline(__always)
    func isNeighbourDiscovery(_ frame: UnsafeRawBufferPointer, l3: Int) -> Bool {
        guard frame.count >= l3 &+ 41, let base = frame.baseAddress, base.u8(l3 &+ 6) == IPProto.icmpv6 else {
            return false
        }
        let type = base.u8(l3 &+ 40)
        return type == 135 || type == 136
    }

    func neighbourARP(_ frame: UnsafeRawBufferPointer, at offset: Int, port: UInt8, now: UInt64) {
        lastHop.valid = false  // what it says may change a neighbour's MAC
        v4Hop.route = -1
        guard let arp = NeighbourFrames.arp(frame, at: offset), arp.senderMAC != 0, arp.senderMAC >> 40 & 1 == 0 else {
            counters.add(.neighbourIgnored)
            return
        }
        let sender = IPAddress(v4: arp.senderIP)
        let f = facts[Int(port)]
        let forUs = isOurs(IPAddress(v4: arp.targetIP), v6: false) && f.hasV4
        if !arp.isRequest {
            if neighbours.confirm(port: port, address: sender, v6: false, mac: arp.senderMAC, now: now) {
                release(port: port, address: sender, v6: false, mac: arp.senderMAC, now: now)
            } else {
                counters.add(.neighbourIgnored)
            }
            return
        }
        guard forUs, arp.senderIP != 0 else {
            counters.add(.neighbourIgnored)
            return
        }
        neighbours.learn(port: port, address: sender, v6: false, mac: arp.senderMAC, now: now)
        release(port: port, address: sender, v6: false, mac: arp.senderMAC, now: now)
        let out = outputs + Int(port)
        guard let slot = out.pointee.nextSlot() else { return }
        let n = NeighbourFrames.writeARP(
            into: slot, isRequest: false, ethernetDestination: arp.senderMAC, senderMAC: f.mac,
            senderIP: arp.targetIP, targetMAC: arp.senderMAC, targetIP: arp.senderIP)
        out.pointee.commit(length: n, timestamp: now)
        counters.add(.neighbourAnswered)
    }

    func neighbourND(_ frame: UnsafeRawBufferPointer, l3: Int, port: UInt8, now: UInt64) {
        lastHop.valid = false
        v4Hop.route = -1
        guard let base = frame.baseAddress, let nd = NeighbourFrames.discovery(frame, l3: l3, l4: l3 &+ 40) else {
            counters.add(.neighbourIgnored)
            return
        }
        let source = IPAddress(hi: base.be64(l3 &+ 8), lo: base.be64(l3 &+ 16))
        if !nd.isSolicitation {
            guard nd.linkAddress != 0,
                neighbours.confirm(port: port, address: nd.target, v6: true, mac: nd.linkAddress, now: now)
            else {
                counters.add(.neighbourIgnored)
                return
            }
            release(port: port, address: nd.target, v6: true, mac: nd.linkAddress, now: now)
            return
        }
        guard isOurs(nd.target, v6: true), facts[Int(port)].hasV6 else {
            counters.add(.neighbourIgnored)
            return
        }
        // Duplicate address detection (from ::) gets an answer to all nodes, nothing learned.
        let sourceIsUnspecified = source == .zero
        if !sourceIsUnspecified && nd.linkAddress != 0 {
            neighbours.learn(port: port, address: source, v6: true, mac: nd.linkAddress, now: now)
            release(port: port, address: source, v6: true, mac: nd.linkAddress, now: now)
        }
        let askerMAC = nd.linkAddress != 0 ? nd.linkAddress : HopRewrite.mac(base, at: 6)
        let out = outputs + Int(port)
        guard let slot = out.pointee.nextSlot() else { return }
        let n = NeighbourFrames.writeAdvertisement(
            into: slot, ourMAC: facts[Int(port)].mac, target: nd.target,
            to: sourceIsUnspecified ? nil : (ip: source, mac: askerMAC))
        out.pointee.commit(length: n, timestamp: now)
        counters.add(.neighbourAnswered)
    }

    /// Asks for `address` on `port`: an ARP request or an NS, broadcast or (probing) unicast.
    func solicit(_ address: IPAddress, v6: Bool, port: UInt8, knownMAC: UInt64, now: UInt64) {
        let f = facts[Int(port)]
        guard v6 ? f.hasV6 : f.hasV4 else { return }
        let out = outputs + Int(port)
        guard let slot = out.pointee.nextSlot() else { return }
        let n =
            v6
            ? NeighbourFrames.writeSolicitation(
                into: slot, ourMAC: f.mac, source: f.v6Source, target: address, knownMAC: knownMAC)
            : NeighbourFrames.writeARP(
                into: slot, isRequest: true,
                ethernetDestination: knownMAC == 0 ? NeighbourFrames.broadcastMAC : knownMAC,
                senderMAC: f.mac, senderIP: f.v4Source.v4, targetMAC: 0, targetIP: address.v4)
        out.pointee.commit(length: n, timestamp: now)
        counters.add(.neighbourRequested)
    }

    /// Gratuitous ARP for each IPv4 address and an unsolicited NA for each IPv6 one, on every
    /// port: neighbours that knew another MAC for our addresses learn ours.
    func announce(now: UInt64) {
        for port in 0..<Self.ports {
            let f = facts[port]
            for k in 0..<ownCount where Int(ownPorts[k]) == port {
                let out = outputs + port
                guard let slot = out.pointee.nextSlot() else { break }
                let a = own[k]
                let n =
                    a.isV6
                    ? NeighbourFrames.writeAdvertisement(into: slot, ourMAC: f.mac, target: a.address, to: nil)
                    : NeighbourFrames.writeARP(
                        into: slot, isRequest: true, ethernetDestination: NeighbourFrames.broadcastMAC,
                        senderMAC: f.mac, senderIP: a.address.v4, targetMAC: 0, targetIP: a.address.v4)
                out.pointee.commit(length: n, timestamp: now)
                counters.add(.neighbourRequested)
            }
        }
    }

    /// Sends the packets queued for a neighbour now known at `mac`.
    func release(port: UInt8, address: IPAddress, v6: Bool, mac: UInt64, now: UInt64) {
        guard pending.count > 0 else { return }
        for i in 0..<pending.capacity {
            let e = pending.entries[i]
            guard e.used, e.egress == port, e.v6 == v6, e.nextHop == address else { continue }
            let out = outputs + Int(port)
            guard let slot = out.pointee.nextSlot() else { return }  // the rest go on a later turn
            slot.copyMemory(from: pending.bytes(i), byteCount: e.length)
            if HopRewrite.forward(slot, l3: e.l3, v6: v6, nextHopMAC: mac, egressMAC: facts[Int(port)].mac)
                == .forwarded
            {
                out.pointee.commit(length: e.length, timestamp: now)
                counters.add(.forwarded)
            }
            pending.remove(i)
        }
    }

    /// For each queued packet, asks again or, once its neighbour failed, answers host unreachable.
    func retry(now: UInt64) {
        for i in 0..<pending.capacity where pending.entries[i].used {
            let e = pending.entries[i]
            let answer = neighbours.resolve(port: e.egress, address: e.nextHop, v6: e.v6, now: now)
            if answer.request != .none {
                solicit(
                    e.nextHop, v6: e.v6, port: e.egress, knownMAC: answer.request == .unicast ? answer.mac : 0, now: now
                )
            }
            if answer.mac != 0 {
                release(port: e.egress, address: e.nextHop, v6: e.v6, mac: answer.mac, now: now)
            } else if answer.failed {
                let copy = UnsafeRawBufferPointer(start: pending.bytes(i), count: e.length)
                icmpError(.hostUnreachable, about: copy, ingress: e.ingress, now: now, count: .neighbourFailed)
                pending.remove(i)
            }
        }
    }
}
