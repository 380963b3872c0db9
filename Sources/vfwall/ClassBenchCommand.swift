import ArgumentParser
import DPDKPorts
import FileBytes
import FirewallCore
import LinuxIO
import Workloads
#if canImport(Glibc)
    import Glibc
#endif

struct ClassBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classbench",
        abstract: "Classify a ClassBench trace against a ClassBench rule set.",
        discussion: """
            Reads RULES (one '@SRC/LEN DST/LEN SPORT_LO : SPORT_HI DPORT_LO : DPORT_HI PROTO/MASK \
            FLAGS/MASK' rule per line, highest priority first) and TRACE (one 'SRC DST SPORT DPORT \
            PROTO FLAGS RULE' header per line), builds the chosen classifier and prints, one per line, \
            the 0-based index of the first rule matching each header, or -1.

            With --bench it prints instead the rule-set build time, the classifier's memory and its \
            lookups per second: the trace is classified in bursts, over and over, after a warm-up.

            Example:
              vfwall classbench acl1_8k.rules acl1_8k.trace --classifier compiled --bench
            """)

    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case reference, compiled, bitsets, chunked, tuples
        case rteAcl = "rte-acl"
    }

    @Argument(help: "The ClassBench rule file.")
    var rules: String

    @Argument(help: "The ClassBench trace file.")
    var trace: String

    @Option(
        help: """
            The classifier: reference (linear scan), compiled (chosen by size and shape), bitsets (one \
            bit-vector index), chunked (indexes of --chunk-rules rules), tuples (a hash table per rule \
            shape) or rte-acl (DPDK).
            """)
    var classifier: Engine = .compiled

    @Flag(help: "Print build time, memory and lookups per second instead of the matches.")
    var bench = false

    @Option(help: "Headers per classifyBurst call.")
    var burst = 32

    @Option(help: "Rules per chunk of the chunked classifier.")
    var chunkRules = ChunkedClassifier.defaultChunkRules

    @Option(help: "With --bench: measure for at least this many seconds.")
    var seconds = 1.0

    func validate() throws {
        guard burst >= 1 && burst <= 4096 else { throw ValidationError("--burst must be between 1 and 4096") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard chunkRules >= 64 && chunkRules <= 65536 else {
            throw ValidationError("--chunk-rules must be between 64 and 65536")
        }
    }

    func run() throws {
        let ruleText = try readText(rules), traceText = try readText(trace)
        let matches: [RuleMatch], headers: [PacketMeta]
        do {
            matches = try ClassBench.parseRules(ruleText)
            headers = try ClassBench.parseTrace(traceText).map(\.meta)
        } catch let e as ClassBench.ParseError {
            printError("vfwall classbench: \(e)")
            throw ExitCode(1)
        }
        let buildStart = monotonicNanoseconds()
        let (engine, memory) = try build(matches)
        let buildSeconds = Double(monotonicNanoseconds() - buildStart) / 1e9

        var results = [Int32](repeating: -1, count: headers.count)
        if !bench {
            classifyAll(engine, headers, &results)
            var out = ""
            out.reserveCapacity(headers.count * 6)
            for r in results {
                out += String(r)
                out += "\n"
            }
            fputs(out, stdout)
            return
        }
        classifyAll(engine, headers, &results)  // warm-up
        var lookups = 0
        let start = monotonicNanoseconds()
        var elapsed = 0.0
        repeat {
            classifyAll(engine, headers, &results)
            lookups += headers.count
            elapsed = Double(monotonicNanoseconds() - start) / 1e9
        } while elapsed < seconds
        print("classifier: \(classifier.rawValue)")
        print("rules: \(matches.count)")
        print("headers: \(headers.count)")
        print("build-seconds: \(fixed(buildSeconds, 4))")
        print("memory-bytes: \(memory)")
        print("lookups-per-second: \(Int(Double(lookups) / elapsed))")
    }

    /// The classifier and the bytes its lookup structures take.
    func build(_ matches: [RuleMatch]) throws -> (any Classifier, Int) {
        switch classifier {
        case .reference:
            return (ReferenceClassifier(matches: matches), matches.count * MemoryLayout<RuleMatch>.stride)
        case .compiled:
            let plan = CompiledClassifier.plan(matches)
            let c = CompiledClassifier.make(matches, plan: plan)
            switch plan.kind {
            case .bitsets: print("compiled-as: bitsets")
            case .chunked(let per): print("compiled-as: chunks of \(per) rules")
            case .tupleSpace(let shapes, let others):
                print("compiled-as: tuple space of \(shapes) shapes" + (others > 0 ? " and \(others) other rules" : ""))
            }
            print("estimated-bytes: \(plan.estimatedBytes)")
            return (c, CompiledClassifier.bytes(of: c))
        case .bitsets:
            let c = BitVectorClassifier(matches: matches)
            return (c, c.memoryBytes)
        case .chunked:
            let c = ChunkedClassifier(matches: matches, chunkRules: chunkRules)
            return (c, c.memoryBytes)
        case .tuples:
            let c = TupleSpaceClassifier(matches: matches)
            return (c, c.memoryBytes)
        case .rteAcl:
            do {
                let c = try RteAclClassifier(matches: matches)
                return (c, c.memoryBytes)
            } catch let e as RteAclError {
                printError("vfwall classbench: \(e)")
                throw ExitCode(1)
            }
        }
    }

    func classifyAll(_ c: any Classifier, _ headers: [PacketMeta], _ results: inout [Int32]) {
        let step = burst
        headers.withUnsafeBufferPointer { h in
            results.withUnsafeMutableBufferPointer { r in
                var i = 0
                while i < h.count {
                    let n = min(step, h.count - i)
                    c.classifyBurst(h.baseAddress! + i, count: n, results: r.baseAddress! + i)
                    i += n
                }
            }
        }
    }

    func readText(_ path: String) throws -> String {
        do { return String(decoding: try readWholeFile(path), as: UTF8.self) } catch {
            printError("vfwall classbench: cannot read \(path): \(error)")
            throw ExitCode(1)
        }
    }
}

func fixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((v * scale).rounded())
    let whole = n / Int(scale), frac = n % Int(scale)
    let f = String(frac)
    return "\(whole).\(String(repeating: "0", count: digits - f.count))\(f)"
}
