#!/usr/bin/env python3
"""Make tokenizer.json parity fixtures for the other tokenizer KINDS in tests/fixtures/tokenizers/.

scripts/make_tokenizer_fixtures.py makes the byte-level BPE families (llama3,
gpt2, qwen2); this script makes one small fixture directory per other kind of
Hugging Face `tokenizer.json` component, each TRAINED or converted here (nothing
is downloaded from the Hugging Face hub), deterministically, with the real
Python `tokenizers` / `transformers` / `sentencepiece` libraries. It reuses the
seeded corpus generator (TextGen) and the tricky test strings (FIXED_TEXTS,
gold_entry, the JSON writers) of make_tokenizer_fixtures.py.

What it makes (under --out, normally tests/fixtures/tokenizers/)
--------------------------------------------------------------
  llama2-json-legacy/   tests/fixtures/sentencepiece/llama2-style/tokenizer.model
                        (sentencepiece BPE, byte_fallback) converted by transformers'
                        LlamaConverter with legacy=True: normalizer Sequence[Prepend("▁"),
                        Replace(" ", "▁")], no pre_tokenizer, BPE byte_fallback fuse_unk,
                        post_processor TemplateProcessing("<s> $A"), decoder
                        Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)];
                        tokenizer_config.json (LlamaTokenizer, add_bos_token, legacy) and
                        the tokenizer.model itself (Hub repos carry both).
  llama2-json/          the same with legacy=False: no normalizer, pre_tokenizer
                        Metaspace(prepend_scheme "first", split=false).
  unigram-json/         a sentencepiece UNIGRAM model trained here (nmt_nfkc, T5 layout
                        pad=0 eos=1 unk=2, 3 <extra_id_N>) converted by transformers'
                        T5Converter: normalizer Sequence[Precompiled(nmt_nfkc charsmap),
                        Strip(right), Replace(/ {2,}/, "▁")], pre_tokenizer Metaspace(always,
                        split=true), Unigram, post_processor TemplateProcessing("$A </s>"),
                        decoder Metaspace; tokenizer_config.json (T5Tokenizer).
  unigram-bytefallback-json/  a sentencepiece UNIGRAM model with byte_fallback=True and a
                        small custom normalization_rule_tsv (NFKC subset, so the charsmap is
                        small) converted by transformers' MoshiConverter (a Unigram
                        converter that keeps byte_fallback): normalizer Sequence[Precompiled,
                        Replace(" ", "▁")], Metaspace(first, split=false), Unigram
                        byte_fallback=true, decoder Sequence[Replace, ByteFallback, Fuse,
                        Strip]; plus its tokenizer.model.
  wordlevel/            WordLevel (WordLevelTrainer, unk <unk>), normalizer Sequence[NFD,
                        Lowercase, Strip], pre_tokenizer Sequence[Whitespace,
                        Digits(individual_digits=true)], TemplateProcessing("<bos> $A <eos>"),
                        NO decoder (decode joins tokens with spaces).
  nfkc-bytelevel/       GPT-2-like byte-level BPE with normalizer NFKC.
  sequence-normalizer/  byte-level BPE with normalizer Sequence[NFKD, Replace("``", "\""),
                        Replace("''", "\""), Replace(/[‘’]/, "'"), Replace(/ {2,}/, " "),
                        Lowercase, Strip(both), Prepend(" "), NFC] and a special token with
                        normalized=true.
  charbpe/              character-level BPE (not byte-level): continuing_subword_prefix "##",
                        end_of_word_suffix "</w>", unk <unk>, fuse_unk, pre_tokenizer
                        Sequence[WhitespaceSplit, Punctuation(isolated), Digits(groups)],
                        RobertaProcessing, decoder Sequence[Replace("##", ""),
                        BPEDecoder("</w>")] (a right-side Strip decoder panics on "").
  split-removed/  split-isolated/  split-merged-previous/  split-merged-next/
  split-contiguous/  split-inverted/  split-inverted-string/
                        pre_tokenizers.Split with every behavior, String and Regex patterns,
                        invert=true, over char BPE / byte-level BPE / byte-fallback BPE /
                        WordLevel models, with decoders Metaspace, ByteLevel, ByteFallback,
                        Fuse, Strip, Sequence (see SPLIT_SPECS).
  metaspace-always/     BPE byte_fallback (<0x00>..<0xFF> in the vocab, trained by BpeTrainer),
                        Metaspace(prepend_scheme "always", split=true), TemplateProcessing
                        ("<s> $A"), decoder Sequence[ByteFallback, Metaspace(always)].
  metaspace-never/      same model kind, Metaspace("never", split=false), TemplateProcessing
                        ("$A </s>"), decoder Sequence[ByteFallback, Fuse, Metaspace(never)].
  post-sequence/        byte-level BPE, normalizer Lowercase, post_processor Sequence[
                        ByteLevel(trim_offsets), TemplateProcessing("<s> $A </s>")], non-special
                        added tokens with lstrip+rstrip, normalized=true vs false, single_word.

Every directory holds tokenizer.json, tokenizer_config.json (the transformers view),
and golden.json in the format of make_tokenizer_fixtures.py: a list of {"text",
"ids" (encode(text), add_special_tokens=True), "ids_no_special"
(add_special_tokens=False), "ids_specials_as_text" (add_special_tokens=False with
encode_special_tokens=True), "tokens", "decoded" (decode(ids)),
"decoded_skip_special" (decode(ids, skip_special_tokens=True))}, computed by
tokenizers.Tokenizer.from_file on the SAVED tokenizer.json.

Checks (the script exits non-zero when one fails)
-------------------------------------------------
  * transformers: PreTrainedTokenizerFast.from_pretrained(dir) (tokenizer.json as is)
    must encode (add_special_tokens true and false) and decode exactly like the
    `tokenizers` library on every golden text. AutoTokenizer.from_pretrained(dir)
    must too, except for the directories in AUTO_MAY_DIFFER, whose tokenizer_class
    (LlamaTokenizer, T5Tokenizer) makes transformers 5 REBUILD the pipeline from
    vocab/merges instead of loading tokenizer.json: there the differences are
    written to library_differences.json and summarised in the README.
  * sentencepiece (llama2-json*, unigram*): sp.encode(text) is compared with the
    tokenizers ids for the same text with special tokens not matched
    (ids_specials_as_text), and [BOS] + sp.encode(text) with "ids"; differences
    are written to library_differences.json (llama2-json-legacy: none expected,
    the script fails otherwise).
  * determinism: run the script twice into two directories and `cmp -r` them
    (--check-determinism does exactly that). sentencepiece training uses
    num_threads=1 and is also run twice in-process; tokenizers training runs with
    TOKENIZERS_PARALLELISM=false.

Rerun
-----
  /tmp/hfenv/bin/python scripts/make_tokenizer_kind_fixtures.py --out tests/fixtures/tokenizers
  /tmp/hfenv/bin/python scripts/make_tokenizer_kind_fixtures.py --check-determinism

(it rewrites only its own directories and the README section after
README_KEEP_MARKER; make_tokenizer_fixtures.py keeps that section when it rewrites
the README.)

Library versions used to make the checked-in fixtures
-----------------------------------------------------
  tokenizers 0.23.3, transformers 5.23.0, sentencepiece 0.2.3, protobuf 7.36.2,
  jinja2 3.1.6, Python 3.11.7
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # single-threaded training
os.environ.setdefault("RAYON_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_tokenizer_fixtures as base  # noqa: E402
import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import (  # noqa: E402
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LLAMA2_SPM = os.path.join(REPO, "tests", "fixtures", "sentencepiece", "llama2-style", "tokenizer.model")

CORPUS_SEED = 20240601
GOLDEN_SEED = 4242
BYTE_TOKENS = ["<0x%02X>" % b for b in range(256)]
MODEL_MAX_LENGTH = 1000000000000000019884624838656  # what transformers writes when unset

# Directories whose tokenizer_config.json names a model class (LlamaTokenizer,
# T5Tokenizer) that transformers 5 rebuilds from vocab/merges instead of loading
# tokenizer.json verbatim: AutoTokenizer may differ from `tokenizers` there.
AUTO_MAY_DIFFER = {"llama2-json-legacy", "llama2-json", "unigram-json"}

# Test strings on top of base.FIXED_TEXTS (all kinds: whitespace runs, leading and
# trailing spaces, newlines and tabs, digit runs, punctuation, accents and
# combining marks, fullwidth / compatibility characters, emoji, CJK, characters no
# vocabulary here has, and text that looks like the pieces of other tokenizer kinds).
EXTRA_TEXTS = [
    "ｈｅｌｌｏ ①²ﬁ",
    "ﬁne ﬂow ﬃ Ⅻ ㎏ ℃ ™ ½ ¼ ‰ ㈱",
    "Ｈｅｌｌｏ，　Ｗｏｒｌｄ！ １２３ ＡＢＣ ｱｲｳ",
    "``quoted'' and “curly” ‘single’ „low“",
    "   several   spaces   between   ",
    " leading single",
    "trailing single ",
    "\ttab\tseparated\tvalues\t",
    "new\nline\n",
    "\n leading newline",
    "tab\t\tand  double  space\n\n\nthree newlines\r\rcarriage",
    "0123456789 00 007 1e10 3,141.59 -42 +7 1_000",
    "a1b2c3 x99y v2.0.1 2024-06-01T12:30:00Z",
    "Hello... World!!! (yes) [no] {maybe} <tag> \"q\" 'a' #hash @at $5 %p ^c &a *s _u -d +p =e |p \\b /s ~t `b",
    "ÀÉÎÕÜ àéîõü ÇçÑñ ǅ Ǆ ǆ",
    "e\u0301 a\u0308 o\u0302\u0323 \u0301 n\u0303 A\u030a",
    "İ ı ß ẞ Σ ς σ Ω Ω K K",
    "ǂʬꙮ Ꝏ ᚠᛟ ⸘ ₰ ⁂ 龘靐齉 ጰ ऴ",
    "☃☃☃ snow☃man",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙 𝐀𝐁",
    "🫠🫨 🧑🏾‍🚀 👩🏻‍❤️‍💋‍👨🏼",
    "\U0010ffff\ue000\U000f0000",
    "<0x41><0xE2> <0x",
    "▁ ▁▁x ▁hello ▁",
    "##ing ## #",
    "</w> word</w> <w>",
    "<unk> <UNK> <pad> <bos> <eos>",
    "wordtok xwordtok wordtokx (wordtok) <raw_tok> <Raw_Tok> <RAW_TOK> <norm_tok> <NORM_TOK> <|sep|> <|Sep|>",
    "Ġhello Ċ ĠĠ",
    "ALL CAPS SENTENCE HERE",
    "MiXeD CaSe WoRdS",
    "a" * 50,
    "ab " * 20,
    "中文English混合123テスト",
    "한국어 텍스트와 English 🚀",
]


# ---------------------------------------------------------------------------
# Corpus and training helpers
# ---------------------------------------------------------------------------

def corpus_docs(approx_chars=400_000, seed=CORPUS_SEED):
    text = base.TextGen(seed).document(approx_chars)
    return [d for d in text.split("\n\n") if d]


def corpus_lines(approx_chars=300_000, seed=31337):
    text = base.TextGen(seed).document(approx_chars)
    return [ln for ln in text.replace("\r", "").split("\n") if ln.strip()]


def bpe_trainer(vocab_size, specials, **kw):
    return trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, show_progress=False, special_tokens=specials, **kw
    )


def train(tok, docs, trainer):
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))


def edit_json(tok, fn):
    """Apply fn to the tokenizer's JSON dict and rebuild it."""
    d = json.loads(tok.to_str())
    fn(d)
    return Tokenizer.from_str(json.dumps(d))


def drop_added_tokens(d, contents):
    """Tokens that went into a trainer as special tokens only to get fixed ids: keep
    them as plain vocab entries, not added tokens."""
    d["added_tokens"] = [a for a in d["added_tokens"] if a["content"] not in contents]


def drop_byte_added_tokens(d):
    """<0x00>..<0xFF> went into the trainer as special tokens (so they got ids right
    after <unk> <s> </s>, like Llama-2); keep them as plain vocab entries only."""
    drop_added_tokens(d, set(BYTE_TOKENS))


def restrict_alphabet(docs, n):
    """The docs with every non-space character outside the n most frequent ones (ties by
    code point) replaced by a space: the trained vocabulary then lacks the rare
    characters, so unk / byte_fallback trigger on them. (BpeTrainer's own
    limit_alphabet breaks frequency ties in hash order: not reproducible.)"""
    counts = {}
    for d in docs:
        for c in d:
            if not c.isspace():
                counts[c] = counts.get(c, 0) + 1
    keep = set(sorted(counts, key=lambda c: (-counts[c], c))[:n])
    return ["".join(c if c in keep or c.isspace() else " " for c in d) for d in docs]


def byte_fallback_bpe(pre_tokenizer, decoder, docs, vocab_size, alphabet, specials=("<unk>", "<s>", "</s>")):
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoder
    train(tok, restrict_alphabet(docs, alphabet), bpe_trainer(vocab_size, list(specials) + BYTE_TOKENS))
    tok = edit_json(tok, drop_byte_added_tokens)
    d = json.loads(tok.to_str())
    assert d["model"]["byte_fallback"] and [d["model"]["vocab"][b] for b in BYTE_TOKENS] == list(
        range(len(specials), len(specials) + 256)
    )
    return tok


def template(single, pair, tok, names):
    return processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=[(n, tok.token_to_id(n)) for n in names]
    )


# ---------------------------------------------------------------------------
# tokenizers-built kinds
# ---------------------------------------------------------------------------

def make_wordlevel(docs):
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFD(), normalizers.Lowercase(), normalizers.Strip(left=True, right=True)]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    train(tok, docs, trainers.WordLevelTrainer(
        vocab_size=1500, min_frequency=2, show_progress=False,
        special_tokens=["<unk>", "<pad>", "<bos>", "<eos>"],
    ))
    tok.post_processor = template("<bos> $A <eos>", "<bos> $A <eos> $B:1 <eos>:1", tok, ["<bos>", "<eos>"])
    return tok, dict(bos="<bos>", eos="<eos>", unk="<unk>", pad="<pad>")


def make_nfkc_bytelevel(docs):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    train(tok, docs, bpe_trainer(900, ["<|endoftext|>"], initial_alphabet=base.byte_alphabet()))
    return tok, dict(bos="<|endoftext|>", eos="<|endoftext|>", unk="<|endoftext|>")


def make_sequence_normalizer(docs):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKD(),
        normalizers.Replace("``", '"'),
        normalizers.Replace("''", '"'),
        normalizers.Replace(Regex("[\u2018\u2019]"), "'"),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Lowercase(),
        normalizers.Strip(left=True, right=True),
        normalizers.Prepend(" "),
        normalizers.NFC(),
    ])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    train(tok, docs, bpe_trainer(900, ["<|endoftext|>"], initial_alphabet=base.byte_alphabet()))
    # a special token matched on the NORMALIZED text (lowercased, prepended ...)
    tok.add_special_tokens([AddedToken("<|SEP|>", special=True, normalized=True)])
    return tok, dict(bos="<|endoftext|>", eos="<|endoftext|>", unk="<|endoftext|>", sep="<|SEP|>")


def affix_variants(pre_tokenizer, docs, prefix, suffix):
    """The non-initial / word-final character symbols BpeTrainer makes for these docs
    (prefix + c, c + suffix, prefix + c + suffix), sorted."""
    out = set()
    for d in docs:
        for w, _ in pre_tokenizer.pre_tokenize_str(d):
            n = len(w)
            for i, c in enumerate(w):
                if i > 0 or i == n - 1:
                    out.add((prefix if i > 0 else "") + c + (suffix if i == n - 1 else ""))
    return sorted(out)


def make_charbpe(docs):
    tok = Tokenizer(models.BPE(
        unk_token="<unk>", fuse_unk=True, continuing_subword_prefix="##", end_of_word_suffix="</w>"
    ))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Punctuation(behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=False),
    ])
    # Not Sequence[Replace("</w>", " "), Fuse, Strip(" ", 0, 1)]: in tokenizers 0.23.3 a
    # Strip decoder with right > 0 panics (index out of bounds) on an empty string, i.e.
    # on every decode that yields nothing (decode([]), or only skipped specials).
    # BPEDecoder does the same job: "</w>" -> " " except on the last token.
    tok.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.BPEDecoder(suffix="</w>")])
    docs = restrict_alphabet(docs, 300)
    # BpeTrainer gives the "##c" / "c</w>" / "##c</w>" alphabet variants their ids in
    # hash-map order (and merge ties follow the ids): not reproducible. So they go in
    # first, sorted, as trainer special tokens, and are then made plain vocab entries.
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    variants = affix_variants(tok.pre_tokenizer, docs, "##", "</w>")
    train(tok, docs, bpe_trainer(
        1200 + len(variants), specials + variants,
        continuing_subword_prefix="##", end_of_word_suffix="</w>",
    ))
    tok = edit_json(tok, lambda d: drop_added_tokens(d, set(variants)))
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True, add_prefix_space=False,
    )
    return tok, dict(bos="<s>", eos="</s>", unk="<unk>", pad="<pad>")


def make_metaspace(docs, scheme, split):
    # Trained with split=true (the words are the training units, like sentencepiece),
    # then saved with the split flag wanted.
    tok = byte_fallback_bpe(
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=True),
        decoders.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=True),
        docs, 800, alphabet=120,
    )
    if scheme == "always":
        tok.post_processor = template("<s> $A", "<s> $A <s>:1 $B:1", tok, ["<s>"])
        tok.decoder = decoders.Sequence([
            decoders.ByteFallback(),
            decoders.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=True),
        ])
    else:
        tok.post_processor = template("$A </s>", "$A </s> $B:1 </s>:1", tok, ["</s>"])
        tok.decoder = decoders.Sequence([
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split),
        ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split)
    return tok, dict(bos="<s>", eos="</s>", unk="<unk>")


def make_post_sequence(docs):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    train(tok, docs, bpe_trainer(900, ["<s>", "<pad>", "</s>", "<unk>"], initial_alphabet=base.byte_alphabet()))
    tok.add_tokens([
        AddedToken("<strip_tok>", special=False, normalized=False, lstrip=True, rstrip=True),
        AddedToken("<Norm_Tok>", special=False, normalized=True),
        AddedToken("<Raw_Tok>", special=False, normalized=False),
        AddedToken("wordtok", special=False, normalized=False, single_word=True),
    ])
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        template("<s> $A </s>", "<s> $A </s> </s> $B </s>", tok, ["<s>", "</s>"]),
    ])
    return tok, dict(bos="<s>", eos="</s>", unk="<unk>", pad="<pad>")


def make_split(docs, spec):
    kind = spec["model"]
    pre = spec["pre"]()
    dec = spec["decoder"]()
    if kind == "byte_fallback_bpe":
        return byte_fallback_bpe(pre, dec, docs, 600, alphabet=120), dict(bos="<s>", eos="</s>", unk="<unk>")
    if kind == "wordlevel":
        tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
        tok.pre_tokenizer = pre
        tok.decoder = dec
        train(tok, docs, trainers.WordLevelTrainer(
            vocab_size=1500, min_frequency=2, show_progress=False, special_tokens=["<unk>", "<s>", "</s>"]))
        return tok, dict(bos="<s>", eos="</s>", unk="<unk>")
    if kind == "bytelevel_bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre
        tok.decoder = dec
        train(tok, docs, bpe_trainer(600, ["<s>", "</s>"], initial_alphabet=base.byte_alphabet()))
        return tok, dict(bos="<s>", eos="</s>")
    assert kind in ("char_bpe", "char_bpe_nofuse"), kind
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=(kind == "char_bpe")))
    tok.pre_tokenizer = pre
    tok.decoder = dec
    train(tok, restrict_alphabet(docs, 150), bpe_trainer(600, ["<unk>", "<s>", "</s>"]))
    return tok, dict(bos="<s>", eos="</s>", unk="<unk>")


def _metaspace_pre(scheme, split):
    return pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split)


def _metaspace_dec(scheme):
    return decoders.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=True)


# One directory per Split behavior; "what" goes into the README.
SPLIT_SPECS = {
    "split-removed": dict(
        what="Sequence[Split(Regex `\\s+`, removed), Metaspace(always, split=false)]; char BPE "
             "(unk, fuse_unk); decoder Metaspace(always): whitespace runs come back as one space",
        model="char_bpe",
        pre=lambda: pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"), _metaspace_pre("always", False)]),
        decoder=lambda: _metaspace_dec("always"),
    ),
    "split-isolated": dict(
        what="Sequence[Split(String \" \", isolated), ByteLevel(use_regex=false)]; byte-level BPE; "
             "decoder ByteLevel",
        model="bytelevel_bpe",
        pre=lambda: pre_tokenizers.Sequence([
            pre_tokenizers.Split(" ", behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)]),
        decoder=lambda: decoders.ByteLevel(),
    ),
    "split-merged-previous": dict(
        what="Split(String \" \", merged_with_previous) (words keep their trailing space); BPE "
             "byte_fallback; decoder Sequence[ByteFallback, Fuse]",
        model="byte_fallback_bpe",
        pre=lambda: pre_tokenizers.Split(" ", behavior="merged_with_previous"),
        decoder=lambda: decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()]),
    ),
    "split-merged-next": dict(
        what="Split(Regex `\\s+`, merged_with_next) (words keep their leading whitespace); char "
             "BPE with fuse_unk=false; decoder Fuse",
        model="char_bpe_nofuse",
        pre=lambda: pre_tokenizers.Split(Regex(r"\s+"), behavior="merged_with_next"),
        decoder=lambda: decoders.Fuse(),
    ),
    "split-contiguous": dict(
        what="Sequence[Split(Regex `\\p{P}`, contiguous), Metaspace(first, split=true)]; WordLevel; "
             "decoder Metaspace(first)",
        model="wordlevel",
        pre=lambda: pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"\p{P}"), behavior="contiguous"), _metaspace_pre("first", True)]),
        decoder=lambda: _metaspace_dec("first"),
    ),
    "split-inverted": dict(
        what="Sequence[Split(Regex `[\\p{L}\\p{M}]+|\\p{N}{1,3}|[^\\s\\p{L}\\p{M}\\p{N}]+`, removed, "
             "invert=true) (keeps the matches, drops the whitespace), ByteLevel(add_prefix_space=true, "
             "use_regex=false)]; byte-level BPE; decoder Sequence[ByteLevel, Strip(\" \", 1, 0)]",
        model="bytelevel_bpe",
        pre=lambda: pre_tokenizers.Sequence([
            pre_tokenizers.Split(
                Regex(r"[\p{L}\p{M}]+|\p{N}{1,3}|[^\s\p{L}\p{M}\p{N}]+"), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=False)]),
        decoder=lambda: decoders.Sequence([decoders.ByteLevel(), decoders.Strip(content=" ", left=1, right=0)]),
    ),
    "split-inverted-string": dict(
        what="Split(String \" \", merged_with_previous, invert=true) (= each space merged into the "
             "NEXT piece); WordLevel; decoder Fuse",
        model="wordlevel",
        pre=lambda: pre_tokenizers.Split(" ", behavior="merged_with_previous", invert=True),
        decoder=lambda: decoders.Fuse(),
    ),
}


# ---------------------------------------------------------------------------
# transformers / sentencepiece converted kinds
# ---------------------------------------------------------------------------

def _llama_converter_class():
    from transformers.convert_slow_tokenizer import LlamaConverter, SentencePieceExtractor, generate_merges

    class ScoreOrderedExtractor(SentencePieceExtractor):
        """transformers 5.23's SpmConverter.tokenizer calls SpmExtractor(...).extract(vocab_scores)
        but SentencePieceExtractor.extract now takes a model class (AttributeError on the
        list). This restores the transformers-4 extractor: vocab in piece order, merges
        from generate_merges(vocab, vocab_scores) (ordered by piece score)."""

        def extract(self, vocab_scores=None):
            vocab = {p.piece: i for i, p in enumerate(self.proto.pieces)}
            return vocab, generate_merges(vocab, vocab_scores)

    class Converter(LlamaConverter):
        SpmExtractor = ScoreOrderedExtractor

    return Converter


def _slow_spm(vocab_file, legacy, **special):
    """A transformers sentencepiece-backed ("slow") tokenizer: what the converters read
    (vocab_file, legacy, convert_ids_to_tokens / convert_tokens_to_ids)."""
    from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

    return SentencePieceBackend(vocab_file=vocab_file, legacy=legacy, **special)


def make_llama2(out_dir, legacy):
    from transformers import LlamaTokenizerFast

    specials = dict(unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    slow = _slow_spm(LLAMA2_SPM, legacy, **specials)
    tk = _llama_converter_class()(slow).converted()
    # The Hub Llama-2 tokenizer.json lists <unk> as an added special token too.
    tk.add_special_tokens([AddedToken("<unk>", special=True, normalized=False)])
    fast = LlamaTokenizerFast(
        tokenizer_object=tk, legacy=legacy, add_bos_token=True, add_eos_token=False, **specials
    )
    fast.save_pretrained(out_dir)
    shutil.copyfile(LLAMA2_SPM, os.path.join(out_dir, "tokenizer.model"))
    raw = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
    # tokenizer_config.json as the Hub Llama-2 repos have it (transformers 5 writes
    # neither add_bos_token/add_eos_token nor legacy).
    cfg_path = os.path.join(out_dir, "tokenizer_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    cfg.update(
        add_bos_token=True, add_eos_token=False, legacy=legacy, pad_token=None, sp_model_kwargs={},
    )
    base.fill_added_tokens_decoder(cfg, raw)
    base.write_json(cfg_path, dict(sorted(cfg.items())))
    return raw


def train_spm(lines, **opts):
    def once():
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=buf, num_threads=1, shuffle_input_sentence=False,
            input_sentence_size=0, max_sentence_length=8192, minloglevel=2, **opts)
        return buf.getvalue()

    a, b = once(), once()
    if a != b:
        sys.exit("sentencepiece: two training runs gave different .model bytes")
    return a


def nfkc_subset_rules():
    """normalization_rule_tsv lines: NFKC for a few blocks plus NFC compositions of
    common base+mark pairs (a small charsmap instead of nmt_nfkc's 240 KB)."""
    rules = []
    blocks = [(0xA0, 0xFF), (0x2000, 0x206F), (0x2070, 0x209F), (0x2100, 0x218F), (0x2460, 0x24FF),
              (0x3000, 0x303F), (0xFB00, 0xFB4F), (0xFF00, 0xFFEF)]
    for lo, hi in blocks:
        for c in range(lo, hi + 1):
            n = unicodedata.normalize("NFKC", chr(c))
            if n and n != chr(c):
                rules.append((chr(c), n))
    for b in "aeiouncyAEIOUNCY":
        for mark in "\u0300\u0301\u0302\u0303\u0308\u030a\u0327":
            n = unicodedata.normalize("NFC", b + mark)
            if len(n) == 1:
                rules.append((b + mark, n))

    def hexs(s):
        return " ".join("%X" % ord(c) for c in s)

    return "".join(f"{hexs(a)}\t{hexs(b)}\n" for a, b in rules)


def make_unigram_t5(out_dir, lines, tmp):
    from transformers import T5Tokenizer
    from transformers.convert_slow_tokenizer import T5Converter

    blob = train_spm(
        lines, model_type="unigram", vocab_size=1000, character_coverage=0.995,
        normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
    )
    model_path = os.path.join(tmp, "unigram_t5.model")
    with open(model_path, "wb") as f:
        f.write(blob)
    special = dict(unk_token="<unk>", eos_token="</s>", pad_token="<pad>")
    slow = _slow_spm(model_path, True, **special)
    slow._extra_ids = 3  # T5Converter appends <extra_id_2> <extra_id_1> <extra_id_0>
    tk = T5Converter(slow).converted()
    fast = T5Tokenizer(tokenizer_object=tk, extra_ids=3, **special)
    fast.save_pretrained(out_dir)
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json")), blob


def make_unigram_bytefallback(out_dir, lines, tmp):
    from transformers.convert_slow_tokenizer import MoshiConverter

    base.write_text(os.path.join(tmp, "nfkc_subset.tsv"), nfkc_subset_rules())
    # The .model records the rule file's path: train from tmp with a relative name.
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        blob = train_spm(
            lines, model_type="unigram", vocab_size=1000, character_coverage=0.995, byte_fallback=True,
            normalization_rule_tsv="nfkc_subset.tsv", remove_extra_whitespaces=False,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        )
    finally:
        os.chdir(cwd)
    model_path = os.path.join(out_dir, "tokenizer.model")
    os.makedirs(out_dir, exist_ok=True)
    with open(model_path, "wb") as f:
        f.write(blob)
    tk = MoshiConverter(model_path).converted()
    tk.add_special_tokens([AddedToken("<unk>", special=True, normalized=False)])
    d = json.loads(tk.to_str())
    assert d["model"]["type"] == "Unigram" and d["model"]["byte_fallback"], d["model"].get("byte_fallback")
    base.save_library(tk, os.path.join(out_dir, "tokenizer.json"))
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json")), blob


# ---------------------------------------------------------------------------
# Golden data and checks
# ---------------------------------------------------------------------------

def added_token_texts(tok):
    """Texts with the tokenizer's own added tokens at the start, in the middle, doubled,
    next to spaces and newlines."""
    d = json.loads(tok.to_str())
    contents = [a["content"] for a in d["added_tokens"]][:8]
    out = []
    for t in contents:
        out += [t + "Hello world", "Hello" + t + "world", "Hello " + t + " world", "  " + t + "  x\n", t + t + " x"]
    if contents:
        out.append("\n".join(contents) + " end " + "".join(contents))
    return out


def golden_texts(tok):
    texts = list(base.FIXED_TEXTS) + EXTRA_TEXTS + added_token_texts(tok)
    g = base.TextGen(GOLDEN_SEED)
    texts += [g.random_string() for _ in range(30)]
    texts += [g.paragraph(), g.paragraph()]
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def transformers_differences(dirpath, raw, texts, loader):
    diffs = []
    for t in texts:
        for ast in (True, False):
            a = list(loader.encode(t, add_special_tokens=ast))
            b = raw.encode(t, add_special_tokens=ast).ids
            if a != b:
                diffs.append({"text": t, "add_special_tokens": ast, "transformers_ids": a, "tokenizers_ids": b})
        ids = raw.encode(t).ids
        for skip in (False, True):
            a = loader.decode(ids, skip_special_tokens=skip)
            b = raw.decode(ids, skip_special_tokens=skip)
            if a != b:
                diffs.append({"text": t, "decode_ids": ids, "skip_special_tokens": skip,
                              "transformers_decoded": a, "tokenizers_decoded": b})
    return diffs


def check_transformers(name, dirpath, texts):
    """PreTrainedTokenizerFast (tokenizer.json as is) must agree with `tokenizers`;
    AutoTokenizer must too unless name is in AUTO_MAY_DIFFER. Returns AutoTokenizer's diffs."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    raw = Tokenizer.from_file(os.path.join(dirpath, "tokenizer.json"))
    verbatim = PreTrainedTokenizerFast.from_pretrained(dirpath)
    d = transformers_differences(dirpath, raw, texts, verbatim)
    if d:
        sys.exit(f"{name}: PreTrainedTokenizerFast differs from tokenizers: {json.dumps(d[:3], ensure_ascii=False)}")
    auto = AutoTokenizer.from_pretrained(dirpath)
    d = transformers_differences(dirpath, raw, texts, auto)
    if d and name not in AUTO_MAY_DIFFER:
        sys.exit(f"{name}: AutoTokenizer ({type(auto).__name__}) differs from tokenizers: "
                 f"{json.dumps(d[:3], ensure_ascii=False)}")
    return type(auto).__name__, d


def template_around(raw):
    """(prefix, suffix) ids the post_processor puts around a single sequence."""
    full = raw.encode("a").ids
    bare = raw.encode("a", add_special_tokens=False).ids
    for k in range(len(full) - len(bare) + 1):
        if full[k:k + len(bare)] == bare:
            return full[:k], full[k + len(bare):]
    raise AssertionError((full, bare))


def sentencepiece_differences(blob, raw, texts):
    """Where sp.encode / sp.decode differ from the `tokenizers` result for the same text:
    ids_specials_as_text vs sp.encode(text); ids vs sp.encode(text) inside the
    post_processor's specials (BOS for Llama, </s> for T5); decode(ids_specials_as_text,
    skip_special_tokens=False) vs sp.decode(sp.encode(text))."""
    sp = spm.SentencePieceProcessor(model_proto=blob)
    prefix, suffix = template_around(raw)
    diffs = []
    for t in texts:
        sp_ids = sp.encode(t)
        raw.encode_special_tokens = True
        try:
            as_text = raw.encode(t, add_special_tokens=False).ids
        finally:
            raw.encode_special_tokens = False
        full = raw.encode(t).ids
        row = {}
        if as_text != sp_ids:
            row["ids_specials_as_text"] = as_text
        if full != prefix + sp_ids + suffix:
            row["ids"] = full
        decoded = raw.decode(as_text, skip_special_tokens=False)
        if decoded != sp.decode(sp_ids):
            row["decoded"] = decoded
        if row:
            diffs.append({"text": t, "sentencepiece_ids": sp_ids, "sentencepiece_decoded": sp.decode(sp_ids),
                          "tokenizers": row})
    return diffs


def write_differences(path, auto_class, auto_diffs, sp_diffs):
    def records(rs):
        if not rs:
            return "[]"
        return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rs) + "\n]"

    what = ("where other libraries differ from the `tokenizers` library (the golden.json reference) "
            "on the golden texts; see tests/fixtures/tokenizers/README.md")
    base.write_text(path, "{\n"
                    f'"what": {json.dumps(what)},\n'
                    f'"autotokenizer_class": {json.dumps(auto_class)},\n'
                    f'"autotokenizer_vs_tokenizers": {records(auto_diffs)},\n'
                    f'"sentencepiece_vs_tokenizers": {records(sp_diffs)}\n'
                    "}\n")


def fast_config(tok, bos=None, eos=None, unk=None, pad=None, sep=None):
    cfg = {
        "added_tokens_decoder": {},
        "bos_token": bos,
        "clean_up_tokenization_spaces": False,
        "eos_token": eos,
        "model_max_length": MODEL_MAX_LENGTH,
        "pad_token": pad,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": unk,
    }
    if sep is not None:
        cfg["sep_token"] = sep
    return dict(sorted(base.fill_added_tokens_decoder(cfg, tok).items()))


def components(path):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    m = {k: v for k, v in d["model"].items() if k not in ("vocab", "merges", "precompiled_charsmap")}
    m["vocab_size"] = len(d["model"]["vocab"])
    if "merges" in d["model"]:
        m["merges"] = len(d["model"]["merges"])

    def short(x):
        s = json.dumps(x, ensure_ascii=False)
        return s if len(s) < 4000 else s[:200] + "..."

    for n in (d.get("normalizer") or {}).get("normalizers", []) or [d.get("normalizer") or {}]:
        if n.get("type") == "Precompiled":
            n["precompiled_charsmap"] = f"<{len(n['precompiled_charsmap'])} base64 chars>"
    return {
        "normalizer": d["normalizer"], "pre_tokenizer": d["pre_tokenizer"], "model": m,
        "post_processor": d["post_processor"], "decoder": d["decoder"],
        "added_tokens": [(a["id"], a["content"], a["special"]) for a in d["added_tokens"]],
        "_short": short,
    }


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------

def build_all(out):
    docs = corpus_docs()
    lines = corpus_lines()
    tmp = tempfile.mkdtemp(prefix="tok_kind_")
    notes = {}  # name -> {"sentencepiece": [...], "autotokenizer": (class, [...])}
    sp_blobs = {}
    try:
        built = {}
        for name, legacy in (("llama2-json-legacy", True), ("llama2-json", False)):
            make_llama2(os.path.join(out, name), legacy)
            with open(LLAMA2_SPM, "rb") as f:
                sp_blobs[name] = f.read()
            built[name] = None
        _, sp_blobs["unigram-json"] = make_unigram_t5(os.path.join(out, "unigram-json"), lines, tmp)
        built["unigram-json"] = None
        _, sp_blobs["unigram-bytefallback-json"] = make_unigram_bytefallback(
            os.path.join(out, "unigram-bytefallback-json"), lines, tmp)
        built["unigram-bytefallback-json"] = dict(bos="<s>", eos="</s>", unk="<unk>")

        made = {
            "wordlevel": make_wordlevel(docs),
            "nfkc-bytelevel": make_nfkc_bytelevel(docs),
            "sequence-normalizer": make_sequence_normalizer(docs),
            "charbpe": make_charbpe(docs),
        }
        for name, spec in SPLIT_SPECS.items():
            made[name] = make_split(docs, spec)
        made["metaspace-always"] = make_metaspace(docs, "always", True)
        made["metaspace-never"] = make_metaspace(docs, "never", False)
        made["post-sequence"] = make_post_sequence(docs)
        for name, (tok, cfg) in made.items():
            base.save_library(tok, os.path.join(out, name, "tokenizer.json"))
            built[name] = cfg

        for name, cfg in built.items():
            d = os.path.join(out, name)
            raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
            if cfg is not None:
                base.write_json(os.path.join(d, "tokenizer_config.json"), fast_config(raw, **cfg))
            texts = golden_texts(raw)
            gold = [base.gold_entry(raw, t) for t in texts]
            assert len(gold) > 50, (name, len(gold))
            base.write_json_records(os.path.join(d, "golden.json"), gold)
            auto_class, auto_diffs = check_transformers(name, d, texts)
            n = {"autotokenizer_class": auto_class, "autotokenizer": auto_diffs}
            if name in sp_blobs:
                n["sentencepiece"] = sentencepiece_differences(sp_blobs[name], raw, texts)
                if name == "llama2-json-legacy" and any(
                        "ids_specials_as_text" in x["tokenizers"] for x in n["sentencepiece"]):
                    sys.exit("llama2-json-legacy: sentencepiece ids differ from the converted tokenizer.json")
            notes[name] = n
            diff_path = os.path.join(d, "library_differences.json")
            if auto_diffs or n.get("sentencepiece"):
                write_differences(diff_path, auto_class, auto_diffs, n.get("sentencepiece", []))
            elif os.path.exists(diff_path):
                os.remove(diff_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_readme_section(out, list(built), notes)
    return built, notes


def dir_size(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


DIR_NOTES = {
    "llama2-json-legacy": "tests/fixtures/sentencepiece/llama2-style/tokenizer.model converted by "
        "transformers' LlamaConverter (legacy=True) and saved by LlamaTokenizerFast.save_pretrained; "
        "tokenizer.model copied next to it; `<unk>` added as a special added token like the Hub Llama-2 file.",
    "llama2-json": "the same .model converted with legacy=False.",
    "unigram-json": "sentencepiece UNIGRAM trained here (vocab 1000, nmt_nfkc, remove_extra_whitespaces, "
        "T5 ids pad=0 eos=1 unk=2, no bos) converted by transformers' T5Converter with 3 extra ids, saved by "
        "T5Tokenizer.save_pretrained (the .model is not kept: its 240 KB charsmap is already in tokenizer.json).",
    "unigram-bytefallback-json": "sentencepiece UNIGRAM with byte_fallback=True and a custom "
        "normalization_rule_tsv (NFKC of a few blocks + NFC of base+mark pairs, ~7 KB charsmap), "
        "remove_extra_whitespaces=False, unk=0 bos=1 eos=2, converted by transformers' MoshiConverter "
        "(keeps byte_fallback); tokenizer.model kept.",
    "wordlevel": "trained by WordLevelTrainer (vocab 1500, min_frequency 2).",
    "nfkc-bytelevel": "GPT-2 layout (ByteLevel pre-tokenizer with its regex, `<|endoftext|>`) + NFKC normalizer.",
    "sequence-normalizer": "byte-level BPE; the Prepend(\" \") after Strip gives every normalized segment "
        "exactly one leading space; `<|SEP|>` is a special token with normalized=true (matched after "
        "normalization).",
    "charbpe": "character-level BPE trained on the corpus restricted to its 300 most frequent characters "
        "(restrict_alphabet) so rare characters are `<unk>`.",
    "metaspace-always": "BPE trained by BpeTrainer with `<0x00>`..`<0xFF>` as plain vocab entries (ids 3..258), "
        "trained on the corpus restricted to its 120 most frequent characters so byte_fallback triggers.",
    "metaspace-never": "same model kind; trained with split=true, saved with split=false (one pre-token per text, "
        "like Llama-2).",
    "post-sequence": "non-special added tokens: `<strip_tok>` (lstrip+rstrip), `<Norm_Tok>` (normalized=true: "
        "matches after Lowercase, so `<norm_tok>` and `<NORM_TOK>` too), `<Raw_Tok>` (normalized=false: exact "
        "case only), `wordtok` (single_word).",
}


LIBRARY_NOTES = [
    "### Library behaviour these fixtures pin down (tokenizers 0.23.3 / transformers 5.23.0)",
    "",
    "- Metaspace `prepend_scheme: \"first\"` prepends `▁` only to the pre-token whose ORIGINAL offset is 0: "
    "text after a special token gets no `▁` (`\"Hello<s>world\"` -> `<s>`, `w`, `orld`), and neither does the "
    "text right after a leading special token (`\"<s>Hello\"` -> `<s>`, `H`, ...). `\"always\"` prepends to "
    "every segment (`<s>`, `▁w`...). Neither adds a second `▁` when the text already starts with a space, so "
    "`\" hello\"` -> `▁he`... while sentencepiece's add_dummy_prefix gives `▁▁hello` (the llama2-json / "
    "unigram-bytefallback-json sentencepiece differences).",
    "- The legacy Llama normalizer `Prepend(\"▁\")` runs on every segment between added tokens, so text after "
    "a special token gets its own `▁` (`\"Hello<s>world\"` -> `<s>`, `▁world`), and always adds one, even "
    "before a leading space (`▁▁hello`, as sentencepiece does).",
    "- Added tokens with `normalized: true` are matched in the NORMALIZED text and their content is normalized "
    "too: in sequence-normalizer `<|SEP|>` becomes ` <|sep|>` (Lowercase + Prepend), so it only matches where "
    "the normalized segment has a space before it (`\"Hello<|SEP|>world\"` does not match; of `<|SEP|><|SEP|>` "
    "only the first); the token string is ` <|sep|>`. In post-sequence `<Norm_Tok>` matches `<norm_tok>` / "
    "`<NORM_TOK>` and its token string is `<norm_tok>`; `lstrip`/`rstrip` tokens swallow all adjacent whitespace "
    "including newlines (`\"\\n<strip_tok>\\n\"` is one token).",
    "- With no decoder (wordlevel) decode joins the token strings with single spaces (`<bos> 1 2 3 <eos>`).",
    "- ByteFallback decodes a run of consecutive `<0xXX>` tokens as UTF-8; if the run is not valid UTF-8, EVERY "
    "byte token of the run becomes one U+FFFD, valid ASCII bytes included (`<0x41><0xE2>` -> `\"\ufffd\ufffd\"`, "
    "but `<0x41><0xE2><0x98><0x83>` -> `\"A☃\"`).",
    "- Unigram in `tokenizers` treats CONTROL and BYTE pieces as ordinary vocabulary: the text `<0x41>` "
    "(not an added token) and, with encode_special_tokens=true, `<pad>` / `</s>` encode to that piece's id, "
    "which sentencepiece never does. Unigram `tokens` for an unknown span "
    "are the span's text (e.g. `☃☃☃`), not `<unk>`; the id is unk_id and decode gives `<unk>` "
    "(sentencepiece: ` ⁇ `).",
    "- `Precompiled` drops codepoints: inside a grapheme it applies the SHORTEST matching rule to the whole "
    "grapheme and discards the rest (`o\\u0302\\u0323` -> `ô`, `e\\u0301\\u0301` -> `é`), while sentencepiece "
    "keeps them (huggingface/tokenizers issues #2116, #2334). golden.json keeps the `tokenizers` result.",
    "- The `Strip` decoder with `stop > 0` panics (index out of bounds) on an empty token string, e.g. "
    "Sequence[..., Fuse, Strip(\" \", 0, 1)] on decode([]) (huggingface/tokenizers PR #2239), so charbpe uses "
    "BPEDecoder(\"</w>\") instead.",
    "- ByteLevel(add_prefix_space=true) as a pre-tokenizer adds the space to EVERY pre-token, not just the first "
    "(split-inverted: `1234567` splits into `123` `456` `7`, each gets a `Ġ`, decoded `123 456 7`). "
    "Split with invert=true is the same "
    "as invert=false for isolated and contiguous, swaps merged_with_previous/merged_with_next, and with removed "
    "keeps only the matches.",
    "- transformers 5.23: SpmConverter's BPE path calls `SentencePieceExtractor.extract(vocab_scores)` whose "
    "signature changed (AttributeError), so the script converts Llama with a 4.x-style extractor (merges from "
    "`generate_merges(vocab, vocab_scores)`). LlamaTokenizer and T5Tokenizer REBUILD their pipeline from "
    "vocab/merges when loading tokenizer.json (Llama: no normalizer, Metaspace `always` if legacy else `first`; "
    "T5: Precompiled only + Sequence[WhitespaceSplit, Metaspace]), hence the AutoTokenizer differences above; "
    "save_pretrained writes neither add_bos_token/add_eos_token nor legacy (the script adds them, as the Hub "
    "Llama-2 tokenizer_config.json has them).",
]


def write_readme_section(out, names, notes):
    import jinja2
    import transformers
    from google import protobuf

    lines = [
        base.README_KEEP_MARKER,
        "",
        "## Other tokenizer kinds (`scripts/make_tokenizer_kind_fixtures.py`)",
        "",
        "Rerun: `/tmp/hfenv/bin/python scripts/make_tokenizer_kind_fixtures.py --out tests/fixtures/tokenizers`",
        "(`--check-determinism` runs it twice into temp dirs and compares them byte for byte).",
        f"Versions: tokenizers {tokenizers.__version__}, transformers {transformers.__version__}, "
        f"sentencepiece {spm.__version__}, protobuf {protobuf.__version__}, jinja2 {jinja2.__version__}, "
        f"Python {'.'.join(map(str, sys.version_info[:3]))}. Everything is trained or converted here "
        "(seeded corpus from make_tokenizer_fixtures.TextGen); nothing comes from the Hub.",
        "",
        "Each directory: `tokenizer.json`, `tokenizer_config.json` (the transformers view), `golden.json` "
        "(same format as above, computed by `tokenizers.Tokenizer.from_file` on the saved file, from "
        "FIXED_TEXTS + the kind script's EXTRA_TEXTS + texts with the directory's added tokens + 30 seeded "
        "random strings + 2 paragraphs), and `library_differences.json` where AutoTokenizer or sentencepiece "
        "disagree with `tokenizers` (golden.json is always the `tokenizers` result). "
        "PreTrainedTokenizerFast.from_pretrained(dir) agrees with `tokenizers` everywhere (checked).",
        "",
    ]
    for name in names:
        d = os.path.join(out, name)
        c = components(os.path.join(d, "tokenizer.json"))
        short = c["_short"]
        files = sorted(os.listdir(d))
        lines.append(f"### `{name}/` ({dir_size(d) // 1024} KB: {', '.join(files)})")
        lines.append("")
        if name in DIR_NOTES:
            lines.append(DIR_NOTES[name])
        if name in SPLIT_SPECS:
            lines.append(SPLIT_SPECS[name]["what"] + ".")
        lines.append("")
        for k in ("normalizer", "pre_tokenizer", "model", "post_processor", "decoder", "added_tokens"):
            lines.append(f"- {k}: `{short(c[k])}`")
        n = notes[name]
        auto = n["autotokenizer"]
        lines.append(
            f"- AutoTokenizer loads it as {n['autotokenizer_class']}: "
            + ("same ids and decode as `tokenizers` on every golden text." if not auto else
               f"{len(auto)} differences on the golden texts (library_differences.json), e.g. "
               + "; ".join(f"`{json.dumps(t, ensure_ascii=False)}`"
                           for t in list(dict.fromkeys(x["text"] for x in auto))[:5]) + ".")
        )
        if "sentencepiece" in n:
            sd = n["sentencepiece"]
            as_text = [x for x in sd if "ids_specials_as_text" in x["tokenizers"]]
            only_ids = [x for x in sd if "ids_specials_as_text" not in x["tokenizers"] and "ids" in x["tokenizers"]]
            dec = [x for x in sd if "decoded" in x["tokenizers"]]
            lines.append(
                "- sentencepiece: `sp.encode(text)` vs ids_specials_as_text: "
                + ("equal on every golden text" if not as_text else
                   f"differs on {len(as_text)} texts: "
                   + "; ".join(f"`{json.dumps(x['text'], ensure_ascii=False)}`" for x in as_text[:6])
                   + (" ..." if len(as_text) > 6 else ""))
                + (f"; `[BOS] + sp.encode(text)` vs ids differs on {len(only_ids)} more texts, each one "
                   "holding special-token text (sentencepiece never matches `<s>` `</s>` `<unk>` in text)"
                   if only_ids else "")
                + (f"; decode differs on {len(dec)} texts" if dec else "")
                + "."
            )
        lines.append("")
    lines += LIBRARY_NOTES
    readme = os.path.join(out, "README.md")
    try:
        with open(readme, encoding="utf-8", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Tokenizer parity fixtures\n"
    i = text.find(base.README_KEEP_MARKER)
    head = text if i < 0 else text[:i].rstrip("\n") + "\n"
    base.write_text(readme, head + "\n" + "\n".join(lines).rstrip("\n") + "\n")


def check_determinism():
    a = tempfile.mkdtemp(prefix="tok_kind_a_")
    b = tempfile.mkdtemp(prefix="tok_kind_b_")
    try:
        for d in (a, b):
            subprocess.run([sys.executable, os.path.abspath(__file__), "--out", d], check=True)
        r = subprocess.run(["diff", "-r", a, b])
        if r.returncode != 0:
            sys.exit("not deterministic: the two runs differ")
        print("deterministic: two runs are byte-identical")
    finally:
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/tokenizers")
    ap.add_argument("--check-determinism", action="store_true",
                    help="run twice into two temp dirs and compare them byte for byte")
    args = ap.parse_args()
    if args.check_determinism:
        check_determinism()
        return
    built, notes = build_all(args.out)
    for name in built:
        n = notes[name]
        print(f"{name}: {dir_size(os.path.join(args.out, name)) // 1024} KB, AutoTokenizer "
              f"{n['autotokenizer_class']} diffs {len(n['autotokenizer'])}"
              + (f", sentencepiece diffs {len(n['sentencepiece'])}" if "sentencepiece" in n else ""))
    print("tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main()
