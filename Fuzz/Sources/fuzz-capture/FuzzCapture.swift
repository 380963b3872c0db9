import CaptureReplay
import FirewallConfig
import FirewallCore
import FuzzSupport
import LinuxIO
#if canImport(Glibc)
    import Glibc
#endif

/// Input: the bytes of a capture file (pcap in either byte order and precision, pcapng), read by
/// libpcap from memory (fmemopen) as `vfwall replay` reads a file. Opening it gives a reader or a
/// PcapError; a reader gives frames (at most 65792 bytes each) until the end or a PcapError. The
/// same bytes through `Replay` (accepted, dropped and verdicts written to /dev/null) give one
/// verdict per frame the reader gave: frames = accepted + dropped + rejected = the sum of the
/// reasons, and an input error exactly when the reader stopped on one.
let yaml = """
    ports:
      inside: {interface: a}
      outside: {interface: b}
    policy: {default: drop, invalid: reject, arp: accept, non-ip: drop, fragments: track, tracked: classify}
    conntrack: {max-flows: 8, early-drop-scan: 4, max-fragmented-datagrams: 4}
    rules:
      - {name: reject-telnet, proto: tcp, dport: 23, action: reject}
      - {name: allow-web-out, ingress: inside, proto: tcp, dport: [80, 443], action: accept}
      - {name: established, state: [established, related], action: accept}
      - {name: allow-dns, proto: udp, dport: 53, action: accept}
      - {name: allow-ping, proto: icmp, icmp-type: echo-request, action: accept}
      - {name: reject-v6-udp, ip: 6, proto: udp, action: reject}
    """
let config: Configuration = {
    do { return try ConfigLoader.parse(yaml: yaml, file: "fuzz-capture.yaml") } catch {
        check(false, "the fuzzer's own configuration does not load: \(error)")
        fatalError()
    }
}()
let maxFrame = 65536 + 256  // PcapRecord.maxFrame

/// A reader over the input, or nil with the open error checked.
func open(_ data: UnsafePointer<UInt8>, _ size: Int) -> PcapReader? {
    guard let f = fmemopen(UnsafeMutableRawPointer(mutating: data), size, "rb") else { return nil }
    do { return try PcapReader(file: f, path: "fuzz-input") } catch let e as PcapError {
        check(e.path == "fuzz-input" && !e.message.isEmpty, "an open error without a path or message: \(e)")
        return nil
    } catch {
        check(false, "opening threw something other than PcapError: \(error)")
        return nil
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCapture(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes, size > 0 else { return 0 }
    // The reader alone: count the frames up to the end or the damage.
    guard let reader = open(data, size) else { return 0 }
    var frames: UInt64 = 0
    var damaged = false
    while true {
        do {
            guard let (frame, _) = try reader.next() else { break }
            check(frame.count >= 0 && frame.count <= maxFrame, "a frame of \(frame.count) bytes")
            check(frame.count == 0 || frame.baseAddress != nil, "a frame with bytes but no address")
            frames += 1
        } catch let e as PcapError {
            check(!e.message.isEmpty, "a read error without a message")
            damaged = true
            break
        } catch {
            check(false, "next() threw something other than PcapError: \(error)")
        }
    }
    // The same bytes through Replay, in bursts of 1, 7 or 32.
    guard let again = open(data, size) else {
        check(false, "the input opened once but not twice")
        return 0
    }
    var o = ReplayOptions(input: "fuzz-input")
    o.acceptedOutput = "/dev/null"
    o.droppedOutput = "/dev/null"
    o.verdictsOutput = "/dev/null"
    o.burst = [1, 7, 32][size % 3]
    o.ingressByMAC = [(mac: [2, 0, 0, 0, 0, 0xFE], port: 1)]
    do {
        let s = try Replay.run(
            ReplayPolicy(location: config.file, policy: config.policy, conntrack: config.conntrack),
            o, reader: again)
        check(s.frames == frames, "replay counted \(s.frames) frames, the reader \(frames)")
        check(s.accepted + s.dropped + s.rejected == s.frames, "frames \(s.frames) != accepted + dropped + rejected")
        check(s.counters.reasons.reduce(0, &+) == s.frames, "the reasons do not sum to the frames")
        check((s.inputError != nil) == damaged, "input error \(s.inputError ?? "none"), reader damaged: \(damaged)")
    } catch {
        check(false, "Replay threw on an open reader: \(error)")
    }
    return 0
}

@main
enum Main {
    static func main() { runFuzzer(fuzzCapture) }
}
