import FirewallCore
import Yams

/// Route mode's settings: a port's `addresses`, `mac` and `mtu`, and the `routes` list, checked
/// against each other with positions (docs/dataplane.md#route-mode).
struct RoutingReader {
    let r: NodeReader

    /// `addresses: [10.199.1.254/24, "fd00:1::fe/64"]` (a length is required: it says what is on
    /// the link).
    func addresses(_ node: Node) throws -> [InterfaceAddress] {
        try r.list(node).map { item in
            let text = try r.scalar(item, "addresses", expects: "ADDRESS/LENGTH such as 10.199.1.254/24")
            guard let a = InterfaceAddress.parse(text) else {
                throw r.error(item, "'addresses' expects ADDRESS/LENGTH such as 10.199.1.254/24, got '\(text)'")
            }
            return a
        }
    }

    /// `mac: 02:76:66:6c:00:10`, a unicast address.
    func mac(_ node: Node) throws -> UInt64 {
        let text = try r.scalar(node, "mac", expects: "a MAC address such as 02:76:66:6c:00:10")
        guard let mac = parseMAC(text) else {
            throw r.error(node, "'mac' expects a MAC address such as 02:76:66:6c:00:10, got '\(text)'")
        }
        guard mac >> 40 & 1 == 0, mac != 0 else {
            throw r.error(node, "'mac' must be a unicast address, got '\(text)'")
        }
        return mac
    }

    /// `neighbours: {10.199.2.2: 02:76:66:6c:00:02}`: addresses on the port's link and their MACs.
    func neighbours(_ node: Node) throws -> [StaticNeighbour] {
        try r.namedMapping(node, "'neighbours'").map { text, keyNode, value in
            guard let (address, v6) = IPAddress.parse(Substring(text)) else {
                throw r.error(keyNode, "'neighbours' maps addresses to MACs; '\(text)' is not an address")
            }
            return StaticNeighbour(address: address, isV6: v6, mac: try mac(value))
        }
    }

    /// `routes: [{to: 0.0.0.0/0, via: 10.199.2.1}, {to: 192.0.2.0/24, port: outside}]`: `via` a
    /// gateway on a connected prefix (the port follows from it), or `port` alone for a prefix
    /// on that port's link. `to: default` is 0.0.0.0/0 (or ::/0 with an IPv6 `via`).
    func routes(_ node: Node, ports: [PortConfig]) throws -> [Route] {
        guard case .sequence = node else { throw r.error(node, "'routes' must be a list of routes") }
        var seen: [IPPrefix: Node] = [:]
        return try r.list(node).map { item in
            var to: (String, Node)?
            var via: (IPAddress, Bool, Node)?
            var portNode: (Int, Node)?
            for (key, _, v) in try r.mapping(item, "a route", allowed: ["to", "via", "port", "comment"]) {
                switch key {
                case "to": to = (try r.scalar(v, key, expects: "a prefix such as 192.0.2.0/24 or default"), v)
                case "via":
                    let text = try r.scalar(v, key, expects: "a gateway address")
                    guard let (a, v6) = IPAddress.parse(Substring(text)) else {
                        throw r.error(v, "'via' expects a gateway address, got '\(text)'")
                    }
                    via = (a, v6, v)
                case "port":
                    let name = try r.string(v, key)
                    guard let i = ports.firstIndex(where: { $0.name == name }) else {
                        throw r.error(
                            v, "no port named '\(name)' (ports: \(ports.map(\.name).joined(separator: ", ")))")
                    }
                    portNode = (i, v)
                default: break
                }
            }
            guard let (toText, toNode) = to else { throw r.error(item, "a route needs 'to' (a prefix, or default)") }
            let prefix: IPPrefix
            if toText == "default" {
                prefix = IPPrefix(address: .zero, length: 0, isV6: via?.1 ?? false)
            } else {
                guard toText.contains("/"), let p = IPPrefix.parse(toText) else {
                    throw r.error(toNode, "'to' expects a prefix such as 192.0.2.0/24 or default, got '\(toText)'")
                }
                prefix = p
            }
            if let previous = seen[prefix] {
                let line = previous.mark?.line ?? 0
                throw r.error(toNode, "a route to \(prefix) is given twice (first on line \(line))")
            }
            seen[prefix] = toNode
            return try route(prefix, via: via, port: portNode, item: item, ports: ports)
        }
    }

    private func route(
        _ prefix: IPPrefix, via: (IPAddress, Bool, Node)?, port: (Int, Node)?, item: Node, ports: [PortConfig]
    ) throws -> Route {
        guard let (gateway, v6, viaNode) = via else {
            guard let (index, _) = port else {
                throw r.error(item, "a route needs 'via' (a gateway) or 'port' (the link the prefix is on)")
            }
            return Route(prefix: prefix, nextHop: nil, port: UInt8(index))
        }
        guard v6 == prefix.isV6 else {
            throw r.error(viaNode, "'via' \(gateway.text(v6: v6)) is not of the family of \(prefix)")
        }
        let onLink = ports.indices.filter { i in ports[i].addresses.contains { $0.prefix.contains(gateway, v6: v6) } }
        guard let linked = onLink.first else {
            throw r.error(viaNode, "'via' \(gateway.text(v6: v6)) is on no port's connected prefix")
        }
        if let (index, node) = port, index != linked {
            throw r.error(
                node, "'via' \(gateway.text(v6: v6)) is on port '\(ports[linked].name)', not '\(ports[index].name)'")
        }
        return Route(prefix: prefix, nextHop: gateway, port: UInt8(linked))
    }

    /// Route mode needs an address on every port; bridge mode takes none of route mode's keys.
    /// Addresses are ours on one port only, and connected prefixes of two ports do not overlap.
    func check(mode: DataplaneConfig.Mode, ports: [PortConfig], keyNodes: [[String: Node]], routes: Node?) throws {
        if mode == .bridge {
            for (i, keys) in keyNodes.enumerated() {
                for key in ["addresses", "mac", "mtu", "neighbours"] where keys[key] != nil {
                    throw r.error(
                        keys[key], "port '\(ports[i].name)' gives '\(key)', which needs dataplane.mode: route")
                }
            }
            if let routes { throw r.error(routes, "'routes' needs dataplane.mode: route (a bridge does not route)") }
            return
        }
        var owner: [IPAddress: String] = [:]
        for (i, p) in ports.enumerated() {
            let at = keyNodes[i]["addresses"] ?? keyNodes[i]["name"]
            guard !p.addresses.isEmpty else {
                throw r.error(at, "port '\(p.name)' needs 'addresses' in route mode (its own, such as 10.199.1.254/24)")
            }
            if p.addresses.contains(where: \.isV6), let mtu = p.mtu, mtu < 1280 {
                throw r.error(
                    keyNodes[i]["mtu"], "port '\(p.name)' has an IPv6 address: its 'mtu' must be at least 1280")
            }
            for n in p.neighbours where !p.addresses.contains(where: { $0.prefix.contains(n.address, v6: n.isV6) }) {
                throw r.error(
                    keyNodes[i]["neighbours"],
                    "neighbour \(n.address.text(v6: n.isV6)) of '\(p.name)' is on none of its connected prefixes")
            }
            for a in p.addresses {
                if let other = owner[a.address] {
                    throw r.error(at, "\(a.address.text(v6: a.isV6)) is an address of '\(other)' and of '\(p.name)'")
                }
                owner[a.address] = p.name
                for (j, q) in ports.enumerated() where j < i {
                    if let b = q.addresses.first(where: { $0.isV6 == a.isV6 && overlaps($0.prefix, a.prefix) }) {
                        throw r.error(
                            at,
                            "\(a.prefix) on '\(p.name)' overlaps \(b.prefix) on '\(q.name)': a prefix is on one link")
                    }
                }
            }
        }
    }

    func overlaps(_ a: IPPrefix, _ b: IPPrefix) -> Bool {
        a.isV6 == b.isV6 && (a.contains(b.address, v6: b.isV6) || b.contains(a.address, v6: a.isV6))
    }
}
