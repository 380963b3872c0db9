#if canImport(XCTest)
    import CLinux
    import Glibc
    import XCTest

    extension NamespaceLab {
        /// Runs `body` with the calling thread inside the lab's first namespace (sockets opened there
        /// stay there), and comes back.
        public func inside<T>(_ body: () throws -> T) throws -> T {
            let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            let there = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
            defer {
                close(home)
                close(there)
            }
            guard home >= 0, there >= 0 else { throw XCTSkip("cannot open namespace files: errno \(errno)") }
            guard clinux_setns(there, CLINUX_CLONE_NEWNET) == 0 else {
                throw XCTSkip("setns into \(name): errno \(errno)")
            }
            defer {
                // Staying in the test namespace would send later tests' traffic to the wrong place.
                if clinux_setns(home, CLINUX_CLONE_NEWNET) != 0 {
                    fatalError("cannot return from namespace \(name): errno \(errno)")
                }
            }
            return try body()
        }
    }
#endif
