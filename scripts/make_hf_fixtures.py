#!/usr/bin/env python3
"""Make the Hugging Face parity fixtures in tests/fixtures/hf/.

What it makes
-------------
Tiny randomly initialised decoders saved by the real Python `transformers`
library (`save_pretrained`, safetensors, HF tensor names), each with a
`golden.safetensors` of reference outputs computed by `transformers` itself,
so the C++ loader/decoder can be tested for parity with it:

  tiny-llama/                LlamaForCausalLM, GQA (4 heads / 2 kv heads), untied lm_head
  tiny-qwen2/                Qwen2ForCausalLM, q/k/v bias, 1 kv head, tied embeddings, rope_theta 1e6
  tiny-llama3-rope/          LlamaForCausalLM, head_dim 16 != hidden/heads, attention_bias, llama3 rope scaling
  tiny-llama3-rope-v4config/ same weights and golden as tiny-llama3-rope, but config.json rewritten in the
                             transformers 4.x layout (top-level rope_theta + rope_scaling, torch_dtype) that
                             most Hub checkpoints use; verified to load to identical logits
  tiny-mistral/              MistralForCausalLM, sliding_window 4 (shorter than the golden sequences)
  tiny-llama-seqcls/         LlamaForSequenceClassification, num_labels 1 (score.weight [1, 32], no lm_head)
  tiny-llama-bf16/           tiny-llama cast to bfloat16 (weights stored as BF16, golden computed in bf16)
  tiny-llama-sharded/        tiny-llama weights saved in several shards + model.safetensors.index.json
                             (no golden of its own: use tiny-llama/golden.safetensors)

golden.safetensors holds
  input_ids       int64 [2, 9]  left-padded batch: row 0 = 9 real tokens, row 1 = 3 pads (id 0) + 6 real
  attention_mask  int64 [2, 9]  1 real, 0 pad
  position_ids    int64 [2, 9]  (attention_mask.cumsum(-1) - 1).clamp(min=0), passed explicitly to forward
  causal LMs:
    logits        float32 [2, 9, vocab]  model(input_ids, attention_mask, position_ids), eager attention,
                                         computed in the model's dtype then .float()
    greedy_ids    int64 [2, 17]  prompt + 8 greedy tokens from model.generate (no EOS stopping, no EOS
                                 suppression: plain argmax every step; positions derived from the mask)
  tiny-llama only:
    token_logprobs float32 [2, 8] log_softmax(logits[:, :-1]) gathered at input_ids[:, 1:]
  seqcls:
    values        float32 [2, 9] score head on every position's last hidden state
    scores        float32 [2]    HF's pooled logits (rightmost non-pad token)

Only positions where attention_mask == 1 are meaningful: for a padded query
HF's eager path masks every key, so its output there is arbitrary.

Every weight is drawn from a seeded torch.Generator (nothing comes from the
Hub): matrices/embeddings N(0, 0.2^2), biases N(0, 0.1^2), RMSNorm weights
1 + 0.1 * N(0, 1), so norm weights and biases are actually exercised and the
logits are O(1).

Besides writing the files the script checks that
  * an independent plain-torch reference forward (written below) matches HF's logits at real positions,
  * a step-by-step full-recompute greedy loop matches model.generate,
  * Mistral's eager path really applies the sliding window (logits change vs. no window),
  * every directory reloads with from_pretrained to bit-identical logits.

How to rerun
------------
  python3 -m venv /tmp/hfenv && /tmp/hfenv/bin/pip install torch transformers safetensors numpy
  /tmp/hfenv/bin/python scripts/make_hf_fixtures.py --out tests/fixtures/hf

Made with: torch 2.15.0 (CPU execution), transformers 5.23.0, safetensors 0.8.0, numpy 2.4.6,
Python 3.11.7. Note that transformers 5.x writes rope settings as
"rope_parameters": {"rope_type", "rope_theta", ...} and the dtype as "dtype";
4.x writes top-level "rope_theta", "rope_scaling" and "torch_dtype".
"""

import argparse
import inspect
import json
import math
import os
import shutil
import sys

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

VOCAB = 97
SEQ = 9
PADS_ROW1 = 3
NEW_TOKENS = 8
PAD, BOS, EOS = 0, 1, 2


def common_kwargs():
    return dict(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        rms_norm_eps=1e-5,
        initializer_range=0.2,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        hidden_act="silu",
        attention_dropout=0.0,
    )


def llama_config(**over):
    kw = common_kwargs()
    kw.update(intermediate_size=64, num_key_value_heads=2, rope_theta=10000.0, max_position_embeddings=64,
              tie_word_embeddings=False)
    kw.update(over)
    return LlamaConfig(**kw)


def qwen2_config():
    kw = common_kwargs()
    kw.update(intermediate_size=48, num_key_value_heads=1, rope_theta=1000000.0, max_position_embeddings=64,
              tie_word_embeddings=True, use_sliding_window=False)
    return Qwen2Config(**kw)


def llama3_rope_config():
    return llama_config(head_dim=16, attention_bias=True, mlp_bias=False, rope_theta=500000.0,
                        max_position_embeddings=128,
                        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16})


def mistral_config(sliding_window=4):
    kw = common_kwargs()
    kw.update(intermediate_size=64, num_key_value_heads=2, rope_theta=10000.0, max_position_embeddings=64,
              tie_word_embeddings=False, sliding_window=sliding_window)
    return MistralConfig(**kw)


def build(cls, config, seed):
    """Constructs `cls(config)` with eager attention and overwrites every weight from a seeded generator."""
    torch.manual_seed(seed)
    model = cls._from_config(config, attn_implementation="eager", dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        seen = set()
        for name, p in sorted(model.named_parameters(remove_duplicate=True), key=lambda kv: kv[0]):
            if id(p) in seen:
                continue
            seen.add(id(p))
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
    model.eval()
    return model


def make_inputs(seed):
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB, (2, SEQ), generator=gen, dtype=torch.int64)
    attention_mask = torch.ones(2, SEQ, dtype=torch.int64)
    input_ids[1, :PADS_ROW1] = PAD
    attention_mask[1, :PADS_ROW1] = 0
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    return input_ids, attention_mask, position_ids


def save_model(model, out_dir, **kw):
    os.makedirs(out_dir, exist_ok=True)
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kw["safe_serialization"] = True  # transformers 4.x; 5.x always writes safetensors
    model.save_pretrained(out_dir, **kw)


# ---------------------------------------------------------------------------------------------
# Independent plain-torch reference of the Llama / Qwen2 / Mistral decoder (cross-checks HF).


def ref_inv_freq(cfg):
    rp = getattr(cfg, "rope_parameters", None) or {}
    theta = rp.get("rope_theta", getattr(cfg, "rope_theta", None))
    scaling = dict(rp) if rp else dict(getattr(cfg, "rope_scaling", None) or {})
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rtype = scaling.get("rope_type", scaling.get("type", "default"))
    if rtype == "llama3":
        factor, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        out = []
        for f in inv.tolist():
            wl = 2 * math.pi / f
            if wl < hi_wl:
                out.append(f)
            elif wl > lo_wl:
                out.append(f / factor)
            else:
                s = (old / wl - lo) / (hi - lo)
                out.append((1 - s) * f / factor + s * f)
        inv = torch.tensor(out, dtype=torch.float64)
    else:
        assert rtype == "default", rtype
    return inv


def ref_forward(model, input_ids, attention_mask, position_ids, sliding_window=None):
    """Returns the final-norm hidden states [B, T, H] in float64."""
    cfg = model.config
    sd = {k: v.double() for k, v in model.state_dict().items()}
    pre = "model."
    B, T = input_ids.shape
    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // nh
    eps = cfg.rms_norm_eps

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def lin(x, name):
        y = x @ sd[name + ".weight"].T
        if name + ".bias" in sd:
            y = y + sd[name + ".bias"]
        return y

    inv = ref_inv_freq(cfg)
    ang = position_ids.double()[..., None] * inv  # [B, T, hd/2]
    cos, sin = torch.cat([ang.cos()] * 2, -1)[:, None], torch.cat([ang.sin()] * 2, -1)[:, None]

    def rope(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    q_idx = torch.arange(T)[:, None]
    k_idx = torch.arange(T)[None, :]
    allowed = (k_idx <= q_idx)[None] & attention_mask.bool()[:, None, :]
    if sliding_window is not None:
        allowed = allowed & (k_idx > q_idx - sliding_window)[None]
    x = sd[pre + "embed_tokens.weight"][input_ids]
    for i in range(cfg.num_hidden_layers):
        p = f"{pre}layers.{i}."
        h = rms(x, sd[p + "input_layernorm.weight"])
        q = lin(h, p + "self_attn.q_proj").view(B, T, nh, hd).transpose(1, 2)
        k = lin(h, p + "self_attn.k_proj").view(B, T, nkv, hd).transpose(1, 2)
        v = lin(h, p + "self_attn.v_proj").view(B, T, nkv, hd).transpose(1, 2)
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.nan_to_num(s.softmax(-1)) @ v
        x = x + lin(a.transpose(1, 2).reshape(B, T, nh * hd), p + "self_attn.o_proj")
        h = rms(x, sd[p + "post_attention_layernorm.weight"])
        x = x + lin(F.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    return rms(x, sd[pre + "norm.weight"])


def ref_check(name, model, ids, mask, pos, got, head_weight, sliding_window=None, atol=1e-4):
    hidden = ref_forward(model, ids, mask, pos, sliding_window)
    ref = hidden @ head_weight.double().T
    real = mask.bool()
    err = (ref[real] - got.double()[real]).abs().max().item()
    print(f"  [{name}] plain-torch reference vs HF at real positions: max |diff| = {err:.2e}")
    assert err < atol, f"{name}: HF disagrees with the reference decoder ({err})"


# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def forward_logits(model, ids, mask, pos):
    return model(input_ids=ids, attention_mask=mask, position_ids=pos).logits


@torch.no_grad()
def greedy(model, ids, mask):
    gen_kwargs = dict(attention_mask=mask, do_sample=False, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                      eos_token_id=None, pad_token_id=PAD)
    # No EOS at all: min_new_tokens would otherwise suppress EOS (id 2) and change the argmax.
    saved_eos = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = None
    try:
        out = model.generate(ids, **gen_kwargs)
    finally:
        model.generation_config.eos_token_id = saved_eos
    assert out.shape == (2, SEQ + NEW_TOKENS), out.shape
    # Cross-check: full recompute each step with positions from the mask, plain argmax.
    cur, cur_mask = ids.clone(), mask.clone()
    margin = float("inf")
    for _ in range(NEW_TOKENS):
        cur_pos = (cur_mask.cumsum(-1) - 1).clamp(min=0)
        last = forward_logits(model, cur, cur_mask, cur_pos)[:, -1].float()
        top2 = last.topk(2, -1).values
        margin = min(margin, (top2[:, 0] - top2[:, 1]).min().item())
        nxt = last.argmax(-1, keepdim=True)
        cur = torch.cat([cur, nxt], 1)
        cur_mask = torch.cat([cur_mask, torch.ones_like(nxt)], 1)
    assert torch.equal(cur, out), f"generate {out.tolist()} != manual greedy {cur.tolist()}"
    assert not (out[:, SEQ:] == EOS).any(), "EOS among the greedy tokens: pick another input seed"
    print(f"  generate == step-by-step greedy; new tokens {out[:, SEQ:].tolist()}; "
          f"smallest top1-top2 logit margin {margin:.4f}")
    return out


def golden_causal(model, out_dir, seed, with_logprobs=False, ref_window=None, ref=True):
    ids, mask, pos = make_inputs(seed)
    logits = forward_logits(model, ids, mask, pos).float()
    if ref:
        head = model.get_output_embeddings().weight
        ref_check(os.path.basename(out_dir), model, ids, mask, pos, logits, head, ref_window)
    g = {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "logits": logits.contiguous(),
         "greedy_ids": greedy(model, ids, mask)}
    if with_logprobs:
        lp = torch.log_softmax(logits[:, :-1].float(), -1)
        g["token_logprobs"] = lp.gather(-1, ids[:, 1:, None]).squeeze(-1).contiguous()
    save_file(g, os.path.join(out_dir, "golden.safetensors"))
    return g


def reload_check(cls, out_dir, golden, dtype=torch.float32):
    m = cls.from_pretrained(out_dir, attn_implementation="eager", dtype=dtype).eval()
    for n, p in m.named_parameters():
        assert p.dtype == dtype, (out_dir, n, p.dtype)
    ids, mask, pos = golden["input_ids"], golden["attention_mask"], golden["position_ids"]
    with torch.no_grad():
        out = m(input_ids=ids, attention_mask=mask, position_ids=pos)
    if "logits" in golden and golden["logits"].dim() == 3:
        assert torch.equal(out.logits.float(), golden["logits"]), f"{out_dir}: reloaded logits differ"
    else:
        assert torch.equal(out.logits.float(), golden["scores"][:, None]), f"{out_dir}: reloaded scores differ"
    print(f"  [{os.path.basename(out_dir)}] reloaded with from_pretrained: logits bit-identical")


def to_v4_config(cfg):
    """transformers 5.x config dict -> the 4.x layout (top-level rope_theta / rope_scaling, torch_dtype)."""
    cfg = dict(cfg)
    rp = dict(cfg.pop("rope_parameters", None) or {})
    if rp:
        cfg["rope_theta"] = rp.pop("rope_theta")
        cfg["rope_scaling"] = None if rp.get("rope_type", "default") == "default" else rp
    if "dtype" in cfg:
        cfg["torch_dtype"] = cfg.pop("dtype")
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default="tests/fixtures/hf")
    args = ap.parse_args()
    out = args.out
    if os.path.isdir(out):
        for d in os.listdir(out):
            if d.startswith("tiny-"):
                shutil.rmtree(os.path.join(out, d))
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)  # deterministic CPU reductions
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")

    # 1. tiny-llama (+ bf16 copy + sharded copy)
    d = os.path.join(out, "tiny-llama")
    llama = build(LlamaForCausalLM, llama_config(), seed=1)
    save_model(llama, d)
    g_llama = golden_causal(llama, d, seed=101, with_logprobs=True)
    reload_check(LlamaForCausalLM, d, g_llama)

    d = os.path.join(out, "tiny-llama-sharded")
    save_model(llama, d, max_shard_size="20KB")
    assert os.path.exists(os.path.join(d, "model.safetensors.index.json")), "no shard index written"
    reload_check(LlamaForCausalLM, d, g_llama)

    d = os.path.join(out, "tiny-llama-bf16")
    llama_bf16 = build(LlamaForCausalLM, llama_config(), seed=1).to(torch.bfloat16)
    save_model(llama_bf16, d)
    # Golden from the checkpoint as from_pretrained loads it: `.to(bfloat16)` also casts the rotary inv_freq
    # buffer to bf16, whereas a bf16 checkpoint loaded by from_pretrained keeps inv_freq in float32.
    llama_bf16 = LlamaForCausalLM.from_pretrained(d, attn_implementation="eager", dtype=torch.bfloat16).eval()
    assert llama_bf16.model.rotary_emb.inv_freq.dtype == torch.float32
    g = golden_causal(llama_bf16, d, seed=101, ref=False)
    assert torch.equal(g["input_ids"], g_llama["input_ids"])
    diff = (g["logits"] - g_llama["logits"])[g["attention_mask"].bool()].abs().max().item()
    print(f"  [tiny-llama-bf16] max |bf16 - fp32 logits| at real positions = {diff:.3f}")
    reload_check(LlamaForCausalLM, d, g, dtype=torch.bfloat16)

    # 2. tiny-qwen2
    d = os.path.join(out, "tiny-qwen2")
    qwen = build(Qwen2ForCausalLM, qwen2_config(), seed=2)
    assert qwen.lm_head.weight.data_ptr() == qwen.model.embed_tokens.weight.data_ptr(), "lm_head not tied"
    save_model(qwen, d)
    g = golden_causal(qwen, d, seed=102)
    reload_check(Qwen2ForCausalLM, d, g)

    # 3. tiny-llama3-rope (+ the same model with a 4.x-layout config.json)
    d = os.path.join(out, "tiny-llama3-rope")
    l3 = build(LlamaForCausalLM, llama3_rope_config(), seed=3)
    assert l3.model.layers[0].self_attn.q_proj.weight.shape == (64, 32)
    save_model(l3, d)
    g = golden_causal(l3, d, seed=103)
    reload_check(LlamaForCausalLM, d, g)
    # The llama3 scaling must matter for these positions' frequencies (compare with unscaled rope).
    plain = build(LlamaForCausalLM, llama_config(head_dim=16, attention_bias=True, rope_theta=500000.0,
                                                 max_position_embeddings=128), seed=3)
    assert not torch.allclose(forward_logits(plain, g["input_ids"], g["attention_mask"], g["position_ids"]),
                              g["logits"], atol=1e-4), "llama3 rope scaling had no effect"
    d4 = os.path.join(out, "tiny-llama3-rope-v4config")
    shutil.copytree(d, d4)
    with open(os.path.join(d, "config.json")) as f:
        cfg = to_v4_config(json.load(f))
    with open(os.path.join(d4, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    reload_check(LlamaForCausalLM, d4, g)

    # 4. tiny-mistral (sliding window 4 < 9)
    d = os.path.join(out, "tiny-mistral")
    mis = build(MistralForCausalLM, mistral_config(4), seed=4)
    save_model(mis, d)
    g = golden_causal(mis, d, seed=204, ref_window=4)
    reload_check(MistralForCausalLM, d, g)
    nowin = build(MistralForCausalLM, mistral_config(None), seed=4)
    lw = forward_logits(nowin, g["input_ids"], g["attention_mask"], g["position_ids"])
    real = g["attention_mask"].bool()
    delta = (lw - g["logits"]).abs().amax(-1)  # [2, 9]
    # Row 0: window 4 only hides keys from query index 4 on; row 1 has 6 real tokens starting at index 3.
    assert torch.equal(delta[0, :4], torch.zeros(4)) and (delta[0, 4:] > 1e-3).all(), delta
    assert torch.equal(delta[1, 3:7], torch.zeros(4)) and (delta[1, 7:] > 1e-3).all(), delta
    ref_check("tiny-mistral, window ignored", nowin, g["input_ids"], g["attention_mask"], g["position_ids"],
              lw, nowin.lm_head.weight, None)
    print("  [tiny-mistral] eager path applies the sliding window: logits change vs. no window exactly at "
          f"query index >= 4 (row 0) / >= 7 (row 1); max change {delta[real].max().item():.3f}")

    # 5. tiny-llama-seqcls
    d = os.path.join(out, "tiny-llama-seqcls")
    cls_model = build(LlamaForSequenceClassification, llama_config(num_labels=1), seed=5)
    save_model(cls_model, d)
    ids, mask, pos = make_inputs(seed=105)
    with torch.no_grad():
        hidden = cls_model.model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
        values = cls_model.score(hidden).squeeze(-1).float()
        scores = cls_model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.squeeze(-1).float()
    assert torch.equal(scores, values[:, -1]), "pooled score is not the last (rightmost non-pad) token"
    ref_check("tiny-llama-seqcls", cls_model, ids, mask, pos, values[..., None], cls_model.score.weight)
    g = {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "values": values.contiguous(),
         "scores": scores.contiguous()}
    save_file(g, os.path.join(d, "golden.safetensors"))
    reload_check(LlamaForSequenceClassification, d, g)

    # Listing.
    total = 0
    for name in sorted(os.listdir(out)):
        p = os.path.join(out, name)
        if not os.path.isdir(p):
            total += os.path.getsize(p)
            continue
        print(f"\n{p}:")
        for f in sorted(os.listdir(p)):
            sz = os.path.getsize(os.path.join(p, f))
            total += sz
            print(f"  {sz:>9}  {f}")
    print(f"\ntotal: {total} bytes ({total / 1024:.1f} KiB)")
    assert total < 3 * 1024 * 1024


if __name__ == "__main__":
    sys.exit(main())
