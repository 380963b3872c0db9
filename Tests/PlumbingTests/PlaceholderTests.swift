import XCTest
@testable import Plumbing
