#!/usr/bin/env python3
"""Make tests/fixtures/hf/rto-written-*/: models WRITTEN BY rto and read by Python transformers.

The other fixtures prove that rto reads what transformers writes; these prove the reverse. For
each config below, `rto model init` writes an HF directory; transformers loads it with
`from_pretrained` (computing in float32, whatever the stored dtype) and its logits on the usual left-padded batch go into golden.safetensors.
The C++ test (tests/unit/model/hf_parity_test.cc) checks that rto still writes the very same
bytes for that config and seed, and that its logits equal the ones transformers computed.

Rerun (needs a built rto and a venv with torch + transformers, e.g. /tmp/hfenv):
    /tmp/hfenv/bin/python scripts/make_rto_written_fixture.py --rto build/services/rto/rto \
        --out tests/fixtures/hf
"""
import argparse
import json
import pathlib
import subprocess

import torch
import transformers
from safetensors.torch import save_file

CONFIGS = {
    # Qwen2: q/k/v biases (zero at init), tied embeddings, 4 heads over 2 kv heads.
    "rto-written-qwen2": {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 97, "hidden_size": 32,
        "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "initializer_range": 0.5, "rms_norm_eps": 1e-6,
        "eos_token_id": 2, "pad_token_id": 0,
    },
    # Llama with llama3 rope scaling, explicit head_dim, untied head, stored as bf16.
    "rto-written-llama-bf16": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 97, "hidden_size": 32,
        "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
        "head_dim": 16, "rope_theta": 500000.0, "initializer_range": 0.5, "torch_dtype": "bfloat16",
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 16},
        "eos_token_id": 2, "pad_token_id": 0,
    },
}
SEED = 7


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rto", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    for name, config in CONFIGS.items():
        out = pathlib.Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        init_config = out / "init_config.json"
        init_config.write_text(json.dumps(config, indent=2) + "\n")
        subprocess.run([args.rto, "model", "init", "--config", str(init_config), "--out", str(out),
                        "--seed", str(SEED)], check=True)
        model, info = transformers.AutoModelForCausalLM.from_pretrained(
            out, attn_implementation="eager", output_loading_info=True, dtype=torch.float32)
        model.eval()
        problems = {k: v for k, v in info.items() if v}
        assert not problems, f"transformers did not load {out} cleanly: {problems}"
        gen = torch.Generator().manual_seed(1)
        ids = torch.randint(3, config["vocab_size"], (2, 9), generator=gen)
        mask = torch.ones(2, 9, dtype=torch.long)
        ids[1, :3] = 0
        mask[1, :3] = 0
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits.float()
        assert logits.std() > 0.1, "logits too flat to test anything"
        save_file({"input_ids": ids, "attention_mask": mask, "logits": logits.contiguous()},
                  str(out / "golden.safetensors"))
        print(f"{out}: transformers {transformers.__version__} loaded it; logits std {logits.std():.3f}")


if __name__ == "__main__":
    main()
