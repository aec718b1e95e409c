#include "common/tokenizer/hf_tokenizer.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "common/tokenizer/hf_json.h"
#include "common/tokenizer/unicode.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

// tokenizer_config.json writes special tokens as a string or as {"content": ...}.
std::string TokenContent(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

// Whether the character that ends just before `pos` (or starts at it) is a word character,
// for added tokens with single_word.
bool WordCharBefore(absl::string_view text, size_t pos) {
  if (pos == 0) return false;
  size_t begin = pos - 1;
  while (begin > 0 && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
  std::vector<unicode::CodePointAt> cps = unicode::CodePoints(text.substr(begin, pos - begin));
  return !cps.empty() && (unicode::IsAlphanumeric(cps.back().cp) || cps.back().cp == '_');
}
bool WordCharAt(absl::string_view text, size_t pos) {
  if (pos >= text.size()) return false;
  std::vector<unicode::CodePointAt> cps = unicode::CodePoints(text.substr(pos, std::min<size_t>(4, text.size() - pos)));
  return !cps.empty() && (unicode::IsAlphanumeric(cps[0].cp) || cps[0].cp == '_');
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::Create(const std::string& tokenizer_json,
                                                                 const std::string& config_json,
                                                                 const std::string& source) {
  json j, config;
  try {
    j = json::parse(tokenizer_json);
    if (!config_json.empty()) config = json::parse(config_json);
  } catch (const json::exception& e) {
    return hf::Malformed(source, absl::StrCat("not valid JSON: ", e.what()));
  }
  if (!j.is_object()) return hf::Malformed(source, "tokenizer.json is not a JSON object");
  if (!config.is_null() && !config.is_object())
    return hf::Malformed(source, "tokenizer_config.json is not a JSON object");
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  RTO_ASSIGN_OR_RETURN(t->normalizer_, HfNormalizer::Create(j.value("normalizer", json()), source));
  RTO_ASSIGN_OR_RETURN(t->pre_tokenizer_, HfPreTokenizer::Create(j.value("pre_tokenizer", json()), source));
  RTO_ASSIGN_OR_RETURN(t->decoder_, HfDecoder::Create(j.value("decoder", json()), source));
  RTO_RETURN_IF_ERROR(t->ParseAddedTokens(&j, source));
  RTO_RETURN_IF_ERROR(t->ParsePostProcessor(&j, source));
  RTO_RETURN_IF_ERROR(t->ApplyConfig(&config, source));
  return t;
}

absl::Status HfTokenizer::ParseAddedTokens(const void* json_ptr, const std::string& source) {
  const json& j = *static_cast<const json*>(json_ptr);
  const json& list = j.value("added_tokens", json::array());
  if (!list.is_array()) return hf::Malformed(source, "added_tokens is not a list");
  absl::flat_hash_set<std::string> special;
  for (const json& a : list) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() || a["id"].get<int64_t>() >= (1LL << 31) ||
        !a.contains("content") || !a["content"].is_string() || a["content"].get<std::string>().empty()) {
      return hf::Malformed(source, "an entry of added_tokens lacks an 'id' in [0, 2^31) or a non-empty 'content'");
    }
    const bool is_special = a.value("special", false);
    AddedToken token{a["content"].get<std::string>(),   a["id"].get<int64_t>(),   is_special,
                     a.value("lstrip", false),          a.value("rstrip", false), a.value("single_word", false),
                     a.value("normalized", !is_special)};
    if (token.special) special.insert(token.content);
    added_.push_back(std::move(token));
  }
  RTO_ASSIGN_OR_RETURN(model_,
                       HfModel::Create(j.value("model", json()), pre_tokenizer_->byte_level(), special, source));
  id_to_token_ = model_->id_to_token();
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    if (!id_to_token_[id].empty()) token_to_id_.try_emplace(id_to_token_[id], static_cast<int64_t>(id));
  }
  special_ids_.assign(id_to_token_.size(), false);
  for (AddedToken& a : added_) {
    if (a.id >= vocab_size()) {
      id_to_token_.resize(a.id + 1);
      special_ids_.resize(a.id + 1, false);
    }
    token_to_id_[a.content] = a.id;
    // A normalised token is matched, and (as HF tokenizers does) decoded, in its normalised
    // form; skip_special_tokens knows it only when that form is its content.
    const std::string original = a.content;
    if (a.normalized) a.content = normalizer_->Normalize(a.content);
    id_to_token_[a.id] = a.content;
    special_ids_[a.id] = special_ids_[a.id] || (a.special && a.content == original);
  }
  std::erase_if(added_, [](const AddedToken& a) { return a.content.empty(); });
  std::stable_sort(added_.begin(), added_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  for (const AddedToken& a : added_) {
    added_by_first_byte_[static_cast<uint8_t>(a.content[0])].push_back(&a);
  }
  return absl::OkStatus();
}

absl::Status HfTokenizer::ParsePostProcessor(const void* json_ptr, const std::string& source) {
  std::function<absl::Status(const json&)> parse = [&](const json& p) -> absl::Status {
    if (p.is_null()) return absl::OkStatus();
    const std::string type = hf::TypeOf(p);
    if (type == "Sequence") {
      for (const json& q : p.value("processors", json::array())) RTO_RETURN_IF_ERROR(parse(q));
      return absl::OkStatus();
    }
    if (type == "ByteLevel") return absl::OkStatus();               // offsets only
    if (type == "RobertaProcessing" || type == "BertProcessing") {  // cls $A sep
      const json &cls = p.value("cls", json()), &sep = p.value("sep", json());
      if (!cls.is_array() || cls.size() != 2 || !cls[1].is_number_unsigned() || !sep.is_array() || sep.size() != 2 ||
          !sep[1].is_number_unsigned()) {
        return hf::Malformed(source, absl::StrCat(type, " needs cls and sep as [token, id]"));
      }
      prefix_ids_.push_back(cls[1].get<int64_t>());
      suffix_ids_.push_back(sep[1].get<int64_t>());
      return absl::OkStatus();
    }
    if (type != "TemplateProcessing") return hf::Unsupported(source, absl::StrCat("post_processor '", type, "'"));
    bool after = false;
    for (const json& piece : p.value("single", json::array())) {
      if (piece.contains("Sequence")) {
        after = true;
        continue;
      }
      const std::string name = piece.value("SpecialToken", json::object()).value("id", "");
      const json& entry = p.value("special_tokens", json::object()).value(name, json());
      if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array()) {
        return hf::Malformed(source, absl::StrCat("post_processor names special token '", name, "' without its ids"));
      }
      for (const json& id : entry["ids"]) {
        if (!id.is_number_unsigned()) return hf::Malformed(source, absl::StrCat("post_processor ids of '", name, "'"));
        (after ? suffix_ids_ : prefix_ids_).push_back(id.get<int64_t>());
      }
    }
    return absl::OkStatus();
  };
  RTO_RETURN_IF_ERROR(parse(static_cast<const json*>(json_ptr)->value("post_processor", json())));
  for (const std::vector<int64_t>* ids : {&prefix_ids_, &suffix_ids_}) {
    for (int64_t id : *ids) {
      if (id >= vocab_size()) {
        return hf::Malformed(source, absl::StrCat("post_processor id ", id, " is outside the vocabulary"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status HfTokenizer::ApplyConfig(const void* config_ptr, const std::string& source) {
  const json& config = *static_cast<const json*>(config_ptr);
  if (!config.is_object()) return absl::OkStatus();
  auto id_of = [&](const char* key, std::optional<int64_t>* id, std::string* name) {
    if (!config.contains(key)) return;
    *name = TokenContent(config[key]);
    auto it = token_to_id_.find(*name);
    if (it != token_to_id_.end()) *id = it->second;
  };
  id_of("bos_token", &special_.bos_id, &special_.bos);
  id_of("eos_token", &special_.eos_id, &special_.eos);
  id_of("pad_token", &special_.pad_id, &special_.pad);
  // transformers' Llama/Gemma-style tokenizers rebuild the post-processor from these flags.
  if (config.contains("add_bos_token") || config.contains("add_eos_token")) {
    prefix_ids_.clear();
    suffix_ids_.clear();
    if (config.value("add_bos_token", false) && special_.bos_id) prefix_ids_.push_back(*special_.bos_id);
    if (config.value("add_eos_token", false) && special_.eos_id) suffix_ids_.push_back(*special_.eos_id);
  }
  chat_template_ = hf::ChatTemplateOf(config);
  return absl::OkStatus();
}

void HfTokenizer::SplitAdded(absl::string_view text, bool normalized_pass, bool parse_special,
                             std::vector<Segment>* out) const {
  size_t segment_start = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (const AddedToken* a : added_by_first_byte_[static_cast<uint8_t>(text[pos])]) {  // leftmost, then longest
      if (a->normalized != normalized_pass || (a->special && !parse_special)) continue;
      if (text.compare(pos, a->content.size(), a->content) != 0) continue;
      if (a->single_word && (WordCharBefore(text, pos) || WordCharAt(text, pos + a->content.size()))) continue;
      hit = a;
      break;
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
    if (begin > segment_start) out->push_back({text.substr(segment_start, begin - segment_start), -1});
    out->push_back({text.substr(begin, end - begin), hit->id});
    segment_start = pos = end;
  }
  if (segment_start < text.size()) out->push_back({text.substr(segment_start), -1});
}

std::vector<int64_t> HfTokenizer::Encode(absl::string_view text, const EncodeOptions& options) const {
  std::vector<int64_t> out;
  if (options.add_special_tokens) out = prefix_ids_;
  std::vector<Segment> segments;
  SplitAdded(text, /*normalized_pass=*/false, options.parse_special, &segments);
  for (const Segment& s : segments) {
    if (s.id >= 0) {
      out.push_back(s.id);
    } else {
      EncodeText(s.text, /*at_start=*/s.text.data() == text.data(), options.parse_special, &out);
    }
  }
  if (options.add_special_tokens) out.insert(out.end(), suffix_ids_.begin(), suffix_ids_.end());
  return out;
}

void HfTokenizer::EncodeText(absl::string_view text, bool at_start, bool parse_special,
                             std::vector<int64_t>* out) const {
  const std::string normalized = normalizer_->Normalize(text);
  std::vector<Segment> segments;
  SplitAdded(normalized, /*normalized_pass=*/true, parse_special, &segments);
  std::vector<PreToken> pieces;
  for (const Segment& s : segments) {
    if (s.id >= 0) {
      out->push_back(s.id);
      continue;
    }
    pieces.assign(1, PreToken{std::string(s.text), at_start && s.text.data() == normalized.data()});
    pre_tokenizer_->Apply(&pieces);
    for (const PreToken& p : pieces) model_->Tokenize(p.text, out);
  }
}

std::vector<std::string> HfTokenizer::TokensOf(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;  // e.g. a model vocabulary padded past the tokenizer's
    if (skip_special_tokens && special_ids_[id]) continue;
    tokens.push_back(id_to_token_[id]);
  }
  return tokens;
}

std::string HfTokenizer::DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  return decoder_->Decode(TokensOf(ids, skip_special_tokens), /*lossy=*/false);
}

std::string HfTokenizer::Decode(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  return unicode::ToValidUtf8Lossy(decoder_->Decode(TokensOf(ids, skip_special_tokens), /*lossy=*/true));
}

std::optional<int64_t> HfTokenizer::TokenToId(absl::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

bool HfTokenizer::IsSpecial(int64_t id) const {
  return id >= 0 && id < static_cast<int64_t>(special_ids_.size()) && special_ids_[id];
}

}  // namespace rto
