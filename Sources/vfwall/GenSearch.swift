import Dataplane
import EngineConfig
import Workloads
import Foundation

/// `vfwall gen --search`: the NDR/PDR search (Dataplane's RateSearch) over a sender and the
/// sink's XDP counter, then the one-way delay at fractions of the NDR.
extension GenCommand {
    func runSearch(_ sender: LoadSender, _ sink: XDPSink) throws {
        let mix = self.mix!
        func trial(_ rate: Double, _ secs: Double) throws -> RateSearch.Trial {
            let before = sink.read()
            let s = try sender.send(rate, secs)
            usleep(UInt32(settle * 1e6))
            let got = sink.read() - before
            return RateSearch.Trial(
                rate: rate, seconds: secs, sent: UInt64(s.frames), received: got.generated, elapsed: s.seconds)
        }
        // The highest rate: given, or what the generator sends flat out into this path.
        var top = maxRate ?? 0
        var flatOut: RateSearch.Trial?
        if top <= 0 {
            var t = try trial(0, seconds)
            top = t.sentRate
            t.rate = top  // a trial like the others, at the rate it reached
            flatOut = t
            printError(
                String(
                    format: "search %@ B: flat out: sent %.4f Mpps, received %.4f Mpps (loss %.2f %%)",
                    mix.description, t.sentRate / 1e6, t.receivedRate / 1e6, t.lossRatio * 100))
        }
        var s = RateSearch(
            minRate: min(minRate, top / 2), maxRate: top,
            phases: [.init(seconds: seconds, width: width * 4), .init(seconds: finalSeconds, width: width)],
            targets: [0, pdrLoss], maxTrials: maxTrials)
        if let flatOut { s.record(flatOut) }
        var n = 0
        let bounds = try s.run(measure: trial) { t, b in
            n += 1
            printError(
                String(
                    format:
                        "search %@ B: trial %d (%.2f s): asked %.4f Mpps, sent %.4f, received %.4f, loss %.3f %% | "
                        + "NDR %@ PDR %@",
                    mix.description, n, t.seconds, t.rate / 1e6, t.sentRate / 1e6, t.receivedRate / 1e6,
                    t.lossRatio * 100, b[0].description, b[1].description))
        }
        let ndr = bounds[0], pdr = bounds[1]
        // One-way delay at fractions of the NDR (the sink's 1 µs buckets, difference of two reads).
        var delays: [GenDelay] = []
        for f in latencyLoads.split(separator: ",").compactMap({ Double($0) }) where ndr.lower > 0 {
            let before = sink.latency()
            let t = try trial(ndr.lower * f, seconds)
            let after = sink.latency()
            let d = zip(after, before).map { $0 &- $1 }
            let us = [0.5, 0.9, 0.99].map { DelayHistogram.percentile(d, $0).map { rounded($0, places: 1) } }
            delays.append(
                GenDelay(
                    load: rounded(f, places: 2), pps: t.rate.rounded(),
                    loss: rounded(t.lossRatio, places: 5),
                    p50: OrNull(us[0]), p90: OrNull(us[1]), p99: OrNull(us[2])))
            let text = us.map { $0.map { String($0) } ?? "null" }
            printError(
                String(
                    format: "search %@ B: delay at %.0f %% of NDR: p50 %@ p90 %@ p99 %@ µs",
                    mix.description, f * 100, text[0], text[1], text[2]))
        }
        func gbps(_ pps: Double) -> Double { rounded(mix.frameBitsPerSecond(pps: pps) / 1e9, places: 4) }
        print(
            jsonText(
                GenSearchResult(
                    engine: sender.engine, size: "\(mix)", flows: sender.flowCount, maxPPS: top.rounded(),
                    ndrPPS: ndr.offered.rounded(), ndrAskedPPS: ndr.lower.rounded(),
                    ndrUpperPPS: OrNull(ndr.upper?.rounded()),
                    pdrPPS: pdr.offered.rounded(), pdrAskedPPS: pdr.lower.rounded(),
                    pdrUpperPPS: OrNull(pdr.upper?.rounded()),
                    ndrGbps: gbps(ndr.offered), pdrGbps: gbps(pdr.offered),
                    ndrWidth: rounded(ndr.relativeWidth, places: 4),
                    pdrWidth: rounded(pdr.relativeWidth, places: 4), trials: s.trials.count, latency: delays)))
    }
}

/// The line `vfwall gen --search` prints (scripts/bench-attach reads it): rates in frames per
/// second, an upper bound null when no trial failed.
struct GenSearchResult: Encodable {
    let mode = "search"
    let engine, size: String
    let flows: Int
    let maxPPS, ndrPPS, ndrAskedPPS: Double
    let ndrUpperPPS: OrNull<Double>
    let pdrPPS, pdrAskedPPS: Double
    let pdrUpperPPS: OrNull<Double>
    let ndrGbps, pdrGbps, ndrWidth, pdrWidth: Double
    let trials: Int
    let latency: [GenDelay]
    enum CodingKeys: String, CodingKey {
        case mode, engine, size, flows, maxPPS = "max_pps", ndrPPS = "ndr_pps", ndrAskedPPS = "ndr_asked_pps"
        case ndrUpperPPS = "ndr_upper_pps", pdrPPS = "pdr_pps", pdrAskedPPS = "pdr_asked_pps"
        case pdrUpperPPS = "pdr_upper_pps", ndrGbps = "ndr_gbps", pdrGbps = "pdr_gbps", ndrWidth = "ndr_width"
        case pdrWidth = "pdr_width", trials, latency
    }
}

/// One-way delay at a fraction (`load`) of the NDR, percentiles in microseconds.
struct GenDelay: Encodable {
    let load, pps, loss: Double
    let p50, p90, p99: OrNull<Double>
    enum CodingKeys: String, CodingKey { case load, pps, loss, p50 = "p50_us", p90 = "p90_us", p99 = "p99_us" }
}
