/// Writes well-formed Ethernet/IPv4/IPv6 frames into caller-owned memory: the synthetic traffic of
/// benchmarks and the load generator, and the replies of `reject`. Network byte order; the IPv4
/// header checksum and the TCP, UDP and ICMP checksums are computed.
public struct FrameWriter {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int

    public init(_ base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always) func put8(_ o: Int, _ v: UInt8) { base.storeBytes(of: v, toByteOffset: o, as: UInt8.self) }
    @inline(__always) func put16(_ o: Int, _ v: UInt16) {
        base.storeBytes(of: v.bigEndian, toByteOffset: o, as: UInt16.self)
    }
    @inline(__always) func put32(_ o: Int, _ v: UInt32) {
        base.storeBytes(of: v.bigEndian, toByteOffset: o, as: UInt32.self)
    }
    @inline(__always) func put64(_ o: Int, _ v: UInt64) {
        base.storeBytes(of: v.bigEndian, toByteOffset: o, as: UInt64.self)
    }

    /// Ethernet header (and an 802.1Q tag when `vlan` is given); returns the offset after it.
    public func ethernet(dst: [UInt8], src: [UInt8], type: UInt16, vlan: UInt16? = nil) -> Int {
        for i in 0..<6 {
            put8(i, dst[i])
            put8(6 + i, src[i])
        }
        var o = 12
        if let v = vlan {
            put16(o, 0x8100)
            put16(o + 2, v & 0x0FFF)
            o += 4
        }
        put16(o, type)
        return o + 2
    }

    /// IPv4 header without options at `o` for a payload of `payload` bytes; returns the offset after it.
    public func ipv4(at o: Int, src: UInt32, dst: UInt32, proto: UInt8, payload: Int, ttl: UInt8 = 64, id: UInt16 = 0)
        -> Int
    {
        put8(o, 0x45)
        put8(o + 1, 0)
        put16(o + 2, UInt16(20 + payload))
        put16(o + 4, id)
        put16(o + 6, 0x4000)
        put8(o + 8, ttl)
        put8(o + 9, proto)
        put16(o + 10, 0)
        put32(o + 12, src)
        put32(o + 16, dst)
        put16(o + 10, ~FrameWriter.fold(FrameWriter.sum(UnsafeRawPointer(base + o), 20)))
        return o + 20
    }

    /// IPv6 header at `o`; returns the offset after it.
    public func ipv6(at o: Int, src: IPAddress, dst: IPAddress, next: UInt8, payload: Int, hopLimit: UInt8 = 64) -> Int
    {
        put32(o, 0x6000_0000)
        put16(o + 4, UInt16(payload))
        put8(o + 6, next)
        put8(o + 7, hopLimit)
        put64(o + 8, src.hi)
        put64(o + 16, src.lo)
        put64(o + 24, dst.hi)
        put64(o + 32, dst.lo)
        return o + 40
    }

    /// UDP header at `o` (payload already in place or zero); checksum over the pseudo-header.
    public func udp(at o: Int, sport: UInt16, dport: UInt16, payload: Int, l3: Int, v6: Bool) {
        put16(o, sport)
        put16(o + 2, dport)
        put16(o + 4, UInt16(8 + payload))
        put16(o + 6, 0)
        let c = transportChecksum(l3: l3, l4: o, length: 8 + payload, proto: IPProto.udp, v6: v6)
        put16(o + 6, c == 0 ? 0xFFFF : c)
    }

    /// TCP header (20 bytes, no options) at `o`.
    public func tcp(
        at o: Int, sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8, window: UInt16 = 65535,
        payload: Int, l3: Int, v6: Bool
    ) {
        put16(o, sport)
        put16(o + 2, dport)
        put32(o + 4, seq)
        put32(o + 8, ack)
        put8(o + 12, 5 << 4)
        put8(o + 13, flags)
        put16(o + 14, window)
        put16(o + 16, 0)
        put16(o + 18, 0)
        put16(o + 16, transportChecksum(l3: l3, l4: o, length: 20 + payload, proto: IPProto.tcp, v6: v6))
    }

    /// ICMP (v4: plain sum; v6: with the pseudo-header) over `length` bytes at `o`, type/code set.
    public func icmp(at o: Int, type: UInt8, code: UInt8, rest: UInt32, length: Int, l3: Int, v6: Bool) {
        put8(o, type)
        put8(o + 1, code)
        put16(o + 2, 0)
        put32(o + 4, rest)
        let c =
            v6
            ? transportChecksum(l3: l3, l4: o, length: length, proto: IPProto.icmpv6, v6: true)
            : ~FrameWriter.fold(FrameWriter.sum(UnsafeRawPointer(base + o), length))
        put16(o + 2, c)
    }

    func transportChecksum(l3: Int, l4: Int, length: Int, proto: UInt8, v6: Bool) -> UInt16 {
        var s: UInt64
        if v6 {
            s = FrameWriter.sum(UnsafeRawPointer(base + l3 + 8), 32)
        } else {
            s = FrameWriter.sum(UnsafeRawPointer(base + l3 + 12), 8)
        }
        s += UInt64(proto) + UInt64(length)
        s += FrameWriter.sum(UnsafeRawPointer(base + l4), length)
        return ~FrameWriter.fold(s)
    }

    /// Ones'-complement sum of 16-bit big-endian words (odd tail padded with zero).
    public static func sum(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
        var s: UInt64 = 0, i = 0
        while i + 1 < n {
            s += UInt64(p.be16(i))
            i += 2
        }
        if i < n { s += UInt64(p.u8(i)) << 8 }
        return s
    }

    public static func fold(_ s: UInt64) -> UInt16 {
        var v = s
        while v >> 16 != 0 { v = (v & 0xFFFF) + (v >> 16) }
        return UInt16(v)
    }
}
