#include "common/tokenizer/hf_decoder.h"

#include <cctype>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/tokenizer/hf_json.h"
#include "common/tokenizer/unicode.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using nlohmann::json;
using Tokens = std::vector<std::string>;

// ByteLevel: every token's characters back to the bytes they stand for (a token with a
// character outside the byte alphabet stays as its own UTF-8), all joined into one.
void ByteLevelStep(Tokens* tokens, bool lossy) {
  std::string bytes;
  for (const std::string& t : *tokens) bytes += unicode::ByteLevelToBytes(t).value_or(t);
  *tokens = {lossy ? unicode::ToValidUtf8Lossy(bytes) : std::move(bytes)};
}

// ByteFallback: runs of <0xXX> tokens become the bytes they name; a run that is not valid UTF-8
// becomes one U+FFFD per token when `lossy`.
void ByteFallbackStep(Tokens* tokens, bool lossy) {
  Tokens out;
  std::string run;
  size_t run_tokens = 0;
  auto flush = [&] {
    if (run_tokens == 0) return;
    if (lossy && !unicode::IsValidUtf8(run)) {
      for (size_t i = 0; i < run_tokens; ++i) out.push_back("\xEF\xBF\xBD");
    } else {
      out.push_back(run);
    }
    run.clear();
    run_tokens = 0;
  };
  for (std::string& t : *tokens) {
    if (t.size() == 6 && absl::StartsWith(t, "<0x") && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
        std::isxdigit(static_cast<unsigned char>(t[4]))) {
      run.push_back(static_cast<char>(std::strtol(t.substr(3, 2).c_str(), nullptr, 16)));
      ++run_tokens;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  *tokens = std::move(out);
}

// Strip: up to `start` leading and `stop` trailing copies of `content` off every token.
void StripStep(Tokens* tokens, const std::string& content, size_t start, size_t stop) {
  for (std::string& t : *tokens) {
    size_t begin = 0, end = t.size();
    for (size_t i = 0; i < start && absl::StartsWith(absl::string_view(t).substr(begin, end - begin), content); ++i)
      begin += content.size();
    for (size_t i = 0; i < stop && absl::EndsWith(absl::string_view(t).substr(begin, end - begin), content); ++i)
      end -= content.size();
    t = t.substr(begin, end - begin);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfDecoder>> HfDecoder::Create(const json& spec, const std::string& source) {
  std::unique_ptr<HfDecoder> d(new HfDecoder());
  d->has_decoder_ = !spec.is_null();
  if (d->has_decoder_) RTO_RETURN_IF_ERROR(d->Add(spec, source));
  return d;
}

absl::Status HfDecoder::Add(const json& spec, const std::string& source) {
  const std::string type = hf::TypeOf(spec);
  if (type == "Sequence") {
    const json& list = spec.value("decoders", json());
    if (!list.is_array()) return hf::Malformed(source, "decoder Sequence has no 'decoders' list");
    for (const json& s : list) RTO_RETURN_IF_ERROR(Add(s, source));
  } else if (type == "ByteLevel") {
    steps_.push_back(ByteLevelStep);
  } else if (type == "ByteFallback") {
    steps_.push_back(ByteFallbackStep);
  } else if (type == "Fuse") {
    steps_.push_back([](Tokens* t, bool) { *t = {absl::StrJoin(*t, "")}; });
  } else if (type == "Replace") {
    RTO_ASSIGN_OR_RETURN(std::shared_ptr<const SplitRegex> pattern,
                         hf::ParsePattern(spec.value("pattern", json()), source));
    RTO_ASSIGN_OR_RETURN(std::string content, hf::StringField(spec, "content", "", source));
    steps_.push_back([pattern, content](Tokens* tokens, bool) {
      for (std::string& t : *tokens) t = pattern->ReplaceAll(t, content);
    });
  } else if (type == "Strip") {
    RTO_ASSIGN_OR_RETURN(std::string content, hf::StringField(spec, "content", " ", source));
    const size_t start = spec.value("start", 0), stop = spec.value("stop", 0);
    steps_.push_back([content, start, stop](Tokens* t, bool) { StripStep(t, content, start, stop); });
  } else if (type == "BPEDecoder") {
    RTO_ASSIGN_OR_RETURN(std::string suffix, hf::StringField(spec, "suffix", "</w>", source));
    steps_.push_back([suffix](Tokens* tokens, bool) {
      for (size_t i = 0; i < tokens->size(); ++i) {
        (*tokens)[i] = absl::StrReplaceAll((*tokens)[i], {{suffix, i + 1 == tokens->size() ? "" : " "}});
      }
    });
  } else if (type == "Metaspace") {
    return AddMetaspace(spec, source);
  } else {
    return hf::Unsupported(source, absl::StrCat("decoder '", type, "'"));
  }
  return absl::OkStatus();
}

absl::Status HfDecoder::AddMetaspace(const json& spec, const std::string& source) {
  RTO_ASSIGN_OR_RETURN(std::string replacement, hf::StringField(spec, "replacement", "\xE2\x96\x81", source));
  std::string scheme = spec.value("add_prefix_space", true) ? "always" : "never";
  RTO_ASSIGN_OR_RETURN(scheme, hf::StringField(spec, "prepend_scheme", scheme, source));
  // Every replacement character becomes a space, except in the first token when encoding
  // prepends one (there they all go, as HF's decoder does).
  const bool strip_first = scheme != "never";
  steps_.push_back([replacement, strip_first](Tokens* tokens, bool) {
    for (size_t i = 0; i < tokens->size(); ++i) {
      (*tokens)[i] = absl::StrReplaceAll((*tokens)[i], {{replacement, i == 0 && strip_first ? "" : " "}});
    }
  });
  return absl::OkStatus();
}

std::string HfDecoder::Decode(std::vector<std::string> tokens, bool lossy) const {
  if (!has_decoder_) return absl::StrJoin(tokens, " ");
  for (const Step& step : steps_) step(&tokens, lossy);
  return absl::StrJoin(tokens, "");
}

}  // namespace rto
