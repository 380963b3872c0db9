import FirewallCore
import Glibc
import LinuxIO
import Ports

/// `vfwall gen`'s loops over one AF_PACKET port: send at a rate (throughput), send probes and
/// time their replies (latency), or answer probes (reflect, on the far side). Bursts of 32
/// frames from preallocated buffers; the rate is kept by pacing bursts against the clock.
public final class TrafficGenerator {
    public struct Sent: Sendable { public var frames = 0, bytes = 0, seconds = 0.0 }
    public struct Latency: Sendable {
        public var sent = 0, received = 0
        public var rttNanos: [UInt64] = []
    }

    let port: AFPacketPort
    let burstSize = 32
    let buffers: UnsafeMutableRawPointer
    let slot = 2048
    var burst: FrameBurst
    var sender: BurstForwarder

    public init(interface: String) throws {
        port = try AFPacketPort(
            AFPacketPortConfig(
                interface: interface, name: "gen", rxBlockTimeoutMs: 1,
                txSlots: 1024, promiscuous: false))
        buffers = .allocate(byteCount: slot * burstSize, alignment: 64)
        burst = FrameBurst(capacity: burstSize)
        sender = BurstForwarder(capacity: burstSize)
    }

    deinit {
        port.close()
        buffers.deallocate()
        burst.deallocate()
        sender.deallocate()
    }

    /// Sends `size`-byte data frames at `rate` frames per second (0: as fast as the port takes
    /// them) for `seconds`. Counts only what the kernel took (a full TX ring is retried, not counted).
    public func blast(_ flow: GenFrames.Flow, size: Int, rate: Double, seconds: Double) -> Sent {
        var length = 0
        for i in 0..<burstSize {
            length = GenFrames.write(flow, size: size, kind: .data, into: buffers + i * slot)
            burst.frames[i] = UnsafeRawPointer(buffers + i * slot)
            burst.lengths[i] = Int32(length)
        }
        let start = monotonicNanoseconds(), end = start + UInt64(seconds * 1e9)
        var sent = 0, seq: UInt32 = 0
        while true {
            let now = monotonicNanoseconds()
            if now >= end { break }
            if rate > 0 {
                let due = start + UInt64(Double(sent) / rate * 1e9)
                if now < due {
                    pause(until: due)
                    continue
                }
            }
            let want = rate > 0 ? min(burstSize, max(1, Int(rate * Double(now - start) / 1e9) - sent)) : burstSize
            for i in 0..<want {
                GenFrames.stamp(buffers + i * slot, sequence: seq &+ UInt32(i), nanos: now)
            }
            burst.count = want
            let r = sender.send(burst, to: port, queue: 0)
            sent += r.sent
            seq &+= UInt32(r.sent)
            if r.sent < want { usleep(20) }  // the ring is full: let the kernel drain it
        }
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        return Sent(frames: sent, bytes: sent * (length + 4), seconds: elapsed)
    }

    /// Sends probes at `rate` per second for `seconds` and times each reply (matched by its
    /// sequence number); replies still missing 200 ms after the last probe count as lost.
    public func measureLatency(_ flow: GenFrames.Flow, size: Int, rate: Double, seconds: Double) -> Latency {
        let length = GenFrames.write(flow, size: size, kind: .probe, into: buffers)
        burst.frames[0] = UnsafeRawPointer(buffers)
        burst.lengths[0] = Int32(length)
        var result = Latency()
        var seen = Set<UInt32>()
        let start = monotonicNanoseconds(), end = start + UInt64(seconds * 1e9)
        let interval = UInt64(1e9 / max(rate, 1))
        var nextSend = start
        var rx = FrameBurst(capacity: burstSize)
        defer { rx.deallocate() }
        while true {
            let now = monotonicNanoseconds()
            if now >= end + 200_000_000 { break }
            if now >= nextSend && now < end {
                GenFrames.stamp(buffers, sequence: UInt32(truncatingIfNeeded: result.sent), nanos: now)
                burst.count = 1
                if sender.send(burst, to: port, queue: 0).sent == 1 { result.sent += 1 }
                nextSend += interval
            }
            let n = port.rxBurst(queue: 0, into: &rx)
            let arrived = monotonicNanoseconds()
            for i in 0..<n {
                guard let h = GenFrames.read(rx.frame(i)), h.kind == GenFrames.Kind.reply.rawValue,
                    seen.insert(h.sequence).inserted
                else { continue }
                result.rttNanos.append(arrived - h.nanos)
            }
            port.release(rx, queue: 0)
            if n == 0 { _ = port.waitForFrames(queue: 0, timeoutMs: 0) }
        }
        result.received = result.rttNanos.count
        return result
    }

    /// Answers every probe that arrives (addresses swapped) for `seconds`; returns how many.
    public func reflect(seconds: Double) -> Int {
        var rx = FrameBurst(capacity: burstSize)
        defer { rx.deallocate() }
        let end = monotonicNanoseconds() + UInt64(seconds * 1e9)
        var answered = 0
        while monotonicNanoseconds() < end {
            guard port.waitForFrames(queue: 0, timeoutMs: 100) else { continue }
            let n = port.rxBurst(queue: 0, into: &rx)
            var out = 0
            for i in 0..<n {
                let f = rx.frame(i)
                guard let h = GenFrames.read(f), h.kind == GenFrames.Kind.probe.rawValue, f.count <= slot else {
                    continue
                }
                burst.lengths[out] = Int32(GenFrames.reply(to: f, into: buffers + out * slot))
                burst.frames[out] = UnsafeRawPointer(buffers + out * slot)
                out += 1
            }
            port.release(rx, queue: 0)
            if out > 0 {
                burst.count = out
                answered += sender.send(burst, to: port, queue: 0).sent
            }
        }
        return answered
    }

    /// Sleeps for waits longer than 100 µs, spins for shorter ones (usleep overshoots).
    private func pause(until t: UInt64) {
        let now = monotonicNanoseconds()
        if t > now + 100_000 { usleep(UInt32((t - now - 50_000) / 1000)) }
    }
}

extension TrafficGenerator {
    /// The interface's own MAC, the source of every frame sent.
    public var sourceMAC: [UInt8] { port.macAddress?.array ?? [0x02, 0, 0, 0, 0, 1] }
}
