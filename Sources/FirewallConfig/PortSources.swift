import Yams

/// Where a port's device is found when the configuration cannot name it in advance: a
/// Kubernetes pod learns its VFs only when it starts. EngineConfig resolves these at plan time.
public struct PortSource: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// An environment variable holding comma-separated PCI addresses, as the SR-IOV
        /// network device plugin sets `PCIDEVICE_<RESOURCE_NAME>`; `index` picks one (0 first).
        case environment(variable: String, index: Int)
        /// A file holding Multus's `k8s.v1.cni.cncf.io/network-status` annotation (a JSON list
        /// of networks, exposed by the downward API); `network` names the entry.
        case networkStatus(file: String, network: String)
    }

    public var kind: Kind
    /// Where the key stands in the configuration file, for messages at plan time.
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int, column: Int) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// The configuration key, for messages: "from-env" or "network-status".
    public var key: String {
        switch kind {
        case .environment: "from-env"
        case .networkStatus: "network-status"
        }
    }
}

extension ConfigLoader {
    /// `from-env: VARIABLE` or `from-env: {variable: VARIABLE, index: N}`.
    static func readFromEnv(_ node: Node, _ r: NodeReader) throws -> PortSource {
        let mark = node.mark
        var variable = ""
        var index = 0
        if case .mapping = node {
            for (key, _, v) in try r.mapping(node, "'from-env'", allowed: ["variable", "index"]) {
                if key == "variable" { variable = try r.string(v, key) } else { index = try r.int(v, key, in: 0...255) }
            }
            guard !variable.isEmpty else {
                throw r.error(node, "'from-env' needs 'variable' (such as PCIDEVICE_INTEL_COM_SRIOV_INSIDE)")
            }
        } else {
            variable = try r.string(node, "from-env")
        }
        let wordCharacter = { (c: Unicode.Scalar) in
            c == "_" || (c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c)))
        }
        guard !variable.isEmpty, variable.unicodeScalars.allSatisfy(wordCharacter), variable.first?.isNumber == false
        else {
            throw r.error(node, "'from-env' names an environment variable (letters, digits, _), got '\(variable)'")
        }
        return PortSource(
            .environment(variable: variable, index: index), line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// `network-status: {file: PATH, network: NAME}`.
    static func readNetworkStatus(_ node: Node, _ r: NodeReader) throws -> PortSource {
        var file = ""
        var network = ""
        for (key, _, v) in try r.mapping(node, "'network-status'", allowed: ["file", "network"]) {
            if key == "file" { file = try r.string(v, key) } else { network = try r.string(v, key) }
        }
        guard !file.isEmpty, !network.isEmpty else {
            throw r.error(
                node,
                "'network-status' needs 'file' (the downward API file with Multus's network-status annotation) "
                    + "and 'network' (the NetworkAttachmentDefinition's name)")
        }
        return PortSource(
            .networkStatus(file: file, network: network), line: node.mark?.line ?? 1,
            column: node.mark?.column ?? 1)
    }

    /// A port says where its device comes from at most one way.
    static func checkPortKeys(_ p: PortConfig, _ keyNodes: [String: Node], _ r: NodeReader) throws {
        let clashes = [
            ("from-env", "device"), ("from-env", "network-status"), ("network-status", "device"),
            ("network-status", "interface")
        ]
        for (a, b) in clashes {
            if keyNodes[a] != nil, keyNodes[b] != nil {
                let supplies = b == "interface" ? "interface" : "device"
                throw r.error(
                    keyNodes[a],
                    "port '\(p.name)' gives both '\(a)' and '\(b)'; '\(a)' supplies the \(supplies), so give one")
            }
        }
    }
}
