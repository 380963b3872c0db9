/// An IPv4 or IPv6 prefix such as 10.0.0.0/8 or 2001:db8::/32.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: UInt8
    public var isV6: Bool

    /// The address is masked to the prefix length, so 10.1.2.3/8 and 10.0.0.0/8 are equal.
    public init(address: IPAddress, length: UInt8, isV6: Bool) {
        self.isV6 = isV6
        self.length = length
        self.address = IPPrefix.mask(address, length: length, v6: isV6)
    }

    @inlinable
    public func contains(_ a: IPAddress, v6: Bool) -> Bool {
        guard v6 == isV6 else { return false }
        return IPPrefix.mask(a, length: length, v6: v6) == address
    }

    @inlinable
    public static func mask(_ a: IPAddress, length: UInt8, v6: Bool) -> IPAddress {
        if !v6 {
            let l = UInt64(length)
            let m: UInt64 = l == 0 ? 0 : (0xFFFF_FFFF << (32 - l)) & 0xFFFF_FFFF
            return IPAddress(hi: 0, lo: a.lo & m)
        }
        let l = Int(length)
        let mh: UInt64 = l >= 64 ? ~0 : (l == 0 ? 0 : ~0 << (64 - l))
        let ml: UInt64 = l <= 64 ? 0 : (l >= 128 ? ~0 : ~0 << (128 - l))
        return IPAddress(hi: a.hi & mh, lo: a.lo & ml)
    }

    public var description: String { "\(address.text(v6: isV6))/\(length)" }

    /// Parses "ADDR/LEN" or a bare address (a host prefix).
    public static func parse(_ s: String) -> IPPrefix? {
        parseDottedQuad(s) ?? parseInFull(s)
    }

    /// "a.b.c.d" or "a.b.c.d/len" in ASCII digits, read byte by byte: most prefixes of a large
    /// policy, at a fraction of the cost of `parseInFull`. Nil for any other text, even when
    /// valid (leading zeros in the length, IPv6): `parseInFull` then decides.
    static func parseDottedQuad(_ s: String) -> IPPrefix? {
        var address: UInt32 = 0, group: UInt32 = 0, digits = 0, dots = 0
        var length: UInt32 = 32, lengthDigits = 0, slashSeen = false
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = UInt32(byte - UInt8(ascii: "0"))
                if slashSeen {
                    guard lengthDigits < 2, lengthDigits == 0 || length != 0 else { return nil }
                    length = lengthDigits == 0 ? digit : length * 10 + digit
                    lengthDigits += 1
                } else {
                    guard digits < 3 else { return nil }
                    group = group * 10 + digit
                    digits += 1
                }
            case UInt8(ascii: "."):
                guard !slashSeen, dots < 3, digits > 0, group <= 255 else { return nil }
                address = address << 8 | group
                (group, digits, dots) = (0, 0, dots + 1)
            case UInt8(ascii: "/"):
                guard !slashSeen else { return nil }
                slashSeen = true
            default:
                return nil
            }
        }
        guard dots == 3, digits > 0, group <= 255, !slashSeen || lengthDigits > 0, length <= 32 else { return nil }
        return IPPrefix(address: IPAddress(v4: address << 8 | group), length: UInt8(length), isV6: false)
    }

    /// Every form `parse` accepts.
    static func parseInFull(_ s: String) -> IPPrefix? {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let (addr, v6) = IPAddress.parse(parts[0]) else { return nil }
        let maxLen: UInt8 = v6 ? 128 : 32
        var len = maxLen
        if parts.count == 2 {
            guard let l = UInt8(parts[1]), l <= maxLen, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return nil
            }
            len = l
        }
        return IPPrefix(address: addr, length: len, isV6: v6)
    }
}
