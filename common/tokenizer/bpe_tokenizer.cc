#include "common/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <queue>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/unicode.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

// GPT-2's pre-tokenizer pattern, used by ByteLevel with use_regex.
constexpr char kGpt2Pattern[] = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

absl::Status Unsupported(const std::string& source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

// A token as written in a byte-level tokenizer.json back to the bytes it stands for; nullopt
// when it holds a character outside the byte alphabet (then it is a literal added token).
std::optional<std::string> ByteLevelToBytes(absl::string_view token) {
  auto cps = unicode::DecodeUtf8(token);
  if (!cps.ok()) return std::nullopt;
  std::string bytes;
  for (char32_t cp : *cps) {
    int b = unicode::ByteOfCodePoint(cp);
    if (b < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(b));
  }
  return bytes;
}

// tokenizer_config.json writes special tokens as a string or as {"content": ...}.
std::string TokenContent(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(const std::string& tokenizer_json,
                                                                   const std::string& config_json,
                                                                   const std::string& source) {
  json j, config;
  try {
    j = json::parse(tokenizer_json);
    if (!config_json.empty()) config = json::parse(config_json);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not valid JSON: ", e.what()));
  }
  if (!j.is_object()) return Unsupported(source, "tokenizer.json is not a JSON object");
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer());

  // Normaliser: none or NFC.
  const json& norm = j.value("normalizer", json());
  if (!norm.is_null()) {
    std::string type = norm.value("type", "");
    if (type == "NFC") {
      t->nfc_ = true;
    } else if (!(type == "Sequence" && norm.value("normalizers", json::array()).empty())) {
      return Unsupported(source, absl::StrCat("normalizer '", type, "' is not supported (supported: none, NFC)"));
    }
  }
  RTO_RETURN_IF_ERROR(t->ParseModel(&j, source));
  RTO_RETURN_IF_ERROR(t->ParsePreTokenizer(&j, source));
  const json& decoder = j.value("decoder", json());
  if (!decoder.is_null() && decoder.value("type", "") != "ByteLevel") {
    return Unsupported(source, absl::StrCat("decoder '", decoder.value("type", ""),
                                            "' is not supported: only byte-level BPE tokenizer.json files are; "
                                            "for SentencePiece models use tokenizer.model"));
  }

  // Added tokens: matched in the text before BPE.
  for (const json& a : j.value("added_tokens", json::array())) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content") ||
        !a["content"].is_string() || a["content"].get<std::string>().empty()) {
      return Unsupported(source, "an entry of added_tokens lacks a non-negative 'id' or a non-empty 'content'");
    }
    AddedToken token{a["content"].get<std::string>(), a["id"].get<int64_t>(), a.value("special", false),
                     a.value("lstrip", false), a.value("rstrip", false)};
    if (token.id >= static_cast<int64_t>(t->token_bytes_.size())) t->token_bytes_.resize(token.id + 1);
    t->token_bytes_[token.id] = token.content;
    t->file_token_id_[token.content] = token.id;
    t->added_.push_back(std::move(token));
  }
  std::stable_sort(t->added_.begin(), t->added_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  for (const AddedToken& a : t->added_) t->added_by_first_byte_[static_cast<uint8_t>(a.content[0])].push_back(&a);
  t->special_ids_.assign(t->token_bytes_.size(), false);
  for (const AddedToken& a : t->added_) {
    if (a.special) {
      t->special_ids_[a.id] = true;
      t->bytes_id_.erase(a.content);  // plain text never becomes a special token through BPE
    }
  }

  // What add_special_tokens puts around a sequence: TemplateProcessing's "single" template,
  // unless tokenizer_config.json says add_bos_token / add_eos_token.
  std::function<absl::Status(const json&)> parse_post = [&](const json& p) -> absl::Status {
    if (p.is_null()) return absl::OkStatus();
    std::string type = p.value("type", "");
    if (type == "Sequence") {
      for (const json& q : p.value("processors", json::array())) RTO_RETURN_IF_ERROR(parse_post(q));
      return absl::OkStatus();
    }
    if (type == "ByteLevel") return absl::OkStatus();  // offsets only
    if (type != "TemplateProcessing") {
      return Unsupported(source, absl::StrCat("post_processor '", type, "' is not supported"));
    }
    bool after = false;
    for (const json& piece : p.value("single", json::array())) {
      if (piece.contains("Sequence")) {
        after = true;
        continue;
      }
      std::string name = piece.value("SpecialToken", json::object()).value("id", "");
      const json& entry = p.value("special_tokens", json::object()).value(name, json());
      if (entry.is_null() || !entry.contains("ids")) {
        return Unsupported(source, absl::StrCat("post_processor names special token '", name, "' without its ids"));
      }
      for (const json& id : entry["ids"]) (after ? t->suffix_ids_ : t->prefix_ids_).push_back(id.get<int64_t>());
    }
    return absl::OkStatus();
  };
  RTO_RETURN_IF_ERROR(parse_post(j.value("post_processor", json())));

  if (config.is_object()) {
    auto id_of = [&](const char* key, std::optional<int64_t>* id, std::string* name) {
      if (!config.contains(key)) return;
      *name = TokenContent(config[key]);
      auto it = t->file_token_id_.find(*name);
      if (it != t->file_token_id_.end()) *id = it->second;
    };
    id_of("bos_token", &t->special_.bos_id, &t->special_.bos);
    id_of("eos_token", &t->special_.eos_id, &t->special_.eos);
    id_of("pad_token", &t->special_.pad_id, &t->special_.pad);
    if (config.contains("add_bos_token") || config.contains("add_eos_token")) {
      t->prefix_ids_.clear();
      t->suffix_ids_.clear();
      if (config.value("add_bos_token", false) && t->special_.bos_id) t->prefix_ids_.push_back(*t->special_.bos_id);
      if (config.value("add_eos_token", false) && t->special_.eos_id) t->suffix_ids_.push_back(*t->special_.eos_id);
    }
    const json& tmpl = config.value("chat_template", json());
    if (tmpl.is_string()) {
      t->chat_template_ = tmpl.get<std::string>();
    } else if (tmpl.is_array()) {  // [{"name": "default", "template": "..."}, ...]
      for (const json& named : tmpl) {
        if (named.value("name", "") == "default") t->chat_template_ = named.value("template", "");
      }
    }
  }
  for (int64_t id : t->prefix_ids_) {
    if (id < 0 || id >= t->vocab_size())
      return Unsupported(source, absl::StrCat("post_processor id ", id, " is outside the vocabulary"));
  }
  return t;
}

absl::Status BpeTokenizer::ParseModel(const void* json_ptr, const std::string& source) {
  const json& j = *static_cast<const json*>(json_ptr);
  const json& model = j.value("model", json());
  if (!model.is_object()) return Unsupported(source, "missing object 'model'");
  std::string type = model.value("type", "BPE");
  if (type != "BPE")
    return Unsupported(source, absl::StrCat("model type '", type, "' is not supported (supported: BPE)"));
  if (model.value("byte_fallback", false)) {
    return Unsupported(source, "byte_fallback BPE is SentencePiece-style; load the model's tokenizer.model instead");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json& v = model.value(key, json());
    if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty())) {  // GPT-2's file has ""
      return Unsupported(source, absl::StrCat(key, " is not supported"));
    }
  }
  const json& dropout = model.value("dropout", json());
  if (dropout.is_number() && dropout.get<double>() > 0) {
    return Unsupported(source, "BPE dropout makes encoding random; set it to null");
  }
  ignore_merges_ = model.value("ignore_merges", false);

  const json& vocab = model.value("vocab", json());
  if (!vocab.is_object() || vocab.empty()) return Unsupported(source, "model.vocab is missing or empty");
  int64_t max_id = -1;
  for (auto& [token, id] : vocab.items()) {
    if (!id.is_number_unsigned())
      return Unsupported(source, absl::StrCat("vocab id of '", token, "' is not a non-negative integer"));
    max_id = std::max(max_id, id.get<int64_t>());
  }
  if (max_id >= (int64_t{1} << 31)) return Unsupported(source, "vocab ids must be below 2^31");
  token_bytes_.assign(max_id + 1, "");
  for (auto& [token, id_json] : vocab.items()) {
    int64_t id = id_json.get<int64_t>();
    file_token_id_[token] = id;
    std::optional<std::string> bytes = ByteLevelToBytes(token);
    token_bytes_[id] = bytes ? *bytes : token;
    if (bytes) bytes_id_[*bytes] = id;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = bytes_id_.find(std::string(1, static_cast<char>(b)));
    if (it == bytes_id_.end()) {
      return Unsupported(source, absl::StrCat("byte 0x", absl::Hex(b, absl::kZeroPad2), " has no token in the vocab"));
    }
    byte_id_[b] = it->second;
  }

  const json& merges = model.value("merges", json::array());
  int32_t rank = 0;
  for (const json& m : merges) {
    std::string left, right;
    if (m.is_string()) {  // "a b"
      std::string s = m.get<std::string>();
      size_t space = s.find(' ', 1);
      if (space == std::string::npos)
        return Unsupported(source, absl::StrCat("merge ", rank, " '", s, "' is not 'a b'"));
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["a", "b"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return Unsupported(source, absl::StrCat("merge ", rank, " is neither 'a b' nor [a, b]"));
    }
    auto l = file_token_id_.find(left), r = file_token_id_.find(right), lr = file_token_id_.find(left + right);
    if (l == file_token_id_.end() || r == file_token_id_.end() || lr == file_token_id_.end()) {
      return Unsupported(source,
                         absl::StrCat("merge ", rank, " ('", left, "', '", right, "') uses a token not in the vocab"));
    }
    uint64_t key = (static_cast<uint64_t>(l->second) << 32) | static_cast<uint64_t>(r->second);
    merges_.try_emplace(key, Merge{rank, lr->second});  // the first (highest-priority) rank wins
    ++rank;
  }
  return absl::OkStatus();
}

absl::Status BpeTokenizer::ParsePreTokenizer(const void* json_ptr, const std::string& source) {
  const json& j = *static_cast<const json*>(json_ptr);
  std::vector<json> list;
  const json& pre = j.value("pre_tokenizer", json());
  if (pre.is_null())
    return Unsupported(source, "pre_tokenizer is null; byte-level BPE needs a ByteLevel pre-tokenizer");
  if (pre.value("type", "") == "Sequence") {
    for (const json& p : pre.value("pretokenizers", json::array())) list.push_back(p);
  } else {
    list.push_back(pre);
  }
  bool byte_level = false;
  for (const json& p : list) {
    std::string type = p.value("type", "");
    PreTokenizer stage;
    if (type == "ByteLevel") {
      byte_level = true;
      stage.add_prefix_space = p.value("add_prefix_space", false);
      if (p.value("use_regex", true)) {
        RTO_ASSIGN_OR_RETURN(stage.regex, SplitRegex::Create(kGpt2Pattern));
      }
    } else if (type == "Split") {
      const json& pattern = p.value("pattern", json::object());
      std::string behavior = p.value("behavior", "");
      if (behavior != "Isolated" || p.value("invert", false)) {
        return Unsupported(source, absl::StrCat("Split pre-tokenizer with behavior '", behavior,
                                                "' and invert is not supported (supported: Isolated, invert false)"));
      }
      std::string regex;
      if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
        regex = pattern["Regex"].get<std::string>();
      } else if (pattern.contains("String") && pattern["String"].is_string()) {
        // A literal string: quote it for PCRE2.
        regex = "\\Q" + pattern["String"].get<std::string>() + "\\E";
      } else {
        return Unsupported(source, "Split pre-tokenizer has no Regex or String pattern");
      }
      auto compiled = SplitRegex::Create(regex);
      if (!compiled.ok()) return Unsupported(source, compiled.status().message());
      stage.regex = std::move(*compiled);
    } else {
      return Unsupported(source,
                         absl::StrCat("pre-tokenizer '", type, "' is not supported (supported: ByteLevel, Split)"));
    }
    pre_tokenizers_.push_back(std::move(stage));
  }
  if (!byte_level)
    return Unsupported(source, "only byte-level BPE is supported and there is no ByteLevel pre-tokenizer");
  return absl::OkStatus();
}

std::vector<int64_t> BpeTokenizer::Encode(absl::string_view text, const EncodeOptions& options) const {
  std::vector<int64_t> out;
  if (options.add_special_tokens) out = prefix_ids_;
  // Split out added tokens (leftmost, then longest); special ones only when asked to.
  size_t segment_start = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (const AddedToken* a : added_by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if ((!a->special || options.parse_special) && text.compare(pos, a->content.size(), a->content) == 0) {
        hit = a;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = pos + hit->content.size();
    if (hit->lstrip) {
      while (begin > segment_start && absl::ascii_isspace(static_cast<unsigned char>(text[begin - 1]))) --begin;
    }
    if (hit->rstrip) {
      while (end < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[end]))) ++end;
    }
    EncodeSegment(text.substr(segment_start, begin - segment_start), &out);
    out.push_back(hit->id);
    segment_start = pos = end;
  }
  EncodeSegment(text.substr(segment_start), &out);
  if (options.add_special_tokens) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
  return out;
}

void BpeTokenizer::EncodeSegment(absl::string_view text, std::vector<int64_t>* out) const {
  if (text.empty()) return;
  std::string normalized = nfc_ ? unicode::NormalizeNfc(text) : std::string(text);
  std::vector<std::string> pieces = {std::move(normalized)};
  std::vector<absl::string_view> parts;
  for (const PreTokenizer& stage : pre_tokenizers_) {
    std::vector<std::string> next;
    for (std::string& piece : pieces) {
      if (stage.add_prefix_space && (piece.empty() || piece[0] != ' ')) piece.insert(0, 1, ' ');
      if (!stage.regex) {
        next.push_back(std::move(piece));
        continue;
      }
      parts.clear();
      stage.regex->Split(piece, &parts);
      for (absl::string_view part : parts) next.emplace_back(part);
    }
    pieces = std::move(next);
  }
  for (const std::string& piece : pieces) EncodeWord(piece, out);
}

void BpeTokenizer::EncodeWord(absl::string_view word, std::vector<int64_t>* out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = bytes_id_.find(word);
    if (it != bytes_id_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  // Symbols in a doubly linked list; candidate merges in a min-heap ordered by (rank, position),
  // so the highest-priority merge happens first and, among equals, the leftmost. Stale heap
  // entries (a side already merged away) are skipped when popped.
  const int n = static_cast<int>(word.size());
  std::vector<int64_t> id(n);
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    id[i] = byte_id_[static_cast<uint8_t>(word[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int left, right;
    int64_t left_id, right_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int left) {
    int right = next[left];
    if (left < 0 || right < 0) return;
    auto it = merges_.find((static_cast<uint64_t>(id[left]) << 32) | static_cast<uint64_t>(id[right]));
    if (it != merges_.end()) heap.push({it->second.rank, left, right, id[left], id[right]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    if (id[c.left] != c.left_id || next[c.left] != c.right || id[c.right] != c.right_id) continue;
    id[c.left] = merges_.at((static_cast<uint64_t>(c.left_id) << 32) | static_cast<uint64_t>(c.right_id)).merged;
    id[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    if (prev[c.left] >= 0) push(prev[c.left]);
    push(c.left);
  }
  std::vector<int64_t> ids;
  for (int i = 0; i >= 0; i = next[i]) ids.push_back(id[i]);
  out->insert(out->end(), ids.begin(), ids.end());
  absl::MutexLock lock(&cache_mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::string(word), std::move(ids));
}

std::string BpeTokenizer::DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;  // e.g. a model vocabulary padded past the tokenizer's
    if (skip_special_tokens && special_ids_[id]) continue;
    out += token_bytes_[id];
  }
  return out;
}

std::optional<int64_t> BpeTokenizer::TokenToId(absl::string_view token) const {
  auto it = file_token_id_.find(token);
  if (it == file_token_id_.end()) return std::nullopt;
  return it->second;
}

bool BpeTokenizer::IsSpecial(int64_t id) const {
  return id >= 0 && id < static_cast<int64_t>(special_ids_.size()) && special_ids_[id];
}

}  // namespace rto
