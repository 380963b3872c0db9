import XCTest
import FirewallCore
@testable import FirewallConfig

/// `classifier: {max-memory: ...}`: sizes parsed with positions, and a policy whose classifier
/// would take more refused before it is built, with the estimate in the message.
final class ClassifierConfigTests: XCTestCase {
    func parse(_ yaml: String) -> Result<Configuration, ConfigError> {
        do { return .success(try ConfigLoader.parse(yaml: yaml, file: "t.yaml")) } catch let e as ConfigError {
            return .failure(e)
        } catch {
            XCTFail("unexpected error \(error)")
            return .failure(ConfigError(file: "", line: 0, column: 0, message: ""))
        }
    }

    func testDefaultAndSizes() throws {
        let plain = try parse("rules: []").get()
        XCTAssertEqual(plain.classifier.maxMemoryBytes, 1 << 30)
        let set = try parse("classifier: {max-memory: 512MiB}\nrules: []").get()
        XCTAssertEqual(set.classifier.maxMemoryBytes, 512 << 20)
        XCTAssertEqual(ClassifierConfig.parseSize("2GiB"), 2 << 30)
        XCTAssertEqual(ClassifierConfig.parseSize("64 KiB"), 64 << 10)
        XCTAssertEqual(ClassifierConfig.parseSize("4096"), 4096)
        XCTAssertNil(ClassifierConfig.parseSize("1GB"))
        XCTAssertNil(ClassifierConfig.parseSize("0"))
        XCTAssertNil(ClassifierConfig.parseSize("-1MiB"))
        XCTAssertNil(ClassifierConfig.parseSize("99999999999TiB"))
    }

    func testBadSizeNamesItsPosition() {
        guard case .failure(let e) = parse("classifier:\n  max-memory: lots\nrules: []") else {
            return XCTFail("accepted a bad size")
        }
        XCTAssertEqual(
            e.description,
            "t.yaml:2:15: 'max-memory' expects a size such as 1GiB, 512MiB or a number of bytes, got 'lots'")
        guard case .failure(let k) = parse("classifier: {max-mem: 1GiB}\nrules: []") else {
            return XCTFail("accepted an unknown key")
        }
        XCTAssertTrue(k.description.hasPrefix("t.yaml:1:"), k.description)
    }

    func testPolicyOverTheLimitIsRefusedWithItsEstimate() throws {
        let rules = """
            rules:
              - {src: 10.0.0.0/24, proto: tcp, dport: 80, action: accept}
              - {src: 10.0.1.0/24, proto: tcp, dport: 81, action: accept}
            """
        let yaml = "classifier: {max-memory: 64KiB}\n" + rules
        guard case .failure(let e) = parse(yaml) else { return XCTFail("accepted a policy over the limit") }
        let estimate = CompiledClassifier.plan(
            try parse(rules).get().policy.rules.map(\.match)
        ).estimatedBytes
        XCTAssertGreaterThan(estimate, 64 << 10)
        XCTAssertEqual(
            e.description,
            "t.yaml:1:13: the classifier for 2 rules would take about \(formatBytes(estimate)), over "
                + "classifier.max-memory (64 KiB); raise classifier.max-memory or split the policy")
        // Without a limit in the file the error points at the rules.
        XCTAssertNoThrow(try parse("classifier: {max-memory: 1MiB}\n" + rules).get())
    }
}
