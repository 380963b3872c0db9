import FirewallCore

/// The link type a mode byte selects: bits 0-1 pick Ethernet, Linux cooked, Linux cooked v2 or
/// raw IP; with bit 7 set the two cooked choices become BSD loopback NULL and LOOP instead, so
/// every link type the parser knows is reached while Ethernet and raw IP keep their share.
public func fuzzLinkType(mode: UInt8) -> LinkType {
    switch (mode & 3, mode & 0x80 != 0) {
    case (0, _): return .ethernet
    case (1, false): return .linuxCooked
    case (1, true): return .null
    case (2, false): return .linuxCooked2
    case (2, true): return .loop
    default: return .rawIP
    }
}
