/// One tracked connection. Both directions share it: the key is normalised so that endpoint `a`
/// sorts before endpoint `b`, and `originIsA` remembers which side opened the connection.
public struct FlowEntry {
    public var a: IPAddress
    public var b: IPAddress
    public var portA: UInt16
    public var portB: UInt16
    public var proto: UInt8
    public var flags: UInt8
    public var tcpState: TCPState
    public var isV6: Bool
    /// Absolute expiry in nanoseconds of packet time.
    public var expires: UInt64
    public var hash: UInt32
    /// Rule that accepted the first packet (or `Verdict.byDefault`).
    public var rule: Int32
    /// The verdict `rule` stands for. Conntrack: the tag (policy generation, ingress port, VLAN)
    /// under which the rule was matched, 0 for none (`Conntrack.cachedRule`). The fragment
    /// tracker: the first fragment's action and state. (The word pads the entry to one 64-byte
    /// cache line, so a lookup touches exactly one line.)
    public var verdictTag: UInt64 = 0

    public static let occupied: UInt8 = 1
    public static let originIsA: UInt8 = 2
    public static let seenReply: UInt8 = 4
    /// Completed its handshake (TCP established, or a reply seen): early drop spares it.
    public static let assured: UInt8 = 8

    @inline(__always) var isOccupied: Bool { flags & FlowEntry.occupied != 0 }

    // The entry as words, for `FlowTable.find` (layout checked by `FlowTable.layoutIsAsAssumed`):
    // bytes 32...39 are portA, portB, proto, flags, tcpState, isV6 (little-endian).
    @usableFromInline static let tailMask: UInt64 = 0xFF00_00FF_FFFF_FFFF
    @usableFromInline static let occupiedBitInTail = UInt64(occupied) << 40
}

/// A flow's identity as looked up: the normalised endpoints and which one sent this packet.
public struct FlowKey: Equatable {
    public var a: IPAddress, b: IPAddress
    public var portA: UInt16, portB: UInt16
    public var proto: UInt8
    public var isV6: Bool
    /// True when the packet travels from endpoint `a` to endpoint `b`.
    public var fromA: Bool
    public var hash: UInt32

    @inline(__always)
    public init(src: IPAddress, dst: IPAddress, sport: UInt16, dport: UInt16, proto: UInt8, v6: Bool) {
        let forward = src < dst || (src == dst && sport <= dport)
        if forward {
            self.init(a: src, b: dst, portA: sport, portB: dport, proto: proto, v6: v6, fromA: true)
        } else {
            self.init(a: dst, b: src, portA: dport, portB: sport, proto: proto, v6: v6, fromA: false)
        }
    }

    /// The key of an IPv4 packet (the parser's fast path): the same key as the general
    /// initialiser gives, with the zero high words known, so ordering and hashing skip them.
    @inline(__always)
    public init(v4Source src: UInt32, destination dst: UInt32, sport: UInt16, dport: UInt16, proto: UInt8) {
        // (address, port) pairs compared as one number each: the same order, one compare.
        let forward = UInt64(src) << 16 | UInt64(sport) <= UInt64(dst) << 16 | UInt64(dport)
        self.init(
            a: IPAddress(v4: forward ? src : dst), b: IPAddress(v4: forward ? dst : src),
            portA: forward ? sport : dport, portB: forward ? dport : sport, proto: proto, v6: false, fromA: forward)
    }

    /// A key taken as given, not normalised: `a` is the source. For tables where direction matters.
    @inline(__always)
    public init(
        exactSource src: IPAddress, destination dst: IPAddress, sport: UInt16, dport: UInt16, proto: UInt8, v6: Bool
    ) {
        self.init(a: src, b: dst, portA: sport, portB: dport, proto: proto, v6: v6, fromA: true)
    }

    @inline(__always)
    init(a: IPAddress, b: IPAddress, portA: UInt16, portB: UInt16, proto: UInt8, v6: Bool, fromA: Bool) {
        self.a = a
        self.b = b
        self.portA = portA
        self.portB = portB
        self.proto = proto
        isV6 = v6
        self.fromA = fromA
        // Four independent multiplies, summed, then one fold: short enough to stay off the
        // critical path, and every key bit reaches the 32 bits kept. For IPv4 the first word
        // holds both addresses whole (a low, b high), so no two flows collide before mixing.
        let addrs = a.lo ^ (b.lo << 32 | b.lo >> 32)
        let rest = UInt64(portA) << 32 | UInt64(portB) << 16 | UInt64(proto) << 1 | (v6 ? 1 : 0)
        var h =
            addrs &* 0x9E37_79B9_7F4A_7C15 &+ rest &* 0xBF58_476D_1CE4_E5B9
            &+ a.hi &* 0x94D0_49BB_1331_11EB &+ b.hi &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 29
        h = h &* 0x9E37_79B9_7F4A_7C15
        hash = UInt32(truncatingIfNeeded: h ^ (h >> 32))
    }

    /// Word 4 of a `FlowEntry` holding this key (flags and TCP state left zero).
    @inline(__always)
    var tailWord: UInt64 {
        UInt64(portA) | UInt64(portB) << 16 | UInt64(proto) << 32 | (isV6 ? 1 << 56 : 0)
    }
}

/// An open-addressing hash table of flows in one preallocated region: linear probing, at most
/// half full, backward-shift deletion (no tombstones), so lookups stay short and memory is fixed.
///
/// Beside the 64-byte entries lies an array of 4-byte tags, one per slot: the slot's hash with
/// its low bit set, or 0 when the slot is empty. At half load a quarter of the flows sit past
/// their home slot, and a lookup that walks the entries reads a second entry line for them. In a
/// table larger than the caches that is a cache miss no prefetch asked for, so there the pipeline
/// prefetches each lookup's tag line, then the one entry line its tags point to (`prefetchHome`,
/// `prefetchEntry`), and looks up with `findByTags`. While the live flows fit in the caches, the
/// tags would only add lines, and `find` walks the entries alone.
public final class FlowTable {
    public let maxFlows: Int
    public let capacity: Int
    @usableFromInline let mask: Int
    @usableFromInline let slots: UnsafeMutablePointer<FlowEntry>
    /// One per slot: `hash | 1` of an occupied slot, 0 of an empty one.
    @usableFromInline let tags: UnsafeMutablePointer<UInt32>
    public let region: UnsafeMutableRawPointer
    let regionBytes: Int
    let release: (@Sendable (UnsafeMutableRawPointer, Int) -> Void)?
    /// What holds the table: "heap", or the name of the region allocator that provided it.
    public let backing: String
    public private(set) var count = 0
    /// Where the incremental expiry sweep continues.
    @usableFromInline var sweepCursor = 0

    /// Whether `FlowEntry` is laid out as `find`'s word compares assume (one cache line; the
    /// key's words at the offsets named in `FlowEntry.tailMask`).
    static let layoutIsAsAssumed: Bool =
        MemoryLayout<FlowEntry>.stride == 64 && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.b) == 16
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.portA) == 32
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.portB) == 34
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.proto) == 36
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.flags) == 37
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.tcpState) == 38
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.isV6) == 39
        && MemoryLayout<FlowEntry>.offset(of: \FlowEntry.hash) == 48

    public init(maxFlows: Int, memory: RegionAllocator = .heap) {
        precondition(FlowTable.layoutIsAsAssumed, "FlowEntry layout changed: update FlowTable.find")
        self.maxFlows = max(1, maxFlows)
        var cap = 64
        while cap < self.maxFlows * 2 { cap <<= 1 }
        capacity = cap
        mask = cap - 1
        let bytes = cap * (MemoryLayout<FlowEntry>.stride + MemoryLayout<UInt32>.stride)
        if let r = memory.allocate(bytes) {
            precondition(Int(bitPattern: r) & 63 == 0, "a region allocator must align to 64 bytes")
            region = r
            regionBytes = bytes
            release = memory.release
            backing = memory.name
        } else {
            // Aligned by hand inside a plain allocation (64 bytes over): entries then sit one per
            // cache line, and no aligned allocator is needed.
            region = UnsafeMutableRawPointer.allocate(byteCount: bytes + 64, alignment: 16)
            regionBytes = 0
            release = nil
            backing = RegionAllocator.heap.name
        }
        let aligned = (Int(bitPattern: region) + 63) & ~63
        slots = UnsafeMutableRawPointer(bitPattern: aligned)!.bindMemory(to: FlowEntry.self, capacity: cap)
        let empty = FlowEntry(
            a: .zero, b: .zero, portA: 0, portB: 0, proto: 0, flags: 0, tcpState: .none,
            isV6: false, expires: 0, hash: 0, rule: 0)
        slots.initialize(repeating: empty, count: cap)
        tags = UnsafeMutableRawPointer(slots + cap).bindMemory(to: UInt32.self, capacity: cap)
        tags.initialize(repeating: 0, count: cap)
    }

    @inline(__always) static func tag(_ hash: UInt32) -> UInt32 { hash | 1 }

    deinit {
        if let release { release(region, regionBytes) } else { region.deallocate() }
    }

    /// Bytes held by the table for each flow it may hold.
    public var bytesPerFlow: Int { bytes / maxFlows }
    /// Bytes held by the table in all: entries and tags.
    public var bytes: Int { capacity * (MemoryLayout<FlowEntry>.stride + MemoryLayout<UInt32>.stride) }

    @inline(__always)
    public subscript(slot: Int) -> FlowEntry {
        get { slots[slot] }
        _modify { yield &slots[slot] }
    }

    /// Starts fetching the tag line where a hash's lookup begins (first of a burst's two passes).
    @inline(__always)
    public func prefetchHome(_ hash: UInt32) { prefetch(UnsafeRawPointer(tags + (Int(hash) & mask))) }

    /// Starts fetching a hash's home entry, where `find` starts (and, on a hit, usually ends).
    @inline(__always)
    public func prefetchHomeEntry(_ hash: UInt32) { prefetchForWriting(UnsafeRawPointer(slots + (Int(hash) & mask))) }

    /// Walks the tags from the hash's home and starts fetching the first entry whose tag matches
    /// (second pass, once the tag lines are in): the entry line a lookup of the hash reads. For
    /// a flow that is not there, the lines a new flow's insertion would write: the free slot,
    /// and the home entry, where early drop starts looking when the table is full.
    @inline(__always)
    public func prefetchEntry(_ hash: UInt32) {
        let tag = FlowTable.tag(hash)
        let home = Int(hash) & mask
        var i = home
        while true {
            let t = tags[i]
            if t == tag {
                prefetchForWriting(UnsafeRawPointer(slots + i))
                return
            }
            if t == 0 { break }
            i = (i &+ 1) & mask
        }
        prefetchForWriting(UnsafeRawPointer(slots + i))
        if i != home { prefetchForWriting(UnsafeRawPointer(slots + home)) }
    }

    /// Slot of the flow, or -1.
    ///
    /// Walks the entries from the home slot: the lookup for a table whose live flows sit in the
    /// core's caches, where reading the tags as well would only add lines. Compares whole words,
    /// XORed and ORed together (one branch, not one per field). Word 4 of an entry holds the
    /// ports, protocol and family, and the flags and TCP state, which `tailMask` leaves out.
    @inline(__always)
    public func find(_ k: FlowKey) -> Int { withUnsafePointer(to: k) { find(at: $0) } }

    /// The same, reading the key where it lies (the pipeline's key array): no copy of it.
    ///
    /// `v4Key`: the caller knows the key is IPv4 (the fast lane), so the high address words,
    /// zero in it and in every IPv4 entry, are not compared (`keyDiff`).
    @inline(__always)
    public func find(at kp: UnsafePointer<FlowKey>, v4Key: Bool = false) -> Int {
        let tail = kp.pointee.tailWord
        let hash = kp.pointee.hash
        let slots = self.slots, mask = self.mask
        var i = Int(hash) & mask
        while true {
            let w = UnsafeRawPointer(slots + i)
            let flagsWord = w.load(fromByteOffset: 32, as: UInt64.self)
            if flagsWord & FlowEntry.occupiedBitInTail == 0 { return -1 }
            // Another flow in the run usually differs in its stored hash: one compare skips it.
            if w.load(fromByteOffset: 48, as: UInt32.self) == hash
                && FlowTable.keyDiff(w, flagsWord, kp, tail, v4Key: v4Key) == 0
            {
                return i
            }
            i = (i &+ 1) & mask
        }
    }

    /// Slot of the flow, or -1, found through the tags: the lookup for a table larger than the
    /// caches, whose tag and entry lines the pipeline has prefetched (`prefetchHome`,
    /// `prefetchEntry`). Only the entry whose tag matches is read.
    @inline(__always)
    public func findByTags(at kp: UnsafePointer<FlowKey>, v4Key: Bool = false) -> Int {
        let hash = kp.pointee.hash
        let tag = FlowTable.tag(hash)
        let slots = self.slots, tags = self.tags, mask = self.mask
        var i = Int(hash) & mask
        while true {
            let t = tags[i]
            if t == 0 { return -1 }
            if t == tag {
                let w = UnsafeRawPointer(slots + i)
                // The tag drops the hash's low bit: the stored hash itself is compared too.
                let diff =
                    FlowTable.keyDiff(
                        w, w.load(fromByteOffset: 32, as: UInt64.self), kp, kp.pointee.tailWord, v4Key: v4Key)
                    | UInt64(w.load(fromByteOffset: 48, as: UInt32.self) ^ hash)
                if diff == 0 { return i }
            }
            i = (i &+ 1) & mask
        }
    }

    /// Zero exactly when the entry at `w` holds the key: its four address words, XORed and ORed
    /// together, and its word 4 (`entryTail`, already loaded) against the key's (`keyTail`).
    /// Word 4 holds the family: for a key known to be IPv4 (`v4Key`, a constant where this is
    /// inlined) an entry that matches it is IPv4 too, so both high words are zero in both.
    @inline(__always)
    static func keyDiff(
        _ w: UnsafeRawPointer, _ entryTail: UInt64, _ kp: UnsafePointer<FlowKey>, _ keyTail: UInt64,
        v4Key: Bool = false
    ) -> UInt64 {
        let low =
            (w.load(fromByteOffset: 8, as: UInt64.self) ^ kp.pointee.a.lo)
            | (w.load(fromByteOffset: 24, as: UInt64.self) ^ kp.pointee.b.lo)
            | ((entryTail ^ keyTail) & FlowEntry.tailMask)
        if v4Key { return low }
        return low | (w.load(as: UInt64.self) ^ kp.pointee.a.hi)
            | (w.load(fromByteOffset: 16, as: UInt64.self) ^ kp.pointee.b.hi)
    }

    /// Inserts a flow known to be absent; the caller has checked `count < maxFlows`.
    @inline(__always)
    public func insert(_ k: FlowKey, flags: UInt8, tcpState: TCPState, expires: UInt64, rule: Int32) -> Int {
        var i = Int(k.hash) & mask
        while tags[i] != 0 { i = (i + 1) & mask }
        slots[i] = FlowEntry(
            a: k.a, b: k.b, portA: k.portA, portB: k.portB, proto: k.proto,
            flags: flags | FlowEntry.occupied, tcpState: tcpState, isV6: k.isV6,
            expires: expires, hash: k.hash, rule: rule)
        tags[i] = FlowTable.tag(k.hash)
        count += 1
        return i
    }

    /// Removes the flow in `slot`, shifting later members of its probe run back into the hole.
    @inline(__always)
    public func remove(_ slot: Int) {
        var hole = slot
        var j = slot
        while true {
            j = (j + 1) & mask
            if tags[j] == 0 { break }
            let home = Int(slots[j].hash) & mask
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !stays {
                slots[hole] = slots[j]
                tags[hole] = tags[j]
                hole = j
            }
        }
        slots[hole].flags = 0
        tags[hole] = 0
        count -= 1
    }

    /// Early drop: within `scan` slots of `hash`'s home, evict one flow that has expired or never
    /// completed its handshake. Returns whether room was made.
    @inline(__always)
    public func evictEmbryonic(near hash: UInt32, now: UInt64, scan: Int) -> Bool {
        var i = Int(hash) & mask
        for _ in 0..<min(scan, capacity) {
            let e = slots[i]
            if e.isOccupied && (e.expires <= now || e.flags & FlowEntry.assured == 0) {
                remove(i)
                return true
            }
            i = (i + 1) & mask
        }
        return false
    }

    /// Examines up to `budget` slots from where the last sweep stopped and removes expired flows:
    /// O(1) per call, and the whole table is visited every capacity/budget calls.
    @inline(__always)
    public func sweep(now: UInt64, budget: Int) -> Int {
        var removed = 0
        // The cursor in a register (a stored property is written back on every step otherwise).
        var cursor = sweepCursor
        let tags = self.tags, slots = self.slots, mask = self.mask
        var step = 0
        while step < budget {
            // Empty slots are skipped on their tag, without reading the entry.
            if tags[cursor] != 0 && slots[cursor].expires <= now {
                remove(cursor)  // a later entry may shift into this slot: look again next step
                removed &+= 1
            } else {
                cursor = (cursor &+ 1) & mask
            }
            step &+= 1
        }
        sweepCursor = cursor
        return removed
    }

    /// Removes every flow (a reload may ask for it).
    public func removeAll() {
        for i in 0..<capacity {
            slots[i].flags = 0
            tags[i] = 0
        }
        count = 0
    }

    /// Calls `body` for every live flow (off the fast path: stats, dumps, tests).
    public func forEach(_ body: (FlowEntry) -> Void) {
        for i in 0..<capacity where slots[i].isOccupied { body(slots[i]) }
    }
}
