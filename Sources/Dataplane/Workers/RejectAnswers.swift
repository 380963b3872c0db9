import FirewallCore
import Ports

/// Answers the rejected frames of a burst: a TCP RST or an ICMP unreachable (`RejectReply`),
/// sent back out of the port the frame came in on, before the burst is transmitted (the reply
/// is built from the frame's bytes, which are the receiving port's until then).
///
/// One per worker, allocated once: a burst of reply slots and its byte arena. Replies are
/// copied into the ingress port's TX queue by its ordinary `transmit`, with `ReplySource` as
/// the frames' owner. Counted on that source: `tx` per reply sent, `txFull` per reply the TX
/// ring refused. Rejects are rare, so the rejected frame is parsed again here rather than
/// asking the pipeline for its scratch metadata.
struct RejectAnswers {
    let replies: FrameBurst
    let arena: UnsafeMutableRawPointer
    let meta: UnsafeMutablePointer<PacketMeta>
    let source: ReplySource
    static let slot = RejectReply.maxLength

    init(burst: Int, queues: Int) {
        replies = FrameBurst(capacity: burst)
        for i in 0..<burst { replies.verdicts[i] = Verdict(action: .accept) }
        arena = .allocate(byteCount: burst * Self.slot, alignment: 64)
        meta = .allocate(capacity: 1)
        meta.initialize(to: PacketMeta())
        source = ReplySource(queues: queues)
    }

    func deallocate() {
        replies.deallocate()
        arena.deallocate()
        meta.deallocate()
        source.counters.deallocate()
    }

    /// Sends the replies due for the rejected frames of `burst` (received by `port` on `queue`).
    /// The worker calls it only for a burst the pipeline rejected frames of.
    func answer(_ burst: FrameBurst, from port: PacketPort, queue: Int) {
        var out = replies
        var n = 0
        let link = port.linkType
        for i in 0..<burst.count where burst.verdicts[i].action == .reject {
            let frame = burst.frame(i)
            guard Parser.parse(frame, link: link, into: &meta.pointee) == .none else { continue }
            let slot = arena + n &* Self.slot
            let length = RejectReply.build(for: frame, meta: meta.pointee, into: slot, capacity: Self.slot)
            if length == 0 { continue }
            out.frames[n] = UnsafeRawPointer(slot)
            out.lengths[n] = Int32(truncatingIfNeeded: length)
            out.timestamps[n] = burst.timestamps[i]
            n &+= 1
        }
        if n == 0 { return }
        out.count = n
        let r = port.transmit(out, queue: queue, from: source)
        source.counters.add(.tx, r.sent, queue: queue)
        if r.txFull > 0 { source.counters.add(.txFull, r.txFull, queue: queue) }
    }
}

/// The owner of reply frames handed to `transmit`: they live in `RejectAnswers`'s arena, so
/// giving them back is nothing. Its counters count the replies (see `RejectAnswers`).
final class ReplySource: PacketPort {
    let name = "reject-replies"
    let queueCount: Int
    var linkType: LinkType { .ethernet }
    var backend: PortBackend { .memory }
    var macAddress: MACAddress? { nil }
    let counters: PortCounters

    init(queues: Int) {
        queueCount = queues
        counters = PortCounters(queues: queues)
    }

    func linkState() -> LinkState { LinkState(up: true) }
    func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int { 0 }
    func transmit(_ burst: FrameBurst, queue: Int, from source: PacketPort) -> TxResult { TxResult(dropped: burst.count) }
    func release(_ burst: FrameBurst, queue: Int) {}
    func close() {}
}
