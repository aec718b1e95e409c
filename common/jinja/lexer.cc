#include "common/jinja/lexer.h"

#include <algorithm>
#include <charconv>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/jinja/pystr.h"

namespace rto::jinja {
namespace {

// jinja2 splits on \r\n, \r and \n, joins with \n, and drops one trailing empty line.
std::string NormalizeNewlines(absl::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f'); }
bool IsDigitChar(char c) { return c >= '0' && c <= '9'; }

// Length of a run of digits accepted by `ok`, single underscores allowed between them
// ("(\d+_)*\d+"); 0 when s[p] does not start one.
size_t DigitRun(absl::string_view s, size_t p, bool (*ok)(char)) {
  size_t i = p;
  if (i >= s.size() || !ok(s[i])) return 0;
  while (i < s.size()) {
    if (ok(s[i])) {
      ++i;
    } else if (s[i] == '_' && i + 1 < s.size() && ok(s[i + 1])) {
      i += 2;
    } else {
      break;
    }
  }
  return i - p;
}

// Decodes the body of a string literal as Python's unicode-escape codec does.
absl::StatusOr<std::string> Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case '\n': continue;
      case '\\': out.push_back('\\'); continue;
      case '\'': out.push_back('\''); continue;
      case '"': out.push_back('"'); continue;
      case 'a': out.push_back('\a'); continue;
      case 'b': out.push_back('\b'); continue;
      case 'f': out.push_back('\f'); continue;
      case 'n': out.push_back('\n'); continue;
      case 'r': out.push_back('\r'); continue;
      case 't': out.push_back('\t'); continue;
      case 'v': out.push_back('\v'); continue;
      default: break;
    }
    if (c >= '0' && c <= '7') {
      char32_t v = 0;
      size_t n = 0;
      for (; n < 3 && i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '7'; ++n) v = v * 8 + (s[i + n] - '0');
      py::AppendUtf8(v, &out);
      i += n - 1;
      continue;
    }
    const size_t width = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (width == 0) {
      if (c == 'N') return absl::InvalidArgumentError("\\N{...} escapes are not supported");
      out.push_back('\\');
      out.push_back(c);
      continue;
    }
    char32_t v = 0;
    for (size_t k = 1; k <= width; ++k) {
      if (i + k >= s.size() || !IsHex(s[i + k])) {
        return absl::InvalidArgumentError(c == 'x'   ? "truncated \\xXX escape"
                                          : c == 'u' ? "truncated \\uXXXX escape"
                                                     : "truncated \\UXXXXXXXX escape");
      }
      const char h = s[i + k];
      v = v * 16 + (IsDigitChar(h) ? h - '0' : (h | 32) - 'a' + 10);
    }
    if (v > 0x10FFFF) return absl::InvalidArgumentError("illegal Unicode character");
    py::AppendUtf8(v, &out);
    i += width;
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(absl::string_view source) : src_(NormalizeNewlines(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  absl::StatusOr<std::vector<Token>> Run() {
    while (pos_ < src_.size()) {
      if (absl::Status s = RootStep(); !s.ok()) return s;
    }
    Token eof;
    eof.type = Tok::kEof;
    Locate(src_.size(), &eof);
    out_.push_back(std::move(eof));
    return std::move(out_);
  }

 private:
  enum class Open { kVar, kBlock, kComment, kRaw };

  // Line and code-point column of byte p. Tokens come in source order, so the column is carried
  // forward from the previous call instead of recounting the line.
  void Locate(size_t p, Token* t) const {
    const size_t line = std::upper_bound(line_starts_.begin(), line_starts_.end(), p) - line_starts_.begin();
    const size_t line_start = line_starts_[line - 1];
    if (col_pos_ < line_start || col_pos_ > p) col_pos_ = line_start, col_ = 1;
    col_ += static_cast<int>(py::Length(absl::string_view(src_).substr(col_pos_, p - col_pos_)));
    col_pos_ = p;
    t->line = static_cast<int>(line);
    t->column = col_;
  }

  absl::Status Error(size_t p, absl::string_view what) const {
    Token t;
    Locate(p, &t);
    return absl::InvalidArgumentError(absl::StrCat("line ", t.line, ", column ", t.column, ": ", what));
  }

  void Emit(Tok type, std::string text, size_t p) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    Locate(p, &t);
    out_.push_back(std::move(t));
  }

  // The byte length of a whitespace code point (Python's \s) at p, or 0.
  size_t WsLen(size_t p) const {
    if (p >= src_.size()) return 0;
    const auto c = static_cast<unsigned char>(src_[p]);
    if (c < 0x80) return py::IsSpace(c) ? 1 : 0;
    const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    const std::u32string u = py::Decode(absl::string_view(src_).substr(p, n));
    return !u.empty() && py::IsSpace(u[0]) && u[0] < 0xDC00 ? n : 0;
  }

  size_t SkipWs(size_t p) const {
    for (size_t n = WsLen(p); n > 0; n = WsLen(p)) p += n;
    return p;
  }

  bool At(size_t p, absl::string_view s) const { return absl::string_view(src_).substr(p, s.size()) == s; }

  // The end of the next tag opening at or after pos_, with its kind; npos when none.
  size_t FindOpen(Open* kind) const {
    for (size_t p = src_.find('{', pos_); p != std::string::npos; p = src_.find('{', p + 1)) {
      if (p + 1 >= src_.size()) break;
      const char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') {
        *kind = c == '{' ? Open::kVar : c == '%' ? Open::kBlock : Open::kComment;
        return p;
      }
    }
    return std::string::npos;
  }

  // If a raw-block opening "{%(-|+|)\s*raw\s*(-%}\s*|%})" starts at p, its end; else npos.
  size_t MatchRawBegin(size_t p) const {
    size_t i = p + 2;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
    i = SkipWs(i);
    if (!At(i, "raw")) return std::string::npos;
    i = SkipWs(i + 3);
    if (At(i, "-%}")) return SkipWs(i + 3);
    if (At(i, "%}")) return i + 2;
    return std::string::npos;
  }

  // Applies the -, + and lstrip_blocks rules to the text before a tag.
  std::string StripBefore(absl::string_view text, char sign, bool is_var) const {
    if (sign == '-') return py::Strip(text, std::nullopt, false, true);
    if (sign == '+' || is_var) return std::string(text);
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == absl::string_view::npos ? 0 : nl + 1;
    if (l_pos == 0 && !line_starting_) return std::string(text);
    const absl::string_view tail = text.substr(l_pos);
    if (tail.empty()) return std::string(text);
    for (char32_t c : py::Decode(tail)) {
      if (!py::IsSpace(c)) return std::string(text);
    }
    return std::string(text.substr(0, l_pos));
  }

  void EndMatch(size_t end) {
    line_starting_ = end > 0 && src_[end - 1] == '\n';
    pos_ = end;
  }

  absl::Status RootStep() {
    Open kind = Open::kVar;
    const size_t p = FindOpen(&kind);
    if (p == std::string::npos) {
      Emit(Tok::kData, src_.substr(pos_), pos_);
      EndMatch(src_.size());
      return absl::OkStatus();
    }
    const size_t raw_end = kind == Open::kBlock ? MatchRawBegin(p) : std::string::npos;
    if (raw_end != std::string::npos) kind = Open::kRaw;
    const char sign = p + 2 < src_.size() && (src_[p + 2] == '-' || src_[p + 2] == '+') ? src_[p + 2] : 0;
    std::string text = StripBefore(absl::string_view(src_).substr(pos_, p - pos_), sign, kind == Open::kVar);
    if (!text.empty()) Emit(Tok::kData, std::move(text), pos_);
    switch (kind) {
      case Open::kRaw: EndMatch(raw_end); return Raw(p);
      case Open::kComment: EndMatch(p + 2 + (sign ? 1 : 0)); return Comment(p);
      case Open::kVar: Emit(Tok::kVarBegin, "{{", p); break;
      case Open::kBlock: Emit(Tok::kBlockBegin, "{%", p); break;
    }
    EndMatch(p + 2 + (sign ? 1 : 0));
    return Tag(kind == Open::kVar);
  }

  absl::Status Comment(size_t open) {
    const size_t h = src_.find("#}", pos_);
    if (h == std::string::npos) return Error(open, "Missing end of comment tag");
    const char mod = h > pos_ && (src_[h - 1] == '-' || src_[h - 1] == '+') ? src_[h - 1] : 0;
    size_t end = h + 2;
    if (mod == '-') {
      end = SkipWs(end);
    } else if (mod == 0 && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    EndMatch(end);
    return absl::OkStatus();
  }

  // The end of "{%(-|+|)\s*endraw\s*(+%}|-%}\s*|%}\n?)" at p, or npos; *sign gets the opening's.
  size_t MatchRawEnd(size_t p, char* sign) const {
    size_t i = p + 2;
    *sign = 0;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) *sign = src_[i++];
    i = SkipWs(i);
    if (!At(i, "endraw")) return std::string::npos;
    i = SkipWs(i + 6);
    if (At(i, "+%}")) return i + 3;
    if (At(i, "-%}")) return SkipWs(i + 3);
    if (!At(i, "%}")) return std::string::npos;
    return i + 2 + (At(i + 2, "\n") ? 1 : 0);
  }

  absl::Status Raw(size_t open) {
    for (size_t p = src_.find("{%", pos_); p != std::string::npos; p = src_.find("{%", p + 1)) {
      char sign = 0;
      const size_t end = MatchRawEnd(p, &sign);
      if (end == std::string::npos) continue;
      std::string text = StripBefore(absl::string_view(src_).substr(pos_, p - pos_), sign, false);
      if (!text.empty()) Emit(Tok::kData, std::move(text), pos_);
      EndMatch(end);
      return absl::OkStatus();
    }
    return Error(open, "Missing end of raw directive");
  }

  // The end of the tag's closing at pos_, or npos.
  size_t MatchClose(bool is_var) const {
    const absl::string_view close = is_var ? "}}" : "%}";
    if (!is_var && At(pos_, "+%}")) return pos_ + 3;
    if (At(pos_, "-") && At(pos_ + 1, close)) return SkipWs(pos_ + 3);
    if (!At(pos_, close)) return std::string::npos;
    return pos_ + 2 + (!is_var && At(pos_ + 2, "\n") ? 1 : 0);
  }

  absl::Status Tag(bool is_var) {
    while (pos_ < src_.size()) {
      if (balance_.empty()) {
        const size_t end = MatchClose(is_var);
        if (end != std::string::npos) {
          Emit(is_var ? Tok::kVarEnd : Tok::kBlockEnd, is_var ? "}}" : "%}", pos_);
          EndMatch(end);
          return absl::OkStatus();
        }
      }
      if (const size_t ws = WsLen(pos_); ws > 0) {
        pos_ = SkipWs(pos_);
        continue;
      }
      if (absl::Status s = TagToken(); !s.ok()) return s;
    }
    return absl::OkStatus();  // the parser reports the missing end
  }

  absl::Status TagToken() {
    if (size_t n = MatchFloat(); n > 0) return EmitFloat(n);
    if (size_t n = MatchInteger(); n > 0) return EmitInteger(n);
    if (size_t n = MatchName(); n > 0) {
      Emit(Tok::kName, src_.substr(pos_, n), pos_);
      pos_ += n;
      return absl::OkStatus();
    }
    const char c = src_[pos_];
    if (c == '\'' || c == '"') return EmitString(c);
    return EmitOperator();
  }

  size_t MatchFloat() const {
    if (pos_ > 0 && src_[pos_ - 1] == '.') return 0;
    const size_t whole = DigitRun(src_, pos_, IsDigitChar);
    if (whole == 0) return 0;
    size_t i = pos_ + whole;
    size_t frac = 0;
    if (At(i, ".")) frac = DigitRun(src_, i + 1, IsDigitChar);
    const size_t after_frac = frac > 0 ? i + 1 + frac : i;
    if (after_frac < src_.size() && (src_[after_frac] | 32) == 'e') {
      size_t j = after_frac + 1;
      if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
      if (const size_t exp = DigitRun(src_, j, IsDigitChar); exp > 0) return j + exp - pos_;
    }
    return frac > 0 ? after_frac - pos_ : 0;
  }

  absl::Status EmitFloat(size_t n) {
    const std::string text = absl::StrReplaceAll(src_.substr(pos_, n), {{"_", ""}});
    double v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    Emit(Tok::kFloat, text, pos_);
    out_.back().float_value = v;
    pos_ += n;
    return absl::OkStatus();
  }

  size_t MatchInteger() const {
    const char c = src_[pos_];
    if (!IsDigitChar(c)) return 0;
    if (c == '0' && pos_ + 1 < src_.size()) {
      const char p = src_[pos_ + 1] | 32;
      bool (*ok)(char) = p == 'b'   ? +[](char d) { return d == '0' || d == '1'; }
                         : p == 'o' ? +[](char d) { return d >= '0' && d <= '7'; }
                         : p == 'x' ? +[](char d) { return IsHex(d); }
                                    : nullptr;
      if (ok != nullptr) {
        size_t i = pos_ + 2;
        while (i < src_.size() && (ok(src_[i]) || (src_[i] == '_' && i + 1 < src_.size() && ok(src_[i + 1])))) ++i;
        if (i > pos_ + 2) return i - pos_;
      }
    }
    if (c == '0') {
      size_t i = pos_ + 1;
      while (i < src_.size() && (src_[i] == '0' || (src_[i] == '_' && At(i + 1, "0")))) ++i;
      return i - pos_;
    }
    return DigitRun(src_, pos_, IsDigitChar);
  }

  absl::Status EmitInteger(size_t n) {
    std::string text = absl::StrReplaceAll(src_.substr(pos_, n), {{"_", ""}});
    int base = 10;
    size_t skip = 0;
    if (text.size() > 1 && text[0] == '0' && !IsDigitChar(text[1])) {
      base = (text[1] | 32) == 'b' ? 2 : (text[1] | 32) == 'o' ? 8 : 16;
      skip = 2;
    }
    int64_t v = 0;
    const auto res = std::from_chars(text.data() + skip, text.data() + text.size(), v, base);
    if (res.ec != std::errc()) return Error(pos_, "integer literal beyond 64 bits (Python's are unbounded)");
    Emit(Tok::kInt, text, pos_);
    out_.back().int_value = v;
    pos_ += n;
    return absl::OkStatus();
  }

  size_t MatchName() const {
    size_t i = pos_;
    while (i < src_.size()) {
      const auto c = static_cast<unsigned char>(src_[i]);
      if (c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z')) {
        ++i;
      } else if (c >= 0x80 && WsLen(i) == 0) {
        ++i;
      } else {
        break;
      }
    }
    return i - pos_;
  }

  absl::Status EmitString(char quote) {
    size_t i = pos_ + 1;
    while (i < src_.size() && src_[i] != quote) i += src_[i] == '\\' ? 2 : 1;
    if (i >= src_.size()) return Error(pos_, absl::StrCat("unexpected char '", std::string(1, quote), "'"));
    absl::StatusOr<std::string> text = Unescape(absl::string_view(src_).substr(pos_ + 1, i - pos_ - 1));
    if (!text.ok()) return Error(pos_, text.status().message());
    Emit(Tok::kString, *std::move(text), pos_);
    pos_ = i + 1;
    return absl::OkStatus();
  }

  absl::Status EmitOperator() {
    static constexpr absl::string_view kTwo[] = {"**", "//", "==", "!=", ">=", "<="};
    for (absl::string_view op : kTwo) {
      if (At(pos_, op)) {
        Emit(Tok::kOp, std::string(op), pos_);
        pos_ += 2;
        return absl::OkStatus();
      }
    }
    const char c = src_[pos_];
    if (absl::string_view("+-/*%~[](){}><=.:|,;").find(c) == absl::string_view::npos) {
      std::string shown;
      py::AppendStrRepr(py::Encode(py::Decode(absl::string_view(src_).substr(pos_, WsLen(pos_) + 1)).substr(0, 1)),
                        &shown);
      return Error(pos_, absl::StrCat("unexpected char ", shown));
    }
    if (absl::Status s = Balance(c); !s.ok()) return s;
    Emit(Tok::kOp, std::string(1, c), pos_);
    ++pos_;
    return absl::OkStatus();
  }

  absl::Status Balance(char c) {
    if (c == '{' || c == '(' || c == '[') {
      balance_.push_back(c == '{' ? '}' : c == '(' ? ')' : ']');
    } else if (c == '}' || c == ')' || c == ']') {
      if (balance_.empty()) return Error(pos_, absl::StrCat("unexpected '", std::string(1, c), "'"));
      const char expected = balance_.back();
      balance_.pop_back();
      if (expected != c) {
        return Error(pos_,
                     absl::StrCat("unexpected '", std::string(1, c), "', expected '", std::string(1, expected), "'"));
      }
    }
    return absl::OkStatus();
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  mutable size_t col_pos_ = 0;
  mutable int col_ = 1;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<char> balance_;
  std::vector<Token> out_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view source) { return Lexer(source).Run(); }

std::string DescribeToken(const Token& t) {
  switch (t.type) {
    case Tok::kData: return "template data / text";
    case Tok::kVarBegin: return "begin of print statement";
    case Tok::kVarEnd: return "end of print statement";
    case Tok::kBlockBegin: return "begin of statement block";
    case Tok::kBlockEnd: return "end of statement block";
    case Tok::kName:
    case Tok::kOp: return t.text;
    case Tok::kString: return "string";
    case Tok::kInt: return "integer";
    case Tok::kFloat: return "float";
    case Tok::kEof: return "end of template";
  }
  return "token";
}

}  // namespace rto::jinja
