import Foundation
import TestSupport
import XCTest
@testable import Plumbing

final class SysfsDiscoveryTests: XCTestCase {
    var tree: FakeSysfs!
    var stateDir: String!

    override func setUpWithError() throws {
        tree = try FakeSysfs()
        stateDir = NSTemporaryDirectory() + "vfp-state-\(getpid())-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: stateDir)
        tree = nil
    }

    func testFindsOnlyTheSRIOVCapablePF() {
        let pfs = tree.sysfs().physicalFunctions()
        XCTAssertEqual(pfs.map(\.address), [tree.sriovPF])
        XCTAssertEqual(pfs.first?.totalVFs, 63)
        XCTAssertEqual(pfs.first?.device.driver, "ixgbe")
        XCTAssertEqual(pfs.first?.device.netdevs, ["eth4"])
        XCTAssertEqual(pfs.first?.device.iommuGroup, "20")
    }

    func testVFsAreFoundThroughVirtfnAndPhysfnLinks() throws {
        let sysfs = tree.sysfs()
        tree.setVFs(3)
        let pf = try XCTUnwrap(sysfs.physicalFunction(tree.sriovPF))
        XCTAssertEqual(pf.virtualFunctions.map(\.address), ["0000:03:10.0", "0000:03:10.2", "0000:03:10.4"])
        XCTAssertEqual(pf.virtualFunctions.map(\.device.driver), ["ixgbevf", "ixgbevf", "ixgbevf"])
        XCTAssertEqual(pf.virtualFunctions.map { $0.device.netdevs.first }, ["enp3s0f0v0", "enp3s0f0v1", "enp3s0f0v2"])
        let vf = try XCTUnwrap(sysfs.virtualFunction("0000:03:10.2"))
        XCTAssertEqual(vf.index, 1)
        XCTAssertEqual(vf.pfAddress, tree.sriovPF)
        XCTAssertEqual(sysfs.pciAddress(ofNetdev: "enp3s0f0v2"), "0000:03:10.4")
        XCTAssertNil(sysfs.virtualFunction(tree.sriovPF))
    }

    func testPCIIDsNamesAndMissingDatabase() {
        let ids = PCIIDs(
            text:
                "# comment\n8086  Intel Corporation\n\t10fb  82599ES 10-Gigabit SFI/SFP+ Network "
                + "Connection\n\t\t8086 0003  Ethernet Server Adapter X520-2\n\t1533  I210 Gigabit Network "
                + "Connection\nC 02  Network controller\n"
        )
        XCTAssertEqual(ids.vendorName("8086"), "Intel Corporation")
        XCTAssertEqual(ids.deviceName(vendor: "8086", device: "10FB"), "82599ES 10-Gigabit SFI/SFP+ Network Connection")
        XCTAssertNil(ids.deviceName(vendor: "8086", device: "0003"))
        let missing = PCIIDs.load(paths: ["/nonexistent/pci.ids"])
        XCTAssertNil(missing.vendorName("8086"))
        let inventory = Inventory(sysfs: tree.sysfs(), names: missing, journal: Journal(directory: stateDir))
        XCTAssertEqual(inventory.pfs.first?.vendor, "vendor 8086")
        XCTAssertEqual(inventory.pfs.first?.device, "device 10fb")
    }

    func testInventoryShowsWhereEachVFIsAttached() throws {
        tree.setVFs(2)
        tree.hideNetdev(ofVF: 1)
        let journal = Journal(directory: stateDir)
        tree.setVFs(3)
        tree.hideNetdev(ofVF: 0)
        try journal.save(
            AttachmentRecord(
                hostName: "enp3s0f0v0", pciAddress: tree.vfAddress(0), originalAlias: nil,
                mac: "02:00:00:00:01:00", mtu: 1500, wasUp: true, mode: .direct, phase: .attached,
                target: "web", namespacePath: "/proc/1/ns/net", namespaceInode: 1,
                nameInside: "eth1", temporaryName: "vfp00000000", vf: nil))
        tree.hideNetdev(ofVF: 2)
        let inventory = Inventory(sysfs: tree.sysfs(), names: PCIIDs(text: ""), journal: journal)
        let vfs = try XCTUnwrap(inventory.pfs.first?.vfs)
        XCTAssertEqual(vfs.map(\.attachedTo), ["web", "host", "another namespace"])
        XCTAssertEqual(vfs[0].netdev, "eth1")
        XCTAssertEqual(vfs[1].mac, "02:00:00:00:01:01")
    }

    func testListCommandTableAndJSON() throws {
        tree.setVFs(2)
        let env = ["VFPLUMB_STATE_DIR": stateDir!]
        let table = try vfplumb(["list", "--sysfs-root", tree.root], environment: env)
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("0000:03:00.0"), table.stdout)
        XCTAssertTrue(table.stdout.contains("2/63"), table.stdout)
        XCTAssertTrue(table.stdout.contains("vf 1 0000:03:10.2"), table.stdout)
        XCTAssertFalse(table.stdout.contains("0000:04:00.0"), "the PF without SR-IOV is not listed")
        if FileManager.default.fileExists(atPath: "/usr/share/misc/pci.ids") {
            XCTAssertTrue(table.stdout.contains("Intel Corporation 82599"), table.stdout)
        }

        let json = try vfplumb(["list", "--json"], environment: env.merging(["VFPLUMB_SYSFS_ROOT": tree.root]) { $1 })
        XCTAssertEqual(json.status, 0, json.stderr)
        let decoded = try JSONDecoder().decode(Inventory.self, from: Data(json.stdout.utf8))
        XCTAssertEqual(decoded.pfs.count, 1)
        XCTAssertEqual(decoded.pfs[0].totalVFs, 63)
        XCTAssertEqual(decoded.pfs[0].numVFs, 2)
        XCTAssertEqual(decoded.pfs[0].netdev, "eth4")
        XCTAssertEqual(decoded.pfs[0].vfs.map(\.netdev), ["enp3s0f0v0", "enp3s0f0v1"])
        XCTAssertEqual(decoded.pfs[0].vfs.map(\.attachedTo), ["host", "host"])
    }
}
