import FirewallCore
import FuzzSupport
import Ports

/// fuzz-router's state and one input: a router between two memory ports (small tables, so
/// eviction, failure and the full queue are reached), kept across inputs so neighbour states
/// and queued packets carry over. Lives beside the router's files (symlinked from the root's
/// Dataplane) because the router is internal to its module.
public enum RouterFuzz {
    static let inside = MemoryPort(name: "inside"), outside = MemoryPort(name: "outside")
    static let ourMACs: [UInt64] = [0x0276_666C_0010, 0x0276_666C_0020]
    static let router: Router = {
        func address(_ text: String) -> InterfaceAddress { InterfaceAddress.parse(text)! }
        let plan = RoutingPlan(
            interfaces: [
                RouterInterface(
                    port: 0, mac: ourMACs[0], addresses: [address("10.199.1.254/24"), address("fd00:1::fe/64")],
                    mtu: 1280),
                RouterInterface(
                    port: 1, mac: ourMACs[1], addresses: [address("10.199.2.254/24"), address("fd00:2::fe/64")],
                    mtu: 1500)
            ],
            routes: [
                Route(prefix: IPPrefix.parse("0.0.0.0/0")!, nextHop: IPAddress.parse("10.199.2.1")!.0, port: 1),
                Route(prefix: IPPrefix.parse("::/0")!, nextHop: IPAddress.parse("fd00:2::1")!.0, port: 1),
                Route(prefix: IPPrefix.parse("192.0.2.0/24")!, nextHop: nil, port: 0)
            ])
        return Router(plan: plan, macs: [0, 0], burst: 8, neighbourEntries: 8, queueSlots: 4)
    }()
    static var burst = FrameBurst(capacity: 8)

    /// Input: a mode byte (bit 0: the ingress port; bit 1: the firewall accepted it; bits 2-3:
    /// then also an idle turn, an announcement, or nothing), then the frame.
    public static func one(_ data: UnsafePointer<UInt8>, _ size: Int) {
        guard size >= 1 else { return }
        let mode = data[0]
        let frame = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
        let ingress = Int(mode & 1)
        let (rx, tx) = ingress == 0 ? (inside, outside) : (outside, inside)
        // A memory port takes what a real port could carry (no empty or oversized frames).
        guard rx.inject([frame]) == 1 else { return }
        let n = rx.rxBurst(queue: 0, into: &burst)
        check(n == 1, "one frame in, \(n) read")
        burst.verdicts[0] = Verdict(action: mode & 2 != 0 ? .accept : .drop, rule: -1)
        router.forward(burst, rx: rx, rxIndex: ingress, tx: tx, queue: 0, zeroCopy: false)
        switch (mode >> 2) & 3 {
        case 1: router.idle(rx: rx, rxIndex: ingress, tx: tx, queue: 0)
        case 2:
            router.announce(now: 0)
            router.flush(rx: rx, rxIndex: ingress, tx: tx, queue: 0)
        default: break
        }
        check(rx.pendingReceive() == 0, "the router left a frame unreleased")
        for (port, out) in [(0, inside.takeTransmitted()), (1, outside.takeTransmitted())] {
            for sent in out { checkSent(sent, port: port) }
        }
        check(router.neighbours.count <= 8, "neighbour table over its size")
    }

    /// Every frame sent is from our MAC; one from our address is one we wrote (the router drops
    /// packets that claim our addresses), so its IPv4 header checksum is valid.
    static func checkSent(_ sent: [UInt8], port: Int) {
        check(sent.count >= 14, "a sent frame of \(sent.count) bytes")
        let source = sent[6..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        check(source == ourMACs[port], "a frame out of port \(port) from \(macText(source))")
        guard sent.count >= 34, sent[12] == 0x08, sent[13] == 0x00, sent[14] == 0x45, sent[23] == 1 else { return }
        let checksum = sent.withUnsafeBytes { FrameWriter.fold(FrameWriter.sum($0.baseAddress! + 14, 20)) }
        if sent[26..<30] == [10, 199, UInt8(port + 1), 254] {
            check(checksum == 0xFFFF, "an ICMP message of ours with a bad IP checksum")
        }
    }
}
