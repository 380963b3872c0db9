import FileBytes
import Glibc
import Ports
import SystemPackage

/// The control socket of a running vfwall: a Unix stream socket, owner-only (mode 0600), that
/// answers one request per connection. The client writes one line (`stats` or `reload`) and
/// reads the answer until the server closes: the statistics as JSON, or `ok ...` / `error: ...`.
/// A request line whose last word is `body=N` is followed by N bytes (at most `maxBody`: the
/// elements of `set add`); the handler then gets the line without that word, a newline, and
/// the body.
///
/// The server runs on a thread of its own and handles one connection at a time; the handler
/// runs on that thread (off the fast path). A client that says nothing is dropped after 2 s.
public final class ControlSocket {
    public let path: String
    private let fd: Int32
    private let handler: (String) -> String
    private var thread: pthread_t?
    private var stopped = false

    /// Where the socket of a configuration goes when it names none: /run/vfwall/<name>.sock for
    /// root, else under $XDG_RUNTIME_DIR/vfwall or /tmp/vfwall-<uid>. The client commands
    /// compute the same path from the same configuration file.
    public static func defaultPath(forConfig file: String) -> String {
        var base = String(file.split(separator: "/").last ?? "vfwall")
        for ext in [".yaml", ".yml"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        if geteuid() == 0 { return "/run/vfwall/\(base).sock" }
        if let xdg = getenv("XDG_RUNTIME_DIR"), xdg.pointee != 0 {
            return "\(String(cString: xdg))/vfwall/\(base).sock"
        }
        return "/tmp/vfwall-\(geteuid())/\(base).sock"
    }

    /// Binds and listens at `path` (creating its directory, mode 0700, if missing). A stale
    /// socket file nobody answers on is replaced; one a live process answers on is an error.
    public init(path: String, handler: @escaping (String) -> String) throws {
        self.path = path
        self.handler = handler
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw ControlSocketError("control socket path \(path) is longer than \(capacity - 1) bytes")
        }
        try Self.makeDirectory(of: path)
        if Self.answers(path) {
            throw ControlSocketError(
                "control socket \(path) is in use: another vfwall is running with it (stop it, or set "
                    + "dataplane.control-socket)"
            )
        }
        unlink(path)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else {
            throw ControlSocketError("control socket \(path): socket() failed: \(describeErrno(errno))")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        // Owner-only from the moment it exists: no window in which others may connect.
        let oldMask = umask(0o177)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindErrno = errno
        umask(oldMask)
        guard rc == 0, chmod(path, 0o600) == 0, listen(s, 8) == 0 else {
            let e = rc == 0 ? errno : bindErrno
            close(s)
            if rc == 0 { unlink(path) }
            throw ControlSocketError(
                "control socket \(path): \(rc == 0 ? "listen" : "bind") failed: \(describeErrno(e))")
        }
        fd = s
    }

    deinit { stop() }

    /// Starts answering on a thread of its own.
    public func start() throws {
        let context = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(
            &t, nil,
            { raw in
                Unmanaged<ControlSocket>.fromOpaque(raw!).takeRetainedValue().serve()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<ControlSocket>.fromOpaque(context).release()
            throw ControlSocketError("control socket \(path): cannot start its thread: \(describeErrno(rc))")
        }
        thread = t
    }

    /// Stops answering, waits for the thread, closes and removes the socket. Idempotent.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        shutdown(fd, Int32(SHUT_RDWR))  // wakes accept()
        if let t = thread { pthread_join(t, nil) }
        close(fd)
        unlink(path)
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // shut down
            }
            Self.setTimeout(c, seconds: 2)
            switch Self.readRequest(c) {
            case .request(let request): Self.writeAll(c, handler(request))
            case .refused(let why): Self.writeAll(c, "error: \(why)\n")
            case .none: break
            }
            close(c)
        }
    }

    // MARK: client

    /// Sends `request` (one line; with `body`, announced as `body=N` and sent after it) to the
    /// vfwall listening at `path` and returns its answer.
    public static func request(
        _ request: String, body: [UInt8]? = nil, path: String, timeoutSeconds: Int = 10
    ) throws -> String {
        if let body, body.count > maxBody {
            throw ControlSocketError(
                "the request is \(body.count) bytes; the control socket takes at most \(maxBody) (split it)")
        }
        let c = try connect(path)
        defer { close(c) }
        setTimeout(c, seconds: timeoutSeconds)
        writeAll(c, request + (body.map { " body=\($0.count)" } ?? "") + "\n")
        if let body { writeAll(c, body) }
        shutdown(c, Int32(SHUT_WR))
        let out: [UInt8]
        do { out = try readToEnd(FileDescriptor(rawValue: c), limit: maxAnswer + 1) } catch {
            throw ControlSocketError("control socket \(path): no answer: \(error)")
        }
        // The statistics of the largest policy are a few megabytes; more is not vfwall talking.
        guard out.count <= maxAnswer else {
            throw ControlSocketError("control socket \(path): answer longer than \(maxAnswer) bytes")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The longest answer `request` takes.
    static let maxAnswer = 64 << 20
    /// The longest request body the server reads (a 1,000,000-prefix set file is about 16 MB).
    public static let maxBody = 64 << 20
    /// The longest request line.
    static let maxLine = 4096

    static func connect(_ path: String) throws -> Int32 {
        let c = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard c >= 0 else { throw ControlSocketError("socket() failed: \(describeErrno(errno))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(c)
            throw ControlSocketError("control socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(c, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(c)
            throw ControlSocketError(
                "cannot connect to the control socket \(path): \(describeErrno(e)) (is `vfwall run` running with "
                    + "this configuration?)"
            )
        }
        return c
    }

    static func answers(_ path: String) -> Bool {
        guard let c = try? connect(path) else { return false }
        close(c)
        return true
    }

    static func makeDirectory(of path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let dir = String(path[..<slash])
        var st = stat()
        if stat(dir, &st) == 0 { return }
        // Parents first (e.g. /tmp/vfwall-<uid> or /run/vfwall), owner-only.
        try makeDirectory(of: dir)
        guard mkdir(dir, 0o700) == 0 || errno == EEXIST else {
            throw ControlSocketError("control socket directory \(dir): mkdir failed: \(describeErrno(errno))")
        }
    }

    static func setTimeout(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    enum Received: Equatable {
        case request(String)
        case refused(String)
    }

    /// The request the peer sends: its first line (up to 4 KiB, or until it closes its side),
    /// trimmed, and the body that line announces. nil when the peer sent nothing.
    static func readRequest(_ fd: Int32) -> Received? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func readMore() -> Bool {
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n > 0 && n <= buffer.count {
                    bytes += buffer[0..<n]
                    return true
                }
                if n < 0 && errno == EINTR { continue }
                return false
            }
        }
        while bytes.count < maxLine && !bytes.contains(10) && readMore() {}
        guard !bytes.isEmpty else { return nil }
        let end = bytes.firstIndex(of: 10) ?? bytes.count
        var line = String(decoding: bytes[..<end], as: UTF8.self).trimmed(" \t\r")
        guard let space = line.lastIndex(of: " "), line[space...].hasPrefix(" body=") else { return .request(line) }
        let digits = line[line.index(space, offsetBy: 6)...]
        guard let size = Int(digits), size >= 0, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return .refused("bad body size '\(digits)' (body=BYTES)")
        }
        guard size <= maxBody else {
            return .refused("the request body is \(size) bytes; the control socket takes at most \(maxBody)")
        }
        line = String(line[..<space])
        let start = min(end + 1, bytes.count)
        bytes.removeSubrange(0..<start)
        bytes.reserveCapacity(size)
        while bytes.count < size && readMore() {}
        guard bytes.count >= size else {
            return .refused("the request body ended after \(bytes.count) of \(size) bytes")
        }
        return .request(line + "\n" + String(decoding: bytes[0..<size], as: UTF8.self))
    }

    /// Writes with MSG_NOSIGNAL: a peer that hung up must not raise SIGPIPE in the firewall.
    static func writeAll(_ fd: Int32, _ text: String) { writeAll(fd, Array(text.utf8)) }

    static func writeAll(_ fd: Int32, _ data: [UInt8]) {
        var bytes = data
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 && n <= bytes.count - offset {
                offset += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return
        }
    }
}

extension String {
    /// Without the leading and trailing characters in `set` (Foundation-free).
    fileprivate func trimmed(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// The control socket could not be set up, or a request through it failed.
public struct ControlSocketError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
