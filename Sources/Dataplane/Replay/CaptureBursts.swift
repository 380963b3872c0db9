import FirewallCore
import LinuxIO

/// A capture read into bursts as a worker would receive them: frames copied into an arena
/// (libpcap reuses its buffer), a burst ended where it is full or the ingress port changes, and
/// around `isolating` (that frame alone in its burst, so its conntrack state can be looked at
/// just before and after it).
struct CaptureBursts {
    let reader: PcapReader
    let options: ReplayOptions
    var isolating: Int?

    /// Calls `body(burst, ingress, index of its first frame)` for each burst until it returns
    /// false. Returns the error that stopped the reading part way, if any.
    func forEach(_ body: (FrameBurst, Int, Int) -> Bool) -> String? {
        let capacity = options.burst
        var burst = FrameBurst(capacity: capacity)
        defer { burst.deallocate() }
        let stride = PcapRecord.maxFrame
        let arena = UnsafeMutableRawPointer.allocate(byteCount: stride * capacity, alignment: 64)
        defer { arena.deallocate() }
        var ingress = options.ingress
        var first = 0
        var going = true

        func flush() {
            guard burst.count > 0, going else { return }
            going = body(burst, ingress, first)
            first += burst.count
            burst.count = 0
        }

        var damage: String?
        while going {
            let next: (bytes: UnsafeRawBufferPointer, timestamp: UInt64)?
            do { next = try reader.next() } catch {
                damage = "\(error)"   // the frames before the damage still count
                break
            }
            guard let (bytes, timestamp) = next else { break }
            let port = Replay.ingressPort(bytes, reader.linkType, options)
            let index = first + burst.count
            if port != ingress || burst.count == capacity || index == isolating || index == (isolating ?? -2) + 1 {
                flush()
                ingress = port
            }
            let slot = arena + stride * burst.count
            let n = min(bytes.count, stride)
            if n > 0 { slot.copyMemory(from: bytes.baseAddress!, byteCount: n) }
            burst.frames[burst.count] = UnsafeRawPointer(slot)
            burst.lengths[burst.count] = Int32(truncatingIfNeeded: n)   // n <= stride
            burst.timestamps[burst.count] = timestamp
            burst.count += 1
        }
        flush()
        return damage
    }
}
