import CXDPGen
import Glibc
import LinuxIO

/// An error from the XDP generator or sink, with the kernel's reason.
public struct XDPGenError: Error, CustomStringConvertible {
    public let description: String
    init(_ code: Int32, _ buffer: [CChar], _ what: String) {
        let msg = String(cString: buffer)
        description = msg.isEmpty ? "\(what): \(describeErrno(-code))" : msg
    }
}

/// `vfwall gen --engine xdp`: frames made by the kernel from a template and redirected out of an
/// interface by an XDP program run with BPF_PROG_TEST_RUN and live frames (Sources/CXDPGen).
/// Each frame gets its own sequence number, send time (CLOCK_MONOTONIC) and source port (one
/// of `flows`); the template (addresses, size) is fixed per test run, so IMIX alternates runs.
public final class XDPGenerator {
    let handle: OpaquePointer
    let templates: [UnsafeMutableRawPointer]
    public let interface: String
    public let flows: GenFlows

    /// Loads the generator for `interface` in the calling network namespace.
    public init(interface: String, flow: GenFrames.Flow, mix: FrameMix, flows: GenFlows, batch: Int = 64) throws {
        let index = cxdpgen_ifindex(nil, interface)
        guard index > 0 else { throw XDPGenError(index, [0], "no interface \(interface)") }
        var err = [CChar](repeating: 0, count: 512)
        var h: OpaquePointer?
        let r = cxdpgen_open(
            &h, index, flows.count, flows.stride, flows.offset, flows.base, UInt32(batch), &err, err.count)
        guard r == 0, let h else { throw XDPGenError(r, err, "cannot load the XDP generator") }
        handle = h
        self.interface = interface
        self.flows = flows
        self.mix = mix
        templates = mix.parts.map { part in
            let p = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
            _ = GenFrames.write(flow, size: part.size, kind: .data, into: p)
            return p
        }
    }

    public let mix: FrameMix

    deinit {
        cxdpgen_close(handle)
        templates.forEach { $0.deallocate() }
    }

    /// Sends the mix at `rate` frames per second (0: as fast as it goes) for `seconds`.
    public func send(rate: Double, seconds: Double) throws -> TrafficGenerator.Sent {
        let t = zip(templates, mix.parts).map {
            cxdpgen_template(data: UnsafeRawPointer($0.0), length: UInt32($0.1.size - 4), weight: UInt32($0.1.weight))
        }
        var result = cxdpgen_result()
        var err = [CChar](repeating: 0, count: 512)
        let r = t.withUnsafeBufferPointer {
            cxdpgen_send(handle, $0.baseAddress, Int32($0.count), rate, seconds, &result, &err, err.count)
        }
        guard r == 0 else { throw XDPGenError(r, err, "the XDP generator failed") }
        return TrafficGenerator.Sent(frames: Int(result.frames), bytes: Int(result.bytes), seconds: result.seconds)
    }
}

/// The sink's counter: an XDP program on the receiving interface counting frames and bytes in a
/// per-CPU array, dropping the generator's frames (the rest pass) and filing each one's one-way
/// delay (send stamp to arrival, one clock: same machine) in 1-microsecond buckets.
public final class XDPSink {
    let handle: OpaquePointer
    public struct Counts: Sendable, Equatable {
        public var frames: UInt64 = 0, bytes: UInt64 = 0, generated: UInt64 = 0
        public init() {}
        public static func - (a: Counts, b: Counts) -> Counts {
            var c = Counts()
            c.frames = a.frames &- b.frames
            c.bytes = a.bytes &- b.bytes
            c.generated = a.generated &- b.generated
            return c
        }
    }

    /// Attaches to `interface` in the network namespace at `netns` (a /run/netns path; nil: here).
    /// The program comes off the interface when this object (or the process) goes.
    public init(interface: String, netns: String?) throws {
        var err = [CChar](repeating: 0, count: 512)
        var h: OpaquePointer?
        let r = cxdpgen_sink_open(&h, netns, interface, &err, err.count)
        guard r == 0, let h else { throw XDPGenError(r, err, "cannot attach the sink counter") }
        handle = h
    }

    deinit { cxdpgen_sink_close(handle) }

    public func read() -> Counts {
        var c = cxdpgen_counts()
        _ = cxdpgen_sink_read(handle, &c)
        var out = Counts()
        out.frames = c.frames
        out.bytes = c.bytes
        out.generated = c.generated
        return out
    }

    /// The delay buckets (index: microseconds; the last one holds everything above).
    public func latency() -> [UInt64] {
        var b = [UInt64](repeating: 0, count: Int(CXDPGEN_LATENCY_BUCKETS))
        _ = cxdpgen_sink_latency(handle, &b)
        return b
    }
}

/// Percentiles of a bucketed delay histogram (1 µs buckets), as the difference of two reads.
public enum DelayHistogram {
    public static func percentile(_ buckets: [UInt64], _ p: Double) -> Double? {
        let total = buckets.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = UInt64((Double(total) * p).rounded(.up))
        var seen: UInt64 = 0
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= max(rank, 1) { return Double(i) + 0.5 }
        }
        return Double(buckets.count - 1)
    }
}
