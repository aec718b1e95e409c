"""The learning study (bench/learning.sh runs it): every method tuned the same way, then trained
to 4x the budget on seeds the tuning never saw, all through `rto launch`.

Phases, each resumable (a finished cell is kept and skipped on the next run):
  search    for every method, each of its 4 grid configurations (SEARCH) on every task at the
            search seed, 60 steps (3840 sampled responses), scored on the validation prompts by the
            gold reward. A configuration's score: the fraction of the gap from SFT to the best
            possible answer that it closes, averaged over the tasks. A 2-level grid's best lies on
            an edge of every factor, so each method then tries 2 more: its grid best with the KL
            coefficient, and with the learning rate, one step past that edge (beyond()). The best
            of the 6 is the method's choice.
  final     every method with its choice on every task and evaluation seed, 240 steps (4x), the
            eval prompts answered every 30 steps: 1x is step 60, 4x step 240.
  variants  RTO with its choice and one change each (VARIANTS: the policy initialised from the DPO
            model, the KL reference, a schedule of the DPO reward's scale) on the token-sum tasks
            and the evaluation seeds, as in final: what makes RTO reach the DPO model's level sooner.
  report    search.csv, chosen.json, curves.csv, final.csv, summary.md and curves.svg.
Each phase first makes the models of its task-seed pairs (once): rto synth, SFT, RM and DPO
(scripts/pipeline.sh --models-only), and the SFT and DPO models' answers to the validation and
eval prompts. A run's directory names its configuration, so a changed choice reruns it.

Usage: python3 bench/learning_study.py ROOT [--phases search,final,variants,report] [--tasks a,b]
       [--methods a,b] [--seeds 0,1,2] [--search-seed 10]
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

RTO = os.environ.get("RTO", "build/services/rto/rto")
CONFIG = os.environ.get("RTO_CONFIG", "configs/rto.yaml")  # every setting the study varies is set explicitly
TASKS = ["lexicon", "count", "cipher", "add", "exact_length", "sum_to"]
TOKEN_SUM_TASKS = {"lexicon", "count", "cipher", "add"}  # the gold is a sum of per-token terms
# method -> its advantage estimator, and whether it has the DPO token reward.
METHODS = {
    "ppo": {"estimator": "gae", "dense": False},
    "rto": {"estimator": "gae", "dense": True},
    "grpo": {"estimator": "grpo", "dense": False},
    "grpo+dpo": {"estimator": "grpo", "dense": True},
    "rloo": {"estimator": "rloo", "dense": False},
    "rloo+dpo": {"estimator": "rloo", "dense": True},
}
# Four grid configurations per method (then 2 past the best one's edges, beyond()). Without the
# DPO token reward: the full 2x2 grid of the KL coefficient and the actor's learning rate. With
# it, the DPO reward scale (= its clip) is a third factor, and the four are the half of the 2x2x2
# grid in which every factor's levels meet every other factor's levels once (a 2^(3-1) fractional
# factorial design), so each method tries the same number of configurations and the same levels
# of the factors it shares.
KL = (0.05, 0.2)
LR = (1e-4, 2e-4)
SCALE = (0.1, 0.3)
SEARCH = {
    False: [(kl, lr, 0.0) for kl in KL for lr in LR],
    True: [(KL[0], LR[0], SCALE[0]), (KL[0], LR[1], SCALE[1]), (KL[1], LR[0], SCALE[1]), (KL[1], LR[1], SCALE[0])],
}


def beyond(config):
    """The 2 configurations one step past a grid configuration's edges: the KL coefficient, and
    then the learning rate, doubled if it is the grid's upper level or halved if the lower one;
    the other factors as they are."""
    kl, lr, scale = config
    return [(kl * 2 if kl == max(KL) else kl / 2, lr, scale), (kl, lr * 2 if lr == max(LR) else lr / 2, scale)]


SEARCH_STEPS, FINAL_STEPS, FINAL_EVAL_EVERY = 60, 240, 30
# RTO variants: name -> overrides given the run's model dir d and RTO's chosen scale c.
VARIANTS = {
    # Start where DPO ends, keep near it (the KL reference is the initial policy), and reward
    # the DPO model's log-ratio to SFT.
    "init-dpo": lambda d, c: [f"models.policy={d}/dpo/final", f"models.dpo_reference={d}/sft/final"],
    # The same start, but the KL penalty pulls towards SFT as in a run from SFT.
    "init-dpo-kl-sft": lambda d, c: [f"models.policy={d}/dpo/final", f"models.reference={d}/sft/final",
                                     f"models.dpo_reference={d}/sft/final"],
    # From SFT, with the KL penalty towards the DPO model instead of SFT.
    "kl-to-dpo": lambda d, c: [f"models.reference={d}/dpo/final", f"models.dpo_reference={d}/sft/final"],
    # From SFT, the dense reward twice as strong at first and fading to nothing by the end.
    "scale-decay": lambda d, c: [f"reward.dpo_reward_scale={2 * c}", f"reward.dpo_reward_clip={2 * c}",
                                 "reward.dpo_reward_scale_end=0"],
}
SAMPLES_PER_STEP = 16 * 4  # rollout.prompts_per_step x samples_per_prompt of configs/rto.yaml
# Every binary the study runs does its arithmetic the same way on any x86-64 CPU with AVX2, Intel
# or AMD. Left alone, ATen's vectorised kernels, MKL and oneDNN each pick the widest instructions
# this CPU has (AVX-512, AMX), whose sums round differently, and the study's numbers differ
# between machines from the second digit on (seen, unpinned: search seed 10's DPO model closes
# 0.127 of lexicon's gap on one CPU and -0.04 on another). ATEN_CPU_CAPABILITY and
# ONEDNN_MAX_CPU_ISA cap the first and the last at AVX2. MKL's COMPATIBLE branch computes the same
# on Intel and other CPUs; its AVX2 branch is Intel's only (on an AMD CPU MKL then runs its AUTO
# branch, and exp, log and sqrt came out otherwise than on an emulated Intel Haswell). MKL's float
# sqrt differs even in COMPATIBLE on an AMD EPYC with AVX-512, so AdamW takes its root with
# IeeeSqrt (common/train/optimizer.h). Checked with scripts/check_isa_pin.sh: SFT steps give the
# same weights, bitwise, on an AMD EPYC natively, an emulated Intel Haswell and an emulated AMD
# EPYC-Rome. A root made under another pin is refused (pin_arithmetic), and models() stops where a
# pair's models, made again, score otherwise.
PINNED_ISA = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, log_path):
    """Runs a command with its output in log_path; on failure prints the log's end and exits."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "w") as f:
        rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
    if rc != 0:
        tail = open(log_path).read().splitlines()[-20:]
        sys.exit(f"failed (exit {rc}): {' '.join(cmd)}\nthe end of {log_path}:\n" + "\n".join(tail))


def evaluate(task_dir, samples, baseline, out):
    run([RTO, "eval", "--task-dir", task_dir, "--samples", samples, "--baseline", baseline, "--out", out],
        out + ".log")
    return json.load(open(out))


LEVELS = [f"{m}-{split}.gold.json" for split in ["val", "eval"] for m in ["sft", "dpo"]]


def models(root, task, seed, weights=False):
    """SFT, RM and DPO for one task and seed; the SFT and DPO models' answers to both prompt sets
    and their gold scores (LEVELS). With weights=False, scores restored from an archive
    (bench/learning_archive.py) without the models are enough. Models made again where scores
    were restored must score the same (the study is deterministic), or the study stops."""
    d = f"{root}/models/{task}-{seed}"
    restored = {f: json.load(open(f"{d}/{f}")) for f in LEVELS if os.path.exists(f"{d}/{f}")}
    if len(restored) == len(LEVELS) and (not weights or os.path.isdir(f"{d}/dpo/final")):
        return d
    log(f"models {task} seed {seed}")
    t0 = time.time()
    run(["scripts/pipeline.sh", task, str(seed), d, "--models-only"], f"{root}/logs/models-{task}-{seed}.log")
    for split in ["val", "eval"]:
        for m in ["sft", "dpo"]:
            run([RTO, "generate", "--model", f"{d}/{m}/final", "--prompts", f"{d}/task/{split}_prompts.jsonl",
                 "--out", f"{d}/{m}-{split}.jsonl", "--temperature", "1.0", "--max-new-tokens", "64",
                 "--seed", str(seed)], f"{d}/logs/generate-{m}-{split}.log")
            evaluate(f"{d}/task", f"{d}/{m}-{split}.jsonl", f"{d}/sft-{split}.jsonl", f"{d}/{m}-{split}.gold.json")
    for f, before in restored.items():
        now = json.load(open(f"{d}/{f}"))
        if now["mean_gold"] != before["mean_gold"]:
            made_on = "; ".join(sorted({m["cpu"] for m in json.load(open(f"{root}/platform.json"))["machines"]}))
            sys.exit(f"{d}/{f}: made again, the mean gold is {now['mean_gold']!r}, the restored results say "
                     f"{before['mean_gold']!r}: this machine ({cpu_model()}) does not reproduce them (the root's "
                     f"machines: {made_on}; see PINNED_ISA); use another root")
    json.dump({"wall_s": time.time() - t0}, open(f"{d}/wall.json", "w"))
    return d


def launch(model_dir, out, method, config, seed, steps, eval_every, prompts, extra=()):
    """One RL run of `method` with config (kl, lr, scale) through `rto launch`; `extra`: more
    key=value overrides, applied last."""
    kl, lr, scale = config
    shutil.rmtree(out, ignore_errors=True)  # what an interrupted run left
    cmd = [RTO, "launch", "--config", CONFIG,
           "--set", f"models.policy={model_dir}/sft/final", "--set", f"models.dpo={model_dir}/dpo/final",
           "--set", f"models.reward={model_dir}/rm/final", "--set", f"prompts={model_dir}/task/rl_prompts.jsonl",
           "--set", f"eval_prompts={model_dir}/task/{prompts}_prompts.jsonl", "--set", f"steps={steps}",
           "--set", f"seed={seed}", "--set", "checkpoint.every=100000", "--set", f"eval.every={eval_every}",
           "--set", f"out={out}", "--set", f"advantage.estimator={METHODS[method]['estimator']}",
           "--set", f"kl.coef={kl}", "--set", f"actor.lr={lr}",
           "--set", f"reward.dpo_reward_scale={scale}", "--set", f"reward.dpo_reward_clip={scale if scale else 0.2}"]
    for kv in extra:
        cmd += ["--set", kv]
    run(cmd, f"{out}.log")


def snapshots(out, model_dir, split):
    """Scores every evaluation snapshot of a run: {step: eval json}. A snapshot already scored
    needs no answers (an archive holds the scores only)."""
    result = {}
    for f in glob.glob(f"{out}/samples/step-*.jsonl") + glob.glob(f"{out}/samples/step-*.eval.json"):
        step = int(re.search(r"step-(\d+)\.", f).group(1))
        e = f if f.endswith(".eval.json") else f[: -len(".jsonl")] + ".eval.json"
        if step not in result:
            result[step] = json.load(open(e)) if os.path.exists(e) else evaluate(
                f"{model_dir}/task", f, f"{model_dir}/sft-{split}.jsonl", e)
    return dict(sorted(result.items()))


def train_and_score(out, model_dir, split, train):
    """Runs train() unless the run in `out` is finished, then scores its snapshots ({step: eval
    json}); a new run's wall time, training and scoring, goes to out/wall.json."""
    if os.path.exists(f"{out}/summary.json"):
        return snapshots(out, model_dir, split)
    t0 = time.time()
    train()
    result = snapshots(out, model_dir, split)
    json.dump({"wall_s": time.time() - t0}, open(f"{out}/wall.json", "w"))
    return result


def chosen_config(chosen, method):
    c = chosen[method]
    return c["kl_coef"], c["actor_lr"], c["dpo_reward_scale"]


def config_name(config):
    kl, lr, scale = config
    return f"kl{kl:g}-lr{lr:g}" + (f"-c{scale:g}" if scale else "")


def search(root, tasks, methods, search_seed):
    for task in tasks:
        models(root, task, search_seed)
    rows, chosen = [], {}  # rows: (stage, method, config, task, gold, sft gold, ideal gold, gap closed)

    def score(method, configs, stage):
        """Runs each configuration on every task; {config: mean gap closed over the tasks}."""
        scores = {}
        for config in configs:
            gaps = []
            for task in tasks:
                d = f"{root}/models/{task}-{search_seed}"
                out = f"{root}/search/{method}/{config_name(config)}/{task}"
                def train():
                    log(f"search {stage} {method} {config_name(config)} {task}")
                    models(root, task, search_seed, weights=True)
                    launch(d, out, method, config, search_seed, SEARCH_STEPS, SEARCH_STEPS, "val")
                gold = train_and_score(out, d, "val", train)[SEARCH_STEPS]["mean_gold"]
                sft = json.load(open(f"{d}/sft-val.gold.json"))
                closed = (gold - sft["mean_gold"]) / (sft["ideal_mean_gold"] - sft["mean_gold"])
                rows.append((stage, method, config, task, gold, sft["mean_gold"], sft["ideal_mean_gold"], closed))
                gaps.append(closed)
            scores[config] = statistics.mean(gaps)
        return scores

    for method in methods:
        grid = score(method, SEARCH[METHODS[method]["dense"]], "grid")
        past = score(method, beyond(max(grid, key=grid.get)), "beyond")
        scores = {**grid, **past}
        best = max(scores, key=scores.get)
        chosen[method] = {"kl_coef": best[0], "actor_lr": best[1], "dpo_reward_scale": best[2],
                          "mean_gap_closed": scores[best],
                          "grid": {config_name(c): s for c, s in grid.items()},
                          "beyond": {config_name(c): s for c, s in past.items()}}
    with open(f"{root}/search.csv", "w") as f:
        f.write("stage,method,config,kl_coef,actor_lr,dpo_reward_scale,task,val_gold,sft_val_gold,ideal_val_gold,"
                "gap_closed\n")
        for stage, method, config, task, gold, sft, ideal, closed in rows:
            f.write(f"{stage},{method},{config_name(config)},{config[0]},{config[1]},{config[2]},{task},{gold:.4f},"
                    f"{sft:.4f},{ideal:.4f},{closed:.4f}\n")
    json.dump(chosen, open(f"{root}/chosen.json", "w"), indent=2)
    # The DPO model's own score on the same validation prompts, for reference.
    dpo = {}
    for task in tasks:
        sft, d = (json.load(open(f"{root}/models/{task}-{search_seed}/{m}-val.gold.json")) for m in ["sft", "dpo"])
        dpo[task] = (d["mean_gold"] - sft["mean_gold"]) / (sft["ideal_mean_gold"] - sft["mean_gold"])
    json.dump({"search_seed": search_seed, "dpo_gap_closed": dpo, "dpo_mean_gap_closed": statistics.mean(dpo.values())},
              open(f"{root}/search_reference.json", "w"), indent=2)
    return chosen


def final(root, tasks, methods, seeds, chosen):
    for task in tasks:
        for seed in seeds:
            models(root, task, seed)
    for method in methods:
        config = chosen_config(chosen, method)
        for task in tasks:
            for seed in seeds:
                d = f"{root}/models/{task}-{seed}"
                out = f"{root}/final/{method}/{config_name(config)}/{task}-{seed}"
                def train():
                    log(f"final {method} {config_name(config)} {task} seed {seed}")
                    models(root, task, seed, weights=True)
                    launch(d, out, method, config, seed, FINAL_STEPS, FINAL_EVAL_EVERY, "eval")
                train_and_score(out, d, "eval", train)


def variants(root, tasks, seeds, chosen, names):
    config = chosen_config(chosen, "rto")
    for name in names:
        for task in [t for t in tasks if t in TOKEN_SUM_TASKS]:
            for seed in seeds:
                d = models(root, task, seed)
                out = f"{root}/variants/{name}/{config_name(config)}/{task}-{seed}"
                def train():
                    log(f"variant {name} {task} seed {seed}")
                    models(root, task, seed, weights=True)
                    launch(d, out, "rto", config, seed, FINAL_STEPS, FINAL_EVAL_EVERY, "eval", VARIANTS[name](d, config[2]))
                train_and_score(out, d, "eval", train)


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def pin_arithmetic(root):
    """Pins PINNED_ISA for this process and its children, and records in ROOT/platform.json the
    pin (a root made under another pin is refused: its runs would not be comparable) and every
    machine that worked on the root, with its time."""
    path = f"{root}/platform.json"
    platform = json.load(open(path)) if os.path.exists(path) else {"pinned": PINNED_ISA, "machines": []}
    if platform["pinned"] != PINNED_ISA:
        sys.exit(f"{path}: its runs were made with {platform['pinned']}, this study pins {PINNED_ISA}; "
                 "use another root or remove this one")
    os.environ.update(PINNED_ISA)
    platform["machines"].append({"cpu": cpu_model(), "cores": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M")})
    os.makedirs(root, exist_ok=True)
    json.dump(platform, open(path, "w"), indent=2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--phases", default="search,final,variants,report")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--search-seed", type=int, default=10)
    p.add_argument("--variants", default=",".join(VARIANTS))
    a = p.parse_args()
    tasks, methods = a.tasks.split(","), a.methods.split(",")
    seeds = [int(s) for s in a.seeds.split(",")]
    phases = a.phases.split(",")
    pin_arithmetic(a.root)
    if "search" in phases:
        chosen = search(a.root, tasks, methods, a.search_seed)
        log("chosen: " + json.dumps({m: config_name(chosen_config(chosen, m)) for m in chosen}))
    if "final" in phases:
        final(a.root, tasks, methods, seeds, json.load(open(f"{a.root}/chosen.json")))
    if "variants" in phases:
        variants(a.root, tasks, seeds, json.load(open(f"{a.root}/chosen.json")), a.variants.split(","))
    if "report" in phases:
        subprocess.check_call([sys.executable, "bench/learning_report.py", a.root])


if __name__ == "__main__":
    main()
