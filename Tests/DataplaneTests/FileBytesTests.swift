import FileBytes
import LinuxIO
import SystemPackage
import XCTest

/// LinuxIO's one read-to-end-of-file: sizes are not trusted, failures are swift-system's Errno.
final class FileBytesTests: XCTestCase {
    func testProcFileThatReportsSizeZeroIsReadWhole() throws {
        let status = String(decoding: try readWholeFile("/proc/self/status"), as: UTF8.self)
        XCTAssertTrue(status.contains("\nPid:"), status)
    }

    func testLimitStopsTheRead() throws {
        XCTAssertEqual(try readWholeFile("/proc/self/status", limit: 5).count, 5)
    }

    func testMissingFileAndDirectoryThrowErrno() {
        XCTAssertThrowsError(try readWholeFile("/nonexistent/file")) { error in
            XCTAssertEqual(error as? Errno, .noSuchFileOrDirectory)
        }
        XCTAssertThrowsError(try readWholeFile("/")) { error in
            XCTAssertEqual(error as? Errno, .isDirectory)
        }
    }
}
