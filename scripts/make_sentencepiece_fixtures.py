#!/usr/bin/env python3
"""Make the SentencePiece parity fixtures in tests/fixtures/sentencepiece/.

What it makes
-------------
Two small SentencePiece `.model` files TRAINED here (nothing is downloaded) by
the real PyPI `sentencepiece` library on a corpus this script generates
deterministically (seeded), plus golden encodings computed by the library
itself, so rto's C++ `.model` parser and encoder can be tested for exact parity:

  llama2-style/   model_type=BPE, byte_fallback, identity normalization,
                  add_dummy_prefix, no whitespace removal, split_digits,
                  allow_whitespace_only_pieces, unk=0 bos=1 eos=2 pad=-1 (the
                  Llama-2 / Mistral layout), character_coverage=0.9995 so rare
                  corpus characters are left out and fall back to <0xXX> pieces.
                  Also tokenizer_config.json (add_bos_token true, add_eos_token
                  false) as Llama-2 ships it.
  unigram/        model_type=UNIGRAM, same normalization and special ids.

Each model directory holds:
  tokenizer.model   the serialized ModelProto
  golden.json       [{"text", "ids", "pieces", "decoded"}] where
                    ids = sp.encode(text, out_type=int) (no BOS/EOS),
                    pieces = sp.encode(text, out_type=str),
                    decoded = sp.decode(ids)
  decode_golden.json  [{"ids", "pieces", "decoded"}]: sp.decode over hand-made
                    id lists (BOS/EOS/unk ids, lone and truncated <0xXX> bytes,
                    sequences not starting with a word-initial piece).
  model_info.json   vocab size, trainer_spec / normalizer_spec fields read with
                    sentencepiece.sentencepiece_model_pb2, piece-type counts,
                    byte-piece id range, the protobuf field numbers, and the full
                    piece table [piece, score, type].

Training runs twice per model with num_threads=1 and the script checks that the
two serialized models are byte-identical (it exits non-zero otherwise).

How to rerun
------------
  /tmp/hfenv/bin/pip install sentencepiece protobuf
  /tmp/hfenv/bin/python scripts/make_sentencepiece_fixtures.py \
      --out tests/fixtures/sentencepiece

Versions used to make the committed fixtures: Python 3.11.7,
sentencepiece 0.2.3, protobuf 7.36.2 (protobuf is only needed to read
sentencepiece_model_pb2 for model_info.json).
"""

import argparse
import io
import json
import os
import random
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

SEED = 20240611

WORDS = (
    "the quick brown fox jumps over lazy dog and then runs away from hunter who "
    "was sleeping under tree near river bank while birds sang songs about summer "
    "rain model training reward policy gradient value function token sequence "
    "batch learning rate optimizer loss advantage critic actor reference kernel "
    "memory server client request response error warning info debug system user "
    "assistant message question answer hello world please thanks again today "
    "tomorrow yesterday because however therefore although whether people time "
    "year way day thing man woman child life world school state family student "
    "group country problem hand part place case week company number night point"
).split()
CONTRACTIONS = ["don't", "can't", "won't", "it's", "I'm", "you're", "they've",
                "we'll", "she'd", "isn't", "wasn't", "couldn't", "Let's", "O'Neil"]
CODE = [
    "def f(x):\n    return x * 2\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if x == None:\n\tprint('none')",
    "std::vector<int> v{1, 2, 3};",
    "#include <stdio.h>\nint main() { return 0; }",
    "const y = arr.map((v) => v + 1);",
    "SELECT * FROM users WHERE id = 42;",
    "git commit -m \"fix: bug #123\"",
    "{\"key\": [1, 2.5, true, null]}",
    "x_1 = y__2 + z___3",
]
PUNCT = ["...", "!!!", "?!", "--", "---", "***", "~~", "==", "!=", "->", "=>",
         "::", ";;", "((", "))", "[[", "]]", "\"", "'", ",", ".", ":", ";"]
ACCENTED = ["café", "naïve", "résumé", "Ångström", "façade", "jalapeño",
            "Müller", "Straße", "crème brûlée", "São Paulo", "Łódź", "déjà vu"]
CYRILLIC = ["привет", "мир", "спасибо", "Москва", "хорошо", "да", "нет",
            "пожалуйста", "книга", "вода"]
CJK = ["你好", "世界", "中文", "学习", "模型", "日本語", "東京", "こんにちは",
       "ありがとう", "한국어", "안녕하세요", "数据", "训练"]
EMOJI = ["😀", "🚀", "👍", "🎉", "❤️", "🔥", "🤖", "🐍", "🌍", "✨"]
# Rare characters: each appears only a few times in the corpus, so with
# character_coverage < 1 most of them are dropped from the vocabulary.
RARE = ["ǂ", "ʬ", "Ꝏ", "ꙮ", "Ӂ", "ᚠ", "ᛟ", "⸘", "₰", "⁂", "龘", "靐", "齉", "ጰ", "ऴ"]


def rand_number(rng):
    k = rng.choice([1, 1, 2, 3, 4, 7])
    s = str(rng.randrange(10 ** (k - 1) if k > 1 else 0, 10 ** k))
    if rng.random() < 0.2:
        s += "." + str(rng.randrange(100))
    return s


def rand_sentence(rng, rare_ok=True):
    parts = []
    for _ in range(rng.randint(3, 14)):
        r = rng.random()
        if r < 0.55:
            w = rng.choice(WORDS)
            if rng.random() < 0.15:
                w = w.capitalize()
            parts.append(w)
        elif r < 0.63:
            parts.append(rng.choice(CONTRACTIONS))
        elif r < 0.71:
            parts.append(rand_number(rng))
        elif r < 0.77:
            parts.append(rng.choice(PUNCT))
        elif r < 0.82:
            parts.append(rng.choice(ACCENTED))
        elif r < 0.87:
            parts.append(rng.choice(CYRILLIC))
        elif r < 0.92:
            parts.append(rng.choice(CJK))
        elif r < 0.96:
            parts.append(rng.choice(EMOJI))
        elif r < 0.98:
            parts.append(rng.choice(CODE))
        else:
            parts.append(rng.choice(["\t", "  ", "   ", "\n"]))
    out = ""
    for p in parts:
        sep = rng.choice([" "] * 12 + ["  ", "\t", ", ", "\n", ""])
        out += p + sep
    if rare_ok and rng.random() < 0.01:
        out += " " + rng.choice(RARE)
    return out.rstrip(" ") + rng.choice([".", "!", "?", "", "..."])


def corpus(n=4000):
    rng = random.Random(SEED)
    lines = []
    for _ in range(n):
        s = rand_sentence(rng)
        # Newlines would split sentences when read from a file; sentence_iterator
        # keeps them as-is. Keep some in, like real chat data.
        lines.append(s)
    return lines


MODELS = {
    "llama2-style": dict(
        model_type="bpe", vocab_size=800, character_coverage=0.9995,
        split_digits=True, allow_whitespace_only_pieces=True,
    ),
    "unigram": dict(
        model_type="unigram", vocab_size=800, character_coverage=0.9995,
    ),
}

COMMON = dict(
    byte_fallback=True,
    normalization_rule_name="identity",
    add_dummy_prefix=True,
    remove_extra_whitespaces=False,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
    num_threads=1,
    shuffle_input_sentence=False,
    input_sentence_size=0,
    max_sentence_length=4192,
    minloglevel=2,
)


def train(lines, opts):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf,
                                   **COMMON, **opts)
    return buf.getvalue()


FIXED = [
    "", " ", "  ", "   leading", "  leading", "trailing  ", "trailing ", "a  b", "a   b",
    "\n", "\t", "\n\n", " \n ", "a\tb", "line1\nline2", "hello world", "Hello World",
    "HELLO WORLD", "hello", " hello", "hello ", "1 12 123 1234567", "3.14159", "2024-06-11",
    "x1y22z333", "don't can't won't it's I'm", "O'Neil's dog", "We'll see, won't we?",
    "😀", "🚀🚀🚀", "I ❤️ it 👍", "你好，世界！", "日本語のテキスト", "안녕하세요",
    "привет, мир", "café naïve résumé", "Straße Łódź", "☃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "龘靐齉",
    "snow☃man", "ǂʬꙮ", "\u200b", "\x00", "a\x01b", "é (e + combining: e\u0301)",
    "<s>", "</s>", "<unk>", "<s>hello</s>", "text <s> inside </s> text", "<0x41>",
    "▁", "▁▁x", "def f(x):\n    return x * 2\n", "    indented", "!!!???...",
    "a" * 40, "ab" * 20, "\t\tindent\ttabs\t", "1234567890123", "$100,000.00",
    "Mixed 中文 and English 123 🚀 ☃",
]


def golden(sp, rng):
    texts = list(FIXED)
    pool_rng = random.Random(SEED + 1)
    specials = ["<s>", "</s>", "☃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "  ", "\n", "\t", "龘"]
    for _ in range(30):
        s = rand_sentence(pool_rng)
        if pool_rng.random() < 0.6:
            i = pool_rng.randrange(len(s) + 1)
            s = s[:i] + pool_rng.choice(specials + RARE) + s[i:]
        if pool_rng.random() < 0.2:
            s = pool_rng.choice(["  ", " ", "\n"]) + s
        if pool_rng.random() < 0.2:
            s += pool_rng.choice(["  ", " ", "\n"])
        texts.append(s)
    out = []
    for t in texts:
        ids = sp.encode(t, out_type=int)
        pieces = sp.encode(t, out_type=str)
        assert [sp.piece_to_id(p) for p in pieces] == ids, t
        out.append({"text": t, "ids": ids, "pieces": pieces, "decoded": sp.decode(ids)})
    return out


def decode_golden(sp):
    """sp.decode over hand-made id lists: control ids, unk, invalid UTF-8 bytes."""
    first = sp.encode("hello world", out_type=int)
    snow = sp.encode("snow\u2603man", out_type=int)
    e2 = sp.piece_to_id("<0xE2>")
    cases = [
        [], [0], [1], [2], [1, 2], [1] + first, first + [2], [1] + first + [2],
        first + [0] + first, [0, 0],
        [sp.piece_to_id("\u2581")], [sp.piece_to_id("\u2581")] * 3,
        [e2], [e2, sp.piece_to_id("<0x98>")],              # truncated UTF-8
        [sp.piece_to_id("<0xFF>")], [sp.piece_to_id("<0x80>")] + first,
        [sp.piece_to_id("<0x41>"), sp.piece_to_id("<0x42>")],
        [sp.piece_to_id("<0x20>")] + first, [sp.piece_to_id("<0x00>")],
        first[1:], snow, snow[1:], [e2] + first,
        [sp.piece_to_id("\n")] + first, first + [1] + first,
    ]
    return [{"ids": ids, "pieces": [sp.id_to_piece(i) for i in ids],
             "decoded": sp.decode(ids)} for ids in cases]


TYPE_NAMES = {v.number: v.name for v in
              pb.ModelProto.SentencePiece.DESCRIPTOR.enum_types_by_name["Type"].values}


def model_info(blob):
    m = pb.ModelProto()
    m.ParseFromString(blob)
    ts, ns = m.trainer_spec, m.normalizer_spec
    counts = {name: 0 for name in TYPE_NAMES.values()}
    byte_ids = []
    for i, p in enumerate(m.pieces):
        counts[TYPE_NAMES[p.type]] += 1
        if p.type == pb.ModelProto.SentencePiece.BYTE:
            byte_ids.append((i, p.piece))
    bytes_ok = [p for _, p in byte_ids] == ["<0x%02X>" % b for b in range(256)]
    contiguous = bool(byte_ids) and [i for i, _ in byte_ids] == list(
        range(byte_ids[0][0], byte_ids[0][0] + len(byte_ids)))

    def fnum(desc):
        return {f.name: f.number for f in desc.fields}

    return {
        "vocab_size": len(m.pieces),
        "trainer_spec": {
            "model_type": pb.TrainerSpec.ModelType.Name(ts.model_type),
            "vocab_size": ts.vocab_size,
            "byte_fallback": ts.byte_fallback,
            "split_digits": ts.split_digits,
            "split_by_whitespace": ts.split_by_whitespace,
            "split_by_unicode_script": ts.split_by_unicode_script,
            "split_by_number": ts.split_by_number,
            "treat_whitespace_as_suffix": ts.treat_whitespace_as_suffix,
            "allow_whitespace_only_pieces": ts.allow_whitespace_only_pieces,
            "character_coverage": ts.character_coverage,
            "unk_id": ts.unk_id, "bos_id": ts.bos_id, "eos_id": ts.eos_id, "pad_id": ts.pad_id,
            "unk_piece": ts.unk_piece, "bos_piece": ts.bos_piece,
            "eos_piece": ts.eos_piece, "pad_piece": ts.pad_piece,
            "unk_surface": ts.unk_surface,
        },
        "normalizer_spec": {
            "name": ns.name,
            "add_dummy_prefix": ns.add_dummy_prefix,
            "remove_extra_whitespaces": ns.remove_extra_whitespaces,
            "escape_whitespaces": ns.escape_whitespaces,
            "precompiled_charsmap_len": len(ns.precompiled_charsmap),
            "normalization_rule_tsv": ns.normalization_rule_tsv,
        },
        "has_denormalizer_spec": m.HasField("denormalizer_spec"),
        "piece_type_counts": counts,
        "byte_pieces": {
            "count": len(byte_ids),
            "first_id": byte_ids[0][0] if byte_ids else None,
            "last_id": byte_ids[-1][0] if byte_ids else None,
            "contiguous": contiguous,
            "are_0x00_to_0xFF_in_order": bytes_ok,
        },
        "proto_field_numbers": {
            "ModelProto": fnum(pb.ModelProto.DESCRIPTOR),
            "ModelProto.SentencePiece": fnum(pb.ModelProto.SentencePiece.DESCRIPTOR),
            "SentencePiece.Type": {v: k for k, v in TYPE_NAMES.items()},
            "TrainerSpec(selected)": {k: v for k, v in fnum(pb.TrainerSpec.DESCRIPTOR).items()
                                      if k in ("model_type", "vocab_size", "byte_fallback",
                                               "split_digits", "treat_whitespace_as_suffix",
                                               "allow_whitespace_only_pieces", "unk_id",
                                               "bos_id", "eos_id", "pad_id", "unk_piece",
                                               "bos_piece", "eos_piece", "pad_piece",
                                               "unk_surface")},
            "TrainerSpec.ModelType": {v.name: v.number for v in
                                      pb.TrainerSpec.DESCRIPTOR.enum_types_by_name["ModelType"].values},
            "NormalizerSpec": fnum(pb.NormalizerSpec.DESCRIPTOR),
        },
        "pieces": [[p.piece, p.score, TYPE_NAMES[p.type]] for p in m.pieces],
    }


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/sentencepiece")
    args = ap.parse_args()
    lines = corpus()
    for name, opts in MODELS.items():
        a = train(lines, opts)
        b = train(lines, opts)
        if a != b:
            sys.exit(f"{name}: two training runs gave different .model bytes")
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tokenizer.model"), "wb") as f:
            f.write(a)
        sp = spm.SentencePieceProcessor(model_proto=a)
        dump(os.path.join(d, "golden.json"), golden(sp, None))
        dump(os.path.join(d, "decode_golden.json"), decode_golden(sp))
        info = model_info(a)
        info["sentencepiece_version"] = spm.__version__
        dump(os.path.join(d, "model_info.json"), info)
        if name == "llama2-style":
            dump(os.path.join(d, "tokenizer_config.json"),
                 {"add_bos_token": True, "add_eos_token": False,
                  "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                  "pad_token": None})
        print(f"{name}: {len(a)} bytes, vocab {sp.get_piece_size()}, deterministic")


if __name__ == "__main__":
    main()
