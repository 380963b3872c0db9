import CNetlink
import Foundation

/// A libnl error: the operation, what it concerned, and libnl's own words.
public struct NetlinkError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let subject: String
    /// A positive NLE_* code.
    public let code: Int32

    public var description: String {
        "\(operation) \(subject) failed: \(String(cString: nl_geterror(code)))"
    }
    public var isPermission: Bool { code == NLE_PERM }
    public var isNotFound: Bool { code == NLE_OBJ_NOTFOUND || code == NLE_NODEV }
    public var isExists: Bool { code == NLE_EXIST }
}

/// An rtnetlink socket, bound to the network namespace of the thread that opened it.
/// Not shared across threads: each namespace gets its own (see NetworkNamespace.run).
public final class NetlinkSocket {
    let handle: OpaquePointer

    public init() throws {
        guard let sock = nl_socket_alloc() else {
            throw NetlinkError(operation: "allocate", subject: "a netlink socket", code: NLE_NOMEM)
        }
        let rc = nl_connect(sock, NETLINK_ROUTE)
        guard rc >= 0 else {
            nl_socket_free(sock)
            throw NetlinkError(operation: "connect", subject: "a route netlink socket", code: -rc)
        }
        handle = sock
    }

    deinit {
        nl_close(handle)
        nl_socket_free(handle)
    }

    /// Runs a libnl call that returns 0 or -NLE_*; throws a typed error on failure.
    func check(_ operation: String, _ subject: String, _ rc: Int32) throws {
        if rc < 0 { throw NetlinkError(operation: operation, subject: subject, code: -rc) }
    }
}

/// nl_addr helpers: parse text into an nl_addr the caller must nl_addr_put.
/// `value` as the unsigned 32-bit field netlink carries, or a usage error naming `what`. The
/// values come from the command line or the state journal (a file), so none is trusted.
func netlinkU32(_ value: Int, _ what: String) throws -> UInt32 {
    guard let v = UInt32(exactly: value) else {
        throw PlumbingError.usage("\(what) \(value) is out of range (0 to \(UInt32.max)).")
    }
    return v
}

func parseAddress(_ text: String, family: Int32) throws -> OpaquePointer {
    var addr: OpaquePointer?
    let rc = nl_addr_parse(text, family, &addr)
    guard rc >= 0, let parsed = addr else {
        throw PlumbingError.usage("\(text) is not a valid \(family == AF_LLC ? "MAC" : "IP") address.")
    }
    return parsed
}

func addressString(_ addr: OpaquePointer?) -> String {
    guard let addr else { return "" }
    var buffer = [CChar](repeating: 0, count: 128)
    return String(cString: nl_addr2str(addr, &buffer, buffer.count))
}
