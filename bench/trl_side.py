#!/usr/bin/env python3
"""The Hugging Face side of bench/vs_trl.sh: TRL's DPOTrainer and GRPOTrainer and transformers'
`generate`, configured like rto's configs/dpo.yaml and configs/rto.yaml, on the same models,
data and token ids.

Run by bench/vs_trl.sh inside .deps/bench-venv (torch 2.15.0, transformers 5.24.0, trl 1.16.0);
not meant to be run by hand, but it can be:

    python bench/trl_side.py check-ids --model M --preferences P --rl-prompts R --eval-prompts E --out-dir D
    python bench/trl_side.py compare-generations A.jsonl B.jsonl
    python bench/trl_side.py dpo --model M --data P --steps N --out OUT.json
    python bench/trl_side.py grpo --model M --reward-model RM --prompts R --steps N --out OUT.json
    python bench/trl_side.py generate --model M --prompts E --batch-size B --max-new-tokens 64 [--ignore-eos] --out OUT.json
    python bench/trl_side.py startup --model M --out OUT.json

Every subcommand writes one JSON object to --out and exits non-zero, with a message, on anything
that would make its numbers wrong (token ids that differ from rto's, a thread count other than
the one asked for, a step that did not run).

The thread count: `--threads N` (bench/vs_trl.sh passes the one rto uses) is applied before any
tensor work, with one inter-op thread as rto's thread plan does (common/runtime/threads.h).
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

PROCESS_START = time.perf_counter()


def fail(message):
    print(f"trl_side.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def setup_torch(threads):
    import torch

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) != "":
        fail('CUDA_VISIBLE_DEVICES must be set to "" (the benchmark runs torch on the CPU, as rto runs here)')
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    if torch.get_num_threads() != threads:
        fail(f"torch runs {torch.get_num_threads()} intra-op threads, not the {threads} asked for")
    return torch


def load_tokenizer(model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    if not tok.chat_template:
        # rto falls back to a plain template when a tokenizer has none; this benchmark only knows
        # the case of the quickstart models, which carry one.
        fail(f"{model_dir}: the tokenizer has no chat_template; this benchmark expects one")
    if tok.eos_token_id is None:
        fail(f"{model_dir}: the tokenizer has no EOS token")
    return tok


def render(tok, prompt):
    """rto's rendering of a prompt string: one user message, with the generation prompt."""
    return tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)


def encode(tok, text):
    # rto encodes rendered prompts with add_special_tokens=false (the template writes its own
    # control tokens) and responses with add_special_tokens=false, then appends EOS.
    return tok(text, add_special_tokens=False)["input_ids"]


def median_after(values, skip):
    kept = values[skip:]
    if not kept:
        fail(f"only {len(values)} steps ran; at least {skip + 1} are needed to skip {skip} as warm-up")
    return statistics.median(kept)


def finite_positive(name, value):
    if value is None or not math.isfinite(value) or value <= 0:
        fail(f"{name} is {value}, not a positive number")
    return value


# --------------------------------------------------------------------------------------------
# Step timing. transformers 5.24's Trainer._run_epoch (trainer.py) does, per optimizer step:
#     batch_samples = self.get_batch_samples(epoch_iterator, ...)   # dataloader: sample, collate
#     on_step_begin
#     training_step(...)      # _prepare_inputs, compute_loss (forward, loss), backward
#     clip grad norm; on_pre_optimizer_step; optimizer.step(); on_optimizer_step
#     lr_scheduler.step(); model.zero_grad(); global_step += 1
#     on_step_end
#     _maybe_log_save_evaluate(...)   # logging / saving / evaluation (all off or rare here)
# rto's Trainer::Run (common/train/trainer.cc) times, per step: picking the rows, building the
# padded batch, forward, loss, backward, clip, the lr, AdamW, zero_grad; then it logs, outside.
# So that both intervals cover the same work, the TRL interval here starts when
# get_batch_samples is entered (the batch assembly rto includes) and ends at on_step_end; the
# Trainer's own on_step_begin..on_step_end (no batch assembly) is kept too, as trainer_seconds.
# Logging after on_step_end is outside both intervals, as rto's LogStep is outside its own.
# --------------------------------------------------------------------------------------------
def make_step_timer(torch, threads):
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.fetch_start = None
            self.begin = None
            self.last_batch = None
            self.steps = []
            self.on_end = None  # optional hook(step_row), after the clock is read

        def instrument(self, trainer):
            original = trainer.get_batch_samples

            def timed_get_batch_samples(*args, **kwargs):
                self.fetch_start = time.perf_counter()
                out = original(*args, **kwargs)
                self.last_batch = out[0]
                return out

            trainer.get_batch_samples = timed_get_batch_samples

        def on_step_begin(self, args, state, control, **kwargs):
            self.begin = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            end = time.perf_counter()
            if self.fetch_start is None or self.begin is None:
                fail("the step timer missed the start of a step (get_batch_samples was not called)")
            row = {
                "step": state.global_step,
                "seconds": end - self.fetch_start,
                "trainer_seconds": end - self.begin,
            }
            if torch.get_num_threads() != threads:
                fail(f"torch switched to {torch.get_num_threads()} threads during training (asked for {threads})")
            model = kwargs.get("model")
            if model is None or getattr(model, "is_activation_checkpointing", False) or args.activation_checkpointing:
                fail("activation (gradient) checkpointing is on: rto keeps its activations")
            if self.on_end is not None:
                self.on_end(row)
            self.steps.append(row)
            self.fetch_start = self.begin = None

    return StepTimer()


def common_training_args(out_dir, steps, seed):
    """TrainingArguments shared by both trainers: CPU, fp32, no checkpointing, no saving/eval."""
    return dict(
        output_dir=out_dir,
        max_steps=steps,
        gradient_accumulation_steps=1,
        max_grad_norm=1.0,
        weight_decay=0.0,
        seed=seed,
        data_seed=seed,
        bf16=False,  # TRL defaults to bf16; rto runs float32
        fp16=False,
        # TRL defaults to gradient checkpointing; rto keeps activations. transformers 5.24 calls it
        # activation_checkpointing (gradient_checkpointing is its deprecated alias).
        activation_checkpointing=False,
        gradient_checkpointing=False,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="steps",
        logging_steps=max(1, steps // 4),  # rare; its cost falls outside the timed intervals
        disable_tqdm=True,
        dataloader_num_workers=0,  # batches built in the main process, as rto does
        dataloader_pin_memory=False,
        torch_compile=False,
    )


def final_log(trainer, key):
    for entry in reversed(trainer.state.log_history):
        if key in entry:
            return entry[key]
    return None


# --------------------------------------------------------------------------------------------
# check-ids: the token ids rto and TRL see must be the same.
# --------------------------------------------------------------------------------------------
def cmd_check_ids(a):
    tok = load_tokenizer(a.model)
    eos = tok.eos_token_id
    prefs = read_jsonl(a.preferences)
    rl = read_jsonl(a.rl_prompts)
    ev = read_jsonl(a.eval_prompts)

    # rto's TextEncoder::Prompt renders and encodes without added special tokens; TRL's GRPO
    # encodes plain-text prompts with `processing_class(text=...)` (add_special_tokens=True) and
    # transformers' generate path below the same way: both must give the same ids.
    prompts = [r["prompt"] for r in ev] + [r["prompt"] for r in rl[: a.sample]] + [r["prompt"] for r in prefs[: a.sample]]
    os.makedirs(a.out_dir, exist_ok=True)
    text_path = os.path.join(a.out_dir, "prompts_text.jsonl")
    ids_path = os.path.join(a.out_dir, "prompts_ids.jsonl")
    with open(text_path, "w") as ft, open(ids_path, "w") as fi:
        for p in prompts:
            text = render(tok, p)
            ids = encode(tok, text)
            if tok(text)["input_ids"] != ids:
                fail(f"the tokenizer adds special tokens to {text!r}: TRL's ids would differ from rto's")
            if len(ids) > a.max_prompt_tokens:
                fail(f"a prompt has {len(ids)} tokens > {a.max_prompt_tokens}: rto would cut it, TRL not the same way")
            ft.write(json.dumps({"prompt": p}) + "\n")
            fi.write(json.dumps({"prompt_ids": ids}) + "\n")

    # DPO responses: rto encodes the text and appends EOS (TextEncoder::Response); TRL appends
    # the EOS text and encodes prompt+response (DPOTrainer._prepare_dataset). Over the whole set,
    # the response token count is what `rto train dpo` reports as "tokens" in one step holding
    # every pair (bench/vs_trl.sh runs exactly that).
    total = 0
    longest = 0
    for r in prefs:
        for key in ("chosen", "rejected"):
            n = len(encode(tok, r[key])) + 1
            longest = max(longest, n)
            total += n
        if len(encode(tok, render(tok, r["prompt"]))) > a.max_prompt_tokens:
            fail("a preference prompt is longer than max_prompt_tokens; truncation would differ between the sides")
    if longest > a.max_response_tokens:
        fail(f"a response has {longest} tokens > {a.max_response_tokens}: rto and TRL truncate differently")
    write_json(
        a.out,
        {
            "prompts_checked": len(prompts),
            "prompts_text": text_path,
            "prompts_ids": ids_path,
            "dpo_pairs": len(prefs),
            "dpo_response_tokens": total,
            "dpo_longest_response": longest,
            "eos_token_id": eos,
            "example_rendered": render(tok, prompts[0]),
            "example_ids": encode(tok, render(tok, prompts[0])),
        },
    )
    print(f"check-ids: {len(prompts)} prompts encoded; DPO set: {len(prefs)} pairs, {total} response tokens")


def cmd_compare_generations(a):
    """Two `rto generate` outputs with the same seed, one from text prompts (rto's own rendering
    and tokenizer) and one from the ids computed here: they match only if the ids are the same."""
    x, y = read_jsonl(a.first), read_jsonl(a.second)
    if len(x) != len(y) or not x:
        fail(f"{a.first} has {len(x)} rows and {a.second} {len(y)}")
    for i, (p, q) in enumerate(zip(x, y)):
        if p["response_ids"] != q["response_ids"] or p["logprobs"] != q["logprobs"]:
            fail(
                f"row {i}: rto's own prompt ids and the Python tokenizer's give different generations: "
                f"the token ids differ (prompt {p.get('prompt')!r})"
            )
    print(f"compare-generations: all {len(x)} rows identical (response ids and log-probs): the prompt ids agree")


# --------------------------------------------------------------------------------------------
# DPO
# --------------------------------------------------------------------------------------------
def cmd_dpo(a):
    torch = setup_torch(a.threads)
    t_import = time.perf_counter()
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    import_s = time.perf_counter() - t_import
    tok = load_tokenizer(a.model)
    eos = tok.eos_token_id
    rows = read_jsonl(a.data)
    # Prompts pre-rendered with the chat template, as plain text: TRL sees a non-conversational
    # dataset and applies no template of its own; it appends the EOS text to chosen/rejected.
    dataset = Dataset.from_list(
        [{"prompt": render(tok, r["prompt"]), "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows]
    )
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    out_dir = a.work_dir or tempfile.mkdtemp(prefix="trl-dpo-")
    config = DPOConfig(
        **common_training_args(out_dir, a.steps, a.seed),
        per_device_train_batch_size=16,
        learning_rate=2e-4,
        lr_scheduler_type="cosine_with_min_lr",  # rto: cosine, min_lr_ratio 0.1, linear warmup from 0
        lr_scheduler_kwargs={"min_lr_rate": 0.1},
        beta=0.1,
        loss_type=["sigmoid"],
        label_smoothing=0.0,
        precompute_ref_log_probs=True,  # rto: dpo.reference_mode precompute
        precompute_ref_batch_size=32,  # rto precomputes in batches of 32 pairs
        # rto keeps the last 128 prompt tokens and the first 64 response tokens; TRL 1.16 has one
        # max_length (keep_start). check-ids has verified that nothing here reaches either
        # limit, so neither side truncates and the sequences are the same.
        max_length=128 + 64,
        warmup_steps=10,
    )
    t_init = time.perf_counter()
    timer = make_step_timer(torch, a.threads)
    trainer = DPOTrainer(model=model, args=config, train_dataset=dataset, processing_class=tok, callbacks=[timer])
    init_s = time.perf_counter() - t_init  # tokenisation and the reference log-probs (rto: before its loop too)

    # The ids TRL trains on must be rto's: rendered prompt ids, then response ids + EOS.
    ds = trainer.train_dataset
    if len(ds) != len(rows):
        fail(f"TRL kept {len(ds)} of {len(rows)} pairs")
    for i in range(len(rows)):
        ex = ds[i]
        want_prompt = encode(tok, render(tok, rows[i]["prompt"]))
        if ex["prompt_ids"] != want_prompt:
            fail(f"pair {i}: TRL's prompt ids differ from rto's")
        if ex["chosen_ids"] != encode(tok, rows[i]["chosen"]) + [eos]:
            fail(f"pair {i}: TRL's chosen ids differ from rto's (response ids + EOS)")
        if ex["rejected_ids"] != encode(tok, rows[i]["rejected"]) + [eos]:
            fail(f"pair {i}: TRL's rejected ids differ from rto's (response ids + EOS)")

    def count_tokens(row):
        # Response tokens (chosen and rejected, EOS included), what rto logs as "tokens".
        row["tokens"] = int(sum(int(b["completion_mask"].sum()) for b in timer.last_batch))

    timer.on_end = count_tokens
    timer.instrument(trainer)
    t_train = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t_train
    steps = timer.steps
    if len(steps) != a.steps:
        fail(f"TRL ran {len(steps)} optimizer steps, not {a.steps}")
    sec = [s["seconds"] for s in steps]
    result = {
        "side": "trl",
        "workload": "dpo",
        "steps": len(steps),
        "warmup_skipped": a.skip,
        "step_s_median": finite_positive("median step", median_after(sec, a.skip)),
        "trainer_step_s_median": median_after([s["trainer_seconds"] for s in steps], a.skip),
        "loop_s": finite_positive("loop total", sum(sec)),
        "train_call_s": train_s,
        "init_s": init_s,
        "import_s": import_s,
        "tokens_per_step_mean": statistics.mean(s["tokens"] for s in steps),
        "final_loss": final_log(trainer, "loss"),
        "threads": torch.get_num_threads(),
        "optim": str(config.optim),
        "per_step": steps,
    }
    write_json(a.out, result)
    print(
        f"trl dpo: {len(steps)} steps, median {result['step_s_median'] * 1000:.1f} ms/step "
        f"(after {a.skip}), loop {result['loop_s']:.2f} s, final loss {result['final_loss']}"
    )


# --------------------------------------------------------------------------------------------
# GRPO
# --------------------------------------------------------------------------------------------
def cmd_grpo(a):
    torch = setup_torch(a.threads)
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    from trl import GRPOConfig, GRPOTrainer

    tok = load_tokenizer(a.model)
    rm_tok = load_tokenizer(a.reward_model)
    prompts = [render(tok, r["prompt"]) for r in read_jsonl(a.prompts)]
    dataset = Dataset.from_list([{"prompt": p} for p in prompts])
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    reward_model = AutoModelForSequenceClassification.from_pretrained(a.reward_model, num_labels=1, dtype=torch.float32)
    out_dir = a.work_dir or tempfile.mkdtemp(prefix="trl-grpo-")
    completions = 16 * 4  # rto: rollout.prompts_per_step 16 x rollout.samples_per_prompt 4
    config = GRPOConfig(
        **common_training_args(out_dir, a.steps, a.seed),
        # 64 completions per optimizer step, all fresh: one generation per step, one iteration,
        # one micro-batch of 64 (rto: ppo.mini_batch = ppo.micro_batch = 64, ppo.epochs 1).
        per_device_train_batch_size=completions,
        steps_per_generation=1,
        num_iterations=1,
        num_generations=4,
        max_completion_length=48,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        beta=0.1,  # > 0: TRL loads a reference model and computes its log-probs every step
        loss_type="grpo",
        scale_rewards="group",  # rto's grpo baseline: (r - mean) / (std + 1e-6) per group
        epsilon=0.2,
        learning_rate=1e-4,
        lr_scheduler_type="constant",
        warmup_steps=0,
        use_vllm=False,  # transformers' generate
        log_completions=False,
    )
    if config.generation_batch_size != completions or config.steps_per_generation != 1:
        fail(f"GRPO would generate {config.generation_batch_size} completions per {config.steps_per_generation} steps")
    timer = make_step_timer(torch, a.threads)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward_model],
        args=config,
        train_dataset=dataset,
        processing_class=tok,
        reward_processing_classes=[rm_tok],
        callbacks=[timer],
    )
    if trainer.ref_model is None:
        fail("TRL built no reference model: the KL term (and its log-probs) would be missing")

    # The prompt ids TRL generates from (GRPOTrainer._tokenize_prompts: processing_class(text=...)).
    got = trainer._tokenize_prompts(prompts[:64])[0]
    for p, ids in zip(prompts[:64], got):
        if list(ids) != encode(tok, p):
            fail(f"TRL's GRPO prompt ids for {p!r} differ from rto's")

    def record(row):
        m = trainer._metrics["train"]
        row["completion_length_mean"] = m["completions/mean_length"][-1]
        row["reward_mean"] = m["reward"][-1] if m.get("reward") else None

    timer.on_end = record
    timer.instrument(trainer)
    t_train = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t_train
    steps = timer.steps
    if len(steps) != a.steps:
        fail(f"TRL ran {len(steps)} optimizer steps, not {a.steps}")
    sec = [s["seconds"] for s in steps]
    result = {
        "side": "trl",
        "workload": "grpo",
        "steps": len(steps),
        "warmup_skipped": a.skip,
        "step_s_median": finite_positive("median step", median_after(sec, a.skip)),
        "trainer_step_s_median": median_after([s["trainer_seconds"] for s in steps], a.skip),
        "loop_s": sum(sec),
        "train_call_s": train_s,
        "completions_per_step": completions,
        "completion_length_mean": statistics.mean(s["completion_length_mean"] for s in steps),
        "threads": torch.get_num_threads(),
        "per_step": steps,
    }
    write_json(a.out, result)
    print(
        f"trl grpo: {len(steps)} steps, median {result['step_s_median']:.3f} s/step (after {a.skip}), "
        f"mean completion {result['completion_length_mean']:.1f} tokens"
    )


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------
def cmd_generate(a):
    torch = setup_torch(a.threads)
    from transformers import AutoModelForCausalLM, GenerationConfig

    tok = load_tokenizer(a.model)
    eos = tok.eos_token_id
    pad = tok.pad_token_id if tok.pad_token_id is not None else eos
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    model.eval()
    ids = [encode(tok, render(tok, r["prompt"])) for r in read_jsonl(a.prompts)]
    if a.ignore_eos:
        # generate() fills unset fields from the model's generation_config, so EOS goes from both.
        model.generation_config.eos_token_id = None
    config = GenerationConfig(
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        max_new_tokens=a.max_new_tokens,
        eos_token_id=None if a.ignore_eos else eos,
        pad_token_id=pad,
    )
    torch.manual_seed(a.seed)
    counted = 0
    padded_positions = 0
    stopped = 0
    # Timed: the loop over batches (left padding, generate, counting, decoding), as rto's
    # GenerateRun times its loop (Generate, then building each output line with its decoded
    # text); model loading and tokenisation are outside on both sides.
    start = time.perf_counter()
    with torch.inference_mode():
        for begin in range(0, len(ids), a.batch_size):
            batch = ids[begin : begin + a.batch_size]
            width = max(len(x) for x in batch)
            input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in batch])
            mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch])
            out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config)
            new = out[:, width:].tolist()
            padded_positions += len(new) * len(new[0])
            responses = []
            for row in new:
                # Real tokens: up to and including the first EOS (rto counts its stop token too).
                n = len(row)
                if not a.ignore_eos and eos in row:
                    n = row.index(eos) + 1
                    stopped += 1
                counted += n
                responses.append(row[:n])
            tok.batch_decode(responses, skip_special_tokens=True)
    seconds = time.perf_counter() - start
    if a.ignore_eos and counted != len(ids) * a.max_new_tokens:
        fail(f"with EOS ignored, {counted} tokens came out, not {len(ids)} x {a.max_new_tokens}")
    result = {
        "side": "trl",
        "workload": "generate_ignore_eos" if a.ignore_eos else "generate",
        "prompts": len(ids),
        "batch_size": a.batch_size,
        "new_tokens": counted,
        # transformers keeps finished rows in the batch until every row is done: these are the
        # positions it computed, padding after EOS included.
        "computed_positions": padded_positions,
        "stopped": stopped,
        "seconds": finite_positive("generation time", seconds),
        "tokens_per_s": finite_positive("tokens/s", counted / seconds),
        "threads": torch.get_num_threads(),
    }
    write_json(a.out, result)
    print(
        f"trl generate: {len(ids)} prompts, {counted} new tokens ({padded_positions} positions computed) "
        f"in {seconds:.2f} s ({counted / seconds:.1f} tokens/s)"
    )


def cmd_startup(a):
    """Import torch, transformers and TRL's trainers, and load the model and its tokenizer."""
    torch = setup_torch(a.threads)
    from transformers import AutoModelForCausalLM
    from trl import DPOTrainer, GRPOTrainer  # noqa: F401  (importing them is the point)

    load_tokenizer(a.model)
    AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    write_json(a.out, {"side": "trl", "workload": "startup", "in_process_s": time.perf_counter() - PROCESS_START})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("check-ids")
    c.add_argument("--model", required=True)
    c.add_argument("--preferences", required=True)
    c.add_argument("--rl-prompts", required=True)
    c.add_argument("--eval-prompts", required=True)
    c.add_argument("--sample", type=int, default=100)
    c.add_argument("--max-prompt-tokens", type=int, default=128)
    c.add_argument("--max-response-tokens", type=int, default=64)
    c.add_argument("--out-dir", required=True)
    c.add_argument("--out", required=True)

    c = sub.add_parser("compare-generations")
    c.add_argument("first")
    c.add_argument("second")

    for name in ("dpo", "grpo", "generate", "startup"):
        c = sub.add_parser(name)
        c.add_argument("--model", required=True)
        c.add_argument("--out", required=True)
        c.add_argument("--threads", type=int, required=True)
        c.add_argument("--seed", type=int, default=0)
        if name in ("dpo", "grpo"):
            c.add_argument("--steps", type=int, required=True)
            c.add_argument("--skip", type=int, required=True, help="warm-up steps left out of the median")
            c.add_argument("--work-dir", default=None)
        if name == "dpo":
            c.add_argument("--data", required=True)
        if name == "grpo":
            c.add_argument("--reward-model", required=True)
            c.add_argument("--prompts", required=True)
        if name == "generate":
            c.add_argument("--prompts", required=True)
            c.add_argument("--batch-size", type=int, required=True)
            c.add_argument("--max-new-tokens", type=int, default=64)
            c.add_argument("--ignore-eos", action="store_true")

    a = p.parse_args()
    {
        "check-ids": cmd_check_ids,
        "compare-generations": cmd_compare_generations,
        "dpo": cmd_dpo,
        "grpo": cmd_grpo,
        "generate": cmd_generate,
        "startup": cmd_startup,
    }[a.cmd](a)


if __name__ == "__main__":
    main()
