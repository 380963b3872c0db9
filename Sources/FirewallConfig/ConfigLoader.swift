import FileBytes
import FirewallCore
import SystemPackage
import Yams

/// Reads a YAML configuration into a `Configuration`, refusing anything it does not understand
/// with file:line:column. Nothing is opened or started here: a bad file changes nothing.
public enum ConfigLoader {
    static let topKeys = ["ports", "dataplane", "policy", "conntrack", "classifier", "sets", "routes", "rules"]
    static let defaultPorts = ["inside", "outside"]

    /// Reads and validates `path`.
    public static func load(path: String) throws -> Configuration {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigError(file: path, line: 0, column: 0, message: "cannot read the configuration file: \(error)")
        }
        return try parse(yaml: text, file: path)
    }

    /// Validates YAML text; `file` names it in errors.
    public static func parse(yaml: String, file: String) throws -> Configuration {
        let r = NodeReader(file: file)
        let root: Node
        do {
            guard let n = try EventComposer.compose(yaml) ?? Yams.compose(yaml: yaml, Resolver.basic) else {
                throw ConfigError(
                    file: file, line: 1, column: 1, message: "the configuration is empty; it needs at least 'rules'")
            }
            root = n
        } catch let e as YamlError {
            throw yamlError(e, file: file)
        }
        var ports: [PortConfig] = defaultPorts.map { PortConfig(name: $0) }
        var portKeys: [[String: Node]] = defaultPorts.map { _ in [:] }
        var routesNode: Node?
        var dataplane = DataplaneConfig()
        var conntrack = ConntrackSettings()
        var classifier = ClassifierConfig()
        var classifierNode: Node?
        var rulesNode: Node?
        var policyNode: Node?
        var sets: [NamedSet] = []
        for (key, _, v) in try r.mapping(root, "the configuration", allowed: topKeys) {
            switch key {
            case "ports": (ports, portKeys) = try readPorts(v, r)
            case "routes": routesNode = v
            case "dataplane": dataplane = try readDataplane(v, r)
            case "conntrack": conntrack = try readConntrack(v, r)
            case "classifier":
                classifier = try readClassifier(v, r)
                classifierNode = v
            case "policy": policyNode = v
            case "sets": sets = try SetReader(r: r).sets(v)
            default: rulesNode = v
            }
        }
        guard let rn = rulesNode else {
            throw ConfigError(
                file: file, line: 1, column: 1,
                message: "the configuration has no 'rules' list (an empty list [] is allowed)")
        }
        // The routes first: a rule's `egress` is read against them.
        let routing = RoutingReader(r: r)
        try routing.check(mode: dataplane.mode, ports: ports, keyNodes: portKeys, routes: routesNode)
        var c = Configuration(
            file: file, ports: ports, dataplane: dataplane, policy: Policy(portNames: ports.map(\.name), rules: []),
            conntrack: conntrack, classifier: classifier)
        c.routes = try routesNode.map { try routing.routes($0, ports: ports) } ?? []
        var reader = RuleReader(r: r, portNames: ports.map(\.name))
        reader.sets = Dictionary(sets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let plan = c.routingPlan, Self.anyRuleSays("egress", rn) {
            let own = plan.interfaces.flatMap { i in
                i.addresses.map { IPPrefix(address: $0.address, length: $0.isV6 ? 128 : 32, isV6: $0.isV6) }
            }
            reader.egressRegions = EgressRegions.regions(routes: plan.forwardingRoutes, own: own, ports: ports.count)
        }
        var policy = Policy(portNames: ports.map(\.name), rules: try reader.rules(rn))
        policy.sets = sets
        if let pn = policyNode { try readPolicy(pn, r, into: &policy) }
        try checkClassifierMemory(policy, classifier, at: classifierNode ?? rn, r)
        c.policy = policy
        return c
    }

    /// Whether a rule of the `rules` list has `key` (what only some rules need is worked out only
    /// then: the egress prefixes cost a pass over every pair of routes).
    static func anyRuleSays(_ key: String, _ rules: Node) -> Bool {
        guard case .sequence(let seq) = rules else { return false }
        return seq.contains { $0[key] != nil }
    }

    /// The ports, and for each the nodes of its keys (and of its name, as "name"), for checks
    /// that look at several ports.
    static func readPorts(_ node: Node, _ r: NodeReader) throws -> ([PortConfig], [[String: Node]]) {
        let entries = try r.namedMapping(node, "'ports'")
        guard !entries.isEmpty, entries.count <= 255 else {
            throw r.error(node, "'ports' names between 1 and 255 ports")
        }
        var allKeys: [[String: Node]] = []
        let ports = try entries.map { name, nameNode, v in
            var p = PortConfig(name: name)
            var keyNodes: [String: Node] = ["name": nameNode]
            defer { allKeys.append(keyNodes) }
            if case .scalar(let s) = v, s.string.isEmpty || s.string == "~" { return p }
            for (key, keyNode, value) in try r.mapping(v, "port '\(name)'", allowed: PortConfig.keys) {
                keyNodes[key] = keyNode
                switch key {
                case "interface": p.interface = try r.string(value, key)
                case "device": p.device = try r.string(value, key)
                case "rx-pcap": p.rxPcap = try r.string(value, key)
                case "tx-pcap": p.txPcap = try r.string(value, key)
                case "from-env": p.source = try readFromEnv(value, r)
                case "network-status": p.source = try readNetworkStatus(value, r)
                case "addresses": p.addresses = try RoutingReader(r: r).addresses(value)
                case "mac": p.mac = try RoutingReader(r: r).mac(value)
                case "mtu": p.mtu = try r.int(value, key, in: 68...9216)
                case "neighbours": p.neighbours = try RoutingReader(r: r).neighbours(value)
                default: break
                }
            }
            try checkPortKeys(p, keyNodes, r)
            return p
        }
        return (ports, allKeys)
    }

    static func readDataplane(_ node: Node, _ r: NodeReader) throws -> DataplaneConfig {
        var d = DataplaneConfig()
        for (key, _, v) in try r.mapping(node, "'dataplane'", allowed: DataplaneConfig.keys) {
            switch key {
            case "mode": d.mode = try r.word(v, key, DataplaneConfig.Mode.allCases.map { ($0.rawValue, $0) })
            case "backend": d.backend = try r.word(v, key, DataplaneConfig.Backend.allCases.map { ($0.rawValue, $0) })
            case "cores":
                d.cores = try r.list(v).map { try r.int($0, key, in: 0...4095) }
                guard !d.cores.isEmpty, Set(d.cores).count == d.cores.count else {
                    throw r.error(v, "'cores' lists one or more distinct CPU numbers")
                }
            case "burst": d.burst = try r.int(v, key, in: 1...256)
            case "eal": d.eal = try r.strings(v, key)
            case "control-socket": d.controlSocket = try r.string(v, key)
            case "stall-ms": d.stallMilliseconds = try r.int(v, key, in: 0...3_600_000)
            case "metrics": d.metricsListen = try readMetrics(v, r)
            default: break
            }
        }
        return d
    }

    /// `metrics: {listen: "127.0.0.1:9469"}`; without `listen`, no listener.
    static func readMetrics(_ node: Node, _ r: NodeReader) throws -> MetricsListen? {
        var listen: MetricsListen?
        for (key, _, v) in try r.mapping(node, "'dataplane.metrics'", allowed: ["listen", "comment"])
        where key == "listen" {
            do { listen = try MetricsListen.parse(try r.string(v, key)) } catch let e as MetricsListenError {
                throw r.error(v, "'listen' \(e)")
            }
        }
        return listen
    }

    static let actionWords: [(String, Action)] = [("accept", .accept), ("drop", .drop), ("reject", .reject)]

    static func readPolicy(_ node: Node, _ r: NodeReader, into p: inout Policy) throws {
        let keys = ["default", "invalid", "arp", "non-ip", "fragments", "tracked", "comment"]
        for (key, _, v) in try r.mapping(node, "'policy'", allowed: keys) {
            switch key {
            case "default": p.defaultAction = try r.word(v, key, actionWords)
            case "invalid": p.invalidAction = try r.word(v, key, actionWords.filter { $0.1 != .accept })
            case "arp": p.arpAction = try r.word(v, key, actionWords)
            case "non-ip": p.nonIPAction = try r.word(v, key, actionWords)
            case "fragments": p.fragments = try r.word(v, key, FragmentPolicy.allCases.map { ($0.rawValue, $0) })
            case "tracked": p.tracked = try r.word(v, key, TrackedPolicy.allCases.map { ($0.rawValue, $0) })
            default: break
            }
        }
    }

    static func readConntrack(_ node: Node, _ r: NodeReader) throws -> ConntrackSettings {
        var c = ConntrackSettings()
        for (key, _, v) in try r.mapping(
            node, "'conntrack'",
            allowed: ["max-flows", "tcp-loose", "early-drop-scan", "max-fragmented-datagrams", "timeouts", "comment"])
        {
            switch key {
            case "max-flows": c.maxFlows = try r.int(v, key, in: 1...(1 << 26))
            case "tcp-loose": c.tcpLoose = try r.bool(v, key)
            case "early-drop-scan": c.earlyDropScan = try r.int(v, key, in: 1...4096)
            case "max-fragmented-datagrams": c.maxFragmentedDatagrams = try r.int(v, key, in: 1...(1 << 22))
            case "timeouts": c.timeouts = try readTimeouts(v, r)
            default: break
            }
        }
        return c
    }

    static let timeoutKeys: [(String, WritableKeyPath<ConntrackSettings.Timeouts, UInt64>)] = [
        ("tcp-syn-sent", \.tcpSynSent), ("tcp-syn-recv", \.tcpSynRecv), ("tcp-established", \.tcpEstablished),
        ("tcp-fin-wait", \.tcpFinWait), ("tcp-close-wait", \.tcpCloseWait), ("tcp-last-ack", \.tcpLastAck),
        ("tcp-time-wait", \.tcpTimeWait), ("tcp-close", \.tcpClose), ("udp", \.udp), ("udp-stream", \.udpStream),
        ("icmp", \.icmp), ("generic", \.generic), ("fragment", \.fragment)
    ]

    static func readTimeouts(_ node: Node, _ r: NodeReader) throws -> ConntrackSettings.Timeouts {
        var t = ConntrackSettings.Timeouts()
        for (key, _, v) in try r.mapping(node, "'conntrack.timeouts'", allowed: timeoutKeys.map(\.0)) {
            let path = timeoutKeys.first { $0.0 == key }!.1
            t[keyPath: path] = UInt64(try r.int(v, key, in: 1...(86400 * 365)))
        }
        return t
    }

    static func yamlError(_ e: YamlError, file: String) -> ConfigError {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        default:
            return ConfigError(file: file, line: 1, column: 1, message: "not valid YAML: \(e)")
        }
    }

    /// The whole file as text (invalid UTF-8 becomes U+FFFD and then fails as YAML).
    static func readFile(_ path: String) throws -> String {
        String(decoding: try readWholeFile(path), as: UTF8.self)
    }
}
