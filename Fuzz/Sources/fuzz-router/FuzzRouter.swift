import FuzzSupport
import RouterPath

/// Route mode's slow paths: ARP, neighbour discovery, ICMP errors, the resolution queue, on
/// arbitrary frames from either port, accepted or not by the firewall (`RouterFuzz`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouter(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    RouterFuzz.one(data, size)
    return 0
}

@main
enum Main {
    static func main() { runFuzzer(fuzzRouter) }
}
