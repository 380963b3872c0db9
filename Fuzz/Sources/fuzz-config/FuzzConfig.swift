import FirewallConfig
import FirewallCore
import FuzzSupport

/// Input: any bytes, read as a configuration file. The loader must answer with a configuration or
/// a ConfigError that carries a position and a message; an accepted configuration must compile.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let c = try ConfigLoader.parse(yaml: text, file: "fuzz.yaml")
        let compiled = CompiledPolicy(c.policy, classifier: BitVectorClassifier(rules: c.policy.rules))
        check(compiled.ruleCount == c.policy.rules.count, "compiled policy lost rules")
        check(c.ports.count >= 1 && c.ports.count <= 255, "\(c.ports.count) ports accepted")
    } catch let e as ConfigError {
        check(!e.message.isEmpty, "an error without a message")
        check(e.file == "fuzz.yaml", "an error naming \(e.file)")
    } catch {
        check(false, "the loader threw something other than ConfigError: \(error)")
    }
    return 0
}

@main
enum Main {
    static func main() { runFuzzer(fuzzConfig) }
}
