import ArgumentParser
import Dataplane
import FirewallCore
import Foundation

struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Send rate-controlled UDP test traffic through a firewall, or time it.",
        discussion: """
        Runs on one Linux interface (AF_PACKET, in the calling network namespace) and prints one \
        JSON line. Frames are Ethernet/IPv4/UDP of --size bytes on the wire (FCS included, as \
        RFC 2544 counts them: 64 to 1518).

        Default: send data frames at --rate frames per second (0: as fast as the interface takes \
        them) for --seconds; prints what was sent. Count what arrived on the far side from its \
        interface counters (scripts/bench-attach does), so loss is measured, not guessed.

        --latency: send probes (1000/s by default), each stamped with its send time, and time \
        the replies a `vfwall gen --reflect` on the far side sends back; prints sent, received, \
        lost and the round-trip p50/p90/p99 in microseconds.

        --reflect: answer every probe arriving on --interface (addresses and ports swapped) \
        for --seconds.

        Example (scripts/lab's namespaces):
          scripts/lab exec dst vfwall gen --reflect --interface d0 --seconds 12 &
          scripts/lab exec src vfwall gen --latency --interface s0 --dst-mac 02:76:66:6c:00:02 \\
              --src-ip 10.199.0.1 --dst-ip 10.199.0.2 --seconds 10
        """)

    @Option(help: "The interface to send from (and receive replies on).") var interface: String
    @Option(name: .customLong("dst-mac"), help: "Destination MAC: the far host's.") var dstMAC: String?
    @Option(name: .customLong("src-ip"), help: "Source IPv4 address.") var srcIP = "10.199.0.1"
    @Option(name: .customLong("dst-ip"), help: "Destination IPv4 address.") var dstIP = "10.199.0.2"
    @Option(help: "UDP source port.") var sport: UInt16 = 40000
    @Option(help: "UDP destination port.") var dport: UInt16 = 9000
    @Option(help: "Frame size on the wire in bytes, FCS included (64-1518).") var size = 64
    @Option(help: "Frames per second; 0 sends as fast as possible (default 0, or 1000 with --latency).") var rate: Double?
    @Option(help: "How long to send, in seconds.") var seconds: Double = 5
    @Flag(help: "Time probes' round trips instead of sending load.") var latency = false
    @Flag(help: "Answer probes from a `vfwall gen --latency` on the other side.") var reflect = false

    func validate() throws {
        guard (64...1518).contains(size) else { throw ValidationError("--size must be between 64 and 1518") }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
        guard (rate ?? 0) >= 0 else { throw ValidationError("--rate must not be negative") }
        guard !(latency && reflect) else { throw ValidationError("--latency and --reflect exclude each other") }
        if !reflect {
            guard let m = dstMAC, genMAC(m) != nil else { throw ValidationError("--dst-mac aa:bb:cc:dd:ee:ff is needed") }
            guard genIPv4(srcIP) != nil, genIPv4(dstIP) != nil else { throw ValidationError("--src-ip/--dst-ip must be IPv4 addresses") }
        }
    }

    func run() throws {
        let gen: TrafficGenerator
        do { gen = try TrafficGenerator(interface: interface) } catch {
            printError("vfwall gen: \(error)"); throw ExitCode(1)
        }
        if reflect {
            print(#"{"mode":"reflect","answered":\#(gen.reflect(seconds: seconds))}"#)
            return
        }
        let flow = GenFrames.Flow(dstMAC: genMAC(dstMAC!)!, srcMAC: gen.sourceMAC, srcIP: genIPv4(srcIP)!,
                                  dstIP: genIPv4(dstIP)!, sport: sport, dport: dport)
        if latency {
            let r = gen.measureLatency(flow, size: size, rate: rate ?? 1000, seconds: seconds)
            let us = r.rttNanos.sorted().map { Double($0) / 1000 }
            func pct(_ p: Double) -> String { us.isEmpty ? "null" : String(format: "%.1f", us[min(us.count - 1, Int(Double(us.count) * p))]) }
            print(#"{"mode":"latency","size":\#(size),"sent":\#(r.sent),"received":\#(r.received),"lost":\#(r.sent - r.received),"#
                  + #""p50_us":\#(pct(0.50)),"p90_us":\#(pct(0.90)),"p99_us":\#(pct(0.99))}"#)
            return
        }
        let s = gen.blast(flow, size: size, rate: rate ?? 0, seconds: seconds)
        let pps = Double(s.frames) / s.seconds
        print(#"{"mode":"load","size":\#(size),"sent":\#(s.frames),"seconds":\#(String(format: "%.3f", s.seconds)),"#
              + #""pps":\#(Int(pps)),"gbps":\#(String(format: "%.3f", Double(s.bytes) * 8 / s.seconds / 1e9))}"#)
    }
}

private func genMAC(_ s: String) -> [UInt8]? {
    let parts = s.split(separator: ":").compactMap { UInt8($0, radix: 16) }
    return parts.count == 6 ? parts : nil
}

private func genIPv4(_ s: String) -> UInt32? {
    let parts = s.split(separator: ".").compactMap { UInt32($0) }
    guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { return nil }
    return parts.reduce(0) { $0 << 8 | $1 }
}
