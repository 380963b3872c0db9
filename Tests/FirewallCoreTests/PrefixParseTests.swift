import Workloads
import XCTest

@testable import FirewallCore

/// The byte-by-byte reading of dotted quads agrees with the full reading on every text.
final class PrefixParseTests: XCTestCase {
    /// Texts near the dotted-quad form: random runs of the characters it uses and a few others.
    func nearQuad(using rng: inout SplitMix64) -> String {
        if Bool.random(using: &rng) {
            let groups = (0..<4).map { _ in String(Int.random(in: 0...300, using: &rng)) }
            let length = Bool.random(using: &rng) ? "/\(Int.random(in: 0...40, using: &rng))" : ""
            return groups.joined(separator: ".") + length
        }
        let alphabet = Array("0123456789012345678.../:a é")
        let count = Int.random(in: 0...18, using: &rng)
        return String((0..<count).map { _ in alphabet.randomElement(using: &rng) ?? "0" })
    }

    func testDottedQuadReadingAgreesWithTheFullReading() {
        var rng = SplitMix64(seed: 0x5052_4546)
        var accepted = 0
        for _ in 0..<50_000 {
            let text = nearQuad(using: &rng)
            let fast = IPPrefix.parseDottedQuad(text)
            if let f = fast {
                accepted += 1
                XCTAssertEqual(f, IPPrefix.parseInFull(text), text)
            }
            XCTAssertEqual(IPPrefix.parse(text), IPPrefix.parseInFull(text), text)
        }
        XCTAssertGreaterThan(accepted, 5_000)
    }

    func testEdgeTexts() {
        for text in ["0.0.0.0/0", "255.255.255.255/32", "010.1.2.3/8", "1.2.3.4", "10.1.2.3/8"] {
            XCTAssertNotNil(IPPrefix.parseDottedQuad(text), text)
            XCTAssertEqual(IPPrefix.parseDottedQuad(text), IPPrefix.parseInFull(text), text)
        }
        let refused = ["256.0.0.0", "1.2.3", "1.2.3.4.5", "1.2.3.4/33", "1..2.3", "1.2.3.4/", "/8", "1.2.3.4//8"]
        for text in refused + ["1234.1.1.1"] {
            XCTAssertNil(IPPrefix.parse(text), text)
        }
        XCTAssertEqual(IPPrefix.parse("10.1.2.3/8"), IPPrefix.parse("10.0.0.0/8"))
    }
}
