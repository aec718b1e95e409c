#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/seed-*) from the repository's
own fixtures and configs, and from wire messages encoded by protoc from text. Inputs the fuzzers
found crashing are added next to them by hand (crash-*), and stay as regression tests.

Usage: scripts/make_fuzz_corpus.py   (from anywhere; needs protoc on the PATH)
"""
import json
import pathlib
import struct
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests/fuzz/corpus"
FIX = ROOT / "tests/fixtures"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors):
    """A safetensors image of {name: (dtype, shape, bytes)}."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def main():
    small = safetensors({"a": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), "b": ("I64", [1], struct.pack("<q", 7)),
                         "c": ("BF16", [3], b"\x80\x3f" * 3)})
    write("safetensors_header_fuzz", "small", small)
    write("safetensors_header_fuzz", "shard", (FIX / "hf/tiny-llama-sharded/model-00006-of-00007.safetensors").read_bytes())
    write("safetensors_header_fuzz", "empty", safetensors({}))

    index = {"metadata": {"total_size": 16 + 8 + 6}, "weight_map": {"a": "model-00001-of-00001.safetensors",
                                                                     "b": "model-00001-of-00001.safetensors"}}
    write("safetensors_index_fuzz", "one-shard", json.dumps(index).encode() + b"\0" + small)
    write("safetensors_index_fuzz", "tiny-llama", (FIX / "hf/tiny-llama-sharded/model.safetensors.index.json").read_bytes() + b"\0")

    for config in sorted(FIX.glob("hf/*/config.json")):
        write("model_config_fuzz", config.parent.name, config.read_bytes())

    text = "Hello world! 12345 naïve café 東京 🙂\n\t  spaces"
    # One seed per kind of tokenizer.json component (tests/fixtures/tokenizers/README.md).
    for style in ["gpt2-style", "qwen2-style", "llama2-json", "unigram-bytefallback-json", "wordlevel", "charbpe",
                  "sequence-normalizer", "split-merged-next", "split-contiguous", "metaspace-never"]:
        d = FIX / "tokenizers" / style
        config = (d / "tokenizer_config.json").read_bytes() if (d / "tokenizer_config.json").exists() else b""
        write("tokenizer_json_fuzz", style, (d / "tokenizer.json").read_bytes() + b"\0" + config + b"\0" + text.encode())
    golden = json.loads((FIX / "tokenizers/qwen2-style/golden.json").read_text())
    cases = golden if isinstance(golden, list) else golden.get("cases", [])
    for i, case in enumerate(cases[:24]):
        t = case.get("text") if isinstance(case, dict) else None
        if isinstance(t, str):
            write("tokenizer_encode_fuzz", f"golden-{i:02d}", t)
    write("tokenizer_encode_fuzz", "mixed", text)
    write("tokenizer_encode_fuzz", "invalid-utf8", b"\xff\xfe abc \xc3\x28 \xe2\x82")

    for style in ["llama2-style", "unigram"]:
        write("sentencepiece_model_fuzz", style,
              (FIX / "sentencepiece" / style / "tokenizer.model").read_bytes() + b"\0\0" + text.encode())

    rows = [{"prompt": "What is 2+2?"}, {"messages": [{"role": "user", "content": "hi"}]},
            {"prompt": "p", "chosen": "c", "rejected": "r"}, {"prompt": "p", "response": "r"},
            {"prompt": [{"role": "user", "content": "x"}], "chosen": [{"role": "assistant", "content": "y"}],
             "rejected": [{"role": "assistant", "content": "z"}]}]
    write("jsonl_fuzz", "rows", "\n".join(json.dumps(r) for r in rows) + "\n{not json\n\n")

    for config in sorted((ROOT / "configs").glob("*.yaml")):
        write("config_fuzz", config.stem, config.read_bytes() + b"\0steps=3\0train.lr=1e-3\0models.policy=x")

    def encode(message, text):
        return subprocess.run(["protoc", f"--encode=rto.v1.{message}", f"-I{ROOT / 'proto'}", "rto/v1/rollout.proto",
                               "rto/v1/scorer.proto", "rto/v1/learner.proto", "rto/v1/critic.proto"],
                              input=text.encode(), capture_output=True, check=True).stdout

    def tensor(dtype, fmt, values):
        raw = b"".join(struct.pack("<" + fmt, v) for v in values)
        return 'dtype: %s shape: %d data: "%s"' % (dtype, len(values), "".join("\\%03o" % b for b in raw))

    traj = ("trajectories { id: 1 prompt_id: 2 prompt { %s } response { %s } logprobs { %s } stopped: true }"
            % (tensor("DTYPE_I64", "q", [1, 2, 3]), tensor("DTYPE_I64", "q", [4, 5]), tensor("DTYPE_F32", "f", [-0.5, -1.0])))
    values = "values { %s } lengths: 2" % tensor("DTYPE_F32", "f", [0.25, 0.5])
    messages = [
        (0, "TrajectoryBatch", traj),
        (1, "GenerateRequest", 'prompts { prompt_id: 3 tokens { %s } } samples_per_prompt: 2 sampling { temperature: 1 top_p: 1 '
                               'max_new_tokens: 4 seed: 9 }' % tensor("DTYPE_I64", "q", [1, 2])),
        (2, "ScoreResponse", "ref_logprobs { %s } rm_scores { %s }" % (values, tensor("DTYPE_F32", "f", [1.5]))),
        (3, "ValueExperience", "batch { %s } old_values { %s } returns { %s } step: 4" % (traj, values, values)),
        (4, "PolicyEvaluation", "logprobs { %s } entropy { %s }" % (values, values)),
        (5, "PolicyExperience", "batch { %s } old_logprobs { %s } advantages { %s }" % (traj, values, values)),
        (6, "TokenValues", values),
        (7, "SyncWeightsRequest", 'version: 3 group { store_host: "127.0.0.1" store_port: 29500 rank: 1 world_size: 3 }'),
    ]
    for selector, message, text in messages:
        write("wire_fuzz", message, bytes([selector]) + encode(message, text))


if __name__ == "__main__":
    main()
