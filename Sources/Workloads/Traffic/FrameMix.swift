/// What the generator sends: one frame size, or the simple IMIX (7:4:1 of 64, 570 and 1518
/// bytes, sizes on the wire with the FCS, as RFC 2544 counts them), over `flows` UDP flows.
public struct FrameMix: Sendable, Equatable, CustomStringConvertible {
    public struct Part: Sendable, Equatable { public var size: Int, weight: Int }
    public var parts: [Part]
    public let name: String

    public static func fixed(_ size: Int) -> FrameMix {
        FrameMix(parts: [Part(size: size, weight: 1)], name: "\(size)")
    }
    public static let imix = FrameMix(
        parts: [Part(size: 64, weight: 7), Part(size: 570, weight: 4), Part(size: 1518, weight: 1)],
        name: "imix")

    /// "64" ... "1518", or "imix"; nil for anything else.
    public init?(_ text: String) {
        if text.lowercased() == "imix" {
            self = .imix
            return
        }
        guard let n = Int(text), (GenFrames.minimumSize...1518).contains(n) else { return nil }
        self = .fixed(n)
    }

    init(parts: [Part], name: String) {
        self.parts = parts
        self.name = name
    }

    public var description: String { name }

    /// The mean frame size on the wire, FCS included (IMIX: 353.8 bytes).
    public var meanWireSize: Double {
        let w = parts.reduce(0) { $0 + $1.weight }
        return Double(parts.reduce(0) { $0 + $1.size * $1.weight }) / Double(w)
    }

    /// Bits on the wire per second at `pps` frames per second, with the 20 bytes of preamble and
    /// inter-frame gap each frame costs on Ethernet (so 64-byte frames at 14.88 Mpps are 10 Gbit/s).
    public func lineBitsPerSecond(pps: Double) -> Double { pps * (meanWireSize + 20) * 8 }
    /// Frame bits per second (what interface counters show): FCS included, no preamble or gap.
    public func frameBitsPerSecond(pps: Double) -> Double { pps * meanWireSize * 8 }
}

/// The flows the XDP generator spreads its frames over: frame number `seq` gets UDP source port
/// `base + (seq * stride + offset) % count`. The stride is coprime to the count, so every run of
/// `count` consecutive frames visits every port once; the seed picks the stride and the offset,
/// so two seeds give two orders. The XDP program computes the same (Sources/CXDPGen).
public struct GenFlows: Sendable, Equatable {
    public var count: UInt32, stride: UInt32, offset: UInt32, base: UInt16

    public init(count: Int, seed: UInt64, base: UInt16 = 10000) {
        let n = UInt32(max(1, min(count, 50000)))
        var rng = SplitMix64(seed: seed)
        var s = UInt32(truncatingIfNeeded: rng.next() % UInt64(n)) | 1
        while gcd(s, n) != 1 { s = s &+ 2 }
        self.count = n
        self.stride = n == 1 ? 1 : s % n == 0 ? 1 : s
        self.offset = UInt32(truncatingIfNeeded: rng.next() % UInt64(n))
        self.base = base
    }

    /// The source port of frame `seq`.
    public func sourcePort(_ seq: UInt64) -> UInt16 {
        UInt16(truncatingIfNeeded: UInt64(base) + (seq &* UInt64(stride) &+ UInt64(offset)) % UInt64(count))
    }
}

private func gcd(_ a: UInt32, _ b: UInt32) -> UInt32 { b == 0 ? a : gcd(b, a % b) }
