#include "common/tokenizer/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "absl/strings/str_cat.h"

namespace rto {

struct SplitRegex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

absl::StatusOr<std::unique_ptr<SplitRegex>> SplitRegex::Create(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return absl::InvalidArgumentError(absl::StrCat("regex '", pattern, "' does not compile at offset ", error_offset,
                                                   ": ", reinterpret_cast<const char*>(message)));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when unavailable
  std::unique_ptr<SplitRegex> regex(new SplitRegex());
  regex->impl_ = std::make_unique<Impl>();
  regex->impl_->code = code;
  return regex;
}

SplitRegex::~SplitRegex() = default;

absl::StatusOr<std::unique_ptr<SplitRegex>> SplitRegex::CreateLiteral(absl::string_view literal) {
  // A backslash before an ASCII non-alphanumeric character makes it literal in PCRE2; every
  // other character already is.
  std::string pattern;
  for (char c : literal) {
    if (static_cast<uint8_t>(c) < 0x80 && !std::isalnum(static_cast<unsigned char>(c))) pattern.push_back('\\');
    pattern.push_back(c);
  }
  return Create(pattern);
}

void SplitRegex::FindMatches(absl::string_view text, std::vector<std::pair<size_t, size_t>>* out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset <= text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), offset, 0, md, nullptr);
    if (rc < 0) break;  // no further match (or an error)
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t begin = ov[0], end = ov[1];
    if (end > begin) {
      out->emplace_back(begin, end);
      offset = end;
    } else {
      // An empty match: step over one character (a whole UTF-8 sequence).
      offset = begin + 1;
      while (offset < text.size() && (static_cast<uint8_t>(text[offset]) & 0xC0) == 0x80) ++offset;
    }
  }
  pcre2_match_data_free(md);
}

void SplitRegex::Split(absl::string_view text, std::vector<absl::string_view>* out) const {
  std::vector<std::pair<size_t, size_t>> matches;
  FindMatches(text, &matches);
  size_t gap_start = 0;
  for (auto [begin, end] : matches) {
    if (begin > gap_start) out->push_back(text.substr(gap_start, begin - gap_start));
    out->push_back(text.substr(begin, end - begin));
    gap_start = end;
  }
  if (gap_start < text.size()) out->push_back(text.substr(gap_start));
}

std::string SplitRegex::ReplaceAll(absl::string_view text, absl::string_view replacement) const {
  std::vector<std::pair<size_t, size_t>> matches;
  FindMatches(text, &matches);
  std::string out;
  size_t last = 0;
  for (auto [begin, end] : matches) {
    out.append(text.data() + last, begin - last);
    out.append(replacement.data(), replacement.size());
    last = end;
  }
  out.append(text.data() + last, text.size() - last);
  return out;
}

}  // namespace rto
