import CNetlink
import Foundation

/// A VF's settings as its PF holds them (`ip link set PF vf N ...`). nil: leave alone.
public struct VFSettings: Codable, Sendable, Equatable {
    public var mac: String?
    public var vlan: Int?
    public var qos: Int?
    public var spoofCheck: Bool?
    public var trust: Bool?
    /// Mbit/s; 0 means no limit.
    public var maxTxRate: Int?
    public var minTxRate: Int?

    public init(
        mac: String? = nil, vlan: Int? = nil, qos: Int? = nil, spoofCheck: Bool? = nil,
        trust: Bool? = nil, maxTxRate: Int? = nil, minTxRate: Int? = nil
    ) {
        self.mac = mac
        self.vlan = vlan
        self.qos = qos
        self.spoofCheck = spoofCheck
        self.trust = trust
        self.maxTxRate = maxTxRate
        self.minTxRate = minTxRate
    }

    public var isEmpty: Bool { self == VFSettings() }
}

extension NetlinkSocket {
    /// Reads VF `index`'s settings from the PF's VF list (IFLA_VFINFO_LIST).
    public func vfSettings(pf: String, index: Int) throws -> VFSettings {
        let settings: VFSettings? = try withLink(name: pf) { link in
            guard let vf = rtnl_link_vf_get(link, try netlinkU32(index, "VF index")) else {
                throw PlumbingError(
                    "\(pf) reports no VF \(index) over netlink; check that the PF driver supports SR-IOV.")
            }
            defer { rtnl_link_vf_put(vf) }
            var out = VFSettings()
            var addr: OpaquePointer?
            if rtnl_link_vf_get_addr(vf, &addr) == 0 { out.mac = addressString(addr) }
            var vlans: UnsafeMutablePointer<nl_vf_vlans_t>?
            if rtnl_link_vf_get_vlans(vf, &vlans) == 0, let list = vlans?.pointee, list.size > 0 {
                out.vlan = Int(list.vlans[0].vf_vlan)
                out.qos = Int(list.vlans[0].vf_vlan_qos)
            } else {
                out.vlan = 0
                out.qos = 0
            }
            var flag: UInt32 = 0
            if rtnl_link_vf_get_spoofchk(vf, &flag) == 0 { out.spoofCheck = flag != 0 }
            if rtnl_link_vf_get_trust(vf, &flag) == 0 { out.trust = flag != 0 }
            var rate = nl_vf_rate()
            rate.api = Int32(RTNL_LINK_VF_RATE_API_NEW.rawValue)
            if rtnl_link_vf_get_rate(vf, &rate) == 0 {
                out.maxTxRate = Int(rate.max_tx_rate)
                out.minTxRate = Int(rate.min_tx_rate)
            }
            return out
        }
        guard let settings else {
            throw PlumbingError("the PF \(pf) is not in this network namespace; check its name with `vfplumb list`.")
        }
        return settings
    }

    /// Applies the non-nil settings to VF `index` through its PF.
    public func setVFSettings(pf: String, index: Int, _ settings: VFSettings) throws {
        if settings.isEmpty { return }
        let done: Void? = try withLink(name: pf) { orig in
            guard let changes = rtnl_link_alloc(), let vf = rtnl_link_vf_alloc() else {
                throw NetlinkError(operation: "allocate", subject: "VF \(index)", code: NLE_NOMEM)
            }
            defer {
                rtnl_link_put(changes)
                rtnl_link_vf_put(vf)
            }
            rtnl_link_vf_set_index(vf, try netlinkU32(index, "VF index"))
            if let mac = settings.mac {
                let addr = try parseAddress(mac, family: AF_LLC)
                defer { nl_addr_put(addr) }
                rtnl_link_vf_set_addr(vf, addr)
            }
            if let vlan = settings.vlan {
                var vlans: UnsafeMutablePointer<nl_vf_vlans_t>?
                try check("allocate", "VLAN list", rtnl_link_vf_vlan_alloc(&vlans, 1))
                guard let list = vlans else {
                    throw NetlinkError(operation: "allocate", subject: "VLAN list", code: NLE_NOMEM)
                }
                defer { rtnl_link_vf_vlan_put(list) }
                list.pointee.vlans[0].vf_vlan = try netlinkU32(vlan, "VLAN of VF \(index)")
                list.pointee.vlans[0].vf_vlan_qos = try netlinkU32(settings.qos ?? 0, "VLAN priority of VF \(index)")
                list.pointee.vlans[0].vf_vlan_proto = UInt16(ETH_P_8021Q)
                rtnl_link_vf_set_vlans(vf, list)
            }
            if let spoof = settings.spoofCheck { rtnl_link_vf_set_spoofchk(vf, spoof ? 1 : 0) }
            if let trust = settings.trust { rtnl_link_vf_set_trust(vf, trust ? 1 : 0) }
            if settings.maxTxRate != nil || settings.minTxRate != nil {
                var rate = nl_vf_rate()
                rate.api = Int32(RTNL_LINK_VF_RATE_API_NEW.rawValue)
                rate.max_tx_rate = try netlinkU32(settings.maxTxRate ?? 0, "maximum rate of VF \(index)")
                rate.min_tx_rate = try netlinkU32(settings.minTxRate ?? 0, "minimum rate of VF \(index)")
                rtnl_link_vf_set_rate(vf, &rate)
            }
            try check("add VF \(index) settings to", pf, rtnl_link_vf_add(changes, vf))
            try check("set VF \(index) on", pf, rtnl_link_change(handle, orig, changes, 0))
        }
        if done == nil {
            throw PlumbingError("the PF \(pf) is not in this network namespace; check its name with `vfplumb list`.")
        }
    }
}
