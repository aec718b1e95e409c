#include "common/tokenizer/hf_pre_tokenizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "common/tokenizer/hf_json.h"
#include "common/tokenizer/unicode.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

using nlohmann::json;
using Range = std::pair<size_t, size_t>;

// GPT-2's pattern (ByteLevel's use_regex).
constexpr char kGpt2Pattern[] = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Whitespace's \w+|[^\w\s]+ with Rust's Unicode \w (alphabetic, marks, digits, connectors).
constexpr char kWordPattern[] =
    R"([\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]+|[^\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}\s]+)";

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

absl::StatusOr<Behavior> ParseBehavior(const std::string& name, const std::string& source) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return hf::Malformed(source, absl::StrCat("split behavior '", name,
                                            "' is none of Removed, Isolated, "
                                            "MergedWithPrevious, MergedWithNext, Contiguous"));
}

// Cuts `piece` at its delimiters (`matches`, sorted, disjoint) as HF's NormalizedString::split
// does for `behavior`; `invert` swaps the roles of delimiters and the text between them.
void SplitPiece(const PreToken& piece, const std::vector<Range>& matches, Behavior behavior, bool invert,
                std::vector<PreToken>* out) {
  struct Part {
    Range range;
    bool delimiter;
  };
  std::vector<Part> parts;
  size_t last = 0;
  for (const Range& m : matches) {
    if (m.first > last) parts.push_back({{last, m.first}, invert});
    parts.push_back({m, !invert});
    last = m.second;
  }
  if (last < piece.text.size()) parts.push_back({{last, piece.text.size()}, invert});

  std::vector<Part> kept;  // `delimiter` now means "drop"
  bool previous_delimiter = false;
  auto merge_or_push = [&](const Part& p, bool merge) {
    if (merge && !kept.empty()) {
      kept.back().range.second = p.range.second;
    } else {
      kept.push_back({p.range, false});
    }
  };
  if (behavior == Behavior::kMergedWithNext) {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->delimiter && !previous_delimiter && !kept.empty()) {
        kept.back().range.first = it->range.first;
      } else {
        kept.push_back({it->range, false});
      }
      previous_delimiter = it->delimiter;
    }
    std::reverse(kept.begin(), kept.end());
  } else {
    for (const Part& p : parts) {
      switch (behavior) {
        case Behavior::kRemoved: kept.push_back({p.range, p.delimiter}); break;
        case Behavior::kIsolated: kept.push_back({p.range, false}); break;
        case Behavior::kContiguous: merge_or_push(p, p.delimiter == previous_delimiter && !kept.empty()); break;
        default: merge_or_push(p, p.delimiter && !previous_delimiter); break;  // kMergedWithPrevious
      }
      previous_delimiter = p.delimiter;
    }
  }
  for (const Part& p : kept) {
    if (p.delimiter || p.range.second == p.range.first) continue;
    out->push_back(
        {piece.text.substr(p.range.first, p.range.second - p.range.first), piece.at_start && p.range.first == 0});
  }
}

// Every character for which `pred` holds is a delimiter of its own.
std::vector<Range> CharMatches(const std::string& text, const std::function<bool(char32_t)>& pred) {
  std::vector<Range> matches;
  for (const unicode::CodePointAt& c : unicode::CodePoints(text)) {
    if (pred(c.cp)) matches.emplace_back(c.begin, c.begin + c.size);
  }
  return matches;
}

HfPreTokenizer::Stage CharSplitStage(std::function<bool(char32_t)> pred, Behavior behavior) {
  return [pred = std::move(pred), behavior](const PreToken& p, std::vector<PreToken>* out) {
    SplitPiece(p, CharMatches(p.text, pred), behavior, false, out);
  };
}

HfPreTokenizer::Stage RegexSplitStage(std::shared_ptr<const SplitRegex> regex, Behavior behavior, bool invert) {
  return [regex = std::move(regex), behavior, invert](const PreToken& p, std::vector<PreToken>* out) {
    std::vector<Range> matches;
    regex->FindMatches(p.text, &matches);
    SplitPiece(p, matches, behavior, invert, out);
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfPreTokenizer>> HfPreTokenizer::Create(const json& spec, const std::string& source) {
  std::unique_ptr<HfPreTokenizer> p(new HfPreTokenizer());
  if (!spec.is_null()) RTO_RETURN_IF_ERROR(p->Add(spec, source));
  return p;
}

absl::Status HfPreTokenizer::Add(const json& spec, const std::string& source) {
  const std::string type = hf::TypeOf(spec);
  if (byte_level_) return hf::Unsupported(source, absl::StrCat("a pre-tokenizer ('", type, "') after ByteLevel"));
  if (type == "Sequence") {
    const json& list = spec.value("pretokenizers", json());
    if (!list.is_array()) return hf::Malformed(source, "pre_tokenizer Sequence has no 'pretokenizers' list");
    for (const json& s : list) RTO_RETURN_IF_ERROR(Add(s, source));
  } else if (type == "ByteLevel") {
    byte_level_ = true;
    const bool add_prefix_space = spec.value("add_prefix_space", true);
    std::shared_ptr<const SplitRegex> regex;
    if (spec.value("use_regex", true)) {
      RTO_ASSIGN_OR_RETURN(std::unique_ptr<SplitRegex> r, SplitRegex::Create(kGpt2Pattern));
      regex = std::move(r);
    }
    stages_.push_back([add_prefix_space, regex](const PreToken& p, std::vector<PreToken>* out) {
      PreToken q = p;
      if (add_prefix_space && (q.text.empty() || q.text[0] != ' ')) q.text.insert(0, 1, ' ');
      if (!regex) return out->push_back(std::move(q));
      std::vector<Range> matches;
      regex->FindMatches(q.text, &matches);
      SplitPiece(q, matches, Behavior::kIsolated, false, out);
    });
  } else if (type == "Split") {
    return AddSplit(spec, source);
  } else if (type == "Metaspace") {
    return AddMetaspace(spec, source);
  } else if (type == "Whitespace") {
    RTO_ASSIGN_OR_RETURN(std::unique_ptr<SplitRegex> r, SplitRegex::Create(kWordPattern));
    stages_.push_back(RegexSplitStage(std::move(r), Behavior::kRemoved, /*invert=*/true));
  } else if (type == "WhitespaceSplit") {
    stages_.push_back(CharSplitStage(unicode::IsWhitespace, Behavior::kRemoved));
  } else if (type == "BertPreTokenizer") {
    stages_.push_back(CharSplitStage(unicode::IsWhitespace, Behavior::kRemoved));
    stages_.push_back(CharSplitStage(unicode::IsPunctuation, Behavior::kIsolated));
  } else if (type == "Punctuation") {
    RTO_ASSIGN_OR_RETURN(Behavior b, ParseBehavior(spec.value("behavior", "Isolated"), source));
    stages_.push_back(CharSplitStage(unicode::IsPunctuation, b));
  } else if (type == "Digits") {
    const bool individual = spec.value("individual_digits", false);
    stages_.push_back(CharSplitStage(unicode::IsNumeric, individual ? Behavior::kIsolated : Behavior::kContiguous));
  } else {
    return hf::Unsupported(source, absl::StrCat("pre-tokenizer '", type, "'"));
  }
  return absl::OkStatus();
}

absl::Status HfPreTokenizer::AddSplit(const json& spec, const std::string& source) {
  RTO_ASSIGN_OR_RETURN(std::shared_ptr<const SplitRegex> regex,
                       hf::ParsePattern(spec.value("pattern", json()), source));
  RTO_ASSIGN_OR_RETURN(std::string behavior_name, hf::StringField(spec, "behavior", "Isolated", source));
  RTO_ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(behavior_name, source));
  stages_.push_back(RegexSplitStage(std::move(regex), behavior, spec.value("invert", false)));
  return absl::OkStatus();
}

absl::Status HfPreTokenizer::AddMetaspace(const json& spec, const std::string& source) {
  RTO_ASSIGN_OR_RETURN(std::string replacement, hf::StringField(spec, "replacement", "\xE2\x96\x81", source));
  // Files before prepend_scheme existed say add_prefix_space (true meaning "always").
  std::string scheme = spec.value("add_prefix_space", true) ? "always" : "never";
  RTO_ASSIGN_OR_RETURN(scheme, hf::StringField(spec, "prepend_scheme", scheme, source));
  if (scheme != "always" && scheme != "first" && scheme != "never") {
    return hf::Malformed(source,
                         absl::StrCat("Metaspace prepend_scheme '", scheme, "' is none of always, first, never"));
  }
  const bool split = spec.value("split", true);
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<SplitRegex> delimiter, SplitRegex::CreateLiteral(replacement));
  std::shared_ptr<const SplitRegex> shared(std::move(delimiter));
  stages_.push_back([replacement, scheme, split, shared](const PreToken& p, std::vector<PreToken>* out) {
    PreToken q{absl::StrReplaceAll(p.text, {{" ", replacement}}), p.at_start};
    const bool prepend = scheme == "always" || (scheme == "first" && p.at_start);
    if (prepend && !absl::StartsWith(q.text, replacement)) q.text.insert(0, replacement);
    if (!split) return out->push_back(std::move(q));
    std::vector<Range> matches;
    shared->FindMatches(q.text, &matches);
    SplitPiece(q, matches, Behavior::kMergedWithNext, false, out);
  });
  return absl::OkStatus();
}

void HfPreTokenizer::Apply(std::vector<PreToken>* pieces) const {
  std::vector<PreToken> next;
  for (const Stage& stage : stages_) {
    next.clear();
    for (const PreToken& p : *pieces) stage(p, &next);
    pieces->swap(next);
  }
}

}  // namespace rto
