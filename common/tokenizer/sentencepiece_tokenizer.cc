#include "common/tokenizer/sentencepiece_tokenizer.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace rto {

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> SentencePieceTokenizer::Create(const std::string& model_path,
                                                                                       const std::string& config_json) {
  std::unique_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  std::string error;
  t->sp_ = SentencePieceBackend::Load(model_path, &error);
  if (t->sp_ == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(model_path, ": not a SentencePiece model: ", error));
  if (!config_json.empty()) {
    nlohmann::json config;
    try {
      config = nlohmann::json::parse(config_json);
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(model_path, ": tokenizer_config.json is not valid JSON: ", e.what()));
    }
    t->add_bos_ = config.value("add_bos_token", true);
    t->add_eos_ = config.value("add_eos_token", false);
    if (config.contains("chat_template") && config["chat_template"].is_string()) {
      t->chat_template_ = config["chat_template"].get<std::string>();
    }
  }
  auto fill = [&](int id, std::optional<int64_t>* out, std::string* name) {
    if (id < 0) return;
    *out = id;
    *name = t->sp_->IdToPiece(id);
  };
  fill(t->sp_->bos_id(), &t->special_.bos_id, &t->special_.bos);
  fill(t->sp_->eos_id(), &t->special_.eos_id, &t->special_.eos);
  fill(t->sp_->pad_id(), &t->special_.pad_id, &t->special_.pad);
  return t;
}

void SentencePieceTokenizer::EncodeText(absl::string_view text, std::vector<int64_t>* out) const {
  std::vector<int> ids = sp_->Encode(std::string_view(text.data(), text.size()));
  out->insert(out->end(), ids.begin(), ids.end());
}

std::vector<int64_t> SentencePieceTokenizer::Encode(absl::string_view text, const EncodeOptions& options) const {
  std::vector<int64_t> out;
  if (options.add_special_tokens && add_bos_ && special_.bos_id) out.push_back(*special_.bos_id);
  if (!options.parse_special) {
    EncodeText(text, &out);
  } else {
    // Control pieces written in the text (e.g. "<s>", "</s>") become their ids; the text
    // between them is encoded on its own.
    size_t start = 0, pos = 0;
    while (pos < text.size()) {
      int match = -1;
      size_t match_len = 0;
      for (int id = 0; id < sp_->PieceSize(); ++id) {
        if (!sp_->IsControl(id)) continue;
        const std::string piece = sp_->IdToPiece(id);
        if (piece.size() > match_len && text.compare(pos, piece.size(), piece) == 0) {
          match = id;
          match_len = piece.size();
        }
      }
      if (match < 0) {
        ++pos;
        continue;
      }
      if (pos > start) EncodeText(text.substr(start, pos - start), &out);
      out.push_back(match);
      start = pos = pos + match_len;
    }
    if (start < text.size()) EncodeText(text.substr(start), &out);
  }
  if (options.add_special_tokens && add_eos_ && special_.eos_id) out.push_back(*special_.eos_id);
  return out;
}

std::string SentencePieceTokenizer::DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  std::vector<int> kept;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    if (skip_special_tokens && IsSpecial(id)) continue;
    kept.push_back(static_cast<int>(id));
  }
  return sp_->Decode(kept);
}

int64_t SentencePieceTokenizer::vocab_size() const { return sp_->PieceSize(); }

std::optional<int64_t> SentencePieceTokenizer::TokenToId(absl::string_view token) const {
  int id = sp_->PieceToId(std::string_view(token.data(), token.size()));
  if (id < 0) return std::nullopt;
  return id;
}

bool SentencePieceTokenizer::IsSpecial(int64_t id) const {
  return id >= 0 && id < vocab_size() && (sp_->IsControl(static_cast<int>(id)) || sp_->IsUnknown(static_cast<int>(id)));
}

}  // namespace rto
