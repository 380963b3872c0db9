import FirewallCore
import LinuxIO
import Ports

/// A capture's ingress map: a frame enters on the port its source MAC is listed for
/// (`--ingress-mac`), else on the default port; and a run ends around `isolating` (that frame
/// alone, so its conntrack state can be looked at just before and after it).
struct CaptureIngress: IngressMap {
    let options: ReplayOptions
    let isolating: Int?
    /// Frames of the capture before the current burst.
    private(set) var framesBefore = 0

    init(_ options: ReplayOptions, isolating: Int? = nil) {
        self.options = options
        self.isolating = isolating
    }

    mutating func run(_ burst: FrameBurst, link: LinkType, from start: Int) -> (ingress: Int, end: Int) {
        let port = Replay.ingressPort(burst.frame(start), link, options)
        var end = start + 1
        while end < burst.count && !isBoundary(framesBefore + end)
            && Replay.ingressPort(burst.frame(end), link, options) == port
        {
            end += 1
        }
        if end == burst.count { framesBefore += burst.count }
        return (port, end)
    }

    /// Whether a run must start at frame `index` of the capture.
    private func isBoundary(_ index: Int) -> Bool {
        guard let isolating else { return false }
        return index == isolating || index == isolating + 1
    }
}

/// A capture read as `vfwall run` reads it on the pcap backend (a `PcapPort`), in bursts cut
/// into runs of one ingress: for the replays that do not forward (compare, explain).
struct CaptureBursts {
    let reader: PcapReader
    let options: ReplayOptions
    var isolating: Int?

    /// Calls `body(run, ingress, index of its first frame)` for each run until it returns
    /// false. Returns the error that stopped the reading part way, if any.
    func forEach(_ body: (FrameBurst, Int, Int) -> Bool) throws -> String? {
        let capture = try PcapPort(name: "capture", reader: reader, output: nil, maxBurst: options.burst)
        defer { capture.close() }
        var burst = FrameBurst(capacity: options.burst)
        defer { burst.deallocate() }
        var ingress = CaptureIngress(options, isolating: isolating)
        var first = 0
        while true {
            let n = capture.rxBurst(queue: 0, into: &burst)
            if n == 0 { break }
            var start = 0
            while start < n {
                let (port, runEnd) = ingress.run(burst, link: capture.linkType, from: start)
                let end = max(start + 1, min(n, runEnd))
                let run = FrameBurst(viewing: burst, from: start, count: end - start)
                guard body(run, port, first + start) else { return capture.inputError }
                start = end
            }
            first += n
            capture.release(burst, queue: 0)
        }
        return capture.inputError
    }
}
