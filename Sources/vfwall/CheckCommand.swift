import ArgumentParser
import FirewallConfig
import FirewallCore
import PolicyAnalysis

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration and print the policy it compiles to.",
        discussion: """
            Reads CONFIG, validates every key, and prints the ports, the policy settings and each rule \
            with where it was written. Exits 0 when the configuration is valid, 1 with \
            FILE:LINE:COLUMN: MESSAGE when it is not.

            With --lint it also analyses the rule list: rules no packet can reach (shadowed, naming \
            the earlier rules that take their packets), rules whose removal changes no verdict \
            (redundant), rules for states that tracked: accept never hands to the rules, and pairs \
            of rules with different actions that overlap without one covering the other (a \
            warning, with a packet both match). The analysis is exact over every field a rule can \
            test; it never reports a rule wrongly. Exit status 2 when it reports a shadowed, \
            redundant or never-consulted rule.
            """)

    @Argument(help: "The YAML configuration file.")
    var config: String

    @Flag(help: "Analyse the rules: shadowed, redundant, never consulted, overlapping.")
    var lint = false

    func run() throws {
        let c = try loadConfiguration(config)
        let p = c.policy
        print("\(c.file): valid")
        print("ports: \(c.ports.map { describe($0) }.joined(separator: ", "))")
        print(
            "dataplane: backend \(c.dataplane.backend.rawValue), cores "
                + "\(c.dataplane.cores.map(String.init).joined(separator: ",")), burst \(c.dataplane.burst)"
                + (c.dataplane.mode == .route ? ", mode route" : "")
        )
        if let routing = c.routingPlan {
            for i in routing.interfaces {
                let mac = i.mac.map { ", mac \(macText($0))" } ?? ""
                print(
                    "  \(c.ports[Int(i.port)].name): \(i.addresses.map(\.description).joined(separator: ", "))"
                        + "\(mac), mtu \(i.mtu)")
            }
            print("routes: \(routing.routes.count) (and the connected prefixes)")
            for r in routing.routes {
                let via = r.nextHop.map { "via \($0.text(v6: r.prefix.isV6))" } ?? "on the link"
                print("  \(r.prefix) \(via), port \(c.ports[Int(r.port)].name)")
            }
        }
        print(
            "policy: default \(p.defaultAction), invalid \(p.invalidAction), arp \(p.arpAction), non-ip "
                + "\(p.nonIPAction), fragments \(p.fragments.rawValue), tracked \(p.tracked.rawValue)"
        )
        print("conntrack: max-flows \(c.conntrack.maxFlows), tcp-loose \(c.conntrack.tcpLoose)")
        print("rules: \(p.rules.count)")
        for (i, r) in p.rules.enumerated() {
            print("  \(i): \(r.action) \(r.name)  (\(r.origin))")
        }
        if lint {
            let report = PolicyLint(p)
            print(LintReport.render(report, policy: p))
            if report.findings.contains(where: { $0.kind != .overlap }) { throw ExitCode(2) }
        }
    }

    func describe(_ p: PortConfig) -> String {
        switch p.source?.kind {
        case .environment(let variable, let index): return "\(p.name) (from-env \(variable)[\(index)])"
        case .networkStatus(let file, let network): return "\(p.name) (network-status \(network) in \(file))"
        case nil: break
        }
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
