import ArgumentParser
import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
import PolicyAnalysis

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run every frame of a capture through the firewall and report the verdicts.",
        discussion: """
            Reads INPUT (pcap or pcapng; Ethernet, Linux cooked SLL/SLL2, raw IP, or BSD loopback \
            NULL/LOOP) and runs each \
            frame, in order and in bursts, through the same pipeline a live worker runs: parse, \
            connection tracking (timed by the capture's timestamps, so a replay is deterministic), \
            classification, action. Prints totals (frames = accepted + dropped + rejected), hits per \
            rule and frames per reason.

            Frames enter on the first port of the configuration unless --ingress or --ingress-mac says \
            otherwise. If INPUT is damaged part way, the frames before the damage are reported and the \
            command exits 1.

            --compare NEW.yaml replays the capture through both policies side by side (each with its \
            own conntrack) and reports every frame whose verdict changed; it exits 2 when one did, \
            0 when none did. --explain N takes frame N (0-based, as in --verdicts) apart: its parse, \
            its flow before and after, and each rule's answer from the reference scan. --coverage \
            lists each rule's hits and the rules the capture never hit.

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

    @Option(
        name: .customLong("ingress-mac"),
        help: ArgumentHelp(
            "Frames with this source MAC enter on this port: MAC=PORT (repeatable).", valueName: "mac=port"))
    var ingressMAC: [String] = []

    @Option(help: "Frames per burst.")
    var burst: Int = 32

    @Option(
        help: ArgumentHelp(
            "Replay through this second policy too and report the frames whose verdict changed.",
            valueName: "new.yaml"))
    var compare: String?

    @Option(help: "With --compare: write the frames whose verdict changed to this pcap file.")
    var changed: String?

    @Option(help: "With --compare: how many changed frames to describe.")
    var show: Int = 10

    @Option(
        help: ArgumentHelp(
            "Explain frame N (0-based): parse, flow before and after, each rule's answer.",
            valueName: "n"))
    var explain: Int?

    @Flag(help: "List each rule's hits on the capture and the rules never hit.")
    var coverage = false

    @Option(name: .customLong("coverage-json"), help: "Write the coverage as JSON to this file.")
    var coverageJSON: String?

    func validate() throws {
        guard (1...256).contains(burst) else { throw ValidationError("--burst must be between 1 and 256") }
        guard show >= 0 else { throw ValidationError("--show must be 0 or more") }
        if let n = explain, n < 0 { throw ValidationError("--explain takes a frame index, 0 or more") }
        if compare == nil && changed != nil { throw ValidationError("--changed needs --compare") }
        if compare != nil && (explain != nil || accepted != nil || dropped != nil) {
            throw ValidationError(
                "--compare goes with --changed, --verdicts and --show, not --explain, --accepted or --dropped")
        }
        for m in ingressMAC
        where m.split(separator: "=").count != 2 || macBytes(String(m.split(separator: "=")[0])) == nil {
            throw ValidationError("--ingress-mac expects MAC=PORT like 02:00:00:00:00:fe=outside, got '\(m)'")
        }
    }

    func run() throws {
        let c = try loadConfiguration(config)
        var o = ReplayOptions(input: input)
        o.acceptedOutput = accepted
        o.droppedOutput = dropped
        o.verdictsOutput = verdicts
        o.burst = burst
        if let name = ingress { o.ingress = try port(name, c) }
        for m in ingressMAC {
            let parts = m.split(separator: "=").map(String.init)
            o.ingressByMAC.append((macBytes(parts[0])!, try port(parts[1], c)))
        }
        if let newPath = compare { return try runCompare(c, try loadConfiguration(newPath), o) }
        if let n = explain { return try runExplain(c, o, frame: n) }
        let s: ReplaySummary
        do { s = try Replay.run(c, o) } catch {
            printError("vfwall replay: \(error)")
            throw ExitCode(1)
        }
        print(ReplayReport.render(s, policy: c.policy, input: input))
        if coverage { print("\n" + CoverageReport.render(s, policy: c.policy)) }
        if let path = coverageJSON {
            do { try writeText(CoverageReport.json(s, policy: c.policy, input: input), to: path) } catch {
                printError("vfwall replay: \(path): \(error)")
                throw ExitCode(1)
            }
        }
        if let e = s.inputError {
            printError("vfwall replay: \(e) (the \(s.frames) frames before it are reported above)")
            throw ExitCode(1)
        }
    }

    func runCompare(_ old: Configuration, _ new: Configuration, _ o: ReplayOptions) throws {
        var options = CompareOptions()
        options.changedOutput = changed
        options.verdictsOutput = verdicts
        options.describe = show
        var o = o
        o.verdictsOutput = nil
        let s: CompareSummary
        do { s = try Replay.compare(old, new, o, options) } catch {
            printError("vfwall replay: \(error)")
            throw ExitCode(1)
        }
        print(CompareReport.render(s, old: config, new: compare ?? "", input: input))
        if let e = s.old.inputError {
            printError("vfwall replay: \(e) (the \(s.old.frames) frames before it are compared above)")
            throw ExitCode(1)
        }
        if s.changed > 0 { throw ExitCode(2) }
    }

    func runExplain(_ c: Configuration, _ o: ReplayOptions, frame n: Int) throws {
        let found: FrameExplanation?
        do { found = try Replay.explain(c, o, frame: n) } catch {
            printError("vfwall replay: \(error)")
            throw ExitCode(1)
        }
        guard let e = found else {
            printError("vfwall replay: \(input) has no frame \(n) (frames are numbered from 0)")
            throw ExitCode(1)
        }
        print(ExplainReport.render(e, policy: c.policy))
    }

    func port(_ name: String, _ c: Configuration) throws -> Int {
        guard let i = c.policy.portIndex(name) else {
            printError(
                "vfwall replay: no port named '\(name)'; the configuration's ports are: "
                    + "\(c.portNames.joined(separator: ", "))"
            )
            throw ExitCode(64)
        }
        return i
    }
}

/// "02:00:00:00:00:fe" -> six bytes, through FirewallCore's one MAC parser (`parseMAC`):
/// `replay --ingress-mac`, `gen --dst-mac` and sysfs addresses.
func macBytes(_ s: String) -> [UInt8]? {
    parseMAC(s).map { mac in (0..<6).map { UInt8(truncatingIfNeeded: mac >> (40 - 8 * UInt64($0))) } }
}
