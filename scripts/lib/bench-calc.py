#!/usr/bin/env python3
"""Arithmetic for scripts/bench-dataplane.

    bench-calc.py rate BEFORE AFTER PORT COUNTER T0 T1   per-second growth of PORT's COUNTER
                                                         between two `vfwall stats` outputs
                                                         taken at times T0 and T1 (seconds)
    bench-calc.py ratio BASE VALUE                       VALUE / BASE with two decimals (0 for BASE 0)
"""
import json, sys


def rate(before, after, port, counter, t0, t1):
    def get(stats):
        return next(p for p in json.loads(stats)["ports"] if p["name"] == port)[counter]
    return int((get(after) - get(before)) / (float(t1) - float(t0)))


def ratio(base, value):
    base, value = int(base), int(value)
    return "%.2f" % (value / base if base else 0)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    print({"rate": rate, "ratio": ratio}[command](*args))
