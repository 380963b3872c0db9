import XCTest
import Yams

@testable import FirewallConfig

/// Typed reads take whole values only, and refuse the others with the node's position.
final class NodeReaderTests: XCTestCase {
    let reader = NodeReader(file: "t.yaml")
    let choices: [(String, Int)] = [("accept", 1), ("drop", 2), ("reject", 3)]

    func node(_ text: String) throws -> Node {
        try XCTUnwrap(try Yams.compose(yaml: "action: \(text)\n", Resolver.basic)?["action"])
    }

    func testWordsAreMatchedWhole() throws {
        for (word, value) in choices {
            XCTAssertEqual(try reader.word(try node(word), "action", choices), value)
        }
        for text in ["acc", "accepts", "Accept", "''", "drop ,", "\"reject \""] {
            let n = try node(text)
            XCTAssertThrowsError(try reader.word(n, "action", choices), text) { e in
                let got = (e as? ConfigError)?.description ?? "\(e)"
                XCTAssertTrue(got.hasPrefix("t.yaml:1:9: 'action' expects one of accept, drop, reject, got '"), got)
            }
        }
        XCTAssertThrowsError(try reader.word(try node("[accept]"), "action", choices)) { e in
            let want = "t.yaml:1:9: 'action' expects one of accept, drop, reject, got a list"
            XCTAssertEqual((e as? ConfigError)?.description, want)
        }
    }
}
