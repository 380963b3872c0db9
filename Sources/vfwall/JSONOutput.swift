import Dataplane
import Foundation

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
