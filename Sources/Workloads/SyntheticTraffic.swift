import FirewallCore

// Synthetic traffic for `vfwall bench-pipeline` and Benchmarks/: in one module so both
// measure exactly the same frames and policy.

/// A policy of `rules` rules that the synthetic traffic (10.0.0.0/8 -> 192.0.2.0/24, UDP) matches
/// only at the last one; the others are scattered prefixes and ports it never hits.
public enum SyntheticPolicy {
    public static func make(rules: Int) -> Policy {
        var out: [Rule] = []
        var seed: UInt64 = 0x5EED
        func rnd() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 31)
        }
        for i in 0..<(rules - 1) {
            var m = RuleMatch()
            let net = UInt32(0xAC10_0000) | UInt32(truncatingIfNeeded: rnd() & 0x000F_FF00)  // 172.16.0.0/12, /24s
            m.sources = [IPPrefix(address: IPAddress(v4: net), length: 24, isV6: false)]
            m.protocols = [i % 2 == 0 ? 6 : 17]
            let p = UInt16(truncatingIfNeeded: rnd() % 60000) + 1
            m.destinationPorts = [PortRange(p, p &+ UInt16(rnd() % 100))]
            out.append(Rule(name: "filler-\(i)", action: i % 3 == 0 ? .drop : .accept, match: m))
        }
        var last = RuleMatch()
        last.sources = [IPPrefix.parse("10.0.0.0/8")!]
        last.protocols = [17]
        out.append(Rule(name: "accept-traffic", action: .accept, match: last))
        return Policy(portNames: ["inside", "outside"], rules: out)
    }
}

/// Where the synthetic frames lie when the pipeline reads them.
public enum FrameSource: String, CaseIterable, Sendable {
    /// Each frame is written into the next buffer of a ring of 1,024 recycled buffers, as a
    /// NIC writes received frames into a driver's mbufs: the headers are in cache when parsed
    /// (DDIO, or a mempool's recently freed buffers), and writing them is timed with the rest.
    case ring
    /// One preallocated frame per flow and direction, read where it lies: with a million flows
    /// the frames stream from DRAM, which no NIC makes a CPU do. A worst case.
    case perFlow = "per-flow"
}

/// 64-byte Ethernet/IPv4/UDP frames of numbered flows, in preallocated memory.
public final class SyntheticTraffic {
    static let frameSize = 60
    public let flows: Int
    public let source: FrameSource
    /// `.perFlow` only: every flow's frame in each direction, written once.
    let forward: UnsafeMutableRawPointer?
    let backward: UnsafeMutableRawPointer?
    /// Recycled buffers: every frame in `.ring`, and never-seen flows' frames in both sources.
    let ring: UnsafeMutableRawPointer
    static let ringSlots = 1024
    /// A DPDK mbuf's size (128-byte header, 2,176-byte data room): not a power of two, so the
    /// buffers do not all fall into the same few cache sets.
    static let ringStride = 2304
    var ringNext = 0

    public init(flows: Int, source: FrameSource = .ring) {
        self.flows = flows
        self.source = source
        if source == .perFlow {
            let f = UnsafeMutableRawPointer.allocate(byteCount: flows * Self.frameSize, alignment: 16)
            let b = UnsafeMutableRawPointer.allocate(byteCount: flows * Self.frameSize, alignment: 16)
            for flow in 0..<flows {
                Self.write(f + flow * Self.frameSize, flow: flow, reply: false)
                Self.write(b + flow * Self.frameSize, flow: flow, reply: true)
            }
            forward = f
            backward = b
        } else {
            forward = nil
            backward = nil
        }
        ring = .allocate(byteCount: Self.ringSlots * Self.ringStride, alignment: 64)
        ring.initializeMemory(as: UInt8.self, repeating: 0, count: Self.ringSlots * Self.ringStride)
        for slot in 0..<Self.ringSlots { Self.write(ring + slot * Self.ringStride, flow: 0, reply: false) }
    }

    public func deallocate() {
        forward?.deallocate()
        backward?.deallocate()
        ring.deallocate()
    }

    static func endpoints(_ flow: Int) -> (client: UInt32, port: UInt16, server: UInt32) {
        (
            0x0A00_0000 | UInt32(truncatingIfNeeded: flow >> 6) & 0x00FF_FFFF, UInt16(1024 + (flow & 63)),
            0xC000_0200 | UInt32(flow & 0xFF)
        )
    }

    static func write(_ p: UnsafeMutableRawPointer, flow: Int, reply: Bool) {
        let w = FrameWriter(p, capacity: frameSize)
        let (client, port, server) = endpoints(flow)
        let l3 = w.ethernet(dst: [2, 0, 0, 0, 0, reply ? 1 : 2], src: [2, 0, 0, 0, 0, reply ? 2 : 1], type: 0x0800)
        let l4 = w.ipv4(at: l3, src: reply ? server : client, dst: reply ? client : server, proto: 17, payload: 8 + 18)
        w.udp(at: l4, sport: reply ? 53 : port, dport: reply ? port : 53, payload: 18, l3: l3, v6: false)
    }

    /// The next ring buffer, with the addresses and ports of a frame written over the template's
    /// (checksums are left stale: the pipeline does not verify them).
    @inline(__always)
    func nextRingFrame(src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16) -> UnsafeRawPointer {
        let p = ring + ringNext * Self.ringStride
        ringNext = (ringNext + 1) & (Self.ringSlots - 1)
        p.storeBytes(of: src.bigEndian, toByteOffset: 26, as: UInt32.self)
        p.storeBytes(of: dst.bigEndian, toByteOffset: 30, as: UInt32.self)
        p.storeBytes(of: sport.bigEndian, toByteOffset: 34, as: UInt16.self)
        p.storeBytes(of: dport.bigEndian, toByteOffset: 36, as: UInt16.self)
        return UnsafeRawPointer(p)
    }

    /// A frame of flow `flow` (0..<flows), from its client (`reply` false) or its server.
    @inline(__always)
    public func fill(_ b: inout FrameBurst, slot: Int, flow: Int, reply: Bool, now: UInt64) {
        if let forward, let backward {
            b.frames[slot] = UnsafeRawPointer((reply ? backward : forward) + flow * Self.frameSize)
        } else {
            let (client, port, server) = Self.endpoints(flow)
            b.frames[slot] =
                reply
                ? nextRingFrame(src: server, dst: client, sport: 53, dport: port)
                : nextRingFrame(src: client, dst: server, sport: port, dport: 53)
        }
        b.lengths[slot] = Int32(Self.frameSize)
        b.timestamps[slot] = now
    }

    /// A frame of a never-seen flow: its client is in 10.128.0.0/9, apart from the numbered flows.
    @inline(__always)
    public func fillNew(_ b: inout FrameBurst, slot: Int, flowNumber: Int, now: UInt64) {
        let n = UInt32(truncatingIfNeeded: flowNumber)
        b.frames[slot] = nextRingFrame(
            src: 0x0A80_0000 | (n >> 6) & 0x007F_FFFF, dst: 0xC000_0200,
            sport: UInt16(1024 + (n & 63)), dport: 53)
        b.lengths[slot] = Int32(Self.frameSize)
        b.timestamps[slot] = now
    }
}
