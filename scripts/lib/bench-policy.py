#!/usr/bin/env python3
"""Prints the policy part of scripts/bench-dataplane's configurations: 999 rules the traffic never
matches, then one that accepts it, so every new flow is classified against the whole policy and
then tracked.
"""
print("policy: {default: drop}")
print("conntrack: {max-flows: 262144}")
print("rules:")
for i in range(1, 1000):
    print("  - {name: r%d, ingress: inside, proto: udp, src: 203.0.%d.%d/32, dport: %d, action: drop}"
          % (i, i // 256, i % 256, 1000 + i))
print("  - {name: accept-bench, ingress: inside, proto: [tcp, udp], action: accept}")
