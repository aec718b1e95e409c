#include "common/tokenizer/tokenizer.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/hf_tokenizer.h"
#include "common/tokenizer/sentencepiece_tokenizer.h"
#include "common/tokenizer/unicode.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace rto {

std::string Tokenizer::Decode(absl::Span<const int64_t> ids, bool skip_special_tokens) const {
  return unicode::ToValidUtf8Lossy(DecodeBytes(ids, skip_special_tokens));
}

namespace {

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFiles(const std::filesystem::path& dir,
                                                              const std::string& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path json_path = dir / "tokenizer.json", sp_path = dir / "tokenizer.model";
  const bool has_sp = fs::exists(sp_path, ec);
  if (fs::exists(json_path, ec)) {
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(json_path.string()));
    absl::StatusOr<std::unique_ptr<HfTokenizer>> t = HfTokenizer::Create(text, config, json_path.string());
    if (t.ok()) return std::unique_ptr<Tokenizer>(std::move(*t));
    // A component rto lacks, with the SentencePiece model next to it: that one, as the slow
    // tokenizer of transformers would. Anything malformed stays an error.
    if (!absl::IsUnimplemented(t.status()) || !has_sp) return t.status();
    std::cerr << "warning: " << t.status().message() << "; loading " << sp_path.string() << " instead\n";
  }
  if (has_sp) {
    RTO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(sp_path.string()));
    RTO_ASSIGN_OR_RETURN(auto t, SentencePieceTokenizer::Create(bytes, config, sp_path.string()));
    return std::unique_ptr<Tokenizer>(std::move(t));
  }
  return absl::NotFoundError(absl::StrCat(dir.string(), ": no tokenizer.json or tokenizer.model"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string config;
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(config_path, ec)) {
    RTO_ASSIGN_OR_RETURN(config, ReadFileToString(config_path.string()));
  }
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> t, LoadTokenizerFiles(fs::path(dir), config));
  // Newer transformers save the template as its own file, which then wins over the config's.
  const fs::path jinja_path = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(jinja_path, ec)) {
    RTO_ASSIGN_OR_RETURN(t->chat_template_, ReadFileToString(jinja_path.string()));
  }
  return t;
}

}  // namespace rto
