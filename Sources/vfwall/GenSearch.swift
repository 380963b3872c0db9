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
            return RateSearch.Trial(rate: rate, seconds: secs, sent: UInt64(s.frames), received: got.generated, elapsed: s.seconds)
        }
        // The highest rate: given, or what the generator sends flat out into this path.
        var top = maxRate ?? 0
        var flatOut: RateSearch.Trial?
        if top <= 0 {
            var t = try trial(0, seconds)
            top = t.sentRate
            t.rate = top          // a trial like the others, at the rate it reached
            flatOut = t
            printError(String(format: "search %@ B: flat out: sent %.4f Mpps, received %.4f Mpps (loss %.2f %%)",
                              mix.description, t.sentRate / 1e6, t.receivedRate / 1e6, t.lossRatio * 100))
        }
        var s = RateSearch(minRate: min(minRate, top / 2), maxRate: top,
                           phases: [.init(seconds: seconds, width: width * 4), .init(seconds: finalSeconds, width: width)],
                           targets: [0, pdrLoss], maxTrials: maxTrials)
        if let flatOut { s.record(flatOut) }
        var n = 0
        let bounds = try s.run(measure: trial) { t, b in
            n += 1
            printError(String(format: "search %@ B: trial %d (%.2f s): asked %.4f Mpps, sent %.4f, received %.4f, loss %.3f %% | NDR %@ PDR %@",
                              mix.description, n, t.seconds, t.rate / 1e6, t.sentRate / 1e6, t.receivedRate / 1e6,
                              t.lossRatio * 100, b[0].description, b[1].description))
        }
        let ndr = bounds[0], pdr = bounds[1]
        // One-way delay at fractions of the NDR (the sink's 1 µs buckets, difference of two reads).
        var lat: [String] = []
        for f in latencyLoads.split(separator: ",").compactMap({ Double($0) }) where ndr.lower > 0 {
            let before = sink.latency()
            let t = try trial(ndr.lower * f, seconds)
            let after = sink.latency()
            let d = zip(after, before).map { $0 &- $1 }
            func p(_ q: Double) -> String { DelayHistogram.percentile(d, q).map { String(format: "%.1f", $0) } ?? "null" }
            lat.append(String(format: #"{"load":%.2f,"pps":%.0f,"loss":%.5f,"#, f, t.rate, t.lossRatio)
                       + #""p50_us":\#(p(0.5)),"p90_us":\#(p(0.9)),"p99_us":\#(p(0.99))}"#)
            printError(String(format: "search %@ B: delay at %.0f %% of NDR: p50 %@ p90 %@ p99 %@ µs", mix.description, f * 100, p(0.5), p(0.9), p(0.99)))
        }
        func num(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "null" }
        func gbps(_ pps: Double) -> String { String(format: "%.4f", mix.frameBitsPerSecond(pps: pps) / 1e9) }
        print(#"{"mode":"search","engine":"\#(sender.engine)","size":"\#(mix)","flows":\#(sender.flowCount),"#
              + #""max_pps":\#(num(top)),"ndr_pps":\#(num(ndr.offered)),"ndr_asked_pps":\#(num(ndr.lower)),"#
              + #""ndr_upper_pps":\#(num(ndr.upper)),"pdr_pps":\#(num(pdr.offered)),"pdr_asked_pps":\#(num(pdr.lower)),"#
              + #""pdr_upper_pps":\#(num(pdr.upper)),"ndr_gbps":\#(gbps(ndr.offered)),"pdr_gbps":\#(gbps(pdr.offered)),"#
              + String(format: #""ndr_width":%.4f,"pdr_width":%.4f,"trials":%d,"#, ndr.relativeWidth, pdr.relativeWidth, s.trials.count)
              + #""latency":[\#(lat.joined(separator: ","))]}"#)
    }
}
