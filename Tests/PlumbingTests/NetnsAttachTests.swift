import Foundation
import TestSupport
import XCTest
@testable import Plumbing

/// attach/detach/reconcile against real namespaces and real links (root only).
final class NetnsAttachTests: XCTestCase {
    var lab: NamespaceLab!

    override func setUpWithError() throws {
        lab = try NamespaceLab.forAttaching()
    }

    override func tearDown() {
        lab?.remove()
        lab = nil
    }

    func testDirectAttachToNamedNetnsThenDetach() throws {
        let (vf, peer) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let mac = try XCTUnwrap(lab.mac(vf))

        let attach = try vfplumb(
            ["attach", vf, "netns:\(target)", "--name", "eth1", "--ip", "10.213.0.2/24"],
            environment: lab.environment)
        XCTAssertEqual(attach.status, 0, attach.stdout + attach.stderr)
        XCTAssertFalse(lab.exists(vf), "\(vf) left the host")
        XCTAssertTrue(sh("ip -n \(target) -o addr show eth1").output.contains("10.213.0.2/24"))
        XCTAssertTrue(lab.ping("10.213.0.2", from: peer), "the peer reaches eth1 inside \(target)")
        XCTAssertEqual(lab.journal.all().map(\.hostName), [vf])

        let detach = try vfplumb(["detach", vf], environment: lab.environment)
        XCTAssertEqual(detach.status, 0, detach.stdout + detach.stderr)
        XCTAssertEqual(lab.mac(vf), mac, "back on the host under its name with its MAC")
        XCTAssertEqual(lab.linkNames(netns: target), ["lo"])
        XCTAssertFalse(sh("ip link show \(vf)").output.contains("alias"), "our alias is gone")
        XCTAssertTrue(lab.journal.all().isEmpty)

        let again = try vfplumb(["detach", vf], environment: lab.environment)
        XCTAssertEqual(again.status, 0, "detach is idempotent: \(again.stderr)")
        XCTAssertTrue(again.stdout.contains("nothing is attached under \(vf)"), again.stdout)
    }

    func testMacvlanAttachToPidThenDetach() throws {
        let (vf, peer) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let sleeper = try lab.start(["sleep", "600"], in: target)
        // The attach below needs the process inside the target namespace.
        let nsInode = NetworkNamespace.inode(of: "/run/netns/\(target)")
        waitUntil(timeout: 2, what: "sleep \(sleeper.pid) to run inside \(target)") {
            NetworkNamespace.inode(of: "/proc/\(sleeper.pid)/ns/net") == nsInode
        }
        let pidTarget = "pid:\(sleeper.pid)"

        let attach = try vfplumb(
            [
                "attach", vf, pidTarget, "--mode", "macvlan", "--name", "mv0",
                "--ip", "10.213.0.3/24"
            ],
            environment: lab.environment)
        XCTAssertEqual(attach.status, 0, attach.stdout + attach.stderr)
        XCTAssertTrue(lab.exists(vf), "macvlan mode leaves the lower link on the host")
        XCTAssertTrue(sh("ip -n \(target) -d link show mv0").output.contains("macvlan mode bridge"))
        XCTAssertTrue(lab.ping("10.213.0.3", from: peer), "the peer reaches the macvlan")

        let detach = try vfplumb(["detach", pidTarget], environment: lab.environment)
        XCTAssertEqual(detach.status, 0, detach.stdout + detach.stderr)
        XCTAssertEqual(lab.linkNames(netns: target), ["lo"])
        XCTAssertTrue(lab.exists(vf))
        XCTAssertFalse(sh("ip link show \(vf)").output.contains("state UP"), "the lower link is down again, as it was")
        XCTAssertTrue(lab.journal.all().isEmpty)
    }

    func testNamespaceFileTargetThroughTheLibrary() throws {
        let (vf, peer) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let plumber = try Plumber(sysfs: Sysfs(), journal: lab.journal)
        var request = AttachRequest(interface: vf, target: "/run/netns/\(target)")
        request.name = "data0"
        request.addresses = ["10.213.0.4/24"]
        request.mtu = 1400
        try plumber.attach(request)
        XCTAssertTrue(sh("ip -n \(target) link show data0").output.contains("mtu 1400"))
        XCTAssertTrue(lab.ping("10.213.0.4", from: peer))
        try plumber.detach("/run/netns/\(target)")
        XCTAssertTrue(sh("ip link show \(vf)").output.contains("mtu 1500"), "MTU restored")
    }

    func testDryRunChangesNothing() throws {
        let (vf, _) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let r = try vfplumb(
            ["attach", vf, "netns:\(target)", "--name", "eth1", "--ip", "10.213.0.2/24", "--dry-run"],
            environment: lab.environment)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("move vfp"), r.stdout)
        XCTAssertTrue(r.stdout.contains("rename vfp"), r.stdout)
        XCTAssertTrue(lab.exists(vf))
        XCTAssertTrue(lab.journal.all().isEmpty)
    }

    func testRollbackAfterAFailureHalfWayLeavesTheHostAsItWas() throws {
        let (vf, _) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let before = sh("ip -o link show \(vf)").output.replacingOccurrences(
            of: #"^\d+: "#, with: "", options: .regularExpression)
        // The gateway is off the subnet, so the last step fails after the move and rename.
        let r = try vfplumb(
            [
                "attach", vf, "netns:\(target)", "--name", "eth1", "--ip", "10.213.0.2/24",
                "--gateway", "10.99.0.1"
            ],
            environment: lab.environment)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("every earlier step was rolled back"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one sentence: \(r.stderr)")
        let after = sh("ip -o link show \(vf)").output.replacingOccurrences(
            of: #"^\d+: "#, with: "", options: .regularExpression)
        XCTAssertEqual(after, before)
        XCTAssertEqual(lab.linkNames(netns: target), ["lo"])
        XCTAssertTrue(lab.journal.all().isEmpty)
    }

    func testRefusals() throws {
        let (vf, _) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let env = lab.environment

        let missing = try vfplumb(["attach", "vfpnosuch0", "netns:\(target)"], environment: env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(
            missing.stderr,
            "vfplumb: vfpnosuch0 does not exist on the host; check the name with `ip link` or `vfplumb list`.\n")

        let taken = try vfplumb(["attach", vf, "netns:\(target)", "--name", "lo"], environment: env)
        XCTAssertEqual(taken.status, 1)
        XCTAssertEqual(taken.stderr, "vfplumb: lo is already taken inside netns:\(target); choose another --name.\n")

        let noNetns = try vfplumb(["attach", vf, "netns:\(TestNames.owner)-nosuch"], environment: env)
        XCTAssertEqual(noNetns.status, 1)
        XCTAssertTrue(noNetns.stderr.contains("does not exist"), noNetns.stderr)

        let deadPid = try vfplumb(["attach", vf, "pid:4194303"], environment: env)
        XCTAssertEqual(deadPid.status, 1)
        XCTAssertEqual(deadPid.stderr, "vfplumb: process 4194303 is not running; give the PID of a live process.\n")

        let notVF = try vfplumb(["attach", vf, "netns:\(target)", "--vlan", "10"], environment: env)
        XCTAssertEqual(notVF.status, 64)
        XCTAssertTrue(notVF.stderr.contains("is not an SR-IOV VF"), notVF.stderr)

        let badVLAN = try vfplumb(["attach", vf, "netns:\(target)", "--vlan", "5000"], environment: env)
        XCTAssertEqual(badVLAN.status, 64)

        if let uplink = Safety.defaultRouteInterfaces().sorted().first {
            // --dry-run as a belt and braces: the refusal comes first anyway.
            let r = try vfplumb(["attach", uplink, "netns:\(target)", "--dry-run"], environment: env)
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("\(uplink) carries the host's default route"), r.stderr)
        }
        XCTAssertTrue(lab.exists(vf))
        XCTAssertTrue(lab.journal.all().isEmpty)
    }

    func testReconcileRestoresAnInterfaceReturnedAsDevN() throws {
        let (vf, _) = try lab.makeStandInVF()
        let target = try lab.addNamespace()
        let mac = try XCTUnwrap(lab.mac(vf))
        let attach = try vfplumb(["attach", vf, "netns:\(target)", "--name", "eth1"], environment: lab.environment)
        XCTAssertEqual(attach.status, 0, attach.stderr)

        // What the kernel does to a VF when its container's namespace goes away and its
        // name is taken on the host: back to the initial namespace as devN.
        let index = sh("ip -n \(target) -o link show eth1").output.split(separator: ":").first.map(String.init) ?? "0"
        let r = sh("ip -n \(target) link set eth1 netns 1 && ip link set eth1 name dev\(index)")
        XCTAssertEqual(r.status, 0, r.output)
        lab.onCleanup { sh("ip link del dev\(index) 2>/dev/null") }
        XCTAssertTrue(lab.exists("dev\(index)"))

        let reconcile = try vfplumb(["reconcile"], environment: lab.environment)
        XCTAssertEqual(reconcile.status, 0, reconcile.stderr)
        XCTAssertTrue(reconcile.stdout.contains("rename dev\(index) back to \(vf)"), reconcile.stdout)
        XCTAssertEqual(lab.mac(vf), mac)
        XCTAssertFalse(lab.exists("dev\(index)"))
        XCTAssertTrue(lab.journal.all().isEmpty)

        let again = try vfplumb(["reconcile"], environment: lab.environment)
        XCTAssertEqual(again.status, 0)
        XCTAssertTrue(again.stdout.contains("nothing to do"), again.stdout)
    }
}
