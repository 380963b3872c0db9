import ArgumentParser
import Dataplane
import EngineConfig
import FirewallCore
import LinuxIO
import Workloads

#if canImport(Glibc)
    import Glibc
#endif

struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-pipeline",
        abstract: "Measure the pipeline (parse, conntrack, classify, count) on one core, in memory.",
        discussion: """
            Runs preallocated 64-byte Ethernet/IPv4/UDP frames of FLOWS distinct flows through one \
            pipeline in bursts, with a policy of RULES rules under which the traffic is accepted by \
            the last rule (so a miss scans or searches them all). Modes: `established` (every flow \
            has seen both directions before the clock starts), `new` (every frame opens a new flow), \
            `mix` (half and half), `unanswered` (every flow was opened before the clock starts but \
            never answered, like one-way UDP: still `new`, so every frame meets the rules). Frames \
            are written into a ring of recycled buffers, as a NIC writes them into mbufs \
            (`--frames ring`), or read from one preallocated frame per flow (`--frames per-flow`, \
            which streams them from DRAM at a million flows). Prints frames per second and \
            nanoseconds per frame. No I/O: this is the ceiling of the per-burst work.
            """)

    @Option(help: "Rules in the policy (the traffic matches the last).") var rules = 1000
    @Option(help: "Distinct flows in the traffic.") var flows = 1_000_000
    @Option(help: "established, new, mix or unanswered.") var mode = "established"
    @Option(help: "Seconds to measure after a warm-up.") var seconds = 3.0
    @Option(help: "Frames per burst.") var burst = 32
    @Option(help: "Flow table memory: huge-pages (as `vfwall run` uses) or heap.") var memory = "huge-pages"
    @Option(help: "Where frames lie: ring (recycled buffers, as from a NIC) or per-flow.") var frames = "ring"

    func validate() throws {
        guard PipelineWorkload.Mode(rawValue: mode) != nil else {
            throw ValidationError("--mode is established, new, mix or unanswered")
        }
        guard memory == "huge-pages" || memory == "heap" else {
            throw ValidationError("--memory is huge-pages or heap")
        }
        guard FrameSource(rawValue: frames) != nil else { throw ValidationError("--frames is ring or per-flow") }
        guard rules >= 1, flows >= 1, (1...256).contains(burst) else {
            throw ValidationError("--rules and --flows >= 1, --burst 1-256")
        }
    }

    func run() throws {
        // Plain locals: property-wrapper reads inside the timed loop would cost more than the pipeline.
        let seconds = self.seconds
        let w = PipelineWorkload(
            mode: PipelineWorkload.Mode(rawValue: mode)!, flows: flows, rules: rules, burstSize: burst,
            memory: memory == "heap" ? .heap : HugePageRegion.allocator, frames: FrameSource(rawValue: frames)!)
        for _ in 0..<2000 { _ = w.step() }
        let start = monotonicNanoseconds()
        var frames = 0
        var now = start
        repeat {
            for _ in 0..<256 { frames += w.step() }
            now = monotonicNanoseconds()
        } while Double(now - start) < seconds * 1e9
        let secs = Double(now - start) / 1e9
        let rate = Double(frames) / secs
        let pipeline = w.pipeline
        print("mode \(mode), rules \(rules), flows \(flows), burst \(burst), frames \(self.frames)")
        print(
            "frames \(frames) in \(String(format: "%.2f", secs)) s: \(String(format: "%.2f", rate / 1e6)) Mpps, "
                + "\(String(format: "%.1f", 1e9 / rate)) ns/frame"
        )
        print(
            "conntrack: \(pipeline.conntrack.count) flows, \(pipeline.conntrack.table.bytesPerFlow) bytes per flow, "
                + "\(pipeline.conntrack.table.bytes >> 20) MiB on \(pipeline.conntrack.table.backing)"
                + hugeNote(pipeline))
        let k = pipeline.counters
        print(
            "accepted \(k.count(.accept)) (by conntrack \(k.conntrackAccepted), by rules "
                + "\(k.ruleHits.reduce(0, +))), dropped \(k.count(.drop)) (conntrack-full \(k.count(.conntrackFull)))"
        )
    }
}

/// How much of the flow table the kernel has put on huge pages (THP may be off, or fragmented).
private func hugeNote(_ pipeline: Pipeline) -> String {
    guard pipeline.conntrack.table.backing == HugePageRegion.allocator.name,
        let huge = HugePageRegion.hugeBytes(in: pipeline.conntrack.table.region)
    else { return "" }
    return " (\(huge >> 20) MiB of it in huge pages)"
}
