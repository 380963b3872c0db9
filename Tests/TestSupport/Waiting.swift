// XCTest exists only where tests are built: `swift build` (scripts/build-release) also builds
// this target, and there the file is left out.
#if canImport(XCTest)
    import Foundation
    import XCTest

    /// How often `waitUntil` looks again: the one sleep the tests have.
    private let pollMicroseconds: useconds_t = 20_000

    /// Polls `condition` until it holds or `timeout` seconds pass; then fails the test, saying what
    /// it waited for (`what` is evaluated at that moment, so it can show the state it found).
    /// Returns whether the condition held, for tests that stop early when it did not.
    @discardableResult
    public func waitUntil(
        timeout: Double, what: @autoclosure () -> String, file: StaticString = #filePath,
        line: UInt = #line, _ condition: () throws -> Bool
    ) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return true }
            if Date() >= deadline {
                XCTFail("waited \(timeout) s in vain for: \(what())", file: file, line: line)
                return false
            }
            usleep(pollMicroseconds)
        }
    }
#endif
