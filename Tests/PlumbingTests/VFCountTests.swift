import Foundation
import TestSupport
import XCTest
@testable import Plumbing

final class VFCountTests: XCTestCase {
    var tree: FakeSysfs!
    var journal: Journal!

    override func setUpWithError() throws {
        tree = try FakeSysfs()
        journal = Journal(directory: NSTemporaryDirectory() + "vfp-state-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: journal.directory)
        tree = nil
    }

    var numvfsWrites: [String] {
        tree.writes.filter { $0.0.hasSuffix("/sriov_numvfs") }.map(\.1)
    }

    func testCreatesVFsAndWaitsForTheirNetdevs() throws {
        let outcome = try VFCount(sysfs: tree.sysfs(), journal: journal).set("eth4", count: 4)
        guard case .changed(let pf) = outcome else { return XCTFail("expected a change, got \(outcome)") }
        XCTAssertEqual(pf.numVFs, 4)
        XCTAssertEqual(pf.virtualFunctions.compactMap(\.device.netdevs.first), (0..<4).map(tree.vfNetdev))
        XCTAssertEqual(numvfsWrites, ["4"], "from 0 there is nothing to reset")
    }

    func testChangingTheCountWritesZeroFirst() throws {
        let count = VFCount(sysfs: tree.sysfs(), journal: journal)
        _ = try count.set(tree.sriovPF, count: 2)
        _ = try count.set(tree.sriovPF, count: 5)
        XCTAssertEqual(numvfsWrites, ["2", "0", "5"])
        XCTAssertEqual(tree.sysfs().physicalFunction(tree.sriovPF)?.virtualFunctions.count, 5)
    }

    func testSameCountIsIdempotent() throws {
        let count = VFCount(sysfs: tree.sysfs(), journal: journal)
        _ = try count.set("eth4", count: 3)
        let again = try count.set("eth4", count: 3)
        guard case .unchanged = again else { return XCTFail("expected no change") }
        XCTAssertEqual(numvfsWrites, ["3"])
    }

    func testCountAboveTotalIsRefusedInOneSentence() {
        XCTAssertThrowsError(try VFCount(sysfs: tree.sysfs(), journal: journal).set("eth4", count: 64)) { error in
            XCTAssertEqual(
                error as? PlumbingError,
                .usage("eth4 (0000:03:00.0) supports at most 63 VFs; asked for 64."))
        }
        XCTAssertTrue(numvfsWrites.isEmpty)
    }

    func testPFWithoutSRIOVIsRefused() {
        XCTAssertThrowsError(try VFCount(sysfs: tree.sysfs(), journal: journal).set("eth5", count: 1)) { error in
            XCTAssertEqual(
                (error as? PlumbingError)?.message,
                "eth5 (0000:04:00.0) is not SR-IOV capable (no sriov_totalvfs); pick a PF from `vfplumb list`.")
        }
        XCTAssertThrowsError(try VFCount(sysfs: tree.sysfs(), journal: journal).set("nosuch0", count: 1))
    }

    func testRefusesToDropAttachedVFsUnlessForced() throws {
        let count = VFCount(sysfs: tree.sysfs(), journal: journal)
        _ = try count.set("eth4", count: 2)
        tree.hideNetdev(ofVF: 1)  // moved into a container
        XCTAssertThrowsError(try count.set("eth4", count: 0)) { error in
            XCTAssertEqual(
                (error as? PlumbingError)?.message,
                "eth4 (0000:03:00.0) has VFs attached to containers (VF 1 (0000:03:10.2)); detach them first or "
                    + "pass --force."
            )
        }
        XCTAssertEqual(numvfsWrites, ["2"])
        _ = try count.set("eth4", count: 0, force: true)
        XCTAssertEqual(numvfsWrites, ["2", "0"])
    }

    /// `--timeout nan`, `inf` or 1e300 would never end the wait (and Int(1e300) traps): refused
    /// before anything is written.
    func testTimeoutsThatAreNotAFiniteNumberOfSecondsAreRefused() {
        for t in [Double.nan, .infinity, 1e300, -1, 86401] {
            let count = VFCount(sysfs: tree.sysfs(), journal: journal)
            XCTAssertThrowsError(try count.set("eth4", count: 2, timeout: t)) { e in
                XCTAssertTrue("\(e)".contains("out of range"), "\(t): \(e)")
            }
        }
        XCTAssertEqual(numvfsWrites, [])
    }

    /// Values for netlink's unsigned 32-bit fields come from the command line or the journal.
    func testNetlinkFieldsRefuseNegativeAndHugeValues() throws {
        XCTAssertEqual(try netlinkU32(4094, "VLAN"), 4094)
        for v in [-1, Int(UInt32.max) + 1, Int.min] {
            XCTAssertThrowsError(try netlinkU32(v, "VLAN of VF 3")) { e in
                XCTAssertTrue("\(e)".contains("VLAN of VF 3 \(v) is out of range"), "\(e)")
            }
        }
    }

    func testBoundedWaitNamesTheLateVFs() throws {
        // No kernel reacting: the VFs never come.
        let silent = Sysfs(root: tree.root)
        XCTAssertThrowsError(try VFCount(sysfs: silent, journal: journal).set("eth4", count: 2, timeout: 0.2)) {
            error in
            XCTAssertEqual(
                (error as? PlumbingError)?.message,
                "eth4 (0000:03:00.0): only 0 of 2 VFs appeared after 0 s; check dmesg and the VF driver.")
        }
    }

    func testCreateCommandExitCodes() throws {
        let env = ["VFPLUMB_STATE_DIR": journal.directory, "VFPLUMB_SYSFS_ROOT": tree.root]
        let watcher = FakeKernelWatcher(tree)
        defer { watcher.stop() }
        let made = try vfplumb(["create", "eth4", "--count", "3", "--json"], environment: env)
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertTrue(made.stdout.contains("\"numVFs\" : 3"), made.stdout)
        XCTAssertTrue(made.stdout.contains("enp3s0f0v2"), made.stdout)

        let again = try vfplumb(["create", "eth4", "--count", "3"], environment: env)
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stdout.contains("already has 3 VFs; nothing changed"), again.stdout)

        let tooMany = try vfplumb(["create", "eth4", "--count", "64"], environment: env)
        XCTAssertEqual(tooMany.status, 64)
        XCTAssertEqual(tooMany.stderr, "vfplumb: eth4 (0000:03:00.0) supports at most 63 VFs; asked for 64.\n")

        let notSRIOV = try vfplumb(["create", "0000:04:00.0", "--count", "1"], environment: env)
        XCTAssertEqual(notSRIOV.status, 1)
        XCTAssertTrue(notSRIOV.stderr.contains("is not SR-IOV capable"), notSRIOV.stderr)

        let missingCount = try vfplumb(["create", "eth4"], environment: env)
        XCTAssertEqual(missingCount.status, 64)
    }
}
