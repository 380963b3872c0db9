#!/usr/bin/env python3
"""Large rule sets for the scale section of scripts/bench-classbench, in ClassBench format.

    scripts/make-scale-sets.py [DATA_DIR] [OUT_DIR]    (default: data/classbench, .build/scale-sets)

Writes NAME.rules and NAME.trace for:

- acl-scale (~38k rules): acl1_8k three times and ipc1_8k twice, concatenated. data/ holds one
  set per seed, so copies 2 and up move every prefix of length 8 or more to another first octet
  (source and destination by different amounts): the same structure, different addresses.
- fw-scale (~39k rules): fw1_8k five times, moved the same way.
- synthetic-8k, synthetic-50k, synthetic-200k: rule i is `src 10.X.Y.0/24, proto tcp, dport N`, any
  destination and source port (X.Y = i mod 65536, N = 1024 + i * 7919 mod 60000), as a policy
  `src: 10.X.Y.0/24, proto: tcp, dport: N, action: accept` would be. The trace: 20,000 headers
  drawn from random rules (seed 1), one in ten turned into a miss (destination port below 1024).
  Also as the rules part of a configuration, NAME.yaml (for `vfwall check`, scripts/bench-reload).

Traces of the concatenations are the sets' traces, moved like their rules; the last column
(the generating rule) is offset to the rule's place in the concatenation.
"""
import os
import random
import sys


def move_prefix(text, shift):
    addr, length = text.split("/")
    octets = addr.split(".")
    if int(length) >= 8:
        octets[0] = str((int(octets[0]) + shift) % 256)
    return ".".join(octets) + "/" + length


def move_address(value, shift):
    return (((value >> 24) + shift) % 256) << 24 | (value & 0xFFFFFF)


def concatenate(data, out, name, parts):
    rules, trace, offset = [], [], 0
    for index, (part, copy) in enumerate(parts):
        src_shift, dst_shift = 37 * copy, 53 * copy
        with open(os.path.join(data, part + ".rules")) as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
        for line in lines:
            fields = line.split("\t")
            fields[0] = "@" + move_prefix(fields[0][1:], src_shift)
            fields[1] = move_prefix(fields[1], dst_shift)
            rules.append("\t".join(fields))
        with open(os.path.join(data, part + ".trace")) as f:
            for line in f:
                cols = line.split()
                if len(cols) < 7:
                    continue
                cols[0] = str(move_address(int(cols[0]), src_shift))
                cols[1] = str(move_address(int(cols[1]), dst_shift))
                cols[6] = str(int(cols[6]) + offset)
                trace.append("\t".join(cols))
        offset += len(lines)
    write(out, name, rules, trace)


def synthetic(out, name, count):
    rng = random.Random(1)
    rules, trace = [], []
    for i in range(count):
        x, y = (i >> 8) & 255, i & 255
        port = 1024 + (i * 7919) % 60000
        rules.append(f"@10.{x}.{y}.0/24\t0.0.0.0/0\t0 : 65535\t{port} : {port}\t0x06/0xFF\t0x0000/0x0000")
    for _ in range(20000):
        i = rng.randrange(count)
        x, y = (i >> 8) & 255, i & 255
        port = 1024 + (i * 7919) % 60000
        if rng.randrange(10) == 0:
            port = rng.randrange(1, 1024)
        src = 10 << 24 | x << 16 | y << 8 | rng.randrange(256)
        dst = rng.randrange(1 << 32)
        trace.append(f"{src}\t{dst}\t{rng.randrange(1024, 65536)}\t{port}\t6\t0\t{i}")
    write(out, name, rules, trace)
    with open(os.path.join(out, name + ".yaml"), "w") as f:
        f.write("# Written by scripts/make-scale-sets.py.\nrules:\n")
        for i in range(count):
            x, y = (i >> 8) & 255, i & 255
            port = 1024 + (i * 7919) % 60000
            f.write(f"  - {{src: 10.{x}.{y}.0/24, proto: tcp, dport: {port}, action: accept}}\n")


def write(out, name, rules, trace):
    with open(os.path.join(out, name + ".rules"), "w") as f:
        f.write("\n".join(rules) + "\n")
    with open(os.path.join(out, name + ".trace"), "w") as f:
        f.write("\n".join(trace) + "\n")
    print(f"{out}/{name}: {len(rules)} rules, {len(trace)} headers")


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "data/classbench"
    out = sys.argv[2] if len(sys.argv) > 2 else ".build/scale-sets"
    os.makedirs(out, exist_ok=True)
    concatenate(data, out, "acl-scale",
                [("acl1_8k", 0), ("acl1_8k", 1), ("acl1_8k", 2), ("ipc1_8k", 0), ("ipc1_8k", 1)])
    concatenate(data, out, "fw-scale", [("fw1_8k", copy) for copy in range(5)])
    synthetic(out, "synthetic-8k", 8000)
    synthetic(out, "synthetic-50k", 50000)
    synthetic(out, "synthetic-200k", 200000)


if __name__ == "__main__":
    main()
