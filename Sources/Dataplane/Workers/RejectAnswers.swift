import FirewallCore
import Ports

/// Answers the rejected frames of a burst: a TCP RST or an ICMP unreachable (`RejectReply`),
/// sent back out of the port the frame came in on, before the burst is transmitted (the reply
/// is built from the frame's bytes, which are the receiving port's until then).
///
/// One per worker, allocated once: a burst of reply slots, its byte arena and a forwarder.
/// Replies are copied into the ingress port's TX queue (counted there as any frame sent) and
/// counted again in `replies`: `tx` per reply sent, `txFull` per reply the TX ring refused.
/// Rejects are rare, so the rejected frame is parsed again here rather than asking the
/// pipeline for its scratch metadata.
struct RejectAnswers {
    let burst: FrameBurst
    let arena: UnsafeMutableRawPointer
    let meta: UnsafeMutablePointer<PacketMeta>
    let replies: PortCounters
    private let sender: UnsafeMutablePointer<BurstForwarder>
    static let slot = RejectReply.maxLength

    init(burst: Int, queues: Int) {
        self.burst = FrameBurst(capacity: burst)
        arena = .allocate(byteCount: burst * Self.slot, alignment: 64)
        meta = .allocate(capacity: 1)
        meta.initialize(to: PacketMeta())
        replies = PortCounters(queues: queues)
        sender = .allocate(capacity: 1)
        sender.initialize(to: BurstForwarder(capacity: burst))
    }

    func deallocate() {
        burst.deallocate()
        arena.deallocate()
        meta.deallocate()
        replies.deallocate()
        sender.pointee.deallocate()
        sender.deinitialize(count: 1)
        sender.deallocate()
    }

    /// Sends the replies due for the rejected frames of `burst` (received by `port` on `queue`).
    /// The worker calls it only for a burst the pipeline rejected frames of.
    func answer(_ received: FrameBurst, from port: PacketPort, queue: Int) {
        var out = burst
        var n = 0
        let link = port.linkType
        for i in 0..<received.count where received.verdicts[i].action == .reject {
            let frame = received.frame(i)
            guard Parser.parse(frame, link: link, into: &meta.pointee) == .none else { continue }
            let slot = arena + n &* Self.slot
            let length = RejectReply.build(for: frame, meta: meta.pointee, into: slot, capacity: Self.slot)
            if length == 0 { continue }
            out.frames[n] = UnsafeRawPointer(slot)
            out.lengths[n] = Int32(truncatingIfNeeded: length)
            out.timestamps[n] = received.timestamps[i]
            n &+= 1
        }
        if n == 0 { return }
        out.count = n
        let r = sender.pointee.send(out, to: port, queue: queue)
        replies.add(.tx, r.sent, queue: queue)
        if r.txFull &+ r.errors > 0 { replies.add(.txFull, r.txFull &+ r.errors, queue: queue) }
    }
}
