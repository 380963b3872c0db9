import FirewallCore

/// One JSON object per frame for `vfwall replay --verdicts`.
enum VerdictJSON {
    static func line(index: Int, verdict v: Verdict, policy: Policy, port: Int) -> String {
        let rule: String
        let decidedBy: String
        if v.rule >= 0 {
            rule = "{\"index\":\(v.rule),\"name\":\(JSON.string(policy.rules[Int(v.rule)].name))}"
            decidedBy = "rule"
        } else {
            rule = "null"
            decidedBy = v.rule == Verdict.byDefault ? "default" : v.rule == Verdict.byConntrack ? "conntrack" : "setting"
        }
        let reason = v.reason == .none ? "null" : JSON.string(v.reason.name)
        return "{\"index\":\(index),\"verdict\":\"\(v.action)\",\"rule\":\(rule),\"decided_by\":\"\(decidedBy)\",\"reason\":\(reason),\"state\":\"\(v.state)\",\"ingress\":\(JSON.string(policy.portNames[port]))}"
    }
}

/// Minimal JSON text helpers (the dataplane does not import Foundation).
public enum JSON {
    public static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
