import CLinux
import Foundation

/// An open network namespace file (/proc/PID/ns/net, /run/netns/NAME, ...). Work inside
/// it runs on a thread of its own that enters it with setns and opens its netlink socket
/// there, so no other thread of this process ever changes namespace.
public final class NetworkNamespace: @unchecked Sendable {
    public let path: String
    public let fd: Int32
    public let inode: UInt64

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path, errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw SystemError("stat", path, errno: code)
        }
        self.path = path
        self.fd = fd
        self.inode = UInt64(info.st_ino)
    }

    deinit { close(fd) }

    /// The namespace vfplumb started in (the main thread never leaves it).
    public static func host() throws -> NetworkNamespace { try NetworkNamespace(path: "/proc/self/ns/net") }

    /// The inode of a namespace file, nil when it cannot be opened.
    public static func inode(of path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Runs `body` with a netlink socket inside this namespace, on a dedicated thread
    /// that enters it, and waits for the result. The thread ends afterwards, so a
    /// namespace it could not leave dies with it.
    public func run<T>(_ body: @escaping (NetlinkSocket) throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let fd = self.fd
        let path = self.path
        let thread = Thread {
            defer { done.signal() }
            let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            defer {
                if original >= 0 {
                    _ = clinux_setns(original, CLINUX_CLONE_NEWNET)
                    close(original)
                }
            }
            guard clinux_setns(fd, CLINUX_CLONE_NEWNET) == 0 else {
                box.result = .failure(SystemError("setns into", path, errno: errno))
                return
            }
            box.result = Result { try body(try NetlinkSocket()) }
        }
        thread.start()
        done.wait()
        return try box.result!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
