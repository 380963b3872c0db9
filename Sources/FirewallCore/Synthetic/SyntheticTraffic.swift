// Synthetic traffic for `vfwall bench-pipeline` and Benchmarks/: in FirewallCore so both
// measure exactly the same frames and policy.

/// A policy of `rules` rules that the synthetic traffic (10.0.0.0/8 -> 192.0.2.0/24, UDP) matches
/// only at the last one; the others are scattered prefixes and ports it never hits.
public enum SyntheticPolicy {
    public static func make(rules: Int) -> Policy {
        var out: [Rule] = []
        var seed: UInt64 = 0x5EED
        func rnd() -> UInt64 { seed &+= 0x9E37_79B9_7F4A_7C15; var z = seed; z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; return z ^ (z >> 31) }
        for i in 0..<(rules - 1) {
            var m = RuleMatch()
            let net = UInt32(0xAC10_0000) | UInt32(truncatingIfNeeded: rnd() & 0x000F_FF00)   // 172.16.0.0/12, /24s
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

/// Preallocated 64-byte UDP frames, one per flow and direction, written once.
public final class SyntheticTraffic {
    static let frameSize = 60
    public let flows: Int
    let forward: UnsafeMutableRawPointer
    let backward: UnsafeMutableRawPointer
    /// Scratch frames for never-seen flows, rewritten in place.
    let scratch: UnsafeMutableRawPointer
    static let scratchSlots = 256

    public init(flows: Int) {
        self.flows = flows
        forward = .allocate(byteCount: flows * Self.frameSize, alignment: 16)
        backward = .allocate(byteCount: flows * Self.frameSize, alignment: 16)
        scratch = .allocate(byteCount: Self.scratchSlots * Self.frameSize, alignment: 16)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: Self.scratchSlots * Self.frameSize)
        for f in 0..<flows {
            Self.write(forward + f * Self.frameSize, flow: f, reply: false)
            Self.write(backward + f * Self.frameSize, flow: f, reply: true)
        }
    }

    public func deallocate() { forward.deallocate(); backward.deallocate(); scratch.deallocate() }

    static func endpoints(_ flow: Int) -> (client: UInt32, port: UInt16) {
        (0x0A00_0000 | UInt32(truncatingIfNeeded: flow >> 6) & 0x00FF_FFFF, UInt16(1024 + (flow & 63)))
    }

    static func write(_ p: UnsafeMutableRawPointer, flow: Int, reply: Bool) {
        let w = FrameWriter(p, capacity: frameSize)
        let (client, port) = endpoints(flow)
        let server: UInt32 = 0xC000_0200 | UInt32(flow & 0xFF)
        let l3 = w.ethernet(dst: [2, 0, 0, 0, 0, reply ? 1 : 2], src: [2, 0, 0, 0, 0, reply ? 2 : 1], type: 0x0800)
        let l4 = w.ipv4(at: l3, src: reply ? server : client, dst: reply ? client : server, proto: 17, payload: 8 + 18)
        w.udp(at: l4, sport: reply ? 53 : port, dport: reply ? port : 53, payload: 18, l3: l3, v6: false)
    }

    @inline(__always)
    public func fill(_ b: inout FrameBurst, slot: Int, flow: Int, reply: Bool, now: UInt64) {
        b.frames[slot] = UnsafeRawPointer((reply ? backward : forward) + flow * Self.frameSize)
        b.lengths[slot] = Int32(Self.frameSize)
        b.timestamps[slot] = now
    }

    /// A frame of a never-seen flow: the template's source (in 10.128.0.0/9, apart from the established set) is rewritten in
    /// place (checksums are left stale: the pipeline does not verify them, and this keeps the
    /// generator's cost out of the measurement).
    @inline(__always)
    public func fillNew(_ b: inout FrameBurst, slot: Int, flowNumber: Int, now: UInt64) {
        let p = scratch + (slot % Self.scratchSlots) * Self.frameSize
        if p.load(fromByteOffset: 12, as: UInt16.self) == 0 { Self.write(p, flow: 0, reply: false) }
        let n = UInt32(truncatingIfNeeded: flowNumber)
        p.storeBytes(of: (0x0A80_0000 | (n >> 6) & 0x007F_FFFF).bigEndian, toByteOffset: 26, as: UInt32.self)
        p.storeBytes(of: UInt16(1024 + (n & 63)).bigEndian, toByteOffset: 34, as: UInt16.self)
        b.frames[slot] = UnsafeRawPointer(p)
        b.lengths[slot] = Int32(Self.frameSize)
        b.timestamps[slot] = now
    }
}
