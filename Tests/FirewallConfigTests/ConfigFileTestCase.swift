import FirewallConfig
import XCTest

/// Configuration tests that read files: each test gets a directory of its own, `write` puts a
/// file in it, `load` reads YAML as if from `c.yaml` there, and `error` gives the refusal with
/// the directory left out of its position (nil when the configuration is accepted).
class ConfigFileTestCase: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "vfwall-config-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    }

    func load(_ yaml: String) throws -> Configuration { try ConfigLoader.parse(yaml: yaml, file: dir + "/c.yaml") }

    func error(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch let e as ConfigError {
            return e.description.replacingOccurrences(of: dir + "/", with: "")
        } catch {
            return "unexpected \(error)"
        }
    }
}
