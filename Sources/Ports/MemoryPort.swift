import CLinux
import FirewallCore

/// A port in memory, for tests and benchmarks of the run loop: frames are injected into its
/// RX queues and collected from its TX queues. Its fast path is as allocation-free as the real
/// ports' (fixed slot rings, copies into preallocated bytes), so it can stand in for one when
/// measuring the pipeline. `inject` and `takeTransmitted` are the slow, test-side half.
///
/// Each queue's RX ring has one producer (`inject`) and one consumer (the worker), and each TX
/// ring one producer (the worker) and one consumer (`takeTransmitted`): a test may inject and
/// drain while a worker runs, one thread on each side of a ring.
public final class MemoryPort: PacketPort {
    public let name: String
    public let queueCount: Int
    public let linkType: LinkType
    public let macAddress: MACAddress?
    public let counters: PortCounters
    /// What `linkState()` reports; tests flip it.
    public var link = LinkState(up: true)
    /// Whether the injected times stand for the clock (a test of what reads "now" from a burst).
    public let stampsReceiptTime: Bool

    /// Largest frame a slot holds; longer injected frames are refused.
    public let slotSize: Int
    private let rx: UnsafeMutablePointer<SlotRing>
    private let tx: UnsafeMutablePointer<SlotRing>
    private var closed = false

    /// - Parameters:
    ///   - rxSlots: frames each RX queue can hold before `inject` refuses more.
    ///   - txSlots: frames each TX queue can hold before a send counts `txFull`.
    public init(
        name: String, queues: Int = 1, rxSlots: Int = 1024, txSlots: Int = 1024,
        slotSize: Int = 2048, linkType: LinkType = .ethernet, mac: MACAddress? = nil, stampsReceiptTime: Bool = false
    ) {
        precondition(queues > 0 && rxSlots > 0 && txSlots > 0 && slotSize > 0, "sizes are positive")
        self.name = name
        self.queueCount = queues
        self.linkType = linkType
        self.macAddress = mac
        self.slotSize = slotSize
        self.stampsReceiptTime = stampsReceiptTime
        counters = PortCounters(queues: queues)
        rx = .allocate(capacity: queues)
        tx = .allocate(capacity: queues)
        for q in 0..<queues {
            (rx + q).initialize(to: SlotRing(slots: rxSlots, slotSize: slotSize))
            (tx + q).initialize(to: SlotRing(slots: txSlots, slotSize: slotSize))
        }
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        for q in 0..<queueCount {
            rx[q].deallocate()
            tx[q].deallocate()
        }
        rx.deallocate()
        tx.deallocate()
        counters.deallocate()
    }

    public func linkState() -> LinkState { link }

    // MARK: test side

    /// Queues frames for reception on `queue`, with the given timestamps (or 0, 1, 2 ... ns
    /// after the last one). Returns how many fit; the rest are refused.
    @discardableResult
    public func inject(_ frames: [[UInt8]], queue: Int = 0, timestamps: [UInt64]? = nil) -> Int {
        precondition(!closed && queue >= 0 && queue < queueCount, "queue \(queue) of \(name)")
        var accepted = 0
        for (i, frame) in frames.enumerated() {
            let time = timestamps?[i] ?? rx[queue].lastTime &+ 1
            let ok = frame.withUnsafeBytes { rx[queue].push($0, time: time) }
            if !ok { break }
            accepted += 1
        }
        return accepted
    }

    /// The frames this port has sent on `queue`, oldest first; empties the queue.
    public func takeTransmitted(queue: Int = 0) -> [[UInt8]] {
        precondition(!closed && queue >= 0 && queue < queueCount, "queue \(queue) of \(name)")
        var out: [[UInt8]] = []
        while let frame = tx[queue].peek() {
            out.append(Array(frame))
            tx[queue].pop(1)
        }
        return out
    }

    /// Frames waiting to be received on `queue`.
    public func pendingReceive(queue: Int = 0) -> Int { rx[queue].waiting }

    // MARK: fast path

    public func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        let ring = rx + queue
        ring.pointee.returnLent()  // the previous burst of this queue is over
        var n = 0
        while n < burst.capacity, let slot = ring.pointee.lend() {
            burst.frames[n] = UnsafeRawPointer(slot.bytes)
            burst.lengths[n] = slot.length
            burst.timestamps[n] = slot.time
            n &+= 1
        }
        burst.count = n
        if n > 0 {
            counters.add(.rx, n, queue: queue)
            var bytes = 0
            for i in 0..<n { bytes &+= Int(burst.lengths[i]) }
            counters.add(.rxBytes, bytes, queue: queue)
        }
        return n
    }

    public func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        let ring = tx + queue
        var result = SendResult()
        for k in 0..<split.acceptedCount {
            let i = Int(split.accepted[k])
            let length = Int(burst.lengths[i])
            let frame = UnsafeRawBufferPointer(start: burst.frames[i], count: length)
            if ring.pointee.push(frame, time: burst.timestamps[i]) {
                result.sent &+= 1
                result.sentBytes &+= length
            } else {
                result.txFull &+= 1
            }
        }
        return result
    }

    public func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {
        rx[queue].returnLent()
    }
}

/// A fixed ring of fixed-size frame slots: `push` at the tail, `lend` from the head (the lent
/// slots stay readable), `returnLent` gives the lent slots back.
///
/// One producer and one consumer may use it from two threads (a test injecting while a worker
/// receives): each side writes only its own cursor, with release, and reads the other's with
/// acquire, so a slot is filled before it is seen and read before it is reused.
struct SlotRing {
    struct Slot {
        let bytes: UnsafeMutableRawPointer
        let length: Int32
        let time: UInt64
    }

    let slots: Int
    let slotSize: Int
    let storage: UnsafeMutableRawPointer
    let lengths: UnsafeMutablePointer<Int32>
    let times: UnsafeMutablePointer<UInt64>
    /// The producer's line: frames pushed since the start, the last timestamp pushed.
    private let producer: UnsafeMutablePointer<UInt64>
    /// The consumer's line: frames given back since the start, frames received (lent or given
    /// back) since the start.
    private let consumer: UnsafeMutablePointer<UInt64>
    private static let lineWords = 8

    init(slots: Int, slotSize: Int) {
        self.slots = slots
        self.slotSize = slotSize
        storage = .allocate(byteCount: slots * slotSize, alignment: 64)
        lengths = .allocate(capacity: slots)
        lengths.initialize(repeating: 0, count: slots)
        times = .allocate(capacity: slots)
        times.initialize(repeating: 0, count: slots)
        producer = .allocate(capacity: Self.lineWords)
        producer.initialize(repeating: 0, count: Self.lineWords)
        consumer = .allocate(capacity: Self.lineWords)
        consumer.initialize(repeating: 0, count: Self.lineWords)
    }

    func deallocate() {
        storage.deallocate()
        lengths.deallocate()
        times.deallocate()
        producer.deallocate()
        consumer.deallocate()
    }

    private var pushed: UInt64 { clinux_load_acquire(producer) }
    private var givenBack: UInt64 { clinux_load_acquire(consumer) }
    private var received: UInt64 { clinux_load_acquire(consumer + 1) }

    /// Producer side: the timestamp of the last frame pushed.
    var lastTime: UInt64 { producer[1] }

    /// Frames in the ring, lent ones included.
    var count: Int { Int(pushed &- givenBack) }

    /// Frames not received yet. (Received first: both only grow, so a reader on another thread
    /// may see too many for a moment, never too few.)
    var waiting: Int {
        let received = self.received
        return Int(pushed &- received)
    }

    /// Producer side.
    @inline(__always)
    func push(_ frame: UnsafeRawBufferPointer, time: UInt64) -> Bool {
        let tail = producer[0]
        guard Int(tail &- givenBack) < slots, frame.count <= slotSize else { return false }
        let index = Int(tail % UInt64(slots))
        if let base = frame.baseAddress { (storage + index &* slotSize).copyMemory(from: base, byteCount: frame.count) }
        lengths[index] = Int32(frame.count)
        times[index] = time
        producer[1] = time
        clinux_store_release(producer, tail &+ 1)
        return true
    }

    /// Consumer side: the next frame not received yet, which stays readable until given back.
    @inline(__always)
    func lend() -> Slot? {
        let next = consumer[1]
        guard next < pushed else { return nil }
        let index = Int(next % UInt64(slots))
        clinux_store_release(consumer + 1, next &+ 1)
        return Slot(bytes: storage + index &* slotSize, length: lengths[index], time: times[index])
    }

    /// Consumer side: gives back every frame lent.
    @inline(__always)
    func returnLent() {
        let received = consumer[1]
        if consumer[0] != received { clinux_store_release(consumer, received) }
    }

    /// Consumer side: gives back the `n` oldest frames.
    func pop(_ n: Int) {
        let head = consumer[0] &+ UInt64(n)
        clinux_store_release(consumer, head)
        if consumer[1] < head { clinux_store_release(consumer + 1, head) }
    }

    /// Consumer side: the oldest frame, if any.
    func peek() -> UnsafeRawBufferPointer? {
        let head = consumer[0]
        guard head < pushed else { return nil }
        let index = Int(head % UInt64(slots))
        return UnsafeRawBufferPointer(start: storage + index &* slotSize, count: Int(lengths[index]))
    }
}
