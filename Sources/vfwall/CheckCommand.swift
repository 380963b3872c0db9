import ArgumentParser
import FirewallConfig
import FirewallCore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration and print the policy it compiles to.",
        discussion: """
        Reads CONFIG, validates every key, and prints the ports, the policy settings and each rule \
        with where it was written. Exits 0 when the configuration is valid, 1 with \
        FILE:LINE:COLUMN: MESSAGE when it is not.
        """)

    @Argument(help: "The YAML configuration file.")
    var config: String

    func run() throws {
        let c = try loadConfiguration(config)
        let p = c.policy
        print("\(c.file): valid")
        print("ports: \(c.ports.map { describe($0) }.joined(separator: ", "))")
        print("dataplane: backend \(c.dataplane.backend.rawValue), cores \(c.dataplane.cores.map(String.init).joined(separator: ",")), burst \(c.dataplane.burst)")
        print("policy: default \(p.defaultAction), invalid \(p.invalidAction), arp \(p.arpAction), non-ip \(p.nonIPAction), fragments \(p.fragments.rawValue), tracked \(p.tracked.rawValue)")
        print("conntrack: max-flows \(c.conntrack.maxFlows), tcp-loose \(c.conntrack.tcpLoose)")
        print("rules: \(p.rules.count)")
        for (i, r) in p.rules.enumerated() {
            print("  \(i): \(r.action) \(r.name)  (\(r.origin))")
        }
    }

    func describe(_ p: PortConfig) -> String {
        let where_ = p.interface ?? p.device ?? p.rxPcap
        return where_.map { "\(p.name) (\($0))" } ?? p.name
    }
}

/// Loads a configuration or exits 1 with its error on standard error.
func loadConfiguration(_ path: String) throws -> Configuration {
    do { return try ConfigLoader.load(path: path) } catch let e as ConfigError {
        printError(e.description)
        throw ExitCode(1)
    }
}
