"""Collects bench/learning.sh runs into curves.csv (gold reward against sampled responses),
final.csv, summary.md (mean and spread over seeds) and curves.svg (one panel per task)."""
import collections
import glob
import json
import math
import os
import re
import statistics
import sys

root = sys.argv[1]
METHODS = ["sft", "dpo", "ppo", "rto"]
curves = []  # (task, seed, method, samples, gold)
finals = []  # (task, seed, method, gold, win, wall)
for run in sorted(glob.glob(f"{root}/*-*/wall_seconds.json")):
    d = os.path.dirname(run)
    wall = json.load(open(run))
    task, seed = wall["task"], wall["seed"]
    for m in METHODS:
        e = json.load(open(f"{d}/{m}.eval.json"))
        finals.append((task, seed, m, e["mean_gold"], e["win_rate"], wall.get(m, 0.0)))
    for m in ["ppo", "rto"]:
        per_step = {}
        for line in open(f"{d}/{m}/metrics.jsonl"):
            j = json.loads(line)
            per_step[j["step"] + 1] = j["samples"]
        for f in glob.glob(f"{d}/{m}/samples/step-*.eval.json"):
            step = int(re.search(r"step-(\d+)\.eval\.json", f).group(1))
            curves.append((task, seed, m, int(per_step.get(step, 0)), json.load(open(f))["mean_gold"]))
curves.sort()

with open(f"{root}/curves.csv", "w") as f:
    f.write("task,seed,method,samples,mean_gold\n")
    for row in curves:
        f.write(",".join(str(x) for x in row) + "\n")
with open(f"{root}/final.csv", "w") as f:
    f.write("task,seed,method,mean_gold,win_rate_vs_sft,train_wall_s\n")
    for row in finals:
        f.write(",".join(str(x) for x in row) + "\n")

def spread(xs):
    return statistics.stdev(xs) if len(xs) > 1 else 0.0

tasks = sorted({t for t, *_ in finals}, key=lambda t: ["lexicon", "count", "exact_length"].index(t)
               if t in ["lexicon", "count", "exact_length"] else 9)
lines = ["| task | seeds | SFT | DPO | PPO | RTO | RTO win vs SFT | PPO win vs SFT | wall s (PPO / RTO) |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for t in tasks:
    by = collections.defaultdict(list)
    for task, seed, m, gold, win, wall in finals:
        if task == t:
            by[m].append((gold, win, wall))
    cell = lambda m: f"{statistics.mean(g for g, _, _ in by[m]):.2f} +- {spread([g for g, _, _ in by[m]]):.2f}"
    win = lambda m: f"{statistics.mean(w for _, w, _ in by[m]):.2f}"
    wall = lambda m: f"{statistics.mean(s for _, _, s in by[m]):.0f}"
    lines.append(f"| {t} | {len(by['sft'])} | {cell('sft')} | {cell('dpo')} | {cell('ppo')} | {cell('rto')} | "
                 f"{win('rto')} | {win('ppo')} | {wall('ppo')} / {wall('rto')} |")
summary = "\n".join(lines) + "\n\nMean gold reward over seeds +- its standard deviation across seeds.\n"
open(f"{root}/summary.md", "w").write(summary)
print(summary)

# curves.svg: one panel per task; mean over seeds with a min-max band; SFT and DPO as dashed lines.
W, H, PAD = 360, 260, 45
colors = {"ppo": "#1f77b4", "rto": "#d62728", "sft": "#7f7f7f", "dpo": "#2ca02c"}
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(tasks)}" height="{H + 30}" '
       f'font-family="sans-serif" font-size="11">', f'<rect width="100%" height="100%" fill="white"/>']
for i, t in enumerate(tasks):
    pts = collections.defaultdict(lambda: collections.defaultdict(list))
    for task, seed, m, samples, gold in curves:
        if task == t:
            pts[m][samples].append(gold)
    flat = {m: statistics.mean(g for task, _, mm, g, _, _ in finals if task == t and mm == m) for m in ["sft", "dpo"]}
    ys = [g for m in pts for s in pts[m] for g in pts[m][s]] + list(flat.values())
    xs = [s for m in pts for s in pts[m]] or [1]
    y0, y1 = min(ys), max(ys)
    y0, y1 = y0 - 0.05 * (y1 - y0 + 1e-9), y1 + 0.05 * (y1 - y0 + 1e-9)
    x1 = max(xs) or 1
    ox = i * W
    X = lambda s: ox + PAD + (W - PAD - 10) * s / x1
    Y = lambda g: 20 + (H - 40) * (1 - (g - y0) / (y1 - y0))
    svg.append(f'<text x="{ox + W / 2}" y="14" text-anchor="middle" font-weight="bold">{t}</text>')
    svg.append(f'<line x1="{X(0)}" y1="{Y(y0)}" x2="{X(x1)}" y2="{Y(y0)}" stroke="black"/>')
    svg.append(f'<line x1="{X(0)}" y1="{Y(y0)}" x2="{X(0)}" y2="{Y(y1)}" stroke="black"/>')
    for k in range(5):
        g = y0 + (y1 - y0) * k / 4
        svg.append(f'<text x="{X(0) - 4}" y="{Y(g) + 4}" text-anchor="end">{g:.1f}</text>')
        s = x1 * k / 4
        svg.append(f'<text x="{X(s)}" y="{Y(y0) + 14}" text-anchor="middle">{s:.0f}</text>')
    svg.append(f'<text x="{ox + W / 2}" y="{H + 12}" text-anchor="middle">sampled responses</text>')
    for m, g in flat.items():
        svg.append(f'<line x1="{X(0)}" y1="{Y(g)}" x2="{X(x1)}" y2="{Y(g)}" stroke="{colors[m]}" '
                   f'stroke-dasharray="5,4"/><text x="{X(x1) - 2}" y="{Y(g) - 3}" text-anchor="end" '
                   f'fill="{colors[m]}">{m.upper()}</text>')
    for m in ["ppo", "rto"]:
        ss = sorted(pts[m])
        if not ss:
            continue
        band = [(X(s), Y(max(pts[m][s]))) for s in ss] + [(X(s), Y(min(pts[m][s]))) for s in reversed(ss)]
        svg.append(f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in band)}" fill="{colors[m]}" '
                   f'fill-opacity="0.15"/>')
        line = " ".join(f"{X(s):.1f},{Y(statistics.mean(pts[m][s])):.1f}" for s in ss)
        svg.append(f'<polyline points="{line}" fill="none" stroke="{colors[m]}" stroke-width="2"/>')
        svg.append(f'<text x="{X(ss[-1]) - 2}" y="{Y(statistics.mean(pts[m][ss[-1]])) + 14}" text-anchor="end" '
                   f'fill="{colors[m]}" font-weight="bold">{m.upper()}</text>')
svg.append("</svg>")
open(f"{root}/curves.svg", "w").write("\n".join(svg) + "\n")
print(f"wrote {root}/curves.csv, final.csv, summary.md, curves.svg")
