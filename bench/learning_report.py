"""Collects bench/learning_study.py's runs under ROOT into curves.csv (gold reward on the eval
prompts against sampled responses, every method, task and seed), final.csv (1x and 4x),
summary.md (the search, the tables, the per-seed comparisons) and curves.svg (one panel per task).
Usage: python3 bench/learning_report.py ROOT"""
import collections
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from learning_study import (FINAL_STEPS, METHODS, SAMPLES_PER_STEP, SEARCH_STEPS, TASKS,  # noqa: E402
                            TOKEN_SUM_TASKS, VARIANTS, chosen_config, config_name)

root = sys.argv[1]
ONE_X, FOUR_X = SEARCH_STEPS * SAMPLES_PER_STEP, FINAL_STEPS * SAMPLES_PER_STEP
chosen = json.load(open(f"{root}/chosen.json"))
methods = [m for m in METHODS if m in chosen]

curves = collections.defaultdict(dict)  # (task, seed, method) -> {samples: gold}
wins = collections.defaultdict(dict)  # (task, seed, method) -> {samples: win rate vs SFT}
walls = {}
# The runs of each method's chosen configuration; RTO's variants are methods named "rto/NAME".
runs = [(m, f"{root}/final/{m}/{config_name(chosen_config(chosen, m))}") for m in methods]
if "rto" in chosen:
    runs += [(f"rto/{v}", f"{root}/variants/{v}/{config_name(chosen_config(chosen, 'rto'))}") for v in VARIANTS]
for method, d in runs:
    for f in glob.glob(f"{d}/*/samples/step-*.eval.json"):
        task, seed = f.split("/")[-3].rsplit("-", 1)
        step = int(re.search(r"step-(\d+)\.eval\.json", f).group(1))
        e = json.load(open(f))
        curves[(task, int(seed), method)][step * SAMPLES_PER_STEP] = e["mean_gold"]
        wins[(task, int(seed), method)][step * SAMPLES_PER_STEP] = e["win_rate"]
    for f in glob.glob(f"{d}/*/wall.json"):
        walls[(method, f.split("/")[-2])] = json.load(open(f))["wall_s"]
levels = {}  # (task, seed, "sft"|"dpo") -> gold on the eval prompts
for f in glob.glob(f"{root}/models/*/dpo-eval.gold.json"):
    task, seed = os.path.basename(os.path.dirname(f)).rsplit("-", 1)
    for m in ["sft", "dpo"]:
        levels[(task, int(seed), m)] = json.load(open(f"{os.path.dirname(f)}/{m}-eval.gold.json"))["mean_gold"]
complete = {k for k, v in curves.items() if FOUR_X in v}
tasks = [t for t in TASKS if any(k[0] == t for k in complete)]
seeds = sorted({k[1] for k in complete})

with open(f"{root}/curves.csv", "w") as f:
    f.write("task,seed,method,samples,mean_gold,win_rate_vs_sft\n")
    for key in sorted(complete):
        for s in sorted(curves[key]):
            f.write(f"{key[0]},{key[1]},{key[2]},{s},{curves[key][s]:.4f},{wins[key][s]:.4f}\n")
with open(f"{root}/final.csv", "w") as f:
    f.write("task,seed,method,gold_1x,gold_4x,win_rate_1x,win_rate_4x,wall_s\n")
    for t, s, m in sorted(complete):
        c, w = curves[(t, s, m)], wins[(t, s, m)]
        f.write(f"{t},{s},{m},{c[ONE_X]:.4f},{c[FOUR_X]:.4f},{w[ONE_X]:.4f},{w[FOUR_X]:.4f},"
                f"{walls.get((m, f'{t}-{s}'), 0):.0f}\n")


def cell(xs):
    """Mean +- sd over seeds; a cell with fewer seeds than the table's says how many it has."""
    if not xs:
        return ""
    partial = f" ({len(xs)} of {len(seeds)} seeds)" if len(xs) < len(seeds) else ""
    return f"{statistics.mean(xs):.2f} +- {statistics.stdev(xs) if len(xs) > 1 else 0:.2f}{partial}"


out = ["## Tuning (search seed, validation prompts, 3840 sampled responses)", "",
       "Score: the fraction of the gap from SFT to the best possible answer closed, mean over tasks. "
       "Beyond: the grid's best with kl, then lr, one step past its edge.", "",
       "| method | " + " | ".join(f"grid {i + 1}" for i in range(4)) + " | beyond 1 | beyond 2 | chosen |",
       "|---|" + "---:|" * 6 + "---|"]
ref = json.load(open(f"{root}/search_reference.json"))
out.insert(2, f"Search seed {ref['search_seed']}. The DPO model itself closes {ref['dpo_mean_gap_closed']:.3f} on the "
           "same prompts (" + ", ".join(f"{t} {g:.2f}" for t, g in ref["dpo_gap_closed"].items()) + ").")
out.insert(3, "")
for m in methods:
    cells = [f"{name}: {score:.3f}" for name, score in [*chosen[m]["grid"].items(), *chosen[m]["beyond"].items()]]
    c = chosen[m]
    best = f"kl {c['kl_coef']:g}, lr {c['actor_lr']:g}" + (f", c {c['dpo_reward_scale']:g}" if c["dpo_reward_scale"]
                                                           else "")
    out.append(f"| {m.upper()} | " + " | ".join(cells) + f" | {best} |")
for budget, name in [(ONE_X, "1x: 3840"), (FOUR_X, "4x: 15360")]:
    out += ["", f"## Gold reward on the eval prompts at {name} sampled responses (mean +- sd over seeds "
            f"{', '.join(map(str, seeds))})", "",
            "| method | " + " | ".join(f"{t}{'' if t in TOKEN_SUM_TASKS else ' (whole)'}" for t in tasks) + " |",
            "|---|" + "---:|" * len(tasks)]
    for m in ["sft", "dpo"]:
        out.append(f"| {m.upper()} | " + " | ".join(cell([levels[(t, s, m)] for s in seeds if (t, s, m) in levels])
                                                      for t in tasks) + " |")
    for m in methods:
        out.append(f"| {m.upper()} | " + " | ".join(
            cell([curves[(t, s, m)][budget] for s in seeds if (t, s, m) in complete]) for t in tasks) + " |")

# RTO against PPO at every snapshot (equal samples), per task and seed; RTO against DPO.
out += ["", "## RTO against PPO and DPO, per seed", ""]
for t in tasks:
    below, total, first_above_dpo = [], 0, {}
    for s in seeds:
        r, p = curves.get((t, s, "rto"), {}), curves.get((t, s, "ppo"), {})
        for n in sorted(set(r) & set(p)):
            if n == 0:
                continue
            total += 1
            if r[n] < p[n]:
                below.append(f"seed {s} at {n}: {r[n]:.2f} < {p[n]:.2f}")
        dpo = levels.get((t, s, "dpo"))
        above = [n for n in sorted(r) if dpo is not None and r[n] >= dpo]
        first_above_dpo[s] = above[0] if above else None
    kind = "token sum" if t in TOKEN_SUM_TASKS else "whole response"
    out.append(f"- {t} ({kind}): RTO >= PPO at {total - len(below)} of {total} snapshots"
               + (f" (below: {'; '.join(below)})" if below else "")
               + "; RTO first at or above DPO: "
               + ", ".join(f"seed {s} {'never' if n is None else f'at {n}'}" for s, n in first_above_dpo.items()))
# The variants of RTO against RTO itself and the DPO model: when does the mean over seeds reach DPO?
names = [f"rto/{v}" for v in VARIANTS if any(k[2] == f"rto/{v}" for k in complete)]
token_tasks = [t for t in tasks if t in TOKEN_SUM_TASKS]
if names:
    out += ["", "## RTO variants (eval prompts; mean over seeds at 1x / 4x; samples when the mean first reaches "
            "the DPO model's mean)", "",
            "| variant | " + " | ".join(token_tasks) + " |", "|---|" + "---:|" * len(token_tasks)]
    out.append("| DPO | " + " | ".join(f"{statistics.mean(levels[(t, s, 'dpo')] for s in seeds):.2f}"
                                       for t in token_tasks) + " |")
    for m in ["rto"] + names:
        cells = []
        for t in token_tasks:
            runs = [curves[(t, s, m)] for s in seeds if (t, s, m) in complete]
            if not runs:
                cells.append("")
                continue
            mean = {n: statistics.mean(r[n] for r in runs) for n in sorted(set.intersection(*(set(r) for r in runs)))}
            dpo = statistics.mean(levels[(t, s, "dpo")] for s in seeds)
            reach = next((n for n in mean if mean[n] >= dpo), None)
            cells.append(f"{mean[ONE_X]:.2f} / {mean[FOUR_X]:.2f}, {'never' if reach is None else reach}")
        out.append(f"| {m.upper()} | " + " | ".join(cells) + " |")
# The study's own time: every model pair and run that this root holds, as each measured it.
phases = [("models", f"{root}/models/*/wall.json"), ("search", f"{root}/search/*/*/*/wall.json"),
          ("final", f"{root}/final/*/*/*/wall.json"), ("variants", f"{root}/variants/*/*/*/wall.json")]
times = [(name, [json.load(open(f))["wall_s"] for f in glob.glob(pattern)]) for name, pattern in phases]
out += ["", "## Time (wall, as each part measured itself: its training and the scoring of its answers)", "",
        "; ".join(f"{name}: {len(ws)} x {statistics.mean(ws):.0f} s = {sum(ws) / 60:.0f} min" for name, ws in times if ws)
        + f"; in all {sum(sum(ws) for _, ws in times) / 3600:.2f} h"]
platform = json.load(open(f"{root}/platform.json"))
out += ["", "Arithmetic pinned to " + ", ".join(f"{k}={v}" for k, v in platform["pinned"].items()) + "; machines: "
        + "; ".join(sorted({f"{m['cpu']} ({m['cores']} cores)" for m in platform["machines"]}))]
summary = "\n".join(out) + "\n"
open(f"{root}/summary.md", "w").write(summary)
print(summary)

# curves.svg: one panel per task (3 per row); mean over seeds, band = min to max; SFT and DPO dashed.
W, H, PAD, PER_ROW = 360, 260, 45, 3
colors = {"ppo": "#1f77b4", "rto": "#d62728", "grpo": "#9467bd", "grpo+dpo": "#e377c2", "rloo": "#8c564b",
          "rloo+dpo": "#ff7f0e", "sft": "#7f7f7f", "dpo": "#2ca02c"}
rows = (len(tasks) + PER_ROW - 1) // PER_ROW
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * PER_ROW}" height="{(H + 30) * rows + 24}" '
       f'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
for i, m in enumerate(methods + ["sft", "dpo"]):
    dash = ' stroke-dasharray="5,4"' if m in ("sft", "dpo") else ""
    svg.append(f'<line x1="{20 + i * 130}" y1="12" x2="{45 + i * 130}" y2="12" stroke="{colors[m]}" '
               f'stroke-width="2"{dash}/><text x="{50 + i * 130}" y="16">{m.upper()}</text>')
for i, t in enumerate(tasks):
    ox, oy = (i % PER_ROW) * W, 24 + (i // PER_ROW) * (H + 30)
    pts = {m: collections.defaultdict(list) for m in methods}
    for (task, s, m), c in curves.items():
        if task == t and (task, s, m) in complete and m in pts:
            for n, g in c.items():
                pts[m][n].append(g)
    flat = {m: statistics.mean(levels[(t, s, m)] for s in seeds if (t, s, m) in levels) for m in ["sft", "dpo"]}
    ys = [g for m in pts for n in pts[m] for g in pts[m][n]] + list(flat.values())
    y0, y1 = min(ys), max(ys)
    y0, y1 = y0 - 0.05 * (y1 - y0 + 1e-9), y1 + 0.05 * (y1 - y0 + 1e-9)
    X = lambda n: ox + PAD + (W - PAD - 10) * n / FOUR_X
    Y = lambda g: oy + 20 + (H - 40) * (1 - (g - y0) / (y1 - y0))
    svg.append(f'<text x="{ox + W / 2}" y="{oy + 14}" text-anchor="middle" font-weight="bold">{t}'
               f'{"" if t in TOKEN_SUM_TASKS else " (whole response)"}</text>')
    svg.append(f'<line x1="{X(0)}" y1="{Y(y0)}" x2="{X(FOUR_X)}" y2="{Y(y0)}" stroke="black"/>')
    svg.append(f'<line x1="{X(0)}" y1="{Y(y0)}" x2="{X(0)}" y2="{Y(y1)}" stroke="black"/>')
    for k in range(5):
        g = y0 + (y1 - y0) * k / 4
        svg.append(f'<text x="{X(0) - 4}" y="{Y(g) + 4}" text-anchor="end">{g:.1f}</text>')
        n = FOUR_X * k / 4
        svg.append(f'<text x="{X(n)}" y="{Y(y0) + 14}" text-anchor="middle">{n:.0f}</text>')
    svg.append(f'<line x1="{X(ONE_X)}" y1="{Y(y0)}" x2="{X(ONE_X)}" y2="{Y(y1)}" stroke="#bbbbbb"/>')
    svg.append(f'<text x="{ox + W / 2}" y="{oy + H + 12}" text-anchor="middle">sampled responses</text>')
    for m, g in flat.items():
        svg.append(f'<line x1="{X(0)}" y1="{Y(g)}" x2="{X(FOUR_X)}" y2="{Y(g)}" stroke="{colors[m]}" '
                   f'stroke-dasharray="5,4"/>')
    for m in methods:
        ns = sorted(pts[m])
        if not ns:
            continue
        if m in ("ppo", "rto"):  # bands only for the two the claim is about, to keep the panel readable
            band = [(X(n), Y(max(pts[m][n]))) for n in ns] + [(X(n), Y(min(pts[m][n]))) for n in reversed(ns)]
            svg.append(f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in band)}" fill="{colors[m]}" '
                       f'fill-opacity="0.12"/>')
        line = " ".join(f"{X(n):.1f},{Y(statistics.mean(pts[m][n])):.1f}" for n in ns)
        svg.append(f'<polyline points="{line}" fill="none" stroke="{colors[m]}" stroke-width="2"/>')
svg.append("</svg>")
open(f"{root}/curves.svg", "w").write("\n".join(svg) + "\n")
print(f"wrote {root}/curves.csv, final.csv, summary.md, curves.svg")
