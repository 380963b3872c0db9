import ArgumentParser
import Dataplane
import FirewallConfig
import FirewallCore

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run every frame of a capture through the firewall and report the verdicts.",
        discussion: """
        Reads INPUT (pcap or pcapng; Ethernet, Linux cooked SLL/SLL2, raw IP, or BSD loopback NULL/LOOP) and runs each \
        frame, in order and in bursts, through the same pipeline a live worker runs: parse, \
        connection tracking (timed by the capture's timestamps, so a replay is deterministic), \
        classification, action. Prints totals (frames = accepted + dropped + rejected), hits per \
        rule and frames per reason.

        Frames enter on the first port of the configuration unless --ingress or --ingress-mac says \
        otherwise. If INPUT is damaged part way, the frames before the damage are reported and the \
        command exits 1.

        Example:
          vfwall replay --config configs/default.yaml captures/sample.pcap \\
            --ingress-mac 02:00:00:00:00:fe=outside --verdicts verdicts.jsonl
        """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Argument(help: "The capture to replay.")
    var input: String

    @Option(help: "Write accepted frames to this pcap file.")
    var accepted: String?

    @Option(help: "Write dropped and rejected frames to this pcap file.")
    var dropped: String?

    @Option(help: "Write one JSON object per frame (index, verdict, rule, reason, state) to this file.")
    var verdicts: String?

    @Option(help: "The port frames enter on (a port name of the configuration).")
    var ingress: String?

    @Option(name: .customLong("ingress-mac"), help: ArgumentHelp(
        "Frames with this source MAC enter on this port: MAC=PORT (repeatable).", valueName: "mac=port"))
    var ingressMAC: [String] = []

    @Option(help: "Frames per burst.")
    var burst: Int = 32

    func validate() throws {
        guard (1...256).contains(burst) else { throw ValidationError("--burst must be between 1 and 256") }
        for m in ingressMAC where m.split(separator: "=").count != 2 || parseMAC(String(m.split(separator: "=")[0])) == nil {
            throw ValidationError("--ingress-mac expects MAC=PORT like 02:00:00:00:00:fe=outside, got '\(m)'")
        }
    }

    func run() throws {
        let c = try loadConfiguration(config)
        var o = ReplayOptions(input: input)
        o.acceptedOutput = accepted; o.droppedOutput = dropped; o.verdictsOutput = verdicts; o.burst = burst
        if let name = ingress { o.ingress = try port(name, c) }
        for m in ingressMAC {
            let parts = m.split(separator: "=").map(String.init)
            o.ingressByMAC.append((parseMAC(parts[0])!, try port(parts[1], c)))
        }
        let s: ReplaySummary
        do { s = try Replay.run(c, o) } catch {
            printError("vfwall replay: \(error)")
            throw ExitCode(1)
        }
        print(ReplayReport.render(s, policy: c.policy, input: input))
        if let e = s.inputError {
            printError("vfwall replay: \(e) (the \(s.frames) frames before it are reported above)")
            throw ExitCode(1)
        }
    }

    func port(_ name: String, _ c: Configuration) throws -> Int {
        guard let i = c.policy.portIndex(name) else {
            printError("vfwall replay: no port named '\(name)'; the configuration's ports are: \(c.portNames.joined(separator: ", "))")
            throw ExitCode(64)
        }
        return i
    }
}

/// "02:00:00:00:00:fe" -> six bytes.
func parseMAC(_ s: String) -> [UInt8]? {
    let parts = s.split(separator: ":")
    guard parts.count == 6 else { return nil }
    let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
    return bytes.count == 6 ? bytes : nil
}
