#include "common/tokenizer/hf_normalizer.h"

#include "absl/strings/escaping.h"
#include "common/tokenizer/hf_json.h"
#include "common/tokenizer/precompiled_charsmap.h"
#include "common/tokenizer/unicode.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using nlohmann::json;

std::string Strip(absl::string_view text, bool left, bool right) {
  std::vector<unicode::CodePointAt> cps = unicode::CodePoints(text);
  size_t begin = 0, end = cps.size();
  while (left && begin < end && unicode::IsWhitespace(cps[begin].cp)) ++begin;
  while (right && end > begin && unicode::IsWhitespace(cps[end - 1].cp)) --end;
  if (begin == end) return "";
  return std::string(text.substr(cps[begin].begin, cps[end - 1].begin + cps[end - 1].size - cps[begin].begin));
}

std::string StripAccents(absl::string_view text) {
  std::string out;
  for (const unicode::CodePointAt& c : unicode::CodePoints(text)) {
    if (!unicode::IsNonspacingMark(c.cp)) out.append(text.data() + c.begin, c.size);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfNormalizer>> HfNormalizer::Create(const json& spec, const std::string& source) {
  std::unique_ptr<HfNormalizer> n(new HfNormalizer());
  if (!spec.is_null()) RTO_RETURN_IF_ERROR(n->Add(spec, source));
  return n;
}

absl::Status HfNormalizer::Add(const json& spec, const std::string& source) {
  const std::string type = hf::TypeOf(spec);
  using unicode::NormalForm;
  auto form = [&](NormalForm f) { steps_.push_back([f](absl::string_view t) { return unicode::Normalize(t, f); }); };
  if (type == "Sequence") {
    const json& list = spec.value("normalizers", json());
    if (!list.is_array()) return hf::Malformed(source, "normalizer Sequence has no 'normalizers' list");
    for (const json& s : list) RTO_RETURN_IF_ERROR(Add(s, source));
  } else if (type == "NFC") {
    form(NormalForm::kNfc);
  } else if (type == "NFD") {
    form(NormalForm::kNfd);
  } else if (type == "NFKC") {
    form(NormalForm::kNfkc);
  } else if (type == "NFKD") {
    form(NormalForm::kNfkd);
  } else if (type == "Lowercase") {
    steps_.push_back([](absl::string_view t) { return unicode::ToLowerFull(t); });
  } else if (type == "StripAccents") {
    steps_.push_back(StripAccents);
  } else if (type == "Strip") {
    const bool left = spec.value("strip_left", true), right = spec.value("strip_right", true);
    steps_.push_back([left, right](absl::string_view t) { return Strip(t, left, right); });
  } else if (type == "Replace") {
    RTO_ASSIGN_OR_RETURN(std::shared_ptr<const SplitRegex> pattern,
                         hf::ParsePattern(spec.value("pattern", json()), source));
    RTO_ASSIGN_OR_RETURN(std::string content, hf::StringField(spec, "content", "", source));
    steps_.push_back([pattern, content](absl::string_view t) { return pattern->ReplaceAll(t, content); });
  } else if (type == "Prepend") {
    RTO_ASSIGN_OR_RETURN(std::string prepend, hf::StringField(spec, "prepend", "", source));
    steps_.push_back([prepend](absl::string_view t) { return t.empty() ? std::string() : prepend + std::string(t); });
  } else if (type == "Precompiled") {
    return AddPrecompiled(spec, source);
  } else {
    return hf::Unsupported(source, absl::StrCat("normalizer '", type, "'"));
  }
  return absl::OkStatus();
}

absl::Status HfNormalizer::AddPrecompiled(const json& spec, const std::string& source) {
  RTO_ASSIGN_OR_RETURN(std::string base64, hf::StringField(spec, "precompiled_charsmap", "", source));
  if (base64.empty()) return absl::OkStatus();  // no map: the identity
  std::string blob;
  if (!absl::Base64Unescape(base64, &blob)) {
    return hf::Malformed(source, "the Precompiled normalizer's precompiled_charsmap is not base64");
  }
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<PrecompiledCharsmap> map, PrecompiledCharsmap::Create(blob, source));
  std::shared_ptr<const PrecompiledCharsmap> shared(std::move(map));
  steps_.push_back([shared](absl::string_view t) { return shared->Normalize(t); });
  return absl::OkStatus();
}

std::string HfNormalizer::Normalize(absl::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) s = step(s);
  return s;
}

}  // namespace rto
