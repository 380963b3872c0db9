import Foundation
import TestSupport
import XCTest
@testable import Plumbing

/// attach/detach into a real container: podman with runc, --network none, started from
/// the debootstrap root file system scripts/make-rootfs builds (once; it is cached).
final class ContainerAttachTests: XCTestCase {
    var lab: NamespaceLab!
    static var rootfs: String?
    static var containersConf: String?

    override func setUpWithError() throws {
        lab = try NamespaceLab.forAttaching()
        try requireTools(["podman", "runc"], for: "attaching to containers", installedBy: "apt-get install podman runc")
        if ContainerAttachTests.rootfs == nil { ContainerAttachTests.rootfs = try Self.makeRootfs() }
        if ContainerAttachTests.containersConf == nil {
            // crun and podman's default ulimits do not work on these hosts; a private
            // containers.conf keeps /etc untouched.
            let conf = NSTemporaryDirectory() + "\(TestNames.owner)-containers.conf"
            try "[containers]\ndefault_ulimits = []\n".write(toFile: conf, atomically: true, encoding: .utf8)
            ContainerAttachTests.containersConf = conf
        }
    }

    override func tearDown() {
        lab?.remove()
        lab = nil
    }

    override class func tearDown() {
        if let conf = containersConf { try? FileManager.default.removeItem(atPath: conf) }
        containersConf = nil
    }

    /// scripts/make-rootfs returns at once when the cache exists ($VFWALL_ROOTFS or
    /// /var/cache/vfwall/rootfs) and builds it otherwise.
    static func makeRootfs() throws -> String {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let r = sh("\(repo.path)/scripts/make-rootfs 2>&1")
        guard r.status == 0, let dir = r.output.split(separator: "\n").last.map(String.init),
            FileManager.default.fileExists(atPath: dir + "/bin/sleep")
        else {
            throw PlumbingError("scripts/make-rootfs failed: \(r.output.suffix(2000))")
        }
        return dir
    }

    var podman: String {
        "CONTAINERS_CONF=\(ContainerAttachTests.containersConf!) podman --runtime runc --cgroup-manager cgroupfs"
    }

    /// Starts a container named by `TestNames` and removes it when the test ends.
    func startContainer() throws -> (name: String, pid: Int32) {
        let name = TestNames.unique()
        lab.onCleanup { [podman] in sh("\(podman) rm -f -t 0 \(name) >/dev/null 2>&1") }
        let r = sh(
            "\(podman) run -d --name \(name) --network none --rootfs \(ContainerAttachTests.rootfs!) sleep infinity")
        guard r.status == 0 else { throw PlumbingError("podman run: \(r.output)") }
        let pid = sh("podman inspect --format '{{.State.Pid}}' \(name)").output.trimmingCharacters(
            in: .whitespacesAndNewlines)
        return (name, Int32(pid) ?? 0)
    }

    func inside(_ container: String, _ command: String) -> (status: Int32, output: String) {
        sh("\(podman) exec \(container) \(command)")
    }

    func testDirectAttachIntoContainerThenDetach() throws {
        let (vf, peer) = try lab.makeStandInVF()
        let mac = try XCTUnwrap(lab.mac(vf))
        let (container, _) = try startContainer()

        let attach = try vfplumb(
            ["attach", vf, container, "--name", "eth1", "--ip", "10.213.0.2/24"],
            environment: lab.environment)
        XCTAssertEqual(attach.status, 0, attach.stdout + attach.stderr)
        let seen = inside(container, "ip -o addr show eth1")
        XCTAssertTrue(seen.output.contains("10.213.0.2/24"), "eth1 inside the container: \(seen.output)")
        XCTAssertTrue(lab.ping("10.213.0.2", from: peer), "the peer reaches eth1 in the container")
        XCTAssertTrue(
            inside(container, "ping -c 1 -W 3 \(lab.peerAddress)").status == 0, "and the container reaches the peer")

        let detach = try vfplumb(["detach", container], environment: lab.environment)
        XCTAssertEqual(detach.status, 0, detach.stdout + detach.stderr)
        XCTAssertEqual(lab.mac(vf), mac, "back on the host under its name with its MAC")
        XCTAssertNotEqual(inside(container, "ip link show eth1").status, 0, "eth1 left the container")
        XCTAssertTrue(lab.journal.all().isEmpty)
    }

    func testMacvlanAttachIntoContainerThenDetach() throws {
        let (vf, peer) = try lab.makeStandInVF()
        let (container, _) = try startContainer()
        let attach = try vfplumb(
            [
                "attach", vf, container, "--mode", "macvlan", "--name", "eth1",
                "--ip", "10.213.0.5/24",
                "--mac", "02:42:ac:d5:00:05"
            ], environment: lab.environment)
        XCTAssertEqual(attach.status, 0, attach.stdout + attach.stderr)
        XCTAssertTrue(inside(container, "ip -d link show eth1").output.contains("macvlan mode bridge"))
        XCTAssertTrue(inside(container, "ip link show eth1").output.contains("02:42:ac:d5:00:05"))
        XCTAssertTrue(lab.ping("10.213.0.5", from: peer))

        let detach = try vfplumb(["detach", vf], environment: lab.environment)
        XCTAssertEqual(detach.status, 0, detach.stdout + detach.stderr)
        XCTAssertNotEqual(inside(container, "ip link show eth1").status, 0)
        XCTAssertTrue(lab.exists(vf))
    }

    func testStoppedContainerAndTakenNameAreRefused() throws {
        let (vf, _) = try lab.makeStandInVF()
        let (container, _) = try startContainer()

        let taken = try vfplumb(["attach", vf, container, "--name", "lo"], environment: lab.environment)
        XCTAssertEqual(taken.status, 1)
        XCTAssertEqual(taken.stderr, "vfplumb: lo is already taken inside \(container); choose another --name.\n")

        sh("\(podman) stop -t 0 \(container)")
        let stopped = try vfplumb(["attach", vf, container], environment: lab.environment)
        XCTAssertEqual(stopped.status, 1)
        XCTAssertEqual(stopped.stderr, "vfplumb: container \(container) is not running; start it first.\n")

        let unknown = try vfplumb(["attach", vf, "\(TestNames.owner)-nosuch"], environment: lab.environment)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("was not found by podman"), unknown.stderr)
        XCTAssertTrue(lab.exists(vf))
        XCTAssertTrue(lab.journal.all().isEmpty)
    }

    func testDetachAfterTheContainerIsGoneIsNotAnError() throws {
        let (vf, _) = try lab.makeStandInVF()
        let (container, _) = try startContainer()
        let attach = try vfplumb(["attach", vf, container, "--name", "eth1"], environment: lab.environment)
        XCTAssertEqual(attach.status, 0, attach.stderr)
        sh("\(podman) rm -f -t 0 \(container)")
        // A veth is destroyed with its namespace (a real VF comes back to the host).
        let detach = try vfplumb(["detach", vf], environment: lab.environment)
        XCTAssertEqual(detach.status, 0, detach.stdout + detach.stderr)
        XCTAssertTrue(detach.stdout.contains("is gone"), detach.stdout)
        XCTAssertTrue(lab.journal.all().isEmpty)
    }
}
