#include "common/tokenizer/hf_model.h"

#include <cmath>
#include <limits>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/tokenizer/hf_json.h"
#include "common/tokenizer/unicode.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using nlohmann::json;

// {"token": id, ...} into `id_to_token` and `token_to_id`.
absl::Status ReadVocabObject(const json& vocab, const std::string& source, std::vector<std::string>* id_to_token,
                             absl::flat_hash_map<std::string, int64_t>* token_to_id) {
  if (!vocab.is_object() || vocab.empty()) return hf::Malformed(source, "model.vocab is missing or empty");
  int64_t max_id = -1;
  for (auto& [token, id] : vocab.items()) {
    if (!id.is_number_unsigned())
      return hf::Malformed(source, absl::StrCat("vocab id of '", token, "' is not a non-negative integer"));
    max_id = std::max(max_id, id.get<int64_t>());
  }
  if (max_id >= (int64_t{1} << 31)) return hf::Malformed(source, "vocab ids must be below 2^31");
  id_to_token->assign(max_id + 1, "");
  for (auto& [token, id] : vocab.items()) {
    (*id_to_token)[id.get<int64_t>()] = token;
    (*token_to_id)[token] = id.get<int64_t>();
  }
  return absl::OkStatus();
}

// Byte-pair encoding: symbols start as bytes (byte-level) or characters, then the adjacent pair
// with the lowest merge rank merges, leftmost first among equals, until none is left.
class BpeModel : public HfModel {
 public:
  absl::Status Init(const json& spec, bool byte_level, const absl::flat_hash_set<std::string>& special,
                    const std::string& source);
  void Tokenize(absl::string_view piece, std::vector<int64_t>* out) const override;

 private:
  struct Merge {
    int32_t rank;
    int64_t merged;
  };
  static uint64_t Key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }
  absl::Status ReadMerges(const json& merges, const std::string& source);
  // The first symbols of a piece: its bytes, or its characters with prefix/suffix, byte fallback
  // and unknown characters.
  std::vector<int64_t> InitialSymbols(absl::string_view piece) const;
  void MergeAll(std::vector<int64_t>* symbols) const;

  bool byte_level_ = false, ignore_merges_ = false, byte_fallback_ = false, fuse_unk_ = false;
  std::optional<int64_t> unk_id_;
  std::string prefix_, suffix_;
  absl::flat_hash_map<std::string, int64_t> token_to_id_;  // as the file writes tokens
  absl::flat_hash_map<std::string, int64_t> bytes_id_;     // byte-level: by the bytes they stand for
  std::array<int64_t, 256> byte_id_{};                     // byte-level: one byte -> id
  std::array<int64_t, 256> fallback_id_{};                 // byte_fallback: <0xXX> -> id
  absl::flat_hash_map<uint64_t, Merge> merges_;

  static constexpr size_t kMaxCacheEntries = 1 << 16;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int64_t>> cache_ ABSL_GUARDED_BY(cache_mu_);
};

absl::Status BpeModel::Init(const json& spec, bool byte_level, const absl::flat_hash_set<std::string>& special,
                            const std::string& source) {
  byte_level_ = byte_level;
  ignore_merges_ = spec.value("ignore_merges", false);
  byte_fallback_ = spec.value("byte_fallback", false);
  fuse_unk_ = spec.value("fuse_unk", false);
  RTO_ASSIGN_OR_RETURN(prefix_, hf::StringField(spec, "continuing_subword_prefix", "", source));
  RTO_ASSIGN_OR_RETURN(suffix_, hf::StringField(spec, "end_of_word_suffix", "", source));
  RTO_ASSIGN_OR_RETURN(std::string unk, hf::StringField(spec, "unk_token", "", source));
  const json& dropout = spec.value("dropout", json());
  if (dropout.is_number() && dropout.get<double>() > 0)
    return hf::Unsupported(source, "BPE dropout (random encodings)");
  if (byte_level_ && (byte_fallback_ || !prefix_.empty() || !suffix_.empty())) {
    return hf::Unsupported(source,
                           "byte-level BPE with byte_fallback, continuing_subword_prefix or end_of_word_suffix");
  }
  RTO_RETURN_IF_ERROR(ReadVocabObject(spec.value("vocab", json()), source, &id_to_token_, &token_to_id_));
  if (!unk.empty()) {
    auto it = token_to_id_.find(unk);
    if (it == token_to_id_.end())
      return hf::Malformed(source, absl::StrCat("unk_token '", unk, "' is not in the vocab"));
    unk_id_ = it->second;
  }
  if (byte_level_) {
    for (const auto& [token, id] : token_to_id_) {
      std::optional<std::string> bytes = unicode::ByteLevelToBytes(token);
      if (bytes && !special.contains(token)) bytes_id_[*bytes] = id;
    }
    for (int b = 0; b < 256; ++b) {
      auto it = bytes_id_.find(std::string(1, static_cast<char>(b)));
      if (it == bytes_id_.end())
        return hf::Malformed(source, absl::StrFormat("byte 0x%02X has no token in the vocab", b));
      byte_id_[b] = it->second;
    }
  } else if (byte_fallback_) {
    for (int b = 0; b < 256; ++b) {
      auto it = token_to_id_.find(absl::StrFormat("<0x%02X>", b));
      fallback_id_[b] = it == token_to_id_.end() ? -1 : it->second;
    }
  }
  // Merges may name special tokens; whole-piece lookups never make one.
  RTO_RETURN_IF_ERROR(ReadMerges(spec.value("merges", json::array()), source));
  for (const std::string& s : special) token_to_id_.erase(s);
  return absl::OkStatus();
}

absl::Status BpeModel::ReadMerges(const json& merges, const std::string& source) {
  if (!merges.is_array()) return hf::Malformed(source, "model.merges is not a list");
  const absl::flat_hash_map<std::string, int64_t>& all = token_to_id_;
  int32_t rank = 0;
  for (const json& m : merges) {
    std::string left, right;
    if (m.is_string()) {  // "a b"
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos)
        return hf::Malformed(source, absl::StrCat("merge ", rank, " '", s, "' is not 'a b'"));
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["a", "b"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return hf::Malformed(source, absl::StrCat("merge ", rank, " is neither 'a b' nor [a, b]"));
    }
    // The merged token is a + b without b's continuing-subword prefix (cut by length, as HF does).
    const std::string merged = left + (prefix_.empty() ? right : right.substr(std::min(prefix_.size(), right.size())));
    auto l = all.find(left), r = all.find(right), lr = all.find(merged);
    if (l == all.end() || r == all.end() || lr == all.end()) {
      return hf::Malformed(
          source, absl::StrCat("merge ", rank, " ('", left, "', '", right, "') uses a token not in the vocab"));
    }
    merges_.try_emplace(Key(l->second, r->second), Merge{rank, lr->second});  // the first rank wins
    ++rank;
  }
  return absl::OkStatus();
}

std::vector<int64_t> BpeModel::InitialSymbols(absl::string_view piece) const {
  std::vector<int64_t> symbols;
  if (byte_level_) {
    for (char c : piece) symbols.push_back(byte_id_[static_cast<uint8_t>(c)]);
    return symbols;
  }
  const std::vector<unicode::CodePointAt> chars = unicode::CodePoints(piece);
  bool pending_unk = false;  // an unknown run waiting to be written (fuse_unk)
  for (size_t i = 0; i < chars.size(); ++i) {
    const absl::string_view ch = piece.substr(chars[i].begin, chars[i].size);
    std::string symbol = absl::StrCat(i > 0 ? prefix_ : "", ch, i + 1 == chars.size() ? suffix_ : "");
    auto it = token_to_id_.find(symbol);
    if (it != token_to_id_.end()) {
      if (pending_unk) symbols.push_back(*unk_id_);
      pending_unk = false;
      symbols.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char b : symbol) all &= fallback_id_[static_cast<uint8_t>(b)] >= 0;
      if (all) {
        for (char b : symbol) symbols.push_back(fallback_id_[static_cast<uint8_t>(b)]);
        continue;  // as HF: a pending unknown run stays pending across byte-fallback symbols
      }
    }
    if (!unk_id_) continue;  // no unk token: HF drops the character
    if (pending_unk && !fuse_unk_) symbols.push_back(*unk_id_);
    pending_unk = true;
  }
  if (pending_unk) symbols.push_back(*unk_id_);
  return symbols;
}

void BpeModel::MergeAll(std::vector<int64_t>* symbols) const {
  // Symbols in a doubly linked list; candidate merges in a min-heap by (rank, position). Stale
  // entries (a side already merged away) are skipped when popped.
  std::vector<int64_t>& id = *symbols;
  const int n = static_cast<int>(id.size());
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int left, right;
    int64_t left_id, right_id, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    auto it = merges_.find(Key(id[left], id[next[left]]));
    if (it != merges_.end())
      heap.push({it->second.rank, left, next[left], id[left], id[next[left]], it->second.merged});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    if (id[c.left] != c.left_id || next[c.left] != c.right || id[c.right] != c.right_id) continue;
    id[c.left] = c.merged;
    id[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    push(prev[c.left]);
    push(c.left);
  }
  std::vector<int64_t> merged;
  for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) merged.push_back(id[i]);
  id = std::move(merged);
}

void BpeModel::Tokenize(absl::string_view piece, std::vector<int64_t>* out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    const auto& whole = byte_level_ ? bytes_id_ : token_to_id_;
    auto it = whole.find(piece);
    if (it != whole.end()) return out->push_back(it->second);
  }
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(piece);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> ids = InitialSymbols(piece);
  MergeAll(&ids);
  out->insert(out->end(), ids.begin(), ids.end());
  absl::MutexLock lock(&cache_mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::string(piece), std::move(ids));
}

// Unigram: the segmentation whose piece scores sum highest (Viterbi); a character no piece
// covers alone is unknown (min score - 10), and adjacent unknowns fuse into one.
class UnigramModel : public HfModel {
 public:
  absl::Status Init(const json& spec, const std::string& source);
  void Tokenize(absl::string_view piece, std::vector<int64_t>* out) const override;

 private:
  // The best segmentation as (begin, end, id or -1 for an unknown run), in order.
  std::vector<std::tuple<size_t, size_t, int64_t>> BestPath(absl::string_view s) const;

  std::vector<double> scores_;
  absl::flat_hash_map<std::string, int64_t> piece_id_;
  std::array<int64_t, 256> fallback_id_{};
  bool byte_fallback_ = false;
  int64_t unk_id_ = 0;
  size_t max_piece_bytes_ = 1;
  double min_score_ = 0;
};

absl::Status UnigramModel::Init(const json& spec, const std::string& source) {
  const json& vocab = spec.value("vocab", json());
  if (!vocab.is_array() || vocab.empty()) return hf::Malformed(source, "Unigram model.vocab is missing or empty");
  min_score_ = std::numeric_limits<double>::infinity();
  for (const json& entry : vocab) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number()) {
      return hf::Malformed(source, absl::StrCat("Unigram vocab entry ", id_to_token_.size(), " is not [piece, score]"));
    }
    const int64_t id = static_cast<int64_t>(id_to_token_.size());
    id_to_token_.push_back(entry[0].get<std::string>());
    scores_.push_back(entry[1].get<double>());
    piece_id_.insert_or_assign(id_to_token_.back(), id);
    max_piece_bytes_ = std::max(max_piece_bytes_, id_to_token_.back().size());
    min_score_ = std::min(min_score_, scores_.back());
  }
  const json& unk = spec.value("unk_id", json());
  if (!unk.is_number_unsigned() || unk.get<int64_t>() >= static_cast<int64_t>(id_to_token_.size())) {
    return hf::Malformed(source, "Unigram unk_id is missing or outside the vocab");
  }
  unk_id_ = unk.get<int64_t>();
  byte_fallback_ = spec.value("byte_fallback", false);
  for (int b = 0; b < 256; ++b) {
    auto it = piece_id_.find(absl::StrFormat("<0x%02X>", b));
    fallback_id_[b] = it == piece_id_.end() ? -1 : it->second;
  }
  return absl::OkStatus();
}

std::vector<std::tuple<size_t, size_t, int64_t>> UnigramModel::BestPath(absl::string_view s) const {
  constexpr double kUnknownPenalty = 10.0;
  const size_t n = s.size();
  std::vector<double> best(n + 1, 0);
  std::vector<size_t> from(n + 1, 0);
  std::vector<int64_t> via(n + 1, -2);  // -2: not reached yet; -1: an unknown character
  via[0] = -1;
  const std::vector<unicode::CodePointAt> chars = unicode::CodePoints(s);
  for (size_t c = 0; c < chars.size(); ++c) {
    const size_t i = chars[c].begin;
    bool single = false;
    for (size_t k = c; k < chars.size() && chars[k].begin + chars[k].size - i <= max_piece_bytes_; ++k) {
      const size_t len = chars[k].begin + chars[k].size - i;
      auto it = piece_id_.find(s.substr(i, len));
      if (it == piece_id_.end()) continue;
      single |= k == c;
      const double score = best[i] + scores_[it->second];
      if (via[i + len] == -2 || score > best[i + len]) {
        best[i + len] = score;
        from[i + len] = i;
        via[i + len] = it->second;
      }
    }
    const size_t end = i + chars[c].size;
    if (!single && (via[end] == -2 || best[i] + min_score_ - kUnknownPenalty > best[end])) {
      best[end] = best[i] + min_score_ - kUnknownPenalty;
      from[end] = i;
      via[end] = -1;
    }
  }
  std::vector<std::tuple<size_t, size_t, int64_t>> path;
  for (size_t end = n; end > 0; end = from[end]) {
    const int64_t id = via[end] == unk_id_ ? -1 : via[end];  // the unk piece itself fuses too
    if (id < 0 && !path.empty() && std::get<2>(path.back()) < 0) {
      std::get<0>(path.back()) = from[end];
    } else {
      path.emplace_back(from[end], end, id);
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

void UnigramModel::Tokenize(absl::string_view piece, std::vector<int64_t>* out) const {
  for (const auto& [begin, end, id] : BestPath(piece)) {
    if (id >= 0) {
      out->push_back(id);
      continue;
    }
    const absl::string_view text = piece.substr(begin, end - begin);
    auto known = piece_id_.find(text);  // a fused run may spell a piece
    if (known != piece_id_.end()) {
      out->push_back(known->second);
      continue;
    }
    bool all = byte_fallback_;
    for (char b : text) all = all && fallback_id_[static_cast<uint8_t>(b)] >= 0;
    if (all) {
      for (char b : text) out->push_back(fallback_id_[static_cast<uint8_t>(b)]);
    } else {
      out->push_back(unk_id_);
    }
  }
}

// WordLevel: each piece is one vocabulary entry, or the unknown token.
class WordLevelModel : public HfModel {
 public:
  absl::Status Init(const json& spec, const std::string& source) {
    RTO_RETURN_IF_ERROR(ReadVocabObject(spec.value("vocab", json()), source, &id_to_token_, &token_to_id_));
    RTO_ASSIGN_OR_RETURN(std::string unk, hf::StringField(spec, "unk_token", "<unk>", source));
    auto it = token_to_id_.find(unk);
    if (it == token_to_id_.end()) {
      return hf::Malformed(source, absl::StrCat("WordLevel unk_token '", unk, "' is not in the vocab"));
    }
    unk_id_ = it->second;
    return absl::OkStatus();
  }
  void Tokenize(absl::string_view piece, std::vector<int64_t>* out) const override {
    auto it = token_to_id_.find(piece);
    out->push_back(it == token_to_id_.end() ? unk_id_ : it->second);
  }

 private:
  absl::flat_hash_map<std::string, int64_t> token_to_id_;
  int64_t unk_id_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HfModel>> HfModel::Create(const json& spec, bool byte_level,
                                                         const absl::flat_hash_set<std::string>& special_tokens,
                                                         const std::string& source) {
  if (!spec.is_object()) return hf::Malformed(source, "missing object 'model'");
  const std::string type = spec.value("type", "BPE");  // old files omit BPE's type
  if (type != "BPE" && type != "Unigram" && type != "WordLevel") {
    return hf::Unsupported(source, absl::StrCat("model type '", type, "' (supported: BPE, Unigram, WordLevel)"));
  }
  if (byte_level && type != "BPE") {
    return hf::Unsupported(source, absl::StrCat("a ByteLevel pre-tokenizer with a ", type, " model"));
  }
  if (type == "BPE") {
    auto m = std::make_unique<BpeModel>();
    RTO_RETURN_IF_ERROR(m->Init(spec, byte_level, special_tokens, source));
    return std::unique_ptr<HfModel>(std::move(m));
  }
  if (type == "Unigram") {
    auto m = std::make_unique<UnigramModel>();
    RTO_RETURN_IF_ERROR(m->Init(spec, source));
    return std::unique_ptr<HfModel>(std::move(m));
  }
  auto m = std::make_unique<WordLevelModel>();
  RTO_RETURN_IF_ERROR(m->Init(spec, source));
  return std::unique_ptr<HfModel>(std::move(m));
}

}  // namespace rto
