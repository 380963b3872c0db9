@testable import FirewallCore

/// Feeds frames through a real `Pipeline` in bursts of 32, as a worker does, and checks after every
/// burst that connection tracking stays within its bound. One microsecond of packet time per
/// frame, so a flood of tens of thousands of frames lasts a fraction of a second: nothing expires,
/// and only early drop can make room.
final class FloodDriver {
    let pipeline: Pipeline
    let burstSize = 32
    private var burst: FrameBurst
    private let arena: UnsafeMutableRawPointer
    private let arenaStride = 128
    private(set) var now: UInt64 = 1_000_000_000
    /// Largest `conntrack.count` seen after any burst.
    private(set) var peakFlows = 0
    let tableBytesAtCreation: Int

    init(policy: Policy, maxFlows: Int) {
        var s = ConntrackSettings()
        s.maxFlows = maxFlows
        pipeline = Pipeline(policy: CompiledPolicy(policy), conntrack: s, burstCapacity: 32)
        burst = FrameBurst(capacity: 32)
        arena = .allocate(byteCount: 128 * 32, alignment: 64)
        tableBytesAtCreation = pipeline.conntrack.table.bytes
    }

    deinit {
        burst.deallocate()
        arena.deallocate()
    }

    /// Runs frames (each with its ingress port) and returns their verdicts in order.
    func run(_ frames: [(bytes: [UInt8], ingress: Int)]) -> [Verdict] {
        var out: [Verdict] = []
        out.reserveCapacity(frames.count)
        var i = 0
        while i < frames.count {
            let ingress = frames[i].ingress
            burst.count = 0
            while i < frames.count && burst.count < burstSize && frames[i].ingress == ingress {
                let f = frames[i].bytes
                precondition(f.count <= arenaStride, "flood frames are small")
                let slot = arena + arenaStride * burst.count
                f.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: f.count) }
                burst.frames[burst.count] = UnsafeRawPointer(slot)
                burst.lengths[burst.count] = Int32(f.count)
                now += 1_000
                burst.timestamps[burst.count] = now
                burst.count += 1
                i += 1
            }
            pipeline.process(burst, ingress: ingress, link: .ethernet)
            for j in 0..<burst.count { out.append(burst.verdicts[j]) }
            peakFlows = max(peakFlows, pipeline.conntrack.count)
        }
        return out
    }

    /// Sum of per-frame reasons, and of per-frame actions, each equals the frames counted.
    var countersAddUp: Bool {
        let k = pipeline.counters
        return k.reasons.reduce(0, +) == k.frames && k.count(.accept) + k.count(.drop) + k.count(.reject) == k.frames
    }

    /// A one-line account of the flood's cost, printed by the tests for the closing report.
    func report(_ name: String, offered: Int, kept: Int, of established: Int) -> String {
        let ct = pipeline.conntrack
        return
            "\(name): offered \(offered) new flows, bound \(ct.table.maxFlows), peak \(peakFlows), created "
            + "\(ct.created), "
            + "early drops \(ct.earlyDropped), refused \(ct.refused) (conntrack-full "
            + "\(pipeline.counters.count(.conntrackFull))), "
            + "invalid \(pipeline.counters.count(.invalidState)), established kept \(kept)/\(established), "
            + "table \(ct.table.bytes) bytes (\(ct.table.bytesPerFlow) per flow, \(tableBytesAtCreation) at creation)"
    }

    /// A distinct spoofed IPv4 source per flood index (198.18.0.0/15, the benchmarking range).
    static func floodSource(_ i: Int) -> String { "198.\(18 + (i >> 16) & 1).\((i >> 8) & 0xFF).\(i & 0xFF)" }
}
