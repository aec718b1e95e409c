#!/usr/bin/env python3
"""bench/learning_archive.py: a study's results survive save and restore as the study and its
report read them. A small study root is made by hand (two methods, one task, one seed, every
snapshot of the final runs, the search's files), so the test needs no models and runs in seconds.

Checks: the archive leaves out what it must (answers, weights, a run in progress); saving the
same results twice gives the same bytes; bench/learning_report.py writes the same summary.md,
final.csv and curves.csv from the restored root as from the original; learning_study treats a
restored run as finished (its snapshots without answers) and a restored model pair as scored
without making its models; restore refuses a root that already holds a study, and an archive
member that would land outside the root.

    learning_archive_test.py SOURCE_DIR"""
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

src = sys.argv[1]
sys.path.insert(0, f"{src}/bench")
import learning_study as study  # noqa: E402

ARCHIVE = f"{src}/bench/learning_archive.py"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))


def make_root(root):
    """A finished study of PPO and RTO on lexicon, seed 0 (gold rising with the step), and one
    RTO variant run still in progress."""
    write(f"{root}/platform.json", {"pinned": study.PINNED_ISA, "machines": [{"cpu": "x", "cores": 2, "started": "t"}]})
    chosen = {}
    for m, (kl, lr, c) in {"ppo": (0.2, 4e-4, 0.0), "rto": (0.2, 1e-4, 0.3)}.items():
        chosen[m] = {"kl_coef": kl, "actor_lr": lr, "dpo_reward_scale": c, "mean_gap_closed": 0.1,
                     "grid": {"a": 0.1}, "beyond": {"b": 0.05}}
    write(f"{root}/chosen.json", chosen)
    write(f"{root}/search.csv", "stage,method\ngrid,ppo\n")
    write(f"{root}/search_reference.json", {"search_seed": 10, "dpo_gap_closed": {"lexicon": 0.3},
                                            "dpo_mean_gap_closed": 0.3})
    d = f"{root}/models/lexicon-0"
    for i, f in enumerate(study.LEVELS):
        write(f"{d}/{f}", {"mean_gold": 1.0 + i / 8, "win_rate": 0.5, "ideal_mean_gold": 8.0})
    write(f"{d}/wall.json", {"wall_s": 70.0})
    write(f"{d}/sft-eval.jsonl", "{}\n")  # answers: left out
    write(f"{d}/dpo/final/model.safetensors", "weights")  # weights: left out
    for m, base in [("ppo", 1.5), ("rto", 2.5)]:
        run = f"{root}/final/{m}/{study.config_name(study.chosen_config(chosen, m))}/lexicon-0"
        for step in range(0, study.FINAL_STEPS + 1, study.FINAL_EVAL_EVERY):
            write(f"{run}/samples/step-{step:06d}.jsonl", "{}\n")
            write(f"{run}/samples/step-{step:06d}.eval.json",
                  {"mean_gold": base + step / 100, "win_rate": 0.5 + step / 1000})
        write(f"{run}/summary.json", {"steps": study.FINAL_STEPS})
        write(f"{run}/wall.json", {"wall_s": 50.0})
    busy = f"{root}/variants/init-dpo/{study.config_name(study.chosen_config(chosen, 'rto'))}/lexicon-0"
    write(f"{busy}/samples/step-000000.eval.json", {"mean_gold": 1.0, "win_rate": 0.5})


def report(root):
    subprocess.run([sys.executable, f"{src}/bench/learning_report.py", root], check=True, cwd=src,
                   stdout=subprocess.DEVNULL)
    return {f: open(f"{root}/{f}").read() for f in ["summary.md", "final.csv", "curves.csv"]}


with tempfile.TemporaryDirectory() as tmp:
    root, copy = f"{tmp}/study", f"{tmp}/restored"
    make_root(root)
    subprocess.run([sys.executable, ARCHIVE, "save", root, f"{tmp}/a.tar.xz"], check=True)
    for dirpath, _, files in os.walk(root):  # the same results written at another time
        for f in files:
            os.utime(f"{dirpath}/{f}", (1e9, 1e9))
    subprocess.run([sys.executable, ARCHIVE, "save", root, f"{tmp}/b.tar.xz"], check=True)
    check(open(f"{tmp}/a.tar.xz", "rb").read() == open(f"{tmp}/b.tar.xz", "rb").read(),
          "saving the same results twice gives the same bytes")
    names = tarfile.open(f"{tmp}/a.tar.xz").getnames()
    check(not any(n.endswith(".jsonl") or "safetensors" in n for n in names), f"no answers or weights: {names}")
    check(not any(n.startswith("variants/") for n in names), "a run in progress is left out")
    check(sum(n.endswith(".eval.json") for n in names) == 2 * 9, "every scored snapshot of both runs is kept")

    subprocess.run([sys.executable, ARCHIVE, "restore", f"{tmp}/a.tar.xz", copy], check=True)
    before = report(root)
    after = report(copy)
    for f in before:
        check(before[f] == after[f], f"{f} from the restored root equals the original's")
    check("RTO >= PPO at 8 of 8 snapshots" in after["summary.md"], "the report reads the restored runs")

    # The study sees a restored run as finished and scores it without answers, and a restored
    # pair as scored, without making models (models() would run scripts/pipeline.sh and fail here).
    run = f"{copy}/final/rto/kl0.2-lr0.0001-c0.3/lexicon-0"
    scores = study.train_and_score(run, f"{copy}/models/lexicon-0", "eval",
                                   lambda: failures.append("a restored run was trained again"))
    check(sorted(scores) == list(range(0, 241, 30)) and abs(scores[240]["mean_gold"] - 4.9) < 1e-9,
          f"a restored run's snapshots: {scores.get(240)}")
    check(study.models(copy, "lexicon", 0) == f"{copy}/models/lexicon-0", "a restored pair needs no models")

    r = subprocess.run([sys.executable, ARCHIVE, "restore", f"{tmp}/a.tar.xz", copy], capture_output=True, text=True)
    check(r.returncode != 0 and "already holds a study" in r.stderr, f"restore into a study refused: {r.stderr}")
    with tarfile.open(f"{tmp}/evil.tar.xz", "w:xz") as tar:
        info = tarfile.TarInfo("../outside.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    r = subprocess.run([sys.executable, ARCHIVE, "restore", f"{tmp}/evil.tar.xz", f"{tmp}/e"], capture_output=True,
                       text=True)
    check(r.returncode != 0 and "'../outside.json' is not a plain file inside the root" in r.stderr
          and not os.path.exists(f"{tmp}/outside.json"), f"a member outside the root refused: {r.stderr}")

print("learning_archive_test: " + ("FAILED" if failures else "ok"))
sys.exit(1 if failures else 0)
