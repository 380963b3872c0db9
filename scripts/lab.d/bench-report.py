#!/usr/bin/env python3
"""scripts/bench-attach's report: TSV rows in (one per search: attachment, dataplane, size,
repeat, NDR/PDR bounds), a Markdown table (PREFIX.md) and a chart (PREFIX.png) out, with the
machine, the date and the generator's ceiling in the header.
  bench-report.py RESULTS.tsv PREFIX"""
import csv, json, os, platform, statistics, sys, time

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
prefix = sys.argv[2]
names = {"afxdp": "vfwall af_xdp (dpdk net_af_xdp)", "dpdk": "vfwall dpdk (net_af_packet)", "afpacket": "vfwall afpacket",
         "nft": "kernel bridge + nftables", "kernel": "kernel bridge, no rules", "ceiling": "generator → sink (ceiling)"}
sizes, combos = [], []
for r in rows:
    if r["size"] not in sizes:
        sizes.append(r["size"])
    key = (r["attachment"], r["dataplane"])
    if key not in combos:
        combos.append(key)


def stats(key, size, field):
    v = [float(r[field]) for r in rows if (r["attachment"], r["dataplane"]) == key and r["size"] == size and r[field] != ""]
    return (min(v), statistics.median(v), max(v), len(v)) if v else None


def gbps(pps, size):
    return pps * float(next(r["mean_wire_bytes"] for r in rows if r["size"] == size)) * 8 / 1e9


def fmt(s, size, unit):
    if s is None:
        return "–"
    f = (lambda x: x / 1e6) if unit == "mpps" else (lambda x: gbps(x, size))
    return "%.3f (%.3f–%.3f)" % (f(s[1]), f(s[0]), f(s[2])) if s[3] > 1 else "%.3f" % f(s[1])


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
header = "%s, %d CPUs, Linux %s, %s" % (cpu, os.cpu_count(), platform.release(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
ceiling = {s: stats(("generator", "ceiling"), s, "ndr_pps") for s in sizes}
reps = max((int(r["repeat"]) for r in rows), default=0)
out = ["# bench-attach: %s" % header, "",
       "Generator ceiling (XDP live frames straight into the sink, NDR, median): " +
       ", ".join("%s B %.3f Mpps = %.2f Gbit/s" % (s, c[1] / 1e6, gbps(c[1], s)) for s, c in ceiling.items() if c), "",
       "NDR (no loss) and PDR (loss ≤ 0.5 %%), median (min–max) of %d repeat(s); Gbit/s counts frames with their FCS, "
       "without preamble and gap." % reps, ""]
cols = []
for s in sizes:
    cols += ["%s B NDR Mpps" % s, "%s B NDR Gbit/s" % s, "%s B PDR Mpps" % s, "%s B PDR Gbit/s" % s]
out.append("| attachment | dataplane | " + " | ".join(cols) + " |")
out.append("| --- | --- |" + " ---: |" * len(cols))
below = True
for key in combos:
    cells = []
    for s in sizes:
        n, p = stats(key, s, "ndr_pps"), stats(key, s, "pdr_pps")
        cells += [fmt(n, s, "mpps"), fmt(n, s, "gbps"), fmt(p, s, "mpps"), fmt(p, s, "gbps")]
        if key[0] != "generator" and n and ceiling.get(s) and n[2] >= ceiling[s][0]:
            below = False
    out.append("| %s | %s | %s |" % (key[0], names.get(key[1], key[1]), " | ".join(cells)))
lat = [r for r in rows if r["delay"] not in ("", "[]")]
if lat:
    out += ["", "One-way delay (send stamp to the sink's XDP counter, same clock), first repeat, µs p50 / p99:", "",
            "| attachment | dataplane | size | 10 % of NDR | 50 % of NDR | 90 % of NDR |", "| --- | --- | --- | ---: | ---: | ---: |"]
    for r in lat:
        d = {round(x["load"], 2): x for x in json.loads(r["delay"])}
        c = ["%s / %s" % (d[l]["p50_us"], d[l]["p99_us"]) if l in d else "–" for l in (0.1, 0.5, 0.9)]
        out.append("| %s | %s | %s | %s |" % (r["attachment"], names.get(r["dataplane"], r["dataplane"]), r["size"], " | ".join(c)))
out += ["", "Every row's NDR is below the generator's ceiling: %s." % ("yes" if below else
        "**no** — where a row reaches the ceiling, the figure is the generator's limit, not the path's")]
open(prefix + ".md", "w").write("\n".join(out) + "\n")

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4.8), squeeze=False)
for ax, s in zip(axes[0], sizes):
    labels, med, lo, hi, colors = [], [], [], [], []
    for key in combos:
        n = stats(key, s, "ndr_pps")
        if not n:
            continue
        labels.append("%s\n%s" % (key[0], key[1]))
        med.append(n[1] / 1e6); lo.append((n[1] - n[0]) / 1e6); hi.append((n[2] - n[1]) / 1e6)
        colors.append({"generator": "#7f7f7f", "direct": "#1f77b4"}.get(key[0], "#ff7f0e"))
    ax.bar(range(len(med)), med, yerr=[lo, hi], color=colors, capsize=3)
    if ceiling.get(s):
        ax.axhline(ceiling[s][1] / 1e6, color="#7f7f7f", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=60)
    ax.set_title("%s B: NDR (Mpps), median, min–max" % s, fontsize=9)
fig.suptitle("bench-attach (grey: generator ceiling, blue: direct, orange: macvlan) — " + header, fontsize=8)
fig.tight_layout()
fig.savefig(prefix + ".png", dpi=100)
