import CNetlink
import Foundation

/// A snapshot of one link as the kernel reported it.
public struct LinkInfo: Sendable, Equatable {
    public let index: Int32
    public let name: String
    public let mac: String
    public let mtu: Int
    public let isUp: Bool
    public let alias: String?
    /// "veth", "macvlan", ...; nil for a physical device (a VF, a PF).
    public let kind: String?
    /// The lower device's ifindex (IFLA_LINK), for a macvlan or a veth.
    public let parentIndex: Int32

    init(_ link: OpaquePointer) {
        index = rtnl_link_get_ifindex(link)
        name = rtnl_link_get_name(link).map { String(cString: $0) } ?? ""
        mac = addressString(rtnl_link_get_addr(link))
        mtu = Int(rtnl_link_get_mtu(link))
        isUp = rtnl_link_get_flags(link) & UInt32(IFF_UP) != 0
        alias = rtnl_link_get_ifalias(link).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        kind = rtnl_link_get_type(link).map { String(cString: $0) }
        parentIndex = rtnl_link_get_link(link)
    }
}

/// What to change on a link; nil fields stay as they are. Applied in one RTM_NEWLINK.
public struct LinkChange: Sendable {
    public var name: String?
    public var up: Bool?
    public var mtu: Int?
    public var mac: String?
    public var alias: String?
    /// Moves the link into the namespace open on this fd.
    public var namespaceFD: Int32?

    public init(
        name: String? = nil, up: Bool? = nil, mtu: Int? = nil, mac: String? = nil,
        alias: String? = nil, namespaceFD: Int32? = nil
    ) {
        self.name = name
        self.up = up
        self.mtu = mtu
        self.mac = mac
        self.alias = alias
        self.namespaceFD = namespaceFD
    }
}

extension NetlinkSocket {
    /// The link called `name`, nil when there is none in this namespace.
    public func link(named name: String) throws -> LinkInfo? {
        try withLink(name: name) { LinkInfo($0) }
    }

    public func link(index: Int32) throws -> LinkInfo? {
        try withLink(index: index) { LinkInfo($0) }
    }

    /// Every link in this namespace.
    public func links() throws -> [LinkInfo] {
        var cache: OpaquePointer?
        try check("list", "links", rtnl_link_alloc_cache(handle, AF_UNSPEC, &cache))
        defer { nl_cache_free(cache) }
        var result: [LinkInfo] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            result.append(LinkInfo(current))
            object = nl_cache_get_next(current)
        }
        return result
    }

    /// Fetches one link from the kernel (with its VF list) and hands it to `body`.
    func withLink<T>(name: String? = nil, index: Int32 = 0, _ body: (OpaquePointer) throws -> T) throws -> T? {
        var link: OpaquePointer?
        let rc = rtnl_link_get_kernel(handle, index, name, &link)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return nil }
        try check("look up", name ?? "link \(index)", rc)
        guard let found = link else { return nil }
        defer { rtnl_link_put(found) }
        return try body(found)
    }

    /// Applies `change` to the link called `name` (which must exist).
    public func change(_ name: String, _ change: LinkChange) throws {
        let done: Void? = try withLink(name: name) { orig in
            guard let changes = rtnl_link_alloc() else {
                throw NetlinkError(operation: "allocate", subject: name, code: NLE_NOMEM)
            }
            defer { rtnl_link_put(changes) }
            if let newName = change.name { rtnl_link_set_name(changes, newName) }
            if let up = change.up {
                if up {
                    rtnl_link_set_flags(changes, UInt32(IFF_UP))
                } else {
                    rtnl_link_unset_flags(changes, UInt32(IFF_UP))
                }
            }
            if let mtu = change.mtu { rtnl_link_set_mtu(changes, try netlinkU32(mtu, "MTU of \(name)")) }
            if let alias = change.alias { rtnl_link_set_ifalias(changes, alias) }
            if let fd = change.namespaceFD { rtnl_link_set_ns_fd(changes, fd) }
            if let mac = change.mac {
                let addr = try parseAddress(mac, family: AF_LLC)
                defer { nl_addr_put(addr) }
                rtnl_link_set_addr(changes, addr)
            }
            try check("change", name, rtnl_link_change(handle, orig, changes, 0))
        }
        if done == nil { throw NetlinkError(operation: "change", subject: name, code: NLE_OBJ_NOTFOUND) }
    }

    /// Adds an address ("10.1.0.2/24", IPv4 or IPv6) to a link.
    public func addAddress(_ cidr: String, to index: Int32) throws {
        guard let addr = rtnl_addr_alloc() else {
            throw NetlinkError(operation: "allocate", subject: cidr, code: NLE_NOMEM)
        }
        defer { rtnl_addr_put(addr) }
        let local = try parseAddress(cidr, family: AF_UNSPEC)
        defer { nl_addr_put(local) }
        rtnl_addr_set_ifindex(addr, index)
        try check("set", cidr, rtnl_addr_set_local(addr, local))
        try check("add address", cidr, rtnl_addr_add(handle, addr, 0))
    }

    /// Adds a default route through `gateway` on the link.
    public func addDefaultRoute(via gateway: String, on index: Int32) throws {
        let gw = try parseAddress(gateway, family: AF_UNSPEC)
        defer { nl_addr_put(gw) }
        let family = nl_addr_get_family(gw)
        let dst = try parseAddress("default", family: family)
        defer { nl_addr_put(dst) }
        guard let route = rtnl_route_alloc(), let hop = rtnl_route_nh_alloc() else {
            throw NetlinkError(operation: "allocate", subject: "a route", code: NLE_NOMEM)
        }
        defer { rtnl_route_put(route) }
        guard let family8 = UInt8(exactly: family) else {
            throw PlumbingError("\(gateway): libnl gave address family \(family), which is not one.")
        }
        rtnl_route_set_family(route, family8)
        try check("set", "default route", rtnl_route_set_dst(route, dst))
        rtnl_route_nh_set_gateway(hop, gw)
        rtnl_route_nh_set_ifindex(hop, index)
        rtnl_route_add_nexthop(route, hop)  // the route owns the hop now
        try check("add default route via", gateway, rtnl_route_add(handle, route, NLM_F_CREATE))
    }

    /// Creates a macvlan in bridge mode on the link `parent`.
    public func addMacvlan(named name: String, on parent: Int32, mac: String? = nil) throws {
        guard let link = rtnl_link_macvlan_alloc() else {
            throw NetlinkError(operation: "allocate", subject: name, code: NLE_NOMEM)
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        rtnl_link_set_link(link, parent)
        try check("set mode of", name, rtnl_link_macvlan_set_mode(link, UInt32(MACVLAN_MODE_BRIDGE.rawValue)))
        if let mac {
            let addr = try parseAddress(mac, family: AF_LLC)
            defer { nl_addr_put(addr) }
            rtnl_link_set_addr(link, addr)
        }
        try check("create macvlan", name, rtnl_link_add(handle, link, NLM_F_CREATE | NLM_F_EXCL))
    }

    /// Deletes a link by name; a missing link is not an error.
    public func deleteLink(named name: String) throws {
        guard let link = rtnl_link_alloc() else {
            throw NetlinkError(operation: "allocate", subject: name, code: NLE_NOMEM)
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        let rc = rtnl_link_delete(handle, link)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return }
        try check("delete", name, rc)
    }
}
