import FirewallCore
import Ports

/// Frames the router writes itself for one port (ARP and ND replies and requests, ICMP errors,
/// echo replies, packets sent from the resolution queue): slots in an arena allocated once,
/// sent together by copy after the burst that caused them.
struct ControlOutput {
    /// Room for a jumbo frame with two VLAN tags.
    static let slotBytes = 9216 + 22 + 42
    var burst: FrameBurst
    let arena: UnsafeMutableRawPointer

    init(slots: Int) {
        burst = FrameBurst(capacity: slots)
        arena = .allocate(byteCount: slots * Self.slotBytes, alignment: 64)
    }

    func deallocate() {
        burst.deallocate()
        arena.deallocate()
    }

    /// The next free slot, or nil when this burst's output is full (the frame is not written).
    @inline(__always) func nextSlot() -> UnsafeMutableRawPointer? {
        burst.count < burst.capacity ? arena + burst.count &* Self.slotBytes : nil
    }

    /// Takes the frame just written into `nextSlot()`.
    @inline(__always) mutating func commit(length: Int, timestamp: UInt64) {
        guard length > 0, burst.count < burst.capacity else { return }
        let i = burst.count
        burst.frames[i] = UnsafeRawPointer(arena + i &* Self.slotBytes)
        burst.lengths[i] = Int32(truncatingIfNeeded: length)
        burst.timestamps[i] = timestamp
        burst.count = i &+ 1
    }

    /// Sends what was written out of `port` and empties the output; returns the frames sent.
    mutating func flush(to port: PacketPort, queue: Int, sender: inout BurstForwarder, counters: RouterCounters)
        -> Int
    {
        guard burst.count > 0 else { return 0 }
        let r = sender.send(burst, to: port, queue: queue)
        if r.txFull &+ r.errors > 0 { counters.add(.controlTxFull, r.txFull &+ r.errors) }
        burst.count = 0
        return r.sent
    }
}

/// Packets waiting for their next hop's MAC: copies (the receiving port gets its frame back at
/// once), at most `capacity`, kept until the neighbour answers, fails, or the wait passes.
struct PendingFrames {
    struct Entry {
        var used = false
        var length = 0
        var l3 = 0
        var ingress: UInt8 = 0
        var egress: UInt8 = 0
        var v6 = false
        var nextHop = IPAddress.zero
        var since: UInt64 = 0
    }

    let capacity: Int
    let arena: UnsafeMutableRawPointer
    let entries: UnsafeMutablePointer<Entry>
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        arena = .allocate(byteCount: capacity * ControlOutput.slotBytes, alignment: 64)
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(), count: capacity)
    }

    func deallocate() {
        arena.deallocate()
        entries.deallocate()
    }

    func bytes(_ i: Int) -> UnsafeMutableRawPointer { arena + i &* ControlOutput.slotBytes }

    /// Copies the frame in; false when the queue is full or the frame too large for a slot.
    mutating func add(
        _ frame: UnsafeRawBufferPointer, l3: Int, ingress: UInt8, egress: UInt8, nextHop: IPAddress, v6: Bool,
        now: UInt64
    ) -> Bool {
        guard count < capacity, let base = frame.baseAddress, frame.count <= ControlOutput.slotBytes else {
            return false
        }
        var i = 0
        while entries[i].used { i &+= 1 }
        bytes(i).copyMemory(from: base, byteCount: frame.count)
        entries[i] = Entry(
            used: true, length: frame.count, l3: l3, ingress: ingress, egress: egress, v6: v6, nextHop: nextHop,
            since: now)
        count &+= 1
        return true
    }

    mutating func remove(_ i: Int) {
        guard entries[i].used else { return }
        entries[i].used = false
        count &-= 1
    }
}
