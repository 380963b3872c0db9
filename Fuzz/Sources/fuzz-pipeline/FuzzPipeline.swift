import FirewallCore
import FuzzSupport

/// Input: a mode byte (link type as `fuzzLinkType` reads it, policy settings, table bounds), then
/// records of
///   control byte: bit 0 ingress, bit 1 ends the burst here, bit 2 installs the other policy
///                 (a reload) before this frame's burst, bits 3-7 time step;
///   length byte (frame length, 0-255, cut to what is left), frame bytes.
/// Bursts of up to 32 frames go through `Pipeline.process`; after each: every frame got exactly
/// one verdict, counters add up, a malformed frame was never accepted, the tables hold together,
/// and a twin pipeline classifying with the linear-scan reference, and without the fast lane
/// (every frame parsed in full), gave the very same verdicts.
// Compiled once: building classifiers per input would be most of the run time.
let shipped = (0..<32).map { CompiledPolicy(FuzzPolicies.policy(mode: UInt8($0))) }
let reference = (0..<32).map { m -> CompiledPolicy in
    let p = FuzzPolicies.policy(mode: UInt8(m))
    return CompiledPolicy(p, classifier: ReferenceClassifier(rules: p.rules))
}
let unset = Verdict(action: .accept, reason: .conntrackFull, state: .related, rule: Int32.min)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    guard size >= 1 else { return 0 }
    let mode = data[0]
    let link = fuzzLinkType(mode: mode)
    let modes = [Int(mode >> 2) & 31, Int(~mode >> 2) & 31]
    let policies = [shipped[modes[0]], shipped[modes[1]]]
    var current = 0
    let settings = FuzzPolicies.conntrack(mode: mode)
    let pipeline = Pipeline(policy: policies[0], conntrack: settings, burstCapacity: 32)
    let twin = Pipeline(policy: reference[modes[0]], conntrack: settings, burstCapacity: 32, fastLane: false)
    var verdicts = [Verdict](repeating: Verdict(), count: 32)
    var burst = FrameBurst(capacity: 32)
    defer { burst.deallocate() }
    // Each frame in a buffer of its exact length, so AddressSanitizer sees a read past any of them.
    var buffers: [UnsafeMutableRawPointer] = []
    defer { for b in buffers { b.deallocate() } }

    var now: UInt64 = 0
    var frames: UInt64 = 0
    var burstIngress = 0
    var at = 1

    func flush() {
        guard burst.count > 0 else { return }
        for i in 0..<burst.count { burst.verdicts[i] = unset }
        let before = pipeline.counters
        twin.process(burst, ingress: burstIngress, link: link)
        for i in 0..<burst.count {
            verdicts[i] = burst.verdicts[i]
            burst.verdicts[i] = unset
        }
        pipeline.process(burst, ingress: burstIngress, link: link)
        for i in 0..<burst.count {
            check(
                burst.verdicts[i] == verdicts[i],
                "frame \(i): compiled classifier and fast lane gave \(burst.verdicts[i]), reference and full parse "
                    + "\(verdicts[i])"
            )
        }
        let after = pipeline.counters
        let invalidAction = policies[current].policy.invalidAction
        for i in 0..<burst.count {
            let v = burst.verdicts[i]
            check(v.rule != Int32.min, "frame \(i) of the burst got no verdict")
            check(
                v.rule >= Verdict.bySetting && v.rule < Int32(policies[current].ruleCount),
                "verdict names rule \(v.rule)")
            if v.reason.isMalformed || v.reason == .invalidState {
                check(v.action == invalidAction, "\(v.reason.name) got \(v.action), the policy says \(invalidAction)")
            }
            if v.action == .accept {
                check(
                    v.reason == .none || v.reason == .arp || v.reason == .nonIP,
                    "accepted under reason \(v.reason.name)")
            }
        }
        frames += UInt64(burst.count)
        check(after.frames == frames, "frames counted \(after.frames), processed \(frames)")
        check(
            after.count(.accept) + after.count(.drop) + after.count(.reject) == after.frames,
            "actions do not add up to frames")
        check(after.reasons.reduce(0, +) == after.frames, "reasons do not add up to frames")
        check(after.frames - before.frames == UInt64(burst.count), "burst counted wrong")
        // The counters moved by exactly what the verdicts say (a reload happens between bursts,
        // so `before` already has the new policy's rule slots).
        var rules = before.ruleHits, reasons = before.reasons, actions = before.actions
        var byFlow = before.conntrackAccepted
        for i in 0..<burst.count {
            let v = burst.verdicts[i]
            if v.rule >= 0 {
                rules[Int(v.rule)] += 1
            } else if v.rule == Verdict.byDefault {
                rules[rules.count - 1] += 1
            } else if v.rule == Verdict.byConntrack {
                byFlow += 1
            }
            reasons[Int(v.reason.rawValue)] += 1
            actions[Int(v.action.rawValue)] += 1
        }
        check(after.ruleHits == rules, "rule counters \(after.ruleHits), verdicts say \(rules)")
        check(after.reasons == reasons, "reason counters disagree with the verdicts")
        check(after.actions == actions, "action counters disagree with the verdicts")
        check(after.conntrackAccepted == byFlow, "conntrack-accepted counter disagrees with the verdicts")
        checkTable(pipeline.conntrack.table, "conntrack")
        check(pipeline.fragments.count <= settings.maxFragmentedDatagrams, "fragment table past its bound")
        burst.count = 0
    }

    while at + 2 <= size {
        let control = data[at], length = min(Int(data[at + 1]), size - at - 2)
        at += 2
        let ingress = Int(control & 1)
        if control & 4 != 0 {
            flush()
            current ^= 1
            pipeline.install(policies[current])
            twin.install(reference[modes[current]])
        }
        if ingress != burstIngress || burst.count == burst.capacity {
            flush()
            burstIngress = ingress
        }
        let buf = UnsafeMutableRawPointer.allocate(byteCount: max(length, 1), alignment: 1)
        buffers.append(buf)
        buf.copyMemory(from: data + at, byteCount: length)
        at += length
        // Steps from nothing up to about two minutes: timeouts of every kind expire in a run.
        now &+= UInt64(control >> 3) * UInt64(control >> 3) * 125_000_000
        burst.frames[burst.count] = UnsafeRawPointer(buf)
        burst.lengths[burst.count] = Int32(length)
        burst.timestamps[burst.count] = now
        burst.count += 1
        if control & 2 != 0 { flush() }
    }
    flush()
    return 0
}

@main
enum Main {
    static func main() { runFuzzer(fuzzPipeline) }
}
