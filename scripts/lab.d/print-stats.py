#!/usr/bin/env python3
"""Prints `vfwall stats` JSON (stdin) as what passed and what was dropped: rules, ports, reasons."""
import json, sys

s = json.load(sys.stdin)
t = s.get("totals", {})
print("vfwall in the container (%s backend), policy generation %s" % (s.get("backend"), s.get("policy_generation")))
print("  %-20s %-8s %8s" % ("rule", "action", "hits"))
for r in s.get("rules", []):
    print("  %-20s %-8s %8d" % (r["name"], r["action"], r["hits"]))
d = s.get("default", {})
print("  %-20s %-8s %8d" % ("(default)", d.get("action", "?"), d.get("hits", 0)))
print("  %-20s %-8s %8d" % ("(conntrack replies)", "accept", t.get("accepted_by_conntrack", 0)))
for p in s.get("ports", []):
    print("  port %-8s rx %6d  tx %6d  dropped %6d" % (p["name"], p["rx"], p["tx"], p["dropped"]))
reasons = {k: v for k, v in s.get("reasons", {}).items() if v}
if reasons:
    print("  drop reasons: " + ", ".join("%s %d" % kv for kv in sorted(reasons.items())))
routing = s.get("routing")
if routing:
    counted = {k: v for k, v in routing.get("counters", {}).items() if v}
    print("  router: " + ", ".join("%s %d" % kv for kv in sorted(counted.items())))
    for n in routing.get("neighbours", []):
        print("  neighbour %-15s %-17s %-10s on %s" % (n["address"], n["mac"] or "-", n["state"], n["port"]))
