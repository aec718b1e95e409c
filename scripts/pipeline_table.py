"""Prints the table of one scripts/pipeline.sh run, in the shape of the RTO paper's:
SFT, DPO, PPO and RTO by mean gold reward (the stand-in for a judge) and win rate against SFT."""
import json
import sys

out = sys.argv[1]
wall = json.load(open(f"{out}/wall_seconds.json"))
print(f"\ntask {wall['task']}, seed {wall['seed']}: {out}")
print("| model | mean gold reward | win rate vs SFT | train wall s |")
print("|---|---:|---:|---:|")
for m in ["sft", "dpo", "ppo", "rto"]:
    e = json.load(open(f"{out}/{m}.eval.json"))
    secs = wall.get(m, 0.0)
    print(f"| {m.upper()} | {e['mean_gold']:.2f} +- {e['gold_ci95']:.2f} | "
          f"{e['win_rate']:.2f} +- {e['win_ci95']:.2f} | {secs:.0f} |")
print(f"(best possible mean gold reward: {e['ideal_mean_gold']:.2f}; +- is the 95% interval)")
