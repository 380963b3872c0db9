/// What `vfplumb list` shows: every SR-IOV PF with its VFs, named from pci.ids, with
/// where each VF is attached. Codable, so --json prints exactly this.
public struct Inventory: Codable, Sendable, Equatable {
    public struct PF: Codable, Sendable, Equatable {
        public var pci: String
        public var vendor: String
        public var device: String
        public var driver: String?
        public var netdev: String?
        public var linkState: String?
        public var totalVFs: Int
        public var numVFs: Int
        public var vfs: [VF]
    }

    public struct VF: Codable, Sendable, Equatable {
        public var index: Int
        public var pci: String
        public var driver: String?
        public var netdev: String?
        public var mac: String?
        /// "host", the container/target from the journal, or "another namespace".
        public var attachedTo: String
    }

    public var pfs: [PF]

    public init(sysfs: Sysfs, names: PCIIDs, journal: Journal) {
        let records = journal.all()
        pfs = sysfs.physicalFunctions().map { pf in
            let d = pf.device
            let netdev = d.netdevs.first
            func attr(_ netdev: String?, _ name: String) -> String? {
                netdev.flatMap { sysfs.read("\(d.directory)/net/\($0)/\(name)") }
            }
            let vfs = pf.virtualFunctions.map { vf -> VF in
                let vfNetdev = vf.device.netdevs.first
                let record = records.first { $0.pciAddress == vf.address && $0.mode == .direct }
                let place = record.map { $0.target } ?? (vf.isInAnotherNamespace ? "another namespace" : "host")
                return VF(
                    index: vf.index, pci: vf.address, driver: vf.device.driver, netdev: vfNetdev ?? record?.nameInside,
                    mac: vfNetdev.flatMap { sysfs.read("\(vf.device.directory)/net/\($0)/address") } ?? record?.mac,
                    attachedTo: place)
            }
            return PF(
                pci: d.address,
                vendor: names.vendorName(d.vendorID) ?? "vendor \(d.vendorID)",
                device: names.deviceName(vendor: d.vendorID, device: d.deviceID) ?? "device \(d.deviceID)",
                driver: d.driver, netdev: netdev, linkState: attr(netdev, "operstate"),
                totalVFs: pf.totalVFs, numVFs: pf.numVFs, vfs: vfs)
        }
    }

    /// The table for people: one line per PF, then its VFs indented under it.
    public func table() -> String {
        if pfs.isEmpty { return "no SR-IOV capable devices found\n" }
        var lines: [[String]] = [["PCI", "NETDEV", "DRIVER", "STATE/MAC", "VFS", "DEVICE/ATTACHED"]]
        for pf in pfs {
            lines.append([
                pf.pci, pf.netdev ?? "-", pf.driver ?? "-", pf.linkState ?? "-",
                "\(pf.numVFs)/\(pf.totalVFs)", "\(pf.vendor) \(pf.device)"
            ])
            for vf in pf.vfs {
                lines.append([
                    "  vf \(vf.index) \(vf.pci)", vf.netdev ?? "-", vf.driver ?? "-", vf.mac ?? "-",
                    "", "attached: \(vf.attachedTo)"
                ])
            }
        }
        let widths = (0..<6).map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n").replacingOccurrences(of: " +\n", with: "\n", options: .regularExpression) + "\n"
    }
}

import Foundation
