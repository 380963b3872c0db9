import Foundation

/// `value` as one line of JSON text (no newline), for the commands' machine-readable output.
/// Keys are sorted: JSONEncoder's own order changes from run to run. Slashes stay unescaped
/// (paths), and a non-finite number (a rate over zero seconds) is written as a string
/// rather than failing.
public func jsonText<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf",
        nan: "nan")
    guard let data = try? encoder.encode(value) else { return "null" }
    return String(decoding: data, as: UTF8.self)
}

extension EngineStatistics {
    /// What `vfwall stats` prints: the control socket's answer to "stats".
    public func json() -> String { jsonText(self) }
}
