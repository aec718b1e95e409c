#include "common/tokenizer/sentencepiece_tokenizer.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/tokenizer/hf_json.h"
#include "common/tokenizer/unicode.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

constexpr char kSpace[] = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space
constexpr float kUnknownPenalty = 10.0f;   // an unknown character scores min_score - 10 (unigram)

// A bounds-checked reader of the protobuf wire format: enough of it to read a ModelProto.
class WireReader {
 public:
  WireReader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  bool done() const { return p_ >= end_; }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return false;
      uint8_t b = *p_++;
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Tag(uint32_t* field, uint32_t* wire) {
    uint64_t t;
    if (!Varint(&t) || (t >> 3) == 0 || (t >> 3) > 0x1FFFFFFF) return false;
    *field = static_cast<uint32_t>(t >> 3);
    *wire = static_cast<uint32_t>(t & 7);
    return true;
  }
  bool Bytes(absl::string_view* out) {
    uint64_t n;
    if (!Varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    *out = absl::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  bool Fixed32(uint32_t* v) {
    if (end_ - p_ < 4) return false;
    std::memcpy(v, p_, 4);
    p_ += 4;
    return true;
  }
  bool Skip(uint32_t wire) {
    uint64_t v;
    absl::string_view s;
    uint32_t f;
    switch (wire) {
      case 0: return Varint(&v);
      case 1:
        if (end_ - p_ < 8) return false;
        p_ += 8;
        return true;
      case 2: return Bytes(&s);
      case 5: return Fixed32(&f);
      default: return false;  // groups are not used by ModelProto
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Walks the fields of one message; `field` handles those it knows (returning false on a
// malformed value) and the rest are skipped.
bool ForEachField(absl::string_view message, const std::function<bool(uint32_t, uint32_t, WireReader&)>& field) {
  WireReader r(reinterpret_cast<const uint8_t*>(message.data()),
               reinterpret_cast<const uint8_t*>(message.data()) + message.size());
  while (!r.done()) {
    uint32_t number, wire;
    if (!r.Tag(&number, &wire)) return false;
    if (!field(number, wire, r)) return false;
  }
  return true;
}

size_t Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;  // a stray byte is a character of its own
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::Create(const std::string& model_bytes,
                                                                                       const std::string& config_json,
                                                                                       const std::string& source) {
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a valid SentencePiece model: ", what));
  };
  int64_t model_type = 1;  // UNIGRAM unless the trainer spec says otherwise
  int64_t bos_id = 1, eos_id = 2, pad_id = -1;
  bool whitespace_suffix = false;
  std::string charsmap, normalizer_name;
  bool ok = ForEachField(model_bytes, [&](uint32_t field, uint32_t wire, WireReader& r) {
    absl::string_view sub;
    if (wire != 2) return r.Skip(wire);
    if (!r.Bytes(&sub)) return false;
    if (field == 1) {  // SentencePiece {piece = 1, score = 2, type = 3}
      Piece piece;
      bool ok = ForEachField(sub, [&](uint32_t f, uint32_t w, WireReader& pr) {
        absl::string_view s;
        uint32_t bits;
        uint64_t v;
        if (f == 1 && w == 2 && pr.Bytes(&s)) return (piece.text = std::string(s)), true;
        if (f == 2 && w == 5 && pr.Fixed32(&bits)) return std::memcpy(&piece.score, &bits, 4), true;
        if (f == 3 && w == 0 && pr.Varint(&v)) return (piece.type = static_cast<PieceType>(v)), v >= 1 && v <= 6;
        return pr.Skip(w);
      });
      if (!ok) return false;
      t->pieces_.push_back(std::move(piece));
    } else if (field == 2) {  // TrainerSpec
      return ForEachField(sub, [&](uint32_t f, uint32_t w, WireReader& tr) {
        uint64_t v;
        if (w != 0) return tr.Skip(w);
        if (!tr.Varint(&v)) return false;
        auto as_int32 = [](uint64_t x) { return static_cast<int64_t>(static_cast<int32_t>(x)); };
        if (f == 3) model_type = static_cast<int64_t>(v);
        if (f == 24) whitespace_suffix = v != 0;
        if (f == 35) t->byte_fallback_ = v != 0;
        if (f == 41) bos_id = as_int32(v);
        if (f == 42) eos_id = as_int32(v);
        if (f == 43) pad_id = as_int32(v);
        return true;
      });
    } else if (field == 3) {  // NormalizerSpec
      return ForEachField(sub, [&](uint32_t f, uint32_t w, WireReader& nr) {
        absl::string_view s;
        uint64_t v;
        if (w == 2 && (f == 1 || f == 2)) {
          if (!nr.Bytes(&s)) return false;
          (f == 1 ? normalizer_name : charsmap) = std::string(s);
          return true;
        }
        if (w != 0) return nr.Skip(w);
        if (!nr.Varint(&v)) return false;
        if (f == 3) t->add_dummy_prefix_ = v != 0;
        if (f == 4) t->remove_extra_whitespaces_ = v != 0;
        if (f == 5) t->escape_whitespaces_ = v != 0;
        return true;
      });
    }
    return true;
  });
  if (!ok) return bad("the protobuf is malformed or truncated");
  if (t->pieces_.empty()) return bad("it has no pieces");
  if (model_type != 1 && model_type != 2) {
    return bad(absl::StrCat("model type ", model_type, " is not supported (supported: unigram, bpe)"));
  }
  t->bpe_ = model_type == 2;
  if (!charsmap.empty() && normalizer_name != "identity") {
    return absl::UnimplementedError(absl::StrCat(source, ": SentencePiece normalisation '", normalizer_name,
                                                 "' (a precompiled character map) is not supported; "
                                                 "models with the identity rule (Llama-2, Mistral) are"));
  }
  if (whitespace_suffix)
    return absl::UnimplementedError(absl::StrCat(source, ": treat_whitespace_as_suffix is not supported"));

  t->byte_piece_.fill(-1);
  t->min_score_ = std::numeric_limits<float>::max();
  bool has_unk = false;
  for (size_t id = 0; id < t->pieces_.size(); ++id) {
    const Piece& p = t->pieces_[id];
    switch (p.type) {
      case PieceType::kNormal:
      case PieceType::kUserDefined:
        t->piece_id_.try_emplace(p.text, static_cast<int64_t>(id));
        t->max_piece_bytes_ = std::max(t->max_piece_bytes_, p.text.size());
        if (p.type == PieceType::kNormal) t->min_score_ = std::min(t->min_score_, p.score);
        break;
      case PieceType::kControl:
        if (!p.text.empty()) t->control_ids_.push_back(static_cast<int64_t>(id));
        break;
      case PieceType::kUnknown:
        t->unk_id_ = static_cast<int64_t>(id);
        has_unk = true;
        break;
      case PieceType::kByte: {
        unsigned value;
        if (p.text.size() != 6 || std::sscanf(p.text.c_str(), "<0x%02X>", &value) != 1 || value > 255) {
          return bad(absl::StrCat("byte piece ", id, " is '", p.text, "', not <0xXX>"));
        }
        t->byte_piece_[value] = static_cast<int64_t>(id);
        break;
      }
      default: break;
    }
  }
  if (!has_unk) return bad("it has no unknown piece");
  if (t->byte_fallback_) {
    for (int b = 0; b < 256; ++b) {
      if (t->byte_piece_[b] < 0) return bad(absl::StrFormat("byte fallback is on but <0x%02X> is missing", b));
    }
  }
  auto special = [&](int64_t id, std::optional<int64_t>* out, std::string* name) {
    if (id < 0 || id >= t->vocab_size()) return;
    *out = id;
    *name = t->pieces_[id].text;
  };
  special(bos_id, &t->special_.bos_id, &t->special_.bos);
  special(eos_id, &t->special_.eos_id, &t->special_.eos);
  special(pad_id, &t->special_.pad_id, &t->special_.pad);

  if (!config_json.empty()) {
    nlohmann::json config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": tokenizer_config.json is not a JSON object"));
    }
    t->add_bos_ = config.value("add_bos_token", true);
    t->add_eos_ = config.value("add_eos_token", false);
    t->chat_template_ = hf::ChatTemplateOf(config);
  }
  return t;
}

std::string SentencePieceTokenizer::Normalize(absl::string_view text, bool first) const {
  std::string s(text);
  if (remove_extra_whitespaces_) {
    std::string collapsed;
    for (char c : s) {
      if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
      collapsed.push_back(c);
    }
    while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
    s = std::move(collapsed);
  }
  if (s.empty()) return s;
  if (first && add_dummy_prefix_) s.insert(0, 1, ' ');
  if (!escape_whitespaces_) return s;
  std::string out;
  for (char c : s) {
    if (c == ' ') {
      out += kSpace;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void SentencePieceTokenizer::EmitPiece(absl::string_view piece, std::vector<int64_t>* out) const {
  auto it = piece_id_.find(piece);
  if (it != piece_id_.end()) {
    out->push_back(it->second);
  } else if (byte_fallback_) {
    for (unsigned char b : piece) out->push_back(byte_piece_[b]);
  } else {
    out->push_back(unk_id_);
  }
}

void SentencePieceTokenizer::EncodeBpe(absl::string_view s, std::vector<int64_t>* out) const {
  // Symbols start as characters; the adjacent pair whose union is the highest-scoring piece
  // merges first (leftmost among equals), as SentencePiece's BPE model does.
  struct Symbol {
    size_t begin, len;
    int prev, next;
  };
  std::vector<Symbol> sym;
  for (size_t i = 0; i < s.size();) {
    size_t n = std::min(Utf8Length(static_cast<unsigned char>(s[i])), s.size() - i);
    sym.push_back({i, n, static_cast<int>(sym.size()) - 1, static_cast<int>(sym.size()) + 1});
    i += n;
  }
  if (sym.empty()) return;
  sym.back().next = -1;
  struct Candidate {
    float score;
    int left, right;
    size_t len;  // of the union, to detect stale entries
    bool operator<(const Candidate& o) const { return score != o.score ? score < o.score : left > o.left; }
  };
  std::priority_queue<Candidate> heap;
  auto push = [&](int left) {
    if (left < 0 || sym[left].next < 0) return;
    int right = sym[left].next;
    size_t len = sym[left].len + sym[right].len;
    auto it = piece_id_.find(s.substr(sym[left].begin, len));
    if (it != piece_id_.end()) heap.push({pieces_[it->second].score, left, right, len});
  };
  for (int i = 0; i + 1 < static_cast<int>(sym.size()); ++i) push(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    if (sym[c.left].len == 0 || sym[c.left].next != c.right || sym[c.left].len + sym[c.right].len != c.len) continue;
    sym[c.left].len = c.len;
    sym[c.right].len = 0;  // merged away
    sym[c.left].next = sym[c.right].next;
    if (sym[c.right].next >= 0) sym[sym[c.right].next].prev = c.left;
    push(sym[c.left].prev);
    push(c.left);
  }
  for (int i = 0; i >= 0; i = sym[i].next) EmitPiece(s.substr(sym[i].begin, sym[i].len), out);
}

void SentencePieceTokenizer::EncodeUnigram(absl::string_view s, std::vector<int64_t>* out) const {
  // Viterbi over every piece that matches at every character boundary; a character no piece
  // covers alone is an unknown node scoring min_score - 10.
  const size_t n = s.size();
  const float neg = -std::numeric_limits<float>::infinity();
  std::vector<float> best(n + 1, neg);
  std::vector<size_t> from(n + 1, 0);
  std::vector<int64_t> via(n + 1, -1);  // piece id, or -1 for an unknown character
  best[0] = 0;
  for (size_t i = 0; i < n;) {
    const size_t char_len = std::min(Utf8Length(static_cast<unsigned char>(s[i])), n - i);
    if (best[i] != neg) {
      bool single = false;
      for (size_t len = char_len; len <= std::min(max_piece_bytes_, n - i);) {
        auto it = piece_id_.find(s.substr(i, len));
        if (it != piece_id_.end()) {
          single |= len == char_len;
          const Piece& p = pieces_[it->second];
          float score = best[i] + (p.type == PieceType::kUserDefined ? 0.0f : p.score);
          if (score > best[i + len]) {
            best[i + len] = score;
            from[i + len] = i;
            via[i + len] = it->second;
          }
        }
        if (i + len >= n) break;
        len += std::min(Utf8Length(static_cast<unsigned char>(s[i + len])), n - i - len);
      }
      if (!single) {
        float score = best[i] + min_score_ - kUnknownPenalty;
        if (score > best[i + char_len]) {
          best[i + char_len] = score;
          from[i + char_len] = i;
          via[i + char_len] = -1;
        }
      }
    }
    i += char_len;
  }
  std::vector<std::pair<size_t, int64_t>> path;  // (begin, id)
  for (size_t end = n; end > 0; end = from[end]) path.push_back({from[end], via[end]});
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    size_t end = (it + 1 == path.rend()) ? n : (it + 1)->first;
    if (it->second >= 0) {
      out->push_back(it->second);
    } else {
      EmitPiece(s.substr(it->first, end - it->first), out);  // byte fallback or unk
    }
  }
}

void SentencePieceTokenizer::EncodeNormalized(absl::string_view normalized, std::vector<int64_t>* out) const {
  if (bpe_) {
    EncodeBpe(normalized, out);
  } else {
    EncodeUnigram(normalized, out);
  }
}

std::vector<int64_t> SentencePieceTokenizer::Encode(absl::string_view text, const EncodeOptions& options) const {
  std::vector<int64_t> out;
  if (options.add_special_tokens && add_bos_ && special_.bos_id) out.push_back(*special_.bos_id);
  // Control pieces written in the text (e.g. "<s>", "</s>") become their ids when asked; the text
  // between them is encoded on its own, the dummy prefix only at the very start.
  size_t start = 0, pos = 0;
  while (options.parse_special && pos < text.size()) {
    int64_t match = -1;
    size_t match_len = 0;
    for (int64_t id : control_ids_) {
      const std::string& piece = pieces_[id].text;
      if (piece.size() > match_len && text.substr(pos, piece.size()) == piece) {
        match = id;
        match_len = piece.size();
      }
    }
    if (match < 0) {
      ++pos;
      continue;
    }
    EncodeNormalized(Normalize(text.substr(start, pos - start), start == 0), &out);
    out.push_back(match);
    start = pos = pos + match_len;
  }
  EncodeNormalized(Normalize(text.substr(start), start == 0), &out);
  if (options.add_special_tokens && add_eos_ && special_.eos_id) out.push_back(*special_.eos_id);
  return out;
}

std::string SentencePieceTokenizer::DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  std::string out;
  bool first = true;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    const Piece& p = pieces_[id];
    if (p.type == PieceType::kControl || (skip_special_tokens && IsSpecial(id))) continue;
    std::string text;
    if (p.type == PieceType::kByte) {
      text.push_back(static_cast<char>(std::strtol(p.text.c_str() + 3, nullptr, 16)));
    } else if (p.type == PieceType::kUnknown) {
      text = " \xE2\x81\x87 ";  // " ⁇ ", as SentencePiece decodes <unk>
    } else {
      for (size_t i = 0; i < p.text.size();) {
        if (p.text.compare(i, 3, kSpace) == 0) {
          text.push_back(' ');
          i += 3;
        } else {
          text.push_back(p.text[i++]);
        }
      }
    }
    // The dummy prefix added at encoding goes again: one leading space of the first piece.
    if (first && add_dummy_prefix_ && p.text.compare(0, 3, kSpace) == 0 &&
        (p.type == PieceType::kNormal || p.type == PieceType::kUserDefined)) {
      text.erase(0, 1);
    }
    first = false;
    out += text;
  }
  return out;
}

std::string SentencePieceTokenizer::Decode(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  return unicode::ToValidUtf8PerByte(DecodeBytes(ids, skip_special_tokens));
}

std::optional<int64_t> SentencePieceTokenizer::TokenToId(absl::string_view token) const {
  for (size_t id = 0; id < pieces_.size(); ++id) {
    if (pieces_[id].text == token) return static_cast<int64_t>(id);
  }
  return std::nullopt;
}

bool SentencePieceTokenizer::IsSpecial(int64_t id) const {
  if (id < 0 || id >= vocab_size()) return false;
  PieceType t = pieces_[id].type;
  return t == PieceType::kControl || t == PieceType::kUnknown;
}

}  // namespace rto
