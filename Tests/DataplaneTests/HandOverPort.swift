@testable import Dataplane
import FirewallCore
@testable import Ports

/// A memory port in a zero-copy domain, keeping the bargain DPDK's ports keep: `send(taking:)`
/// owns the frames it is handed (all of the burst's first `acceptedCount` when the split refuses
/// none, else the accepted ones) and `release(exceptTakenBy:)` frees only the split's refused
/// frames. It writes down which frames of the burst in hand each call took and gave back, so a
/// test sees a frame sent twice, sent in another's place, or never given back.
final class HandOverPort: PacketPort {
    let inner: MemoryPort
    /// Indexes into the last burst: frames taken by `send(taking:)` (from any port of the domain).
    var taken: [Int] = []
    /// Indexes into the last burst this port received: frames given back by `release`.
    var givenBack: [Int] = []

    init(_ inner: MemoryPort) { self.inner = inner }

    var name: String { inner.name }
    var queueCount: Int { inner.queueCount }
    var linkType: LinkType { inner.linkType }
    var zeroCopyDomain: ObjectIdentifier? { ObjectIdentifier(HandOverPort.self) }
    var stampsReceiptTime: Bool { inner.stampsReceiptTime }
    var macAddress: MACAddress? { inner.macAddress }
    var counters: PortCounters { inner.counters }
    func linkState() -> LinkState { inner.linkState() }

    func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        givenBack = []
        return inner.rxBurst(queue: queue, into: &burst)
    }

    func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        inner.send(copying: burst, split, queue: queue)
    }

    func send(taking burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        let count = split.acceptedCount
        taken = split.acceptsAll ? Array(0..<count) : (0..<count).map { Int(split.accepted[$0]) }
        var handed = BurstSplit(capacity: Swift.max(1, taken.count))
        defer { handed.deallocate() }
        for (k, i) in taken.enumerated() { handed.accepted[k] = Int32(i) }
        handed.acceptedCount = taken.count
        return inner.send(copying: burst, handed, queue: queue)
    }

    func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {
        givenBack = taken.map { t in (0..<t.refusedCount).map { Int(t.refused[$0]) } } ?? Array(0..<burst.count)
        inner.release(burst, queue: queue, exceptTakenBy: nil)
    }

    func close() { inner.close() }
}
