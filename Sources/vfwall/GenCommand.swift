import ArgumentParser
import Dataplane
import EngineConfig
import FileBytes
import Workloads
import FirewallCore
import Foundation
import LinuxIO

struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Send rate-controlled UDP test traffic through a firewall, or time it.",
        discussion: """
            Runs on one Linux interface (in the calling network namespace) and prints one JSON line. \
            Frames are Ethernet/IPv4/UDP of --size bytes on the wire (FCS included, as RFC 2544 \
            counts them: 64 to 1518), or imix (7:4:1 of 64, 570 and 1518 bytes).

            Engines (--engine): xdp runs an XDP program with BPF_PROG_TEST_RUN and live frames \
            (Linux >= 5.18, root or CAP_BPF+CAP_NET_ADMIN): the kernel makes the frames from a \
            template and redirects them out of --interface, several Mpps from one core; the program \
            writes a sequence number, the send time and one of --flows source ports into each frame. \
            afpacket sends bursts through an AF_PACKET socket (about 0.2 Mpps; one flow, one size). \
            auto (the default) takes xdp when it loads; the engine used is printed on stderr. On a \
            veth, redirected frames are dropped silently unless the PEER end runs NAPI (an XDP \
            program on it, or `ethtool -K PEER gro on`).

            Default: send data frames at --rate frames per second (0: as fast as it goes) for \
            --seconds; prints what was sent. --sink-if IF [--sink-netns /run/netns/NAME] attaches an \
            XDP counter to the receiving interface (it drops the generator's frames there) and adds \
            what arrived.

            --search: find the no-drop rate (NDR, no loss) and the partial-drop rate (PDR, loss at \
            most --pdr-loss) by bisection over offered rates: coarse trials of --seconds to four \
            times --width, then trials of --final-seconds to --width; one progress line per trial \
            on stderr, the bounds as JSON on stdout, then the one-way delay (p50/p90/p99) at \
            --latency-loads fractions of the NDR.

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
    @Option(help: "UDP source port (the first of --flows with the xdp engine).") var sport: UInt16 = 40000
    @Option(help: "UDP destination port.") var dport: UInt16 = 9000
    @Option(
        help: "Frame size on the wire in bytes, FCS included (64-1518), or imix (7:4:1 of 64/570/1518; xdp engine).")
    var size = "64"
    @Option(help: "Frames per second; 0 sends as fast as possible (default 0, or 1000 with --latency).") var rate:
        Double?
    @Option(help: "How long to send, in seconds (with --search: the coarse trials' length).") var seconds: Double = 5
    @Flag(help: "Time probes' round trips instead of sending load.") var latency = false
    @Flag(help: "Answer probes from a `vfwall gen --latency` on the other side.") var reflect = false

    @Option(help: "Load engine: xdp (BPF live frames), afpacket, or auto (xdp when it loads).") var engine = "auto"
    @Option(help: "UDP flows (source ports) the xdp engine spreads frames over.") var flows = 1
    @Option(help: "Seed for the order of the flows.") var seed: UInt64 = 1
    @Option(name: .customLong("sink-if"), help: "Count arrivals with an XDP counter on this interface.") var sinkIf:
        String?
    @Option(
        name: .customLong("sink-netns"),
        help: "The sink interface's network namespace (a path such as /run/netns/NAME).")
    var sinkNetns: String?
    @Option(help: "Seconds to wait after sending before reading the sink (frames still in flight).") var settle = 0.3
    @Flag(help: "Search the no-drop (NDR) and partial-drop (PDR, --pdr-loss) rates; needs --sink-if.") var search =
        false
    @Option(name: .customLong("final-seconds"), help: "With --search: the final trials' length.") var finalSeconds = 2.0
    @Option(help: "With --search: the final relative width of the search's bracket.") var width = 0.02
    @Option(
        name: .customLong("max-rate"),
        help: "With --search: the highest rate to offer (default: as fast as it goes, measured first).")
    var maxRate: Double?
    @Option(name: .customLong("min-rate"), help: "With --search: the lowest rate to try.") var minRate = 1000.0
    @Option(name: .customLong("pdr-loss"), help: "With --search: the partial-drop loss ratio.") var pdrLoss = 0.005
    @Option(name: .customLong("max-trials"), help: "With --search: a bound on the trials.") var maxTrials = 30
    @Option(
        name: .customLong("latency-loads"),
        help: "With --search: one-way delay at these fractions of the NDR (empty: none).")
    var latencyLoads = "0.1,0.5,0.9"

    var mix: FrameMix? { FrameMix(size) }

    func validate() throws {
        guard let mix else { throw ValidationError("--size must be between 64 and 1518, or imix") }
        guard seconds > 0 && seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
        guard (rate ?? 0) >= 0 else { throw ValidationError("--rate must not be negative") }
        guard !(latency && reflect) else { throw ValidationError("--latency and --reflect exclude each other") }
        guard ["xdp", "afpacket", "auto"].contains(engine) else {
            throw ValidationError("--engine is xdp, afpacket or auto")
        }
        guard (1...50000).contains(flows) else { throw ValidationError("--flows must be in 1...50000") }
        guard Int(sport) + flows <= 65536 else { throw ValidationError("--sport + --flows must stay below 65536") }
        guard !search || sinkIf != nil else {
            throw ValidationError("--search needs --sink-if (the counter at the sink)")
        }
        if latency || reflect || engine == "afpacket" {
            guard mix.parts.count == 1 else {
                throw ValidationError("--size imix needs the xdp engine (and no --latency/--reflect)")
            }
        }
        if !reflect {
            guard let m = dstMAC, macBytes(m) != nil else {
                throw ValidationError("--dst-mac aa:bb:cc:dd:ee:ff is needed")
            }
            guard genIPv4(srcIP) != nil, genIPv4(dstIP) != nil else {
                throw ValidationError("--src-ip/--dst-ip must be IPv4 addresses")
            }
        }
    }

    func run() throws {
        if reflect || latency { return try runProbes() }
        let sender: LoadSender
        do { sender = try makeSender() } catch {
            printError("vfwall gen: \(error)")
            throw ExitCode(1)
        }
        printError("vfwall gen: engine \(sender.engine) on \(interface), \(mix!) B, \(sender.flowCount) flow(s)")
        var sink: XDPSink?
        if let sinkIf {
            do { sink = try XDPSink(interface: sinkIf, netns: sinkNetns) } catch {
                printError("vfwall gen: \(error)")
                throw ExitCode(1)
            }
        }
        if search { return try runSearch(sender, sink!) }
        let before = sink?.read()
        let s = try sender.send(rate ?? 0, seconds)
        var received: Int?
        if let sink, let before {
            usleep(UInt32(settle * 1e6))
            received = Int(clamping: (sink.read() - before).generated)
        }
        print(
            jsonText(
                GenLoadResult(
                    engine: sender.engine, size: "\(mix!)", sent: s.frames,
                    seconds: rounded(s.seconds, places: 3),
                    pps: (Double(s.frames) / s.seconds).rounded(.down),
                    gbps: rounded(Double(s.bytes) * 8 / s.seconds / 1e9, places: 3),
                    received: received, lost: received.map { s.frames - $0 })))
    }

    /// The xdp engine when asked for (or, with auto, when it loads); else AF_PACKET.
    func makeSender() throws -> LoadSender {
        let dst = macBytes(dstMAC!)!
        let srcMAC = interfaceMAC(interface) ?? [0x02, 0, 0, 0, 0, 1]
        let flow = GenFrames.Flow(
            dstMAC: dst, srcMAC: srcMAC, srcIP: genIPv4(srcIP)!, dstIP: genIPv4(dstIP)!, sport: sport, dport: dport)
        if engine != "afpacket" {
            do {
                let g = try XDPGenerator(
                    interface: interface, flow: flow, mix: mix!, flows: GenFlows(count: flows, seed: seed, base: sport))
                return LoadSender(engine: "xdp", flowCount: flows) { try g.send(rate: $0, seconds: $1) }
            } catch  where engine == "auto" {
                printError("vfwall gen: the xdp engine did not load (\(error)); using afpacket")
            }
        }
        let gen = try TrafficGenerator(interface: interface)
        var f = flow
        f.srcMAC = gen.sourceMAC
        let size = mix!.parts[0].size
        return LoadSender(engine: "afpacket", flowCount: 1) { gen.blast(f, size: size, rate: $0, seconds: $1) }
    }

    func runProbes() throws {
        let gen: TrafficGenerator
        do { gen = try TrafficGenerator(interface: interface) } catch {
            printError("vfwall gen: \(error)")
            throw ExitCode(1)
        }
        if reflect {
            print(jsonText(GenReflectResult(answered: gen.reflect(seconds: seconds))))
            return
        }
        let size = mix!.parts[0].size
        let flow = GenFrames.Flow(
            dstMAC: macBytes(dstMAC!)!, srcMAC: gen.sourceMAC, srcIP: genIPv4(srcIP)!,
            dstIP: genIPv4(dstIP)!, sport: sport, dport: dport)
        let r = gen.measureLatency(flow, size: size, rate: rate ?? 1000, seconds: seconds)
        let us = r.rttNanos.sorted().map { Double($0) / 1000 }
        func percentile(_ p: Double) -> OrNull<Double> {
            OrNull(us.isEmpty ? nil : rounded(us[min(us.count - 1, Int(Double(us.count) * p))], places: 1))
        }
        print(
            jsonText(
                GenLatencyResult(
                    size: size, sent: r.sent, received: r.received, lost: r.sent - r.received,
                    p50: percentile(0.50), p90: percentile(0.90), p99: percentile(0.99))))
    }
}

/// The line `vfwall gen` prints after sending load; received and lost only with --sink-if.
struct GenLoadResult: Encodable {
    let mode = "load"
    let engine, size: String
    let sent: Int
    let seconds, pps, gbps: Double
    let received, lost: Int?
}

/// The line of `vfwall gen --reflect`: probes answered.
struct GenReflectResult: Encodable {
    let mode = "reflect"
    let answered: Int
}

/// The line of `vfwall gen --latency`: round trips in microseconds, null without replies.
struct GenLatencyResult: Encodable {
    let mode = "latency"
    let size, sent, received, lost: Int
    let p50, p90, p99: OrNull<Double>
    enum CodingKeys: String, CodingKey {
        case mode, size, sent, received, lost, p50 = "p50_us", p90 = "p90_us", p99 = "p99_us"
    }
}

/// One way of sending load: rate (0: flat out) and seconds in, what was sent out.
struct LoadSender {
    let engine: String
    let flowCount: Int
    let send: (Double, Double) throws -> TrafficGenerator.Sent
    init(engine: String, flowCount: Int, send: @escaping (Double, Double) throws -> TrafficGenerator.Sent) {
        self.engine = engine
        self.flowCount = flowCount
        self.send = send
    }
}

/// The interface's MAC from sysfs (the calling network namespace's view).
func interfaceMAC(_ name: String) -> [UInt8]? {
    guard let address = try? readWholeFile("/sys/class/net/\(name)/address") else { return nil }
    return macBytes(String(decoding: address, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}

private func genIPv4(_ s: String) -> UInt32? {
    let parts = s.split(separator: ".").compactMap { UInt32($0) }
    guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { return nil }
    return parts.reduce(0) { $0 << 8 | $1 }
}
