import Foundation
import TestSupport
import XCTest
@testable import Plumbing

final class DriverBindingTests: XCTestCase {
    var tree: FakeSysfs!

    override func setUpWithError() throws {
        tree = try FakeSysfs()
        tree.setVFs(2)
    }

    override func tearDown() { tree = nil }

    func testBindToVFIOUsesTheDriverOverrideSequence() throws {
        let vf = tree.vfAddress(1)
        let result = try DriverBinding(sysfs: tree.sysfs()).bind(vf, to: .vfio)
        XCTAssertEqual(
            tree.writes.map { "\($0.0)=\($0.1)" },
            [
                "/bus/pci/devices/\(vf)/driver/unbind=\(vf)",
                "/bus/pci/devices/\(vf)/driver_override=vfio-pci",
                "/bus/pci/drivers/vfio-pci/bind=\(vf)",
                "/bus/pci/devices/\(vf)/driver_override="
            ])
        XCTAssertEqual(result.driver, "vfio-pci")
        XCTAssertEqual(result.previousDriver, "ixgbevf")
        XCTAssertEqual(result.vfioGroupPath, "/dev/vfio/31")
        XCTAssertTrue(tree.sysfs().pciDevice(vf)?.netdevs.isEmpty ?? false)

        let again = try DriverBinding(sysfs: tree.sysfs()).bind(vf, to: .vfio)
        XCTAssertFalse(again.changed)
    }

    func testBackToTheKernelDriverThroughDriversProbe() throws {
        let vf = tree.vfAddress(0)
        _ = try DriverBinding(sysfs: tree.sysfs()).bind(vf, to: .vfio)
        let sysfs = tree.sysfs()
        let result = try DriverBinding(sysfs: sysfs).bind(vf, to: .kernel)
        XCTAssertEqual(
            tree.writes.suffix(3).map { "\($0.0)=\($0.1)" },
            [
                "/bus/pci/devices/\(vf)/driver/unbind=\(vf)",
                "/bus/pci/devices/\(vf)/driver_override=",
                "/bus/pci/drivers_probe=\(vf)"
            ])
        XCTAssertEqual(result.driver, "ixgbevf")
        XCTAssertEqual(sysfs.pciDevice(vf)?.netdevs, [tree.vfNetdev(0)])
    }

    func testMissingIOMMUAndVFIOAreExplained() throws {
        let vf = tree.vfAddress(0)
        try FileManager.default.removeItem(atPath: "\(tree.root)/bus/pci/drivers/vfio-pci")
        XCTAssertThrowsError(try DriverBinding(sysfs: tree.sysfs()).bind(vf, to: .vfio)) { error in
            XCTAssertEqual(
                (error as? PlumbingError)?.message,
                "the vfio-pci driver is not loaded, so \(vf) cannot be bound to it; run `modprobe vfio-pci` first.")
        }
        try FileManager.default.removeItem(atPath: "\(tree.root)/\(tree.deviceDir(vf))/iommu_group")
        XCTAssertThrowsError(try DriverBinding(sysfs: tree.sysfs()).bind(vf, to: .vfio)) { error in
            XCTAssertTrue((error as? PlumbingError)?.message.hasPrefix("\(vf) has no IOMMU group") ?? false, "\(error)")
        }
        XCTAssertTrue(tree.writes.isEmpty, "nothing is written before the checks pass")
    }

    func testBindCommandVerboseShowsTheWrites() throws {
        let vf = tree.vfAddress(1)
        // The CLI cannot be answered by the fake kernel, so the bind "fails" to take:
        // the sequence of writes is still visible and the failure is one sentence.
        let result = try vfplumb(["bind", vf, "--driver", "vfio-pci", "--verbose", "--sysfs-root", tree.root])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(
            result.stderr.contains("sysfs: echo vfio-pci > /bus/pci/devices/\(vf)/driver_override"), result.stderr)
        XCTAssertTrue(result.stderr.contains("vfplumb: \(vf) did not bind to vfio-pci"), result.stderr)
        let bad = try vfplumb(["bind", vf, "--driver", "nouveau", "--sysfs-root", tree.root])
        XCTAssertEqual(bad.status, 64)
    }

    func testHugepagesReportsWhatWasReserved() throws {
        let r = try Hugepages(sysfs: tree.sysfs()).reserve(count: 64, size: .twoMiB, node: nil, mount: false)
        XCTAssertEqual(r.requested, 64)
        XCTAssertEqual(r.reserved, 64)
        XCTAssertEqual(tree.writes.map(\.0), ["/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"])
        XCTAssertThrowsError(
            try Hugepages(sysfs: tree.sysfs()).reserve(count: 1, size: .oneGiB, node: nil, mount: false))
        XCTAssertThrowsError(try Hugepages(sysfs: tree.sysfs()).reserve(count: 1, size: .twoMiB, node: 3, mount: false))
    }
}
