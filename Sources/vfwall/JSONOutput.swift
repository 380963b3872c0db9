import Dataplane
import Foundation

/// `value` as one line of JSON text (no newline), for the commands' machine-readable output.
/// Keys are sorted: JSONEncoder's own order changes from run to run. Slashes stay unescaped
/// (paths), and a non-finite number (a rate over zero seconds) is written as a string
/// rather than failing.
func jsonText<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                  nan: "nan")
    guard let data = try? encoder.encode(value) else { return "null" }
    return String(decoding: data, as: UTF8.self)
}

/// An optional written as null when absent (Codable's synthesized encoding leaves nil out, but
/// readers of `vfwall gen` index these keys).
struct OrNull<Wrapped: Encodable>: Encodable {
    let value: Wrapped?
    init(_ value: Wrapped?) { self.value = value }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}

/// `v` rounded to `places` decimals: figures measured to a few digits are not printed to 17.
func rounded(_ v: Double, places: Int) -> Double {
    let scale = (0..<places).reduce(1.0) { scale, _ in scale * 10 }
    return (v * scale).rounded() / scale
}

extension EngineStatistics {
    /// What `vfwall stats` prints (the control socket's answer to "stats").
    func json() -> String { jsonText(self) }
}
