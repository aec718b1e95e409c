#!/usr/bin/env python3
"""Make the byte-level BPE tokenizer parity fixtures in tests/fixtures/tokenizers/.

What it makes
-------------
Small byte-level BPE tokenizers TRAINED here (nothing is downloaded from the
Hugging Face hub) by the real Python `tokenizers` library on a corpus this
script generates deterministically (seeded), saved as Hugging Face
`tokenizer.json` files shaped like the real model families, plus golden
encodings computed by the library itself, so the C++ tokenizer can be tested
for exact parity:

  llama3-style/   Llama-3 layout: pre_tokenizer Sequence[Split(Llama-3 regex,
                  Isolated), ByteLevel(use_regex=false)], BPE ignore_merges=true,
                  ~1500 trained tokens + 5 special added tokens + one NON-special
                  added token `<extra_tok>`, post_processor Sequence[ByteLevel,
                  TemplateProcessing(BOS $A)] exactly as Meta's file has it,
                  decoder ByteLevel, merges saved as pair lists ["a","b"].
                  The trainer never makes a token that the merges cannot reach, so
                  3 whole-word vocab entries with NO merge path (UNREACHABLE_WORDS,
                  ids 1500-1502, before the added tokens) are appended: with
                  ignore_merges=true they encode as one id, without it they would
                  split; golden.json has texts using them.
                  tokenizer_config.json with the Llama-3 instruct chat_template.
  gpt2-style/     GPT-2 layout: pre_tokenizer ByteLevel(use_regex=true) (built-in
                  GPT-2 regex), ~1000 trained tokens + `<|endoftext|>` (special,
                  normalized=true like GPT-2), no post_processor, decoder ByteLevel,
                  BPE continuing_subword_prefix "" / end_of_word_suffix "" like
                  GPT-2's file, merges REWRITTEN to the legacy "a b" string form
                  (verified to load and encode identically).
  qwen2-style/    Qwen2 layout: normalizer NFC, pre_tokenizer Sequence[Split(Qwen2
                  regex, single digits), ByteLevel(use_regex=false)], BPE
                  ignore_merges=false, specials <|endoftext|> <|im_start|> <|im_end|>,
                  post_processor ByteLevel (adds nothing, like Qwen2's file),
                  decoder ByteLevel(all false, like Qwen2's file), merges as pair
                  lists. tokenizer_config.json with the Qwen2 ChatML chat_template.
  big/            llama3-style layout with a 32000-token vocab (speed benchmark) and
                  a plain TemplateProcessing post_processor (not wrapped in a
                  Sequence), no <extra_tok>, plus corpus.txt: ~1 MB of fresh generated
                  text (not the training text) and corpus_encoding.json: token count,
                  id sum, FNV-1a-64 of the ids and the first/last 64 ids of the whole
                  corpus encoded with add_special_tokens=False (parity check for the
                  benchmark without storing every id).

For llama3-style, gpt2-style and qwen2-style:
  golden.json       list of {"text", "ids" (encode(text), add_special_tokens=True),
                    "ids_no_special" (add_special_tokens=False),
                    "ids_specials_as_text" (add_special_tokens=False with
                    tok.encode_special_tokens=True: special added tokens are NOT
                    matched in the text; non-special added tokens still are),
                    "tokens" (token strings of ids), "decoded"
                    (decode(ids, skip_special_tokens=False)), "decoded_skip_special"
                    (decode(ids, skip_special_tokens=True))}
  chat_golden.json  (llama3-style, qwen2-style) list of {"messages",
                    "add_generation_prompt", "text" (transformers
                    apply_chat_template(tokenize=False)), "ids" (encode(text,
                    add_special_tokens=False))}

Everything is deterministic: rerunning produces byte-identical files
(checked by running twice into two directories and comparing with cmp).

Rerun
-----
  /tmp/hfenv/bin/python scripts/make_tokenizer_fixtures.py --out tests/fixtures/tokenizers

(any venv with tokenizers/transformers/jinja2 of the versions below works;
 HF_HUB_OFFLINE is forced, nothing is fetched)

Library versions used to make the checked-in fixtures
-----------------------------------------------------
  tokenizers 0.23.3, transformers 5.23.0, jinja2 3.1.6, Python 3.11
"""

import argparse
import itertools
import json
import os
import random
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

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

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GPT2_SPECIALS = ["<|endoftext|>"]

# Meta-Llama-3-8B-Instruct tokenizer_config.json chat_template.
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}"
    "{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Qwen2-*-Instruct tokenizer_config.json chat_template (ChatML, default system prompt).
QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# ---------------------------------------------------------------------------
# Deterministic corpus generator
# ---------------------------------------------------------------------------

COMMON_WORDS = (
    "the of and to a in is it you that he was for on are with as his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been now find any new work "
    "part take get place made live where after back little only round man year came show every "
    "good me give our under name very through just form sentence great think say help low line "
    "differ turn cause much mean before move right boy old too same tell does set three want air "
    "well also play small end put home read hand port large spell add even land here must big "
    "high such follow act why ask men change went light kind off need house picture try us again "
    "animal point mother world near build self earth father head stand own page should country "
    "found answer school grow study still learn plant cover food sun four between state keep eye "
    "never last let thought city tree cross farm hard start might story saw far sea draw left late "
    "run while press close night real life few north open seem together next white children begin "
    "got walk example ease paper group always music those both mark often letter until mile river "
    "car feet care second book carry took science eat room friend began idea fish mountain stop "
    "once base hear horse cut sure watch color face wood main enough plain girl usual young ready "
    "above ever red list though feel talk bird soon body dog family direct pose leave song measure "
    "door product black short numeral class wind question happen complete ship area half rock order "
    "fire south problem piece told knew pass since top whole king space heard best hour better true "
    "during hundred five remember step early hold west ground interest reach fast verb sing listen "
    "six table travel less morning ten simple several vowel toward war lay against pattern slow "
    "center love person money serve appear road map rain rule govern pull cold notice voice unit "
    "power town fine certain fly fall lead cry dark machine note wait plan figure star box noun "
    "field rest correct able pound done beauty drive stood contain front teach week final gave "
    "green oh quick develop ocean warm free minute strong special mind behind clear tail produce "
    "fact street inch multiply nothing course stay wheel full force blue object decide surface deep "
    "moon island foot system busy test record boat common gold possible plane stead dry wonder laugh "
    "thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill "
    "east paint language among model reward policy gradient token batch tensor kernel learning"
).split()

CONTRACTIONS = [
    "don't", "it's", "we'll", "I'm", "I'M", "DON'T", "they're", "you've", "she'd", "can't",
    "won't", "let's", "It'S", "THEY'RE", "We'Ll", "you'd", "he'll", "isn't", "that's", "I've",
    "YOU'VE", "o'clock", "rock'n'roll", "'tis", "y'all", "she's", "WE'D", "aren't",
]

SYLLABLES = (
    "ka ri to na mi su ke lo ra ven tor al ex in con pre dis un re ment ness able tion sion ing "
    "er est ly ful less ous ive ize ate gra phi lo gy bio tech neo mor pho syn thr str spl qu "
    "zh sh ch th ph wh ck ng nk oo ee ai ou ie ea oa ue ui au"
).split()

ACCENTED = [
    "café", "naïve", "über", "straße", "niño", "façade", "crème", "brûlée", "Ærø", "łódź",
    "São", "Paulo", "Zürich", "résumé", "señor", "jalapeño", "coöperate", "Škoda", "Dvořák",
    "smørrebrød", "Ångström", "garçon", "Éire", "ÉCOLE", "ÑANDÚ", "fjörður", "Øresund",
    "İstanbul", "ığdır", "Ēriks", "Ţară", "ſtraße",
]
CYRILLIC = [
    "привет", "мир", "Москва", "язык", "модель", "обучение", "данные", "быстро", "ЗДРАВСТВУЙТЕ",
    "щука", "ёлка", "Україна", "їжак", "београд", "тест",
]
ARABIC = ["مرحبا", "العالم", "كتاب", "اللغة", "العربية", "شكرا", "نموذج", "بيانات", "مدرسة"]
GREEK = ["αβγ", "Ελλάδα", "λόγος", "ΣΟΦΙΑ", "ψυχή"]
HEBREW = ["שלום", "עולם"]
DEVANAGARI = ["नमस्ते", "हिन्दी", "भाषा"]
THAI = ["สวัสดี", "ภาษาไทย"]
CJK_CHARS = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对"
    "可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公"
    "同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正"
    "模型训练数据语言学习强化奖励策略梯度"
)
HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー"
HANGUL = ["안녕하세요", "세계", "한국어", "모델", "학습", "데이터", "감사합니다"]
EMOJI = [
    "😀", "😂", "🎉", "🚀", "🔥", "❤️", "✨", "👍", "👍🏽", "👍🏿", "👨‍👩‍👧", "👩‍💻", "🏳️‍🌈",
    "🇺🇸", "🇯🇵", "🤖", "🧠", "☕", "✅", "❌", "1️⃣", "🙏🏻", "😅", "💯",
]
# decomposed (NFD) sequences: NFC changes them
COMBINING = [
    "e\u0301", "cafe\u0301", "nin\u0303o", "a\u0308", "u\u0308ber", "re\u0301sume\u0301",
    "A\u030a", "o\u0302", "c\u0327a", "e\u0301\u0301", "x\u0301", "Z\u030c",
]
PUNCT_RUNS = [
    "!!!", "?!", "...", "---", "***", "===", "$$$", "…", "—", "–", "«", "»", "“", "”", "‘", "’",
    "(!)", "[...]", "::", "->", "=>", "&&", "||", "!=", "<=", ">=", "%", "@", "#", "~", "^", "`",
    "¿", "¡", "§", "©", "®", "™", "°", "±", "×", "÷", "€", "£", "¥", "₹",
]
EXOTIC_SPACE = ["\u00a0", "\u3000", "\u2009", "\u200b", "\u2028", "\u0085", "\x0b", "\x0c", "\u202f"]
EXOTIC_DIGITS = ["²", "³", "½", "①", "٣٤٥", "１２３", "Ⅻ", "߀", "໑໒", "𝟙𝟚"]

CODE_TEMPLATES = [
    "def {f}({a}, {b}):\n    return {a} + {b} * {n}\n",
    "for (int {a} = 0; {a} < {n}; ++{a}) {{\n\t{f}({a});\n}}\n",
    "if ({a} == {n} && !{b}) {{ return -1; }}\n",
    "const auto {a} = std::make_unique<{F}>({n});\n",
    "    {a}.{f}({b}, /*verbose=*/true);  // {w}\n",
    "x = [{n}, {m}, {n}]\nprint(f\"{{x[0]}} {w}\")\n",
    "#include <vector>\n#define MAX_{A} {n}\n",
    "SELECT {a}, {b} FROM {f} WHERE id = {n};\n",
    "{{\"{a}\": {n}, \"{b}\": [true, false, null]}}\n",
    "$ ./{f} --{a}={n} --{b}\r\n",
    "    # TODO({a}): {w} {w2}\n",
    "class {F}:\n    def __init__(self):\n        self.{a} = {n}\n",
    "{a} += {b} >> 2; {b} ^= 0x{h};\n",
    "<div class=\"{a}\">{w}</div>\n",
    "https://example.com/{a}/{f}?q={w}&n={n}\n",
]


class TextGen:
    """Deterministic generator of varied, realistic-looking multilingual text."""

    def __init__(self, seed, lexicon_size=12000):
        self.r = random.Random(seed)
        lex_rng = random.Random(1234567)  # same lexicon for every seed
        lex = []
        seen = {}
        while len(lex) < lexicon_size:
            w = "".join(lex_rng.choice(SYLLABLES) for _ in range(lex_rng.choice([1, 2, 2, 3, 3, 4])))
            if w not in seen:
                seen[w] = True
                lex.append(w)
        self.lexicon = lex
        # Zipf-ish weights
        self.lex_cum = list(itertools.accumulate(1.0 / (i + 10) for i in range(len(lex))))
        self.common_cum = list(itertools.accumulate(1.0 / (i + 3) ** 0.8 for i in range(len(COMMON_WORDS))))

    # -- pieces ---------------------------------------------------------------
    def number(self):
        r = self.r
        k = r.random()
        if k < 0.55:
            return str(r.randint(0, 10 ** r.randint(1, 6) - 1))
        if k < 0.7:
            return f"{r.randint(0, 999)}.{r.randint(0, 99):02d}"
        if k < 0.8:
            return f"{r.randint(1, 999)},{r.randint(0, 999):03d}"
        if k < 0.9:
            return str(r.randint(1900, 2030))
        return f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(0, 99):02d}"

    def word(self):
        r = self.r
        k = r.random()
        if k < 0.55:
            w = r.choices(COMMON_WORDS, cum_weights=self.common_cum)[0]
        elif k < 0.85:
            w = r.choices(self.lexicon, cum_weights=self.lex_cum)[0]
        elif k < 0.9:
            return r.choice(CONTRACTIONS)
        elif k < 0.95:
            return self.number()
        else:
            w = r.choice(ACCENTED)
        c = r.random()
        if c < 0.06:
            w = w.upper()
        elif c < 0.16:
            w = w[:1].upper() + w[1:]
        return w

    def cjk(self):
        r = self.r
        k = r.random()
        if k < 0.5:
            s = "".join(r.choice(CJK_CHARS) for _ in range(r.randint(2, 12)))
            return s + r.choice(["。", "，", "、", "！", "？", ""])
        if k < 0.75:
            return "".join(r.choice(HIRAGANA) for _ in range(r.randint(2, 8))) + "".join(
                r.choice(KATAKANA) for _ in range(r.randint(0, 5))
            )
        return r.choice(HANGUL)

    def foreign(self):
        r = self.r
        pool = r.choice([CYRILLIC, CYRILLIC, ARABIC, GREEK, HEBREW, DEVANAGARI, THAI, ACCENTED])
        return " ".join(r.choice(pool) for _ in range(r.randint(1, 5)))

    def sentence(self):
        r = self.r
        n = r.randint(3, 18)
        parts = []
        for i in range(n):
            k = r.random()
            if k < 0.85:
                parts.append(self.word())
            elif k < 0.89:
                parts.append(r.choice(EMOJI))
            elif k < 0.92:
                parts.append(self.cjk())
            elif k < 0.95:
                parts.append(r.choice(COMBINING))
            elif k < 0.97:
                parts.append(self.foreign())
            else:
                parts.append(r.choice(PUNCT_RUNS))
            if r.random() < 0.08 and i < n - 1:
                parts[-1] += r.choice([",", ";", ":", " -", " (", ")"])
        s = " ".join(parts)
        s = s[:1].upper() + s[1:]
        s += r.choices([".", "!", "?", "...", "?!", "!!!", ":", ""], [60, 8, 10, 4, 2, 2, 3, 5])[0]
        if r.random() < 0.05:
            s = '"' + s + '"'
        return s

    def code(self):
        r = self.r
        t = r.choice(CODE_TEMPLATES)
        ident = lambda: "_".join(r.choice(COMMON_WORDS) for _ in range(r.randint(1, 2)))  # noqa: E731
        camel = lambda: "".join(r.choice(COMMON_WORDS).capitalize() for _ in range(r.randint(1, 3)))  # noqa: E731
        return t.format(
            f=ident(), F=camel(), a=ident(), b=ident(), A=ident().upper(),
            n=r.randint(0, 99999), m=r.randint(0, 999), h=f"{r.randint(0, 0xFFFF):x}",
            w=r.choice(COMMON_WORDS), w2=self.word(),
        )

    def whitespace(self):
        r = self.r
        return r.choice(
            ["  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n", "\n    ", "    ",
             "\n\n\n", " \t ", r.choice(EXOTIC_SPACE), "\n\t"]
        )

    def paragraph(self):
        r = self.r
        out = []
        for _ in range(r.randint(1, 6)):
            k = r.random()
            if k < 0.72:
                out.append(self.sentence())
            elif k < 0.84:
                out.append(self.code())
            elif k < 0.9:
                out.append(self.cjk() * r.randint(1, 2))
            elif k < 0.95:
                out.append(self.foreign() + r.choice([".", "!", "؟", "?"]))
            else:
                out.append(
                    r.choice(["- ", "* ", "1. ", "> ", "## ", "| "]) + self.sentence()
                    + r.choice(EXOTIC_DIGITS) * (r.random() < 0.3)
                )
            out.append(r.choices([" ", self.whitespace()], [80, 20])[0])
        return "".join(out).rstrip(" ")

    def document(self, approx_chars):
        r = self.r
        out = []
        n = 0
        while n < approx_chars:
            p = self.paragraph()
            sep = r.choices(["\n\n", "\n", "\r\n", "\n\n\n", "\r\n\r\n"], [60, 20, 10, 5, 5])[0]
            out.append(p + sep)
            n += len(p) + len(sep)
        return "".join(out)

    def random_string(self):
        """Character-level mix of every class, for golden tests."""
        r = self.r
        classes = [
            lambda: r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * r.randint(1, 3),
            lambda: self.word(),
            lambda: str(r.randint(0, 10 ** r.randint(1, 8))),
            lambda: r.choice([" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n "]),
            lambda: r.choice(EXOTIC_SPACE),
            lambda: r.choice(PUNCT_RUNS),
            lambda: r.choice("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
            lambda: r.choice(EMOJI),
            lambda: r.choice(CJK_CHARS) * r.randint(1, 2) + r.choice(HIRAGANA),
            lambda: r.choice(HANGUL),
            lambda: r.choice(ACCENTED),
            lambda: r.choice(CYRILLIC),
            lambda: r.choice(ARABIC),
            lambda: r.choice(COMBINING),
            lambda: r.choice(["\u0301", "\u0308", "\u0327", "\u200d", "\ufe0f"]),
            lambda: r.choice(EXOTIC_DIGITS),
            lambda: r.choice(CONTRACTIONS),
            lambda: "'" + r.choice(["s", "S", "t", "T", "re", "RE", "Ve", "m", "M", "ll", "LL", "d", "D", "x"]),
            lambda: r.choice(["\x00", "\x01", "\x1b[0m", "\x7f", "\u00ad", "\ufeff", "\ufffd"]),
        ]
        n = r.randint(1, 14)
        return "".join(r.choice(classes)() for _ in range(n))


# ---------------------------------------------------------------------------
# Tokenizer construction
# ---------------------------------------------------------------------------

def byte_alphabet():
    return sorted(pre_tokenizers.ByteLevel.alphabet())


def split_bytelevel_pre(pattern, trim_offsets):
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=trim_offsets, use_regex=False),
        ]
    )


def train(tok, corpus, vocab_size):
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=byte_alphabet(),
        special_tokens=[],
    )
    # one "document" per paragraph block so training sees realistic boundaries
    docs = corpus.split("\n\n")
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))


# Whole pre-tokens appended to llama3-style's vocab with NO merge path to them,
# so `ignore_merges: true` changes the encoding (the HF trainer never produces
# such tokens; vocabularies converted from tiktoken ranks, like Llama-3's, do).
UNREACHABLE_WORDS = [" xylophonist", "quizzaciously", " 你好世界"]


def append_unreachable_vocab(tok, words):
    d = json.loads(tok.to_str())
    vocab = d["model"]["vocab"]
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    for w in words:
        piece = bl.pre_tokenize_str(w)[0][0]
        assert piece not in vocab, piece
        vocab[piece] = len(vocab)
    return Tokenizer.from_str(json.dumps(d))


def make_llama3(corpus, vocab_size, wrap_post_in_sequence=True, extra_token=True, unreachable=()):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = split_bytelevel_pre(LLAMA3_PATTERN, trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    train(tok, corpus, vocab_size)
    if unreachable:
        tok = append_unreachable_vocab(tok, unreachable)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in LLAMA3_SPECIALS])
    if extra_token:
        tok.add_tokens([AddedToken("<extra_tok>", special=False, normalized=False)])
    bos = "<|begin_of_text|>"
    bos_id = tok.token_to_id(bos)
    tp = processors.TemplateProcessing(
        single=f"{bos} $A:0",
        pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
        special_tokens=[(bos, bos_id)],
    )
    if wrap_post_in_sequence:
        tok.post_processor = processors.Sequence(
            [processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True), tp]
        )
    else:
        tok.post_processor = tp
    return tok


def make_gpt2(corpus, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    train(tok, corpus, vocab_size)
    # GPT-2's own file has <|endoftext|> with normalized=true
    tok.add_special_tokens([AddedToken(s, special=True, normalized=True) for s in GPT2_SPECIALS])
    # GPT-2's file has continuing_subword_prefix "" and end_of_word_suffix "" (not null)
    d = json.loads(tok.to_str())
    d["model"]["continuing_subword_prefix"] = ""
    d["model"]["end_of_word_suffix"] = ""
    return Tokenizer.from_str(json.dumps(d))


def make_qwen2(corpus, vocab_size):
    tok = Tokenizer(models.BPE(ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = split_bytelevel_pre(QWEN2_PATTERN, trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    train(tok, corpus, vocab_size)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in QWEN2_SPECIALS])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    # Qwen2's file has the ByteLevel decoder with every flag false; the Python
    # decoders.ByteLevel constructor ignores kwargs, so set them in the JSON.
    d = json.loads(tok.to_str())
    d["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return Tokenizer.from_str(json.dumps(d))


def to_legacy_merges_json(tok):
    """tokenizer.json text with merges as legacy "a b" strings."""
    d = json.loads(tok.to_str())
    merges = d["model"]["merges"]
    out = []
    for m in merges:
        if isinstance(m, list):
            a, b = m
            assert " " not in a and " " not in b, m
            out.append(f"{a} {b}")
        else:
            out.append(m)
    d["model"]["merges"] = out
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# Golden data
# ---------------------------------------------------------------------------

FIXED_TEXTS = [
    "",
    " ",
    "  ",
    "a",
    "Hello world",
    "Hello, world! How are you today?",
    " hello",
    "I'M here. DON'T go. It'S fine, we'll see, they're YOU'VE I'd",
    "don't DON'T Don'T dOn't 's 'S 'x '",
    "it'ſ long-s case folding: 'ſ 'K",
    "1", "12", "123", "1234", "1234567", "3.14159 and 1,000,000 and 2024-06-01",
    "a   b",
    "  leading",
    "trailing   ",
    "\n\n\n",
    "\r\n",
    "line one\r\nline two\r\n\r\n",
    "\t\tx",
    "a \n b\n\n  c   \n\t d",
    "word\u00a0word\u3000word\u2028word\u0085x\x0by\x0cz",
    "👍 👍🏽 👨‍👩‍👧 🏳️‍🌈 🇺🇸 ❤️ 1️⃣",
    "你好，世界！我们在训练语言模型。",
    "こんにちは世界 カタカナ 안녕하세요 세계",
    "cafe\u0301 vs café, nin\u0303o vs niño, e\u0301\u0301, \u0301alone",
    "Привет, мир! مرحبا بالعالم Ελλάδα שלום नमस्ते สวัสดี",
    "Zürich naïve straße ÉCOLE İstanbul ıi",
    "mixed: abc123def 你好abc ab😀cd Привет123",
    "def f(x):\n    return x ** 2  # square\n\n\tprint(f(12345))\n",
    "if (a != b && c >= 0) { std::cout << \"ok\" << std::endl; }",
    "²³ ½ ① ٣٤٥ １２３ Ⅻ 𝟙𝟚",
    "!!! ??? ... --- *** ==> <= … — «»",
    "\x00\x01\x1b[0m\x7f\u00ad\ufeff\ufffd",
    "<|eot_id|>",
    "Hello<|eot_id|>world",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    "<|im_start|>user\nhi<|im_end|>\n",
    "text <|endoftext|> more text<|endoftext|>",
    "<|eot_id |> <|eot_id <eot_id|> <|EOT_ID|>",
    "some <extra_tok> here and<extra_tok>there <extra_tok",
    "<|im_start|><|im_end|><|endoftext|><extra_tok><|eot_id|>",
    "   <|eot_id|>   ",
]


def gold_entry(tok, text):
    enc = tok.encode(text)
    enc_ns = tok.encode(text, add_special_tokens=False)
    tok.encode_special_tokens = True
    try:
        enc_st = tok.encode(text, add_special_tokens=False)
    finally:
        tok.encode_special_tokens = False
    ids = list(enc.ids)
    return {
        "text": text,
        "ids": ids,
        "ids_no_special": list(enc_ns.ids),
        "ids_specials_as_text": list(enc_st.ids),
        "tokens": list(enc.tokens),
        "decoded": tok.decode(ids, skip_special_tokens=False),
        "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
    }


def ignore_merges_cases(tok, limit=6):
    """Whole words that are in the vocab but that the merges alone would split
    differently: they encode differently with ignore_merges true vs false."""
    d = json.loads(tok.to_str())
    if not d["model"].get("ignore_merges"):
        return []
    d["model"]["ignore_merges"] = False
    twin = Tokenizer.from_str(json.dumps(d))
    found = []
    vocab = sorted(tok.get_vocab(with_added_tokens=False).items(), key=lambda kv: kv[1])
    for token, tid in vocab:
        text = tok.decoder.decode([token])
        if "\ufffd" in text or not text:
            continue
        if tok.encode(text, add_special_tokens=False).ids != [tid]:
            continue
        if twin.encode(text, add_special_tokens=False).ids != [tid]:
            found.append(text)
            if len(found) >= limit:
                break
    return found


def golden(tok, seed, n_random=30):
    texts = list(FIXED_TEXTS)
    im = ignore_merges_cases(tok)
    if im:
        texts.append("\n".join(im) + "\nThe" + im[0] + " played.")
        texts.extend(im[:3])
    g = TextGen(seed)
    for _ in range(n_random):
        texts.append(g.random_string())
    texts.append(g.paragraph())
    texts.append(g.paragraph())
    out = [gold_entry(tok, t) for t in texts]
    return out, len(im)


def chat_golden(dirpath, family):
    from transformers import PreTrainedTokenizerFast

    htok = PreTrainedTokenizerFast.from_pretrained(dirpath)
    raw = Tokenizer.from_file(os.path.join(dirpath, "tokenizer.json"))
    convs = [
        (
            [
                {"role": "system", "content": "You are a terse assistant. Answer in one line."},
                {"role": "user", "content": "What's 12 + 30? Don't explain.  "},
            ],
            True,
        ),
        ([{"role": "user", "content": "Translate «café» to 中文 please 👍🏽\nThanks!"}], True),
        (
            [
                {"role": "user", "content": "Hi there!"},
                {"role": "assistant", "content": "Hello! How can I help?\n\n"},
                {"role": "user", "content": "Write   code:\n\tprint(1234567)"},
            ],
            True,
        ),
        (
            [
                {"role": "user", "content": "Hi there!"},
                {"role": "assistant", "content": "Hello! How can I help?"},
            ],
            False,
        ),
    ]
    out = []
    for msgs, agp in convs:
        text = htok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=agp)
        ids = raw.encode(text, add_special_tokens=False).ids
        ids_hf = htok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=agp)
        if isinstance(ids_hf, dict) or hasattr(ids_hf, "keys"):
            ids_hf = ids_hf["input_ids"]
        assert list(ids_hf) == list(ids), (family, ids_hf, ids)
        out.append({"messages": msgs, "add_generation_prompt": agp, "text": text, "ids": list(ids)})
    return out


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def write_json_records(path, records):
    """A JSON list with one compact record per line (small, diff-friendly)."""
    body = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    write_text(path, "[\n" + body + "\n]\n")


def save_library(tok, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tok.save(path, pretty=True)
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        with open(path, "ab") as f:
            f.write(b"\n")


def fnv1a64_ids(ids):
    """FNV-1a 64 over the ids as little-endian uint32 bytes."""
    h = 0xCBF29CE484222325
    for i in ids:
        for b in int(i).to_bytes(4, "little"):
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def corpus_summary(tok, text):
    ids = tok.encode(text, add_special_tokens=False).ids
    ids_bos = tok.encode(text).ids
    assert ids_bos[1:] == ids
    return {
        "what": "big/corpus.txt (read as bytes, UTF-8) encoded as ONE string with add_special_tokens=false",
        "corpus_bytes": len(text.encode("utf-8")),
        "num_ids": len(ids),
        "ids_sum": sum(ids),
        "fnv1a64_le_u32": f"0x{fnv1a64_ids(ids):016x}",
        "fnv1a64_note": "h=0xcbf29ce484222325; for each id, for each of its 4 little-endian bytes: h^=b; h*=0x100000001b3 (mod 2^64)",
        "first_64_ids": ids[:64],
        "last_64_ids": ids[-64:],
        "decode_roundtrip_equal": tok.decode(ids) == text,
    }


def check_same(tok_a, tok_b, texts, what):
    for t in texts:
        for ast in (True, False):
            a = tok_a.encode(t, add_special_tokens=ast).ids
            b = tok_b.encode(t, add_special_tokens=ast).ids
            assert a == b, (what, t, a, b)


def tokenizer_config(family):
    if family == "llama3":
        return {
            "added_tokens_decoder": {},
            "bos_token": "<|begin_of_text|>",
            "chat_template": LLAMA3_CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "eos_token": "<|eot_id|>",
            "model_input_names": ["input_ids", "attention_mask"],
            "model_max_length": 8192,
            "tokenizer_class": "PreTrainedTokenizerFast",
        }
    return {
        "added_tokens_decoder": {},
        "bos_token": None,
        "chat_template": QWEN2_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }


def fill_added_tokens_decoder(cfg, tok):
    d = json.loads(tok.to_str())
    cfg["added_tokens_decoder"] = {
        str(a["id"]): {
            "content": a["content"],
            "lstrip": a["lstrip"],
            "normalized": a["normalized"],
            "rstrip": a["rstrip"],
            "single_word": a["single_word"],
            "special": a["special"],
        }
        for a in d["added_tokens"]
    }
    return cfg


README = """# Tokenizer parity fixtures

Made by `scripts/make_tokenizer_fixtures.py` (rerun:
`/tmp/hfenv/bin/python scripts/make_tokenizer_fixtures.py --out tests/fixtures/tokenizers`;
reruns are byte-identical). Every tokenizer is TRAINED by the script with the
real Python `tokenizers` library on a seeded, generated multilingual corpus;
nothing comes from the Hugging Face hub. Versions: tokenizers {tv},
transformers {trv}, jinja2 {jv}, Python {pv}.

- `llama3-style/` byte-level BPE laid out like Llama-3's tokenizer.json
  (Split(Llama-3 regex) + ByteLevel, `ignore_merges: true`, 5 special added
  tokens + non-special `<extra_tok>`, post_processor Sequence[ByteLevel,
  TemplateProcessing(BOS $A)]), ~1500 trained tokens plus 3 appended whole-word
  vocab entries with no merge path (so `ignore_merges` matters);
  `tokenizer_config.json` has the Llama-3 instruct chat template.
- `gpt2-style/` GPT-2 layout (ByteLevel pre-tokenizer with the built-in GPT-2
  regex, `<|endoftext|>`, no post_processor), ~1000 trained tokens, merges in
  the legacy `"a b"` string form.
- `qwen2-style/` Qwen2 layout (NFC normalizer, Split(Qwen2 regex, single
  digits) + ByteLevel, `ignore_merges: false`, `<|endoftext|>`
  `<|im_start|>` `<|im_end|>`, ByteLevel post_processor that adds nothing),
  merges as `["a", "b"]` pair lists; `tokenizer_config.json` has the Qwen2
  ChatML chat template.
- `big/` llama3-style layout with a 32000-token vocab, bare TemplateProcessing
  post_processor, plus `corpus.txt` (~1 MB of fresh generated text) for the
  speed benchmark and `corpus_encoding.json` (count, sum, FNV-1a-64 and
  first/last ids of the whole corpus encoded without special tokens).

`golden.json` (small ones): list of {{text, ids (add_special_tokens=True),
ids_no_special, ids_specials_as_text (encode_special_tokens=True: special
added tokens not matched), tokens, decoded, decoded_skip_special}}.
`chat_golden.json` (llama3/qwen2): {{messages, add_generation_prompt, text
(transformers apply_chat_template, tokenize=False), ids (text encoded with
add_special_tokens=False)}}.
"""


def build_all(out, verify_only_dir=None):
    gen = TextGen(20240601)
    corpus_small = gen.document(1_500_000)
    gen_big = TextGen(777)
    corpus_big_train = gen_big.document(6_000_000)
    bench = TextGen(99991).document(1_000_000)

    specs = {}

    # llama3-style
    t = make_llama3(corpus_small, 1500, unreachable=UNREACHABLE_WORDS)
    p = os.path.join(out, "llama3-style", "tokenizer.json")
    save_library(t, p)
    specs["llama3-style"] = p
    cfg = fill_added_tokens_decoder(tokenizer_config("llama3"), t)
    write_json(os.path.join(out, "llama3-style", "tokenizer_config.json"), cfg)

    # gpt2-style
    t = make_gpt2(corpus_small, 1000)
    p = os.path.join(out, "gpt2-style", "tokenizer.json")
    write_text(p, to_legacy_merges_json(t))
    t2 = Tokenizer.from_file(p)
    check_same(t, t2, FIXED_TEXTS + [corpus_small[:20000]], "gpt2 legacy merges")
    assert json.loads(t2.to_str())["model"] == json.loads(t.to_str())["model"]
    specs["gpt2-style"] = p

    # qwen2-style
    t = make_qwen2(corpus_small, 1400)
    p = os.path.join(out, "qwen2-style", "tokenizer.json")
    save_library(t, p)
    specs["qwen2-style"] = p
    cfg = fill_added_tokens_decoder(tokenizer_config("qwen2"), t)
    write_json(os.path.join(out, "qwen2-style", "tokenizer_config.json"), cfg)

    # big
    t = make_llama3(corpus_big_train, 32000, wrap_post_in_sequence=False, extra_token=False)
    p = os.path.join(out, "big", "tokenizer.json")
    save_library(t, p)
    write_text(os.path.join(out, "big", "corpus.txt"), bench)
    tb = Tokenizer.from_file(p)
    with open(os.path.join(out, "big", "corpus.txt"), encoding="utf-8", newline="") as f:
        assert f.read() == bench
    summary = corpus_summary(tb, bench)
    write_text(
        os.path.join(out, "big", "corpus_encoding.json"),
        "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in summary.items())
        + "\n}\n",
    )
    # corpus.txt has raw CRLF line ends: keep git from converting anything here
    write_text(os.path.join(out, ".gitattributes"), "* -text\n")

    stats = {}
    for name, path in specs.items():
        tok = Tokenizer.from_file(path)
        g, n_im = golden(tok, seed=4242)
        write_json_records(os.path.join(out, name, "golden.json"), g)
        stats[name] = n_im
        if name in ("llama3-style", "qwen2-style"):
            cg = chat_golden(os.path.dirname(path), name)
            write_json_records(os.path.join(out, name, "chat_golden.json"), cg)

    import jinja2
    import transformers

    readme = os.path.join(out, "README.md")
    write_text(
        readme,
        README.format(
            tv=tokenizers.__version__, trv=transformers.__version__, jv=jinja2.__version__,
            pv=".".join(map(str, sys.version_info[:3])),
        )
        + readme_tail_to_keep(readme),
    )
    return stats


# scripts/make_tokenizer_kind_fixtures.py owns the README section from this
# marker on; rewriting the README here keeps it.
README_KEEP_MARKER = "<!-- section written by scripts/make_tokenizer_kind_fixtures.py -->"


def readme_tail_to_keep(path):
    """The README text from README_KEEP_MARKER on ("" when absent), with the blank line before it."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    i = text.find(README_KEEP_MARKER)
    return "" if i < 0 else "\n" + text[i:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures/tokenizers")
    args = ap.parse_args()
    stats = build_all(args.out)
    for k, v in stats.items():
        print(f"{k}: vocab words whose encoding depends on ignore_merges: {v}")
    print("tokenizers", tokenizers.__version__)


if __name__ == "__main__":
    main()
