#!/usr/bin/env python3
"""scripts/bench-attach's report: TSV rows in, a Markdown table (PREFIX.md) and a bar chart
(PREFIX.png) out, with the machine and the date in the header.
  bench-report.py RESULTS.tsv PREFIX"""
import csv, os, platform, sys, time

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
prefix = sys.argv[2]
combos = []
for r in rows:
    key = (r["attachment"], r["dataplane"])
    if key not in combos:
        combos.append(key)


def row(key, size):
    return next((r for r in rows if (r["attachment"], r["dataplane"]) == key and r["size"] == size), None)


def loss(r):
    sent = int(r["sent"])
    return 100.0 * max(0, sent - int(r["delivered"])) / sent if sent else 0.0


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
header = "%s, %d CPUs, Linux %s, %s" % (cpu, os.cpu_count(), platform.release(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
names = {"dpdk": "vfwall dpdk (net_af_packet)", "afpacket": "vfwall afpacket", "nft": "kernel bridge + nftables", "kernel": "kernel bridge, no rules"}
out = ["# bench-attach: %s" % header, "",
       "| attachment | dataplane | 64 B offered kpps | 64 B delivered kpps | 64 B loss | 1500 B offered Gbit/s | 1500 B delivered Gbit/s | 1500 B loss | RTT p50 µs | RTT p99 µs |",
       "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
chart = []
for key in combos:
    small, big, lat = row(key, "64"), row(key, "1500"), row(key, "latency")
    kpps = int(small["delivered"]) / float(small["seconds"]) / 1e3
    offered_k = int(small["sent"]) / float(small["seconds"]) / 1e3
    gbps = int(big["delivered"]) * 1500 * 8 / float(big["seconds"]) / 1e9
    offered_g = int(big["sent"]) * 1500 * 8 / float(big["seconds"]) / 1e9
    out.append("| %s | %s | %.0f | %.0f | %.1f %% | %.2f | %.2f | %.1f %% | %s | %s |" % (
        key[0], names.get(key[1], key[1]), offered_k, kpps, loss(small), offered_g, gbps, loss(big), lat["p50_us"], lat["p99_us"]))
    chart.append(("%s\n%s" % (key[0], key[1]), kpps, gbps, float(lat["p50_us"] or 0), float(lat["p99_us"] or 0)))
asked = {r["size"]: r["offered_pps"] for r in rows}
out += ["", "Every row was asked for the same load: %s frames/s of 64 B, %s frames/s of 1500 B. *Offered* is what "
        "left the source (s0 tx_packets): where it is lower, the dataplane's work landed on the sender's core "
        "(the kernel forwards in the sender's softirq) and slowed the generator. *Delivered* is what reached the "
        "sink (d0 rx_packets); loss is the difference. RTT: 1000 probes/s of 64 B, reflected at the sink." % (asked.get("64"), asked.get("1500"))]
open(prefix + ".md", "w").write("\n".join(out) + "\n")

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
labels = [c[0] for c in chart]
colors = ["#1f77b4" if l.startswith("direct") else "#ff7f0e" for l in labels]
for ax, i, title in [(axes[0], 1, "64 B delivered (kpps)"), (axes[1], 2, "1500 B delivered (Gbit/s)"), (axes[2], 4, "RTT p99 (µs), light load")]:
    ax.bar(range(len(chart)), [c[i] for c in chart], color=colors)
    ax.set_xticks(range(len(chart)), labels, fontsize=7)
    ax.set_title(title)
fig.suptitle("bench-attach (blue: direct, orange: macvlan) — " + header, fontsize=9)
fig.tight_layout()
fig.savefig(prefix + ".png", dpi=100)
