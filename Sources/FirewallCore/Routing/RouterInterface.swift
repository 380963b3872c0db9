/// An address of ours on a routed port, with the length of the prefix it makes connected
/// (10.199.1.254/24: we are 10.199.1.254, and 10.199.1.0/24 is on that port's link).
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: UInt8
    public var isV6: Bool

    public init(address: IPAddress, length: UInt8, isV6: Bool) {
        self.address = address
        self.length = length
        self.isV6 = isV6
    }

    /// The connected prefix.
    public var prefix: IPPrefix { IPPrefix(address: address, length: length, isV6: isV6) }

    public var description: String { "\(address.text(v6: isV6))/\(length)" }

    /// Parses "ADDRESS/LENGTH" (the length is required: it says what is on the link).
    public static func parse(_ text: String) -> InterfaceAddress? {
        guard text.contains("/"), let prefix = IPPrefix.parse(text),
            let (address, v6) = IPAddress.parse(text.split(separator: "/")[0])
        else { return nil }
        return InterfaceAddress(address: address, length: prefix.length, isV6: v6)
    }
}

/// A neighbour given in the configuration (Linux's `ip neigh add ... nud permanent`).
public struct StaticNeighbour: Equatable, Sendable {
    public var address: IPAddress
    public var isV6: Bool
    public var mac: UInt64

    public init(address: IPAddress, isV6: Bool, mac: UInt64) {
        self.address = address
        self.isV6 = isV6
        self.mac = mac
    }
}

/// One port of a router: its MAC (nil: the one the port reports), its addresses, its MTU, and
/// the neighbours configured on its link.
public struct RouterInterface: Equatable, Sendable {
    public var port: UInt8
    public var mac: UInt64?
    public var addresses: [InterfaceAddress]
    public var mtu: Int
    public var neighbours: [StaticNeighbour]

    public init(
        port: UInt8, mac: UInt64? = nil, addresses: [InterfaceAddress], mtu: Int = 1500,
        neighbours: [StaticNeighbour] = []
    ) {
        self.port = port
        self.mac = mac
        self.addresses = addresses
        self.mtu = mtu
        self.neighbours = neighbours
    }

    /// Our first address of a family on this port (the source of what we send), if any.
    public func firstAddress(v6: Bool) -> IPAddress? { addresses.first { $0.isV6 == v6 }?.address }
}

/// What route mode runs on: the ports' interfaces and the routes configured beside the
/// connected ones.
public struct RoutingPlan: Equatable, Sendable {
    public var interfaces: [RouterInterface]
    public var routes: [Route]

    public init(interfaces: [RouterInterface], routes: [Route]) {
        self.interfaces = interfaces
        self.routes = routes
    }

    /// The forwarding table: each interface's connected prefixes, then the configured routes
    /// (a configured route of the same prefix comes second and loses: the link wins).
    public var forwardingRoutes: [Route] {
        interfaces.flatMap { i in i.addresses.map { Route(prefix: $0.prefix, nextHop: nil, port: i.port) } } + routes
    }

    /// The port and our address when `address` is one of ours.
    public func owner(of address: IPAddress, v6: Bool) -> UInt8? {
        interfaces.first { i in i.addresses.contains { $0.isV6 == v6 && $0.address == address } }?.port
    }
}

/// A MAC address as text ("02:76:66:6c:00:10") to the 48-bit value used here, or nil.
public func parseMAC(_ text: String) -> UInt64? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 6 else { return nil }
    var value: UInt64 = 0
    for part in parts {
        guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
        value = value << 8 | UInt64(byte)
    }
    return value
}

/// The 48-bit MAC value as text.
public func macText(_ mac: UInt64) -> String {
    (0..<6).map { k in
        let byte = UInt8(truncatingIfNeeded: mac >> (40 - 8 * UInt64(k)))
        return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined(separator: ":")
}
