import Foundation
import XCTest

/// The lab's firewall container is not privileged, shares no host network, runs as the
/// `vfwall` user, and vfwall (PID 1) holds exactly NET_ADMIN, NET_RAW and IPC_LOCK.
final class LabContainerTests: XCTestCase {
    func testContainerRunsUnprivilegedWithOnlyThreeCapabilities() throws {
        let lab = try LabUnderTest(mode: "direct")
        defer {
            lab.down()
            XCTAssertEqual(lab.leftovers(), [], "scripts/lab down left these behind")
        }
        let fw = "\(lab.name)-fw"
        let inspect = lab.podman(
            "inspect --format '{{.HostConfig.Privileged}} {{.HostConfig.NetworkMode}} {{.Config.User}}' \(fw)")
        XCTAssertEqual(inspect.output, "false none vfwall")

        let status = lab.podman("exec \(fw) cat /proc/1/status").output
        // CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_IPC_LOCK 14.
        let three: UInt64 = 1 << 12 | 1 << 13 | 1 << 14
        XCTAssertEqual(capabilities(status, "CapEff"), three, status)
        XCTAssertEqual(capabilities(status, "CapBnd"), three, "the bounding set: nothing else can ever be gained")
        XCTAssertTrue(status.contains("Name:\tvfwall"), "PID 1 is vfwall itself")
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        XCTAssertFalse(uid.contains("\t0\t"), "not root: \(uid)")
    }
}
