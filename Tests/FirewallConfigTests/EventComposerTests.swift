import Workloads
import XCTest
import Yams

@testable import FirewallConfig

/// The event composer gives the tree Yams gives (values, kinds, tags, styles, marks), and hands
/// to Yams every text it does not compose the same way, so the errors stay Yams' own.
final class EventComposerTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized

    /// One line per node, depth first: kind, tag name, style, mark, and a scalar's text.
    func lines(_ node: Node, depth: Int = 0, resolved: Bool = false) -> [String] {
        let indent = String(repeating: " ", count: depth)
        let tag = resolved ? Resolver.basic.resolveTag(of: node).rawValue : node.tag.rawValue
        let mark = node.mark.map { "\($0.line):\($0.column)" } ?? "none"
        switch node {
        case .scalar(let s):
            return ["\(indent)scalar \(tag) \(s.style) \(mark) \(s.string.debugDescription)"]
        case .sequence(let s):
            return ["\(indent)sequence \(tag) \(s.style) \(mark)"]
                + s.flatMap { lines($0, depth: depth + 1, resolved: resolved) }
        case .mapping(let m):
            return ["\(indent)mapping \(tag) \(m.style) \(mark)"]
                + m.flatMap { k, v in
                    lines(k, depth: depth + 1, resolved: resolved) + lines(v, depth: depth + 1, resolved: resolved)
                }
        case .alias:
            return ["\(indent)alias \(mark)"]
        }
    }

    /// Asserts both composers give the same tree for `text`, before and after key lookups
    /// (a lookup resolves tags in place, and the composer shares tags between nodes).
    func assertSameTree(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try XCTUnwrap(EventComposer.compose(text), "\(what): handed to Yams", file: file, line: line)
        let yams = try XCTUnwrap(try Yams.compose(yaml: text, Resolver.basic), what, file: file, line: line)
        XCTAssertEqual(lines(ours), lines(yams), what, file: file, line: line)
        for tree in [ours, yams] {
            _ = tree["rules"]?.sequence?.map { $0["name"] }
        }
        XCTAssertEqual(lines(ours, resolved: true), lines(yams, resolved: true), what, file: file, line: line)
    }

    func testShippedConfigsAndFixturesComposeAsYamsDoes() throws {
        let folders = ["configs", "Tests/FirewallConfigTests/Fixtures"]
        var count = 0
        for folder in folders {
            let dir = Self.root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".yaml") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                try assertSameTree(text, "\(folder)/\(name)")
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(count, 6)
    }

    func testSeededRandomRuleListsComposeAsYamsDoes() throws {
        var rng = SplitMix64(seed: 0x7961_6d6c)
        var composed = 0
        for round in 0..<300 {
            let text = RandomRuleText.document(rules: Int.random(in: 0...12, using: &rng), using: &rng)
            // A plain `a,!b` in a flow mapping is no YAML: such a text must go to Yams.
            guard (try? Yams.compose(yaml: text, Resolver.basic)) != nil else {
                XCTAssertNil(EventComposer.compose(text), "round \(round): Yams refuses it\n\(text)")
                continue
            }
            try assertSameTree(text, "round \(round):\n\(text)")
            composed += 1
        }
        XCTAssertGreaterThan(composed, 200)
    }

    /// Texts the composer must not compose itself: Yams' tree or Yams' error stands.
    static let yamsOnly: [(String, String)] = [
        ("an anchor and an alias", "rules:\n  - &a {action: accept}\n  - *a\n"),
        ("an anchor alone", "rules:\n  - &a {action: accept}\n"),
        ("equal keys", "rules:\n  - action: accept\n    action: drop\n"),
        ("equal keys in flow", "rules: [{proto: tcp, proto: udp, action: accept}]\n"),
        ("equal keys, one quoted", "rules: []\n'rules': []\n"),
        ("a list as a key", "? [a, b]\n: rules\nrules: []\n"),
        ("two documents", "rules: []\n---\nrules: []\n"),
        ("a scanner error", "rules:\n  - {action: accept\n"),
        ("a tab", "rules:\n\t- action: accept\n"),
        ("a parser error", "rules: [a, b\nports: x\n"),
        ("an undefined alias", "rules: *nothing\n"),
        ("an empty text", ""),
        ("only a comment", "# nothing\n")
    ]

    func testWhatItDoesNotComposeGoesToYamsWithYamsErrors() {
        for (what, text) in Self.yamsOnly {
            XCTAssertNil(EventComposer.compose(text), what)
            var expected: ConfigError?
            do {
                if try Yams.compose(yaml: text, Resolver.basic) == nil {
                    expected = ConfigError(
                        file: "t.yaml", line: 1, column: 1,
                        message: "the configuration is empty; it needs at least 'rules'")
                }
            } catch let e as YamlError {
                expected = ConfigLoader.yamlError(e, file: "t.yaml")
            } catch {
                XCTFail("\(what): \(error)")
            }
            guard let want = expected else { continue }  // valid YAML: its reading is tested elsewhere
            XCTAssertThrowsError(try ConfigLoader.parse(yaml: text, file: "t.yaml"), what) { e in
                XCTAssertEqual((e as? ConfigError)?.description, want.description, what)
            }
        }
    }

    func testEqualKeysAreRefusedAsYamsRefusesThem() throws {
        let text = "rules:\n  - {src: 10.0.0.0/8, action: accept}\n  - {dport: 22, action: drop, dport: 23}\n"
        XCTAssertThrowsError(try ConfigLoader.parse(yaml: text, file: "t.yaml")) { e in
            XCTAssertTrue((e as? ConfigError)?.description.hasPrefix("t.yaml:1:1: not valid YAML:") == true, "\(e)")
        }
    }

    func testMarksAreOneBasedLineAndColumn() throws {
        let tree = try XCTUnwrap(EventComposer.compose("# c\nrules:\n  - {action: drop}\n"))
        let action = try XCTUnwrap(tree["rules"]?.sequence?.first?["action"])
        XCTAssertEqual(action.mark?.line, 3)
        XCTAssertEqual(action.mark?.column, 14)
    }
}

/// Seeded random configuration texts in the shapes a policy takes: block and flow rules,
/// quoted scalars, comments, empty values, lists, tags and a few top-level sections.
enum RandomRuleText {
    static let plainValues = ["10.0.0.0/8", "tcp", "22", "1000-2000", "accept", "drop", "inside", "syn,!ack", "", "~"]
    static let keys = ["src", "dst", "proto", "dport", "sport", "action", "name", "comment", "ingress", "state"]

    static func value(using rng: inout SplitMix64) -> String {
        let v = plainValues.randomElement(using: &rng) ?? ""
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: return "\"\(v) é\\t\""
        case 1: return "'\(v) ''x'''"
        case 2: return "[\(v.isEmpty ? "~" : v), \(plainValues.randomElement(using: &rng) ?? "~")]"
        case 3: return "[]"
        case 4: return "\"@blocklist\""
        case 5: return "!@trusted \(v)"
        default: return v
        }
    }

    static func document(rules: Int, using rng: inout SplitMix64) -> String {
        var text = Bool.random(using: &rng) ? "# policy\n" : ""
        if Bool.random(using: &rng) { text += "policy: {default: drop}   # trailing\n" }
        text += rules == 0 ? "rules: []\n" : "rules:\n"
        for index in 0..<rules {
            let chosen = keys.shuffled(using: &rng).prefix(Int.random(in: 1...5, using: &rng))
            let pairs = chosen.map { ($0, value(using: &rng)) }
            if Bool.random(using: &rng) {
                text += "  - {" + pairs.map { "\($0): \($1)" }.joined(separator: ", ") + "}\n"
            } else {
                for (i, (k, v)) in pairs.enumerated() {
                    text += (i == 0 ? "  - " : "    ") + "\(k):" + (v.isEmpty ? "" : " \(v)") + "\n"
                }
            }
            if index % 4 == 3 { text += "  # rule \(index)\n\n" }
        }
        if Bool.random(using: &rng) { text += "sets:\n  blocklist:\n    type: ipv4\n    elements:\n      - 10.0.0.1\n" }
        return text
    }
}
