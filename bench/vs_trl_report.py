#!/usr/bin/env python3
"""Collects what bench/vs_trl.sh left in its output folder (rto's metrics.jsonl and logs, the TRL
side's JSON files, the wall times) into medians over the rounds, prints a markdown table, and
writes every raw number to OUT/results.json.

    python3 bench/vs_trl_report.py OUT_DIR

Standard library only (it runs with any python3). It refuses, with a message and exit status 1,
to print a number that is missing, zero, negative or not finite, a run with fewer steps than
asked for, or an rto run that used another thread count than the one asked for.
"""

import glob
import json
import math
import os
import re
import statistics
import sys


def fail(message):
    print(f"vs_trl_report.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")


def read_jsonl(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")


def read_float(path):
    try:
        with open(path) as f:
            return positive(path, float(f.read().strip()))
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")


def positive(name, v):
    if v is None or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        fail(f"{name}: {v!r} is not a positive finite number")
    return float(v)


def check_threads(log, want):
    with open(log) as f:
        m = re.search(r"^threads: (\d+) intra-op$", f.read(), re.M)
    if not m:
        fail(f"{log}: rto did not report its thread count")
    if int(m.group(1)) != want:
        fail(f"{log}: rto ran {m.group(1)} intra-op threads, not {want}")


def rto_dpo(rd, meta):
    rows = read_jsonl(os.path.join(rd, "rto-dpo", "metrics.jsonl"))
    if len(rows) != meta["dpo_steps"]:
        fail(f"{rd}/rto-dpo: {len(rows)} steps logged, not {meta['dpo_steps']}")
    check_threads(os.path.join(rd, "rto-dpo.log"), meta["threads"])
    sec = [positive(f"{rd}/rto-dpo step {r['step']} step_seconds", r["step_seconds"]) for r in rows]
    return {
        "step_s_median": statistics.median(sec[meta["dpo_skip"] :]),
        "loop_s": sum(sec),
        "wall_s": read_float(os.path.join(rd, "rto-dpo.wall")),
        "tokens_per_step_mean": statistics.mean(r["tokens"] for r in rows),
        "final_loss": rows[-1]["loss"],
        "per_step_s": sec,
    }


def trl_run(rd, name, meta, steps_key, skip_key):
    r = read_json(os.path.join(rd, f"trl-{name}.json"))
    if r.get("steps") != meta[steps_key] or r.get("warmup_skipped") != meta[skip_key]:
        fail(f"{rd}/trl-{name}.json: {r.get('steps')} steps (skip {r.get('warmup_skipped')}), not {meta[steps_key]}")
    if r.get("threads") != meta["threads"]:
        fail(f"{rd}/trl-{name}.json: torch ran {r.get('threads')} threads, not {meta['threads']}")
    positive(f"{rd}/trl-{name} median", r["step_s_median"])
    r["wall_s"] = read_float(os.path.join(rd, f"trl-{name}.wall"))
    r["per_step_s"] = [s["seconds"] for s in r.pop("per_step")]
    return r


def rto_grpo(rd, meta):
    rows = read_jsonl(os.path.join(rd, "rto-grpo", "metrics.jsonl"))
    if len(rows) != meta["grpo_steps"]:
        fail(f"{rd}/rto-grpo: {len(rows)} steps logged, not {meta['grpo_steps']}")
    check_threads(os.path.join(rd, "rto-grpo.log"), meta["threads"])
    for r in rows:
        if r.get("samples") is None or "time/train_critic_s" in r:
            fail(f"{rd}/rto-grpo: step {r.get('step')} does not look like critic-free GRPO")
    sec = [positive(f"{rd}/rto-grpo step {r['step']} time/step_s", r["time/step_s"]) for r in rows]
    stages = {}
    for key in ("time/generate_s", "time/score_s", "time/policy_logprobs_s", "time/train_policy_s"):
        stages[key] = statistics.median(r[key] for r in rows[meta["grpo_skip"] :])
    return {
        "step_s_median": statistics.median(sec[meta["grpo_skip"] :]),
        "loop_s": sum(sec),
        "wall_s": read_float(os.path.join(rd, "rto-grpo.wall")),
        "completion_length_mean": statistics.mean(r["response/length"] for r in rows),
        "stage_medians_s": stages,
        "per_step_s": sec,
    }


LINE = re.compile(r"wrote (\d+) responses to .*: (\d+) new tokens in ([0-9.]+) s \(([0-9.]+) tokens/s\)")


def rto_generate(rd, name, meta, ignore_eos):
    with open(os.path.join(rd, f"rto-{name}.log")) as f:
        m = LINE.search(f.read())
    if not m:
        fail(f"{rd}/rto-{name}.log: no 'wrote N responses ...' line")
    n, tokens, seconds = int(m.group(1)), int(m.group(2)), float(m.group(3))
    rows = read_jsonl(os.path.join(rd, f"rto-{name}.jsonl"))
    counted = sum(len(r["response_ids"]) for r in rows)
    if n != meta["gen_prompts"] or len(rows) != n or counted != tokens:
        fail(f"{rd}/rto-{name}: {n} responses / {len(rows)} rows / {counted} tokens counted vs {tokens} reported")
    if ignore_eos and tokens != n * meta["gen_max_new_tokens"]:
        fail(f"{rd}/rto-{name}: {tokens} tokens with EOS ignored, not {n} x {meta['gen_max_new_tokens']}")
    # rto prints the seconds with 2 decimals but tokens/s from the exact time: use the latter.
    tps = positive(f"{rd}/rto-{name} tokens/s", float(m.group(4)))
    if abs(tokens / tps - seconds) > 0.006:
        fail(f"{rd}/rto-{name}.log: {tokens} tokens at {tps} tokens/s is not {seconds} s")
    return {
        "new_tokens": tokens,
        "seconds": tokens / tps,
        "tokens_per_s": tps,
        "stopped": sum(1 for r in rows if r["finish_reason"] == "stop"),
    }


def trl_generate(rd, name, meta):
    r = read_json(os.path.join(rd, f"trl-{name}.json"))
    if r.get("prompts") != meta["gen_prompts"] or r.get("batch_size") != meta["gen_batch"]:
        fail(f"{rd}/trl-{name}.json: {r.get('prompts')} prompts, batch {r.get('batch_size')}")
    if r.get("threads") != meta["threads"]:
        fail(f"{rd}/trl-{name}.json: torch ran {r.get('threads')} threads, not {meta['threads']}")
    positive(f"{rd}/trl-{name} tokens/s", r["tokens_per_s"])
    return r


def med(values, name):
    return positive(name, statistics.median(values))


def main():
    if len(sys.argv) != 2:
        fail("usage: vs_trl_report.py OUT_DIR")
    out = sys.argv[1]
    meta = read_json(os.path.join(out, "meta.json"))
    rounds_dirs = sorted(glob.glob(os.path.join(out, "round-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
    if len(rounds_dirs) != meta["rounds"]:
        fail(f"{out}: {len(rounds_dirs)} round folders, not {meta['rounds']}")

    rounds = []
    for rd in rounds_dirs:
        r = {
            "dpo": {"rto": rto_dpo(rd, meta), "trl": trl_run(rd, "dpo", meta, "dpo_steps", "dpo_skip")},
            "grpo": {"rto": rto_grpo(rd, meta), "trl": trl_run(rd, "grpo", meta, "grpo_steps", "grpo_skip")},
            "generate": {"rto": rto_generate(rd, "gen", meta, False), "trl": trl_generate(rd, "gen", meta)},
            "generate_ignore_eos": {
                "rto": rto_generate(rd, "gen-noeos", meta, True),
                "trl": trl_generate(rd, "gen-noeos", meta),
            },
            "startup": {
                "rto": {"wall_s": read_float(os.path.join(rd, "rto-startup.wall"))},
                "trl": {"wall_s": read_float(os.path.join(rd, "trl-startup.wall"))},
            },
        }
        rounds.append(r)

    def series(workload, side, key):
        return [r[workload][side][key] for r in rounds]

    # (label, workload, key, unit, higher_is_better)
    rows = [
        (f"DPO: s / optimizer step (median, steps {meta['dpo_skip'] + 1}..{meta['dpo_steps']})", "dpo", "step_s_median", "s", False),
        (f"DPO: loop total, {meta['dpo_steps']} steps (sum of step intervals)", "dpo", "loop_s", "s", False),
        ("DPO: process wall (start-up, tokenise, ref log-probs, loop, exit)", "dpo", "wall_s", "s", False),
        (f"GRPO: s / RL step (median, steps {meta['grpo_skip'] + 1}..{meta['grpo_steps']}; 64 completions)", "grpo", "step_s_median", "s", False),
        ("GRPO: process wall", "grpo", "wall_s", "s", False),
        (f"Generation: tokens/s ({meta['gen_prompts']} prompts, batch {meta['gen_batch']}, stop at EOS)", "generate", "tokens_per_s", "tok/s", True),
        (f"Generation: tokens/s, EOS ignored ({meta['gen_max_new_tokens']} tokens per prompt)", "generate_ignore_eos", "tokens_per_s", "tok/s", True),
        ("Start-up: `rto model inspect` vs `import trl` + load the model", "startup", "wall_s", "s", False),
    ]
    medians = {}
    table = ["| workload | rto | TRL | TRL/rto (speed-up of rto) |", "| --- | ---: | ---: | ---: |"]
    for label, w, key, unit, higher in rows:
        a = med(series(w, "rto", key), f"{w} rto {key}")
        b = med(series(w, "trl", key), f"{w} trl {key}")
        speedup = a / b if higher else b / a
        medians[f"{w}.{key}"] = {"rto": a, "trl": b, "speedup_of_rto": speedup, "unit": unit}

        def fmt(v):
            if unit == "tok/s":
                return f"{v:,.0f} tok/s"
            return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"

        table.append(f"| {label} | {fmt(a)} | {fmt(b)} | {speedup:.2f}x |")

    # Same work? Shown, not hidden.
    work = {
        "dpo_response_tokens_per_step": {
            "rto": statistics.median(series("dpo", "rto", "tokens_per_step_mean")),
            "trl": statistics.median(series("dpo", "trl", "tokens_per_step_mean")),
        },
        "dpo_final_loss": {
            "rto": statistics.median(series("dpo", "rto", "final_loss")),
            "trl": statistics.median([x for x in series("dpo", "trl", "final_loss") if x is not None] or [float("nan")]),
        },
        "grpo_completion_length_mean": {
            "rto": statistics.median(series("grpo", "rto", "completion_length_mean")),
            "trl": statistics.median(series("grpo", "trl", "completion_length_mean")),
        },
        "generate_new_tokens": {
            "rto": statistics.median(series("generate", "rto", "new_tokens")),
            "trl": statistics.median(series("generate", "trl", "new_tokens")),
            "trl_positions_computed": statistics.median(series("generate", "trl", "computed_positions")),
        },
        "trl_trainer_interval_s_median": {
            "dpo": statistics.median(series("dpo", "trl", "trainer_step_s_median")),
            "grpo": statistics.median(series("grpo", "trl", "trainer_step_s_median")),
        },
        "rto_grpo_stage_medians_s": rounds[-1]["grpo"]["rto"]["stage_medians_s"],
    }
    notes = [
        f"Medians over {meta['rounds']} interleaved round(s) (odd rounds rto first, even rounds TRL first), "
        f"{meta['threads']} intra-op thread(s) and 1 inter-op thread on both sides"
        + (" - QUICK mode: shortened workloads, for validation only" if meta["quick"] else "") + ".",
        "DPO intervals: rto = Trainer::Run's step (rows, padded batch, forward, loss, backward, clip, AdamW, zero_grad); "
        "TRL = from get_batch_samples (dataloader + collator) to on_step_end (training_step, clip, optimizer, "
        "scheduler, zero_grad). Logging is outside both. TRL's own on_step_begin..on_step_end median: "
        f"{work['trl_trainer_interval_s_median']['dpo'] * 1000:.1f} ms.",
        "DPO batches: same 16 pairs per step, but each side draws its own seeded order; "
        f"response tokens per step, mean: rto {work['dpo_response_tokens_per_step']['rto']:.0f}, "
        f"TRL {work['dpo_response_tokens_per_step']['trl']:.0f}. Final loss: rto {work['dpo_final_loss']['rto']:.4f}, "
        f"TRL {work['dpo_final_loss']['trl']:.4f}.",
        "TRL's AdamW is torch's fused one (transformers' default optim adamw_torch_fused); rto has its own AdamW.",
        "GRPO intervals: rto = Coordinator::Step (generate, RM + reference log-probs, policy log-probs, advantages, "
        "update); TRL = get_batch_samples to on_step_end (generate, reference log-probs, RM, advantages, "
        "forward/backward, optimizer). rto does one more policy forward than TRL (the behaviour log-probs, "
        "time/policy_logprobs_s), which TRL skips when num_iterations = 1. "
        "KL: rto puts it in the per-token reward, TRL (beta 0.1) in the loss; both compute reference log-probs.",
        "GRPO completions differ by sampling: mean length rto "
        f"{work['grpo_completion_length_mean']['rto']:.1f}, TRL {work['grpo_completion_length_mean']['trl']:.1f} tokens. "
        "TRL's generate keeps finished rows in the batch; rto drops them. TRL scores the RM on decoded text without "
        "the EOS; rto on the ids with it.",
        "Generation: both count real tokens up to and including EOS and time only the generation loop. "
        "transformers keeps finished rows in the batch until all finish: it computed "
        f"{work['generate_new_tokens']['trl_positions_computed']:.0f} positions for "
        f"{work['generate_new_tokens']['trl']:.0f} real tokens (rto {work['generate_new_tokens']['rto']:.0f}, "
        "finished rows leave its batch). The EOS-ignored row has both sides compute exactly the same count "
        "(rto --stop-token-ids= empty list; transformers eos_token_id None).",
        "Walls are measured from outside each process; the TRL walls include importing torch/transformers/TRL. "
        "rto's DPO wall includes writing its final model and one checkpoint; TRL saves nothing.",
        "The token ids agreed: rto's own prompt ids = the Python tokenizer's (identical generations), TRL's DPO "
        "ids = rto's (per pair, and total response tokens), TRL's GRPO prompt ids = rto's.",
    ]
    # Other processes on the machine during each timed command (bench/vs_trl.sh's run_timed):
    # busy CPU seconds of the whole machine minus those of the benchmark's own processes.
    contention = {}
    for rd in rounds_dirs:
        for path in sorted(glob.glob(os.path.join(rd, "*.wall.other"))):
            name = f"{os.path.basename(rd)}/{os.path.basename(path)[: -len('.wall.other')]}"
            with open(path) as f:
                other = max(0.0, float(f.read().strip()))
            wall = read_float(path[: -len(".other")])
            contention[name] = {"other_cpu_s": other, "wall_s": wall, "cores_taken": other / wall}
    worst = max(contention.items(), key=lambda kv: kv[1]["cores_taken"])
    contention_line = (
        f"Other processes during the timed commands: at most {worst[1]['cores_taken']:.2f} of "
        f"{meta['threads']} core(s) on average ({worst[0]}), {sum(c['other_cpu_s'] for c in contention.values()):.1f} "
        "CPU s in all."
    )
    if worst[1]["cores_taken"] > 0.1:
        contention_line = (
            "WARNING: the machine was not idle: " + contention_line + " Oversubscribed OpenMP pools slow "
            "torch and rto by up to 10x or more; rerun on an idle machine before trusting the ratios."
        )
    versions = meta["versions"]
    text = "\n".join(
        [
            "## rto vs TRL (CPU)",
            "",
            *table,
            "",
            f"Load average before: {meta['loadavg_before']}; after: {meta.get('loadavg_after', '?')}",
            contention_line,
            f"Versions: rto {versions['rto']}; torch {versions['torch']}, transformers {versions['transformers']}, "
            f"trl {versions['trl']}, accelerate {versions['accelerate']}, datasets {versions['datasets']}, "
            f"python {versions['python']}",
            "",
            "Notes:",
            *[f"- {n}" for n in notes],
        ]
    )
    print(text)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(text + "\n")
    results = {
        "meta": meta,
        "medians": medians,
        "same_work": work,
        "notes": notes,
        "contention": contention,
        "rounds": rounds,
    }
    tmp = os.path.join(out, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, os.path.join(out, "results.json"))
    print(f"\nraw numbers: {os.path.join(out, 'results.json')}")


if __name__ == "__main__":
    main()
