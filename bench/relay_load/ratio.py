#!/usr/bin/env python3
"""Ratios to the bare relay within each round (same N, same rep), from rtpload's RESULT lines.

The "# rep=R n=N LABEL loadavg=..." comment before each RESULT says which round it belongs to.
Prints, per N: each relay's CPU per stream-second divided by bare's of the same round
(all rounds, then the median), its worst loss, corruption, latency p99 and the load average.
"""
import re
import statistics
import sys
from collections import defaultdict

path = sys.argv[1] if len(sys.argv) > 1 else "results.txt"
runs = defaultdict(dict)  # (rep, n) -> label -> kv
load = {}
rep = None
for line in open(path):
    m = re.match(r"# rep=(\d+) n=(\d+) (\S+) loadavg=(\S+)", line)
    if m:
        rep = int(m.group(1))
        load[(rep, int(m.group(2)), m.group(3))] = float(m.group(4))
    elif line.startswith("RESULT ") and rep is not None:
        kv = dict(f.split("=", 1) for f in line.split()[1:])
        runs[(rep, int(kv["n"]))][kv["label"]] = kv

labels = sorted({l for r in runs.values() for l in r if l != "bare"})
print("\n| relay | N calls (streams) | ÷ bare per round | median ÷ bare | lost (max) "
      "| corrupt+foreign (max) | reseq (max) | latency p99 µs (max) | load avg at start |")
print("|---|---|---|---|---|---|---|---|---|")
for label in labels:
    for n in sorted({n for (_, n) in runs}):
        ratios, lost, bad, reseq, lat, loads = [], [], [], [], [], []
        for (r, rn), by in sorted(runs.items()):
            if rn != n or label not in by:
                continue
            kv = by[label]
            if "bare" in by:
                ratios.append(float(kv["relay_us_per_stream_s"]) /
                              float(by["bare"]["relay_us_per_stream_s"]))
            lost.append(int(kv["lost"]))
            bad.append(int(kv["corrupt"]) + int(kv["foreign"]))
            reseq.append(int(kv.get("reseq", 0)))
            lat.append(float(kv["lat_p99_us"]))
            loads.append(load.get((r, n, label), 0.0))
        if not lost:
            continue
        print("| {} | {} ({}) | {} | {} | {} | {} | {} | {:.0f} | {} |".format(
            label, n, 2 * n, " ".join("{:.2f}".format(x) for x in ratios),
            "{:.2f}".format(statistics.median(ratios)) if ratios else "-",
            max(lost), max(bad), max(reseq), max(lat),
            " ".join("{:.1f}".format(x) for x in loads)))
