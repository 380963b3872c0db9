import XCTest
@testable import Plumbing

/// A failed system call names the call, its subject and swift-system's text for the errno.
final class SystemErrorTests: XCTestCase {
    func testWriteToAMissingAttributeSaysWhatFailedAndWhy() {
        let sysfs = Sysfs(root: "/nonexistent-sysfs-\(getpid())")
        XCTAssertThrowsError(try sysfs.write("class/net/x/mtu", "1500")) { error in
            let failure = error as? SystemError
            XCTAssertEqual(failure?.errno, .noSuchFileOrDirectory)
            XCTAssertEqual(
                failure?.description,
                "open /nonexistent-sysfs-\(getpid())/class/net/x/mtu: No such file or directory")
        }
    }
}
