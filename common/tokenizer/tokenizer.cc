#include "common/tokenizer/tokenizer.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/bpe_tokenizer.h"
#include "common/tokenizer/sentencepiece_tokenizer.h"
#include "common/tokenizer/unicode.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {

std::string Tokenizer::Decode(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  return unicode::ToValidUtf8Lossy(DecodeBytes(ids, skip_special_tokens));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string config;
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(config_path, ec)) {
    RTO_ASSIGN_OR_RETURN(config, ReadFileToString(config_path.string()));
  }
  const fs::path json_path = fs::path(dir) / "tokenizer.json";
  if (fs::exists(json_path, ec)) {
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(json_path.string()));
    RTO_ASSIGN_OR_RETURN(auto t, BpeTokenizer::Create(text, config, json_path.string()));
    return std::unique_ptr<Tokenizer>(std::move(t));
  }
  const fs::path sp_path = fs::path(dir) / "tokenizer.model";
  if (fs::exists(sp_path, ec)) {
    RTO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(sp_path.string()));
    RTO_ASSIGN_OR_RETURN(auto t, SentencePieceTokenizer::Create(bytes, config, sp_path.string()));
    return std::unique_ptr<Tokenizer>(std::move(t));
  }
  return absl::NotFoundError(absl::StrCat(dir, ": no tokenizer.json or tokenizer.model"));
}

}  // namespace rto
