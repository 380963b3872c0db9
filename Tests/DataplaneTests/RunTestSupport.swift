import Foundation
import Glibc
import TestSupport
import XCTest

/// The JSON `vfwall stats` prints, as dictionaries.
struct RunStats {
    let json: [String: Any]
    init(_ text: String) throws {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NSError(
                domain: "vfwall", code: 2, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \(text)"])
        }
        json = o
    }
    func port(_ name: String) -> [String: Any] {
        ((json["ports"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == name } ?? [:]
    }
    func portCount(_ name: String, _ key: String) -> Int { port(name)[key] as? Int ?? -1 }
    func ruleHits(_ name: String) -> Int {
        (((json["rules"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == name }?["hits"] as? Int) ?? -1
    }
    func total(_ key: String) -> Int { ((json["totals"] as? [String: Any])?[key] as? Int) ?? -1 }
    var flows: Int { ((json["conntrack"] as? [String: Any])?["flows"] as? Int) ?? -1 }
    func conntrack(_ key: String) -> Any? { (json["conntrack"] as? [String: Any])?[key] }
}

/// The classic pcap frames of a file (any timestamp precision), for comparing bytes.
func pcapFrames(_ path: String) throws -> [[UInt8]] { try TinyPcap.read(path) }
