import FileBytes
import FirewallCore
import Glibc
import LinuxIO
import Ports

/// Policies of the worker tests over two ports, `inside` (0) and `outside` (1).
public enum PortTestPolicies {
    /// Inside may send UDP to port 2000; everything else is dropped unless conntrack knows it.
    public static func udp2000() -> CompiledPolicy {
        var m = RuleMatch()
        m.ingress = [0]
        m.protocols = [17]
        m.destinationPorts = [PortRange(2000)]
        return CompiledPolicy(
            Policy(portNames: ["inside", "outside"], rules: [Rule(name: "udp-2000", action: .accept, match: m)]))
    }
}

/// Frames and helpers shared by the port tests.
public enum PortTestFrames {
    /// An Ethernet/IPv4/UDP frame from 10.0.0.1:`sourcePort` to 10.0.0.2:`destinationPort`
    /// whose payload starts with `index` (so every frame is recognisable), padded to `size`.
    public static func udp(
        index: Int, sourcePort: UInt16 = 1000, destinationPort: UInt16 = 2000,
        size: Int = 64, sourceIP: [UInt8] = [10, 0, 0, 1], destinationIP: [UInt8] = [10, 0, 0, 2]
    ) -> [UInt8] {
        var f: [UInt8] = [
            0x02, 0, 0, 0, 0, 0x02,  // destination MAC (locally administered)
            0x02, 0, 0, 0, 0, 0x01,  // source MAC
            0x08, 0x00
        ]  // IPv4
        let ipLength = size - 14
        f += [0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0, 0, 0x40, 0, 64, 17, 0, 0]
        f += sourceIP + destinationIP
        let udpLength = ipLength - 20
        f += [
            UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff), UInt8(destinationPort >> 8),
            UInt8(destinationPort & 0xff),
            UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0
        ]
        f += withUnsafeBytes(of: UInt32(index).bigEndian, Array.init)
        while f.count < size { f.append(0xab) }
        // IPv4 header checksum, so the kernel and any parser take it as valid.
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        f[24] = UInt8(checksum >> 8)
        f[25] = UInt8(checksum & 0xff)
        return f
    }

    /// The index `udp(index:)` wrote into a frame, or nil for a frame that is not one of ours.
    public static func index(of frame: [UInt8]) -> Int? {
        guard frame.count >= 46, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 17, frame[26] == 10 else {
            return nil
        }
        return Int(UInt32(frame[42]) << 24 | UInt32(frame[43]) << 16 | UInt32(frame[44]) << 8 | UInt32(frame[45]))
    }
}

extension FrameBurst {
    /// The stand-in for the pipeline in port tests: the verdict of frame i is `decide(i)`.
    public func setVerdicts(_ decide: (Int) -> Action) {
        for i in 0..<count { verdicts[i] = Verdict(action: decide(i)) }
    }

    /// Copies of the frames of the burst.
    public func copies() -> [[UInt8]] { (0..<count).map { Array(frame($0)) } }
}

/// Receives until `port` has nothing more on `queue` (or `limit` frames), handing each burst
/// to `body` and then releasing it.
@discardableResult
public func drain(
    _ port: PacketPort, queue: Int = 0, burst: inout FrameBurst, limit: Int = .max,
    idleRounds: Int = 3, _ body: (FrameBurst) -> Void = { _ in }
) -> Int {
    var total = 0, idle = 0
    while total < limit && idle < idleRounds {
        let n = port.rxBurst(queue: queue, into: &burst)
        if n == 0 {
            idle += 1
            usleep(1000)
            continue
        }
        idle = 0
        total += n
        body(burst)
        port.release(burst, queue: queue)
    }
    return total
}

/// RFC 1071's checksum (the 16-bit ones' complement sum, complemented), written here so tests
/// check the firewall's checksums against something it did not compute.
public func internetChecksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
    var sum: UInt32 = 0
    var i = bytes.startIndex
    while i < bytes.endIndex {
        let high = UInt32(bytes[i]), low = i + 1 < bytes.endIndex ? UInt32(bytes[i + 1]) : 0
        sum += high << 8 | low
        i += 2
    }
    while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

/// Just enough of the classic pcap format for the net_pcap vdev tests (the real reader and
/// writer live in Ports/Pcap).
public enum TinyPcap {
    public static func write(_ frames: [[UInt8]], to path: String) throws {
        var bytes: [UInt8] = []
        func le32(_ v: UInt32) { bytes += withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le16(_ v: UInt16) { bytes += withUnsafeBytes(of: v.littleEndian, Array.init) }
        le32(0xa1b2_c3d4)
        le16(2)
        le16(4)
        le32(0)
        le32(0)
        le32(65535)
        le32(1)
        for (i, f) in frames.enumerated() {
            le32(1_700_000_000)
            le32(UInt32(i))
            le32(UInt32(f.count))
            le32(UInt32(f.count))
            bytes += f
        }
        guard let file = fopen(path, "wb") else { throw PortError.invalid("cannot create \(path)") }
        defer { fclose(file) }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else {
            throw PortError.invalid("cannot write \(path)")
        }
    }

    public static func read(_ path: String) throws -> [[UInt8]] {
        let bytes = try readWholeFile(path)
        func le32(_ at: Int) -> Int {
            Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        guard bytes.count >= 24 else { throw PortError.invalid("\(path): \(bytes.count) bytes, no pcap header") }
        var frames: [[UInt8]] = []
        var at = 24
        while at + 16 <= bytes.count {
            let length = le32(at + 8)
            guard at + 16 + length <= bytes.count else { break }
            frames.append(Array(bytes[(at + 16)..<(at + 16 + length)]))
            at += 16 + length
        }
        return frames
    }
}
