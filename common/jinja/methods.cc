// The methods of str, list, tuple and dict that the immutable sandbox allows, and the globals of
// transformers' chat-template environment.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/jinja/builtins.h"
#include "common/jinja/ops.h"
#include "common/jinja/pystr.h"
#include "common/jinja/render.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

using Method = absl::StatusOr<Value> (*)(Renderer&, const Value& self, CallArgs);
using Opt = std::optional<Value>;

absl::StatusOr<int64_t> IntArg(const Opt& a, int64_t def) {
  if (!a || a->is_none()) return def;
  if (std::optional<int64_t> i = AsIndex(*a)) return *i;
  return TypeError(absl::StrCat("'", TypeName(*a), "' object cannot be interpreted as an integer"));
}

absl::StatusOr<std::string> StrArg(const Opt& a, absl::string_view what) {
  if (!a || !a->is_str()) {
    return TypeError(absl::StrCat(what, " must be str, not ", a ? TypeName(*a) : std::string("NoneType")));
  }
  return a->s();
}

// The code points of self[start:end] (Python's optional start/end of find, count, startswith)
// and the offset of the window.
absl::StatusOr<std::pair<std::u32string, int64_t>> Window(Renderer& r, const Value& self, const Opt& start,
                                                          const Opt& end) {
  RTO_RETURN_IF_ERROR(r.Charge(StringCost(self)));
  // CPython's ADJUST_INDICES: the end is clamped to the length, the start is not, so a start
  // past the end selects nothing (even an empty needle is then not found).
  const std::u32string u = py::Decode(self.s());
  const int64_t n = static_cast<int64_t>(u.size());
  RTO_ASSIGN_OR_RETURN(int64_t b, IntArg(start, 0));
  RTO_ASSIGN_OR_RETURN(int64_t e, IntArg(end, n));
  if (b < 0) b = std::max<int64_t>(b + n, 0);
  e = e < 0 ? std::max<int64_t>(e + n, 0) : std::min(e, n);
  if (b > e) return std::make_pair(std::u32string(), int64_t{-1});
  return std::make_pair(u.substr(b, e - b), b);
}

absl::StatusOr<Value> StripMethod(Renderer& r, const Value& self, CallArgs a, bool left, bool right) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("strip", std::move(a), {"chars"}));
  std::optional<std::string> chars;
  if (p[0] && !p[0]->is_none()) {
    RTO_ASSIGN_OR_RETURN(chars, StrArg(p[0], "strip arg"));
  }
  return r.MakeStr(py::Strip(self.s(), chars, left, right));
}
absl::StatusOr<Value> Strip(Renderer& r, const Value& s, CallArgs a) {
  return StripMethod(r, s, std::move(a), true, true);
}
absl::StatusOr<Value> LStrip(Renderer& r, const Value& s, CallArgs a) {
  return StripMethod(r, s, std::move(a), true, false);
}
absl::StatusOr<Value> RStrip(Renderer& r, const Value& s, CallArgs a) {
  return StripMethod(r, s, std::move(a), false, true);
}

absl::StatusOr<Value> SplitMethod(Renderer& r, const Value& self, CallArgs a, bool from_right) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind(from_right ? "rsplit" : "split", std::move(a), {"sep", "maxsplit"}));
  std::optional<std::string> sep;
  if (p[0] && !p[0]->is_none()) {
    RTO_ASSIGN_OR_RETURN(sep, StrArg(p[0], "must be str or None,"));
    if (sep->empty()) return PyError("ValueError", "empty separator");
  }
  RTO_ASSIGN_OR_RETURN(int64_t maxsplit, IntArg(p[1], -1));
  RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(self.s().size() / 16)));
  std::vector<Value> out;
  for (std::string& part : py::Split(self.s(), sep, maxsplit, from_right)) out.push_back(Value::Str(std::move(part)));
  return Value::List(std::move(out));
}
absl::StatusOr<Value> Split(Renderer& r, const Value& s, CallArgs a) { return SplitMethod(r, s, std::move(a), false); }
absl::StatusOr<Value> RSplit(Renderer& r, const Value& s, CallArgs a) { return SplitMethod(r, s, std::move(a), true); }

absl::StatusOr<Value> SplitLines(Renderer& r, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("splitlines", std::move(a), {"keepends"}));
  std::vector<Value> out;
  for (std::string& line : py::SplitLines(self.s(), p[0] && Truthy(*p[0]))) out.push_back(Value::Str(std::move(line)));
  return Value::List(std::move(out));
}

absl::StatusOr<Value> AffixMethod(Renderer& r, const Value& self, CallArgs a, bool suffix) {
  const char* name = suffix ? "endswith" : "startswith";
  RTO_ASSIGN_OR_RETURN(auto p, Bind(name, std::move(a), {"prefix", "start", "end"}, 1));
  std::vector<Value> options;
  if (p[0]->is_str()) {
    options.push_back(*p[0]);
  } else if (p[0]->kind() == Kind::kTuple) {
    options = p[0]->items();
  } else {
    return TypeError(absl::StrCat(name, " first arg must be str or a tuple of str, not ", TypeName(*p[0])));
  }
  RTO_ASSIGN_OR_RETURN(auto window, Window(r, self, p[1], p[2]));
  const std::string text = py::Encode(window.first);
  for (const Value& o : options) {  // Python checks the tuple's items in order, failing at the first bad one
    if (!o.is_str()) return TypeError(absl::StrCat("tuple for ", name, " must only contain str, not ", TypeName(o)));
    if (window.second < 0 || o.s().size() > text.size()) continue;
    const size_t at = suffix ? text.size() - o.s().size() : 0;
    if (text.compare(at, o.s().size(), o.s()) == 0) return Value::Bool(true);
  }
  return Value::Bool(false);
}
absl::StatusOr<Value> StartsWith(Renderer& r, const Value& s, CallArgs a) {
  return AffixMethod(r, s, std::move(a), false);
}
absl::StatusOr<Value> EndsWith(Renderer& r, const Value& s, CallArgs a) {
  return AffixMethod(r, s, std::move(a), true);
}

absl::StatusOr<Value> FindMethod(Renderer& r, const Value& self, CallArgs a, bool from_right, bool raise) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind(from_right ? "rfind" : "find", std::move(a), {"sub", "start", "end"}, 1));
  RTO_ASSIGN_OR_RETURN(std::string sub, StrArg(p[0], "must be str,"));
  RTO_ASSIGN_OR_RETURN(auto window, Window(r, self, p[1], p[2]));
  int64_t found = -1;
  if (window.second >= 0) {
    const std::u32string needle = py::Decode(sub);
    const size_t at = from_right ? window.first.rfind(needle) : window.first.find(needle);
    if (at != std::u32string::npos) found = window.second + static_cast<int64_t>(at);
  }
  if (found < 0 && raise) return PyError("ValueError", "substring not found");
  return Value::Int(found);
}
absl::StatusOr<Value> Find(Renderer& r, const Value& s, CallArgs a) {
  return FindMethod(r, s, std::move(a), false, false);
}
absl::StatusOr<Value> RFind(Renderer& r, const Value& s, CallArgs a) {
  return FindMethod(r, s, std::move(a), true, false);
}
absl::StatusOr<Value> Index(Renderer& r, const Value& s, CallArgs a) {
  return FindMethod(r, s, std::move(a), false, true);
}
absl::StatusOr<Value> RIndex(Renderer& r, const Value& s, CallArgs a) {
  return FindMethod(r, s, std::move(a), true, true);
}

absl::StatusOr<Value> Count(Renderer& r, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("count", std::move(a), {"sub", "start", "end"}, 1));
  RTO_ASSIGN_OR_RETURN(std::string sub, StrArg(p[0], "must be str,"));
  RTO_ASSIGN_OR_RETURN(auto window, Window(r, self, p[1], p[2]));
  if (window.second < 0) return Value::Int(0);
  const std::u32string needle = py::Decode(sub);
  if (needle.empty()) return Value::Int(static_cast<int64_t>(window.first.size()) + 1);
  int64_t n = 0;
  for (size_t at = window.first.find(needle); at != std::u32string::npos;
       at = window.first.find(needle, at + needle.size()))
    ++n;
  return Value::Int(n);
}

absl::StatusOr<Value> Replace(Renderer& r, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("replace", std::move(a), {"old", "new", "count"}, 2));
  RTO_ASSIGN_OR_RETURN(std::string old, StrArg(p[0], "replace() argument 1"));
  RTO_ASSIGN_OR_RETURN(std::string repl, StrArg(p[1], "replace() argument 2"));
  CallArgs again;
  again.positional = {Value::Str(old), Value::Str(repl)};
  if (p[2]) again.positional.push_back(*p[2]);
  return ApplyFilter(r, "replace", self, std::move(again));
}

absl::StatusOr<Value> Join(Renderer& r, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("join", std::move(a), {"iterable"}, 1));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(*p[0]));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_str()) {
      return TypeError(absl::StrCat("sequence item ", i, ": expected str instance, ", TypeName(items[i]), " found"));
    }
    RTO_RETURN_IF_ERROR(r.CheckStringSize(out.size() + self.s().size() + items[i].s().size()));
    if (i > 0) out += self.s();
    out += items[i].s();
  }
  return r.MakeStr(std::move(out));
}

absl::StatusOr<Value> PadMethod(Renderer& r, const Value& self, CallArgs a, char align) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind(align == '^'   ? "center"
                                    : align == '<' ? "ljust"
                                                   : "rjust",
                                    std::move(a), {"width", "fillchar"}, 1));
  RTO_ASSIGN_OR_RETURN(int64_t width, IntArg(p[0], 0));
  std::u32string fill = U" ";
  if (p[1]) {
    if (!p[1]->is_str() || py::Length(p[1]->s()) != 1)
      return TypeError("The fill character must be exactly one character long");
    fill = py::Decode(p[1]->s());
  }
  const std::u32string u = py::Decode(self.s());
  const int64_t len = static_cast<int64_t>(u.size());
  if (width <= len) return self;
  RTO_RETURN_IF_ERROR(r.CheckStringSize(self.s().size() + static_cast<size_t>(width - len) * 4));
  const int64_t marg = width - len;
  const int64_t left = align == '<' ? 0 : align == '>' ? marg : marg / 2 + (marg & width & 1);
  std::u32string out(left, fill[0]);
  out += u;
  out.append(marg - left, fill[0]);
  return r.MakeStr(py::Encode(out));
}
absl::StatusOr<Value> Center(Renderer& r, const Value& s, CallArgs a) { return PadMethod(r, s, std::move(a), '^'); }
absl::StatusOr<Value> LJust(Renderer& r, const Value& s, CallArgs a) { return PadMethod(r, s, std::move(a), '<'); }
absl::StatusOr<Value> RJust(Renderer& r, const Value& s, CallArgs a) { return PadMethod(r, s, std::move(a), '>'); }

absl::StatusOr<Value> ZFill(Renderer& r, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("zfill", std::move(a), {"width"}, 1));
  RTO_ASSIGN_OR_RETURN(int64_t width, IntArg(p[0], 0));
  std::u32string u = py::Decode(self.s());
  const int64_t len = static_cast<int64_t>(u.size());
  if (width <= len) return self;
  RTO_RETURN_IF_ERROR(r.CheckStringSize(self.s().size() + static_cast<size_t>(width - len)));
  const size_t at = !u.empty() && (u[0] == '+' || u[0] == '-') ? 1 : 0;
  u.insert(at, std::u32string(width - len, U'0'));
  return r.MakeStr(py::Encode(u));
}

absl::StatusOr<Value> PartitionMethod(Renderer& r, const Value& self, CallArgs a, bool from_right) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind(from_right ? "rpartition" : "partition", std::move(a), {"sep"}, 1));
  RTO_ASSIGN_OR_RETURN(std::string sep, StrArg(p[0], "must be str,"));
  if (sep.empty()) return PyError("ValueError", "empty separator");
  const std::string& s = self.s();
  const size_t at = from_right ? s.rfind(sep) : s.find(sep);
  if (at == std::string::npos) {
    return from_right ? Value::Tuple({Value::Str(""), Value::Str(""), self})
                      : Value::Tuple({self, Value::Str(""), Value::Str("")});
  }
  return Value::Tuple({Value::Str(s.substr(0, at)), Value::Str(sep), Value::Str(s.substr(at + sep.size()))});
}
absl::StatusOr<Value> Partition(Renderer& r, const Value& s, CallArgs a) {
  return PartitionMethod(r, s, std::move(a), false);
}
absl::StatusOr<Value> RPartition(Renderer& r, const Value& s, CallArgs a) {
  return PartitionMethod(r, s, std::move(a), true);
}

absl::StatusOr<Value> AffixRemove(Renderer& r, const Value& self, CallArgs a, bool suffix) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind(suffix ? "removesuffix" : "removeprefix", std::move(a), {"affix"}, 1));
  RTO_ASSIGN_OR_RETURN(std::string affix, StrArg(p[0], "must be str,"));
  const std::string& s = self.s();
  if (affix.empty() || affix.size() > s.size()) return self;
  if (!suffix && s.compare(0, affix.size(), affix) == 0) return Value::Str(s.substr(affix.size()));
  if (suffix && s.compare(s.size() - affix.size(), affix.size(), affix) == 0)
    return Value::Str(s.substr(0, s.size() - affix.size()));
  return self;
}
absl::StatusOr<Value> RemovePrefix(Renderer& r, const Value& s, CallArgs a) {
  return AffixRemove(r, s, std::move(a), false);
}
absl::StatusOr<Value> RemoveSuffix(Renderer& r, const Value& s, CallArgs a) {
  return AffixRemove(r, s, std::move(a), true);
}

template <std::string (*F)(absl::string_view)>
absl::StatusOr<Value> CaseMethod(Renderer& r, const Value& self, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("str method", std::move(a), {}).status());
  return r.MakeStr(F(self.s()));
}

template <bool (*Pred)(char32_t)>
absl::StatusOr<Value> ClassMethod(Renderer&, const Value& self, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("str method", std::move(a), {}).status());
  const std::u32string u = py::Decode(self.s());
  return Value::Bool(!u.empty() && std::all_of(u.begin(), u.end(), Pred));
}

bool IsAscii(char32_t c) { return c < 0x80; }

absl::StatusOr<Value> CaseTest(const Value& self, CallArgs a, int which) {
  RTO_RETURN_IF_ERROR(Bind("str method", std::move(a), {}).status());
  bool cased = false, previous_cased = false;
  for (char32_t c : py::Decode(self.s())) {
    const bool up = py::IsUpperChar(c), low = py::IsLowerChar(c);
    if (which == 0 && up) return Value::Bool(false);   // islower
    if (which == 1 && low) return Value::Bool(false);  // isupper
    if (which == 2) {                                  // istitle
      if ((up && previous_cased) || (low && !previous_cased)) return Value::Bool(false);
      previous_cased = up || low;
    }
    cased |= up || low;
  }
  return Value::Bool(cased);
}
absl::StatusOr<Value> IsLower(Renderer&, const Value& s, CallArgs a) { return CaseTest(s, std::move(a), 0); }
absl::StatusOr<Value> IsUpper(Renderer&, const Value& s, CallArgs a) { return CaseTest(s, std::move(a), 1); }
absl::StatusOr<Value> IsTitle(Renderer&, const Value& s, CallArgs a) { return CaseTest(s, std::move(a), 2); }
absl::StatusOr<Value> IsAsciiMethod(Renderer&, const Value& self, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("isascii", std::move(a), {}).status());
  const std::u32string u = py::Decode(self.s());
  return Value::Bool(std::all_of(u.begin(), u.end(), IsAscii));
}

absl::StatusOr<Value> FormatMethod(Renderer& r, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(std::string s, BraceFormat(r, self.s(), a));
  return r.MakeStr(std::move(s));
}

const std::map<absl::string_view, Method>& StrMethods() {
  static const auto* m = new std::map<absl::string_view, Method>{
      {"capitalize", CaseMethod<py::Capitalize>},
      {"casefold", CaseMethod<py::CaseFold>},
      {"center", Center},
      {"count", Count},
      {"endswith", EndsWith},
      {"find", Find},
      {"format", FormatMethod},
      {"index", Index},
      {"isalnum", ClassMethod<py::IsAlnum>},
      {"isalpha", ClassMethod<py::IsAlpha>},
      {"isascii", IsAsciiMethod},
      {"isdecimal", ClassMethod<py::IsDecimal>},
      {"isdigit", ClassMethod<py::IsDigit>},
      {"islower", IsLower},
      {"isnumeric", ClassMethod<py::IsDigit>},
      {"isspace", ClassMethod<py::IsSpace>},
      {"istitle", IsTitle},
      {"isupper", IsUpper},
      {"join", Join},
      {"ljust", LJust},
      {"lower", CaseMethod<py::Lower>},
      {"lstrip", LStrip},
      {"partition", Partition},
      {"removeprefix", RemovePrefix},
      {"removesuffix", RemoveSuffix},
      {"replace", Replace},
      {"rfind", RFind},
      {"rindex", RIndex},
      {"rjust", RJust},
      {"rpartition", RPartition},
      {"rsplit", RSplit},
      {"rstrip", RStrip},
      {"split", Split},
      {"splitlines", SplitLines},
      {"startswith", StartsWith},
      {"strip", Strip},
      {"swapcase", CaseMethod<py::SwapCase>},
      {"title", CaseMethod<py::Title>},
      {"upper", CaseMethod<py::Upper>},
      {"zfill", ZFill},
  };
  return *m;
}

// ---- dict, list, tuple ----

absl::StatusOr<Value> DictGet(Renderer&, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("get", std::move(a), {"key", "default"}, 1));
  if (!Hashable(*p[0])) return TypeError(absl::StrCat("unhashable type: '", TypeName(*p[0]), "'"));
  if (const Value* v = self.dict().Find(*p[0])) return *v;
  return p[1] ? *p[1] : Value::None();
}

absl::StatusOr<Value> DictView(Renderer& r, const Value& self, CallArgs a, SeqFlavor flavor) {
  RTO_RETURN_IF_ERROR(Bind("dict view", std::move(a), {}).status());
  RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(self.dict().size())));
  std::vector<Value> out;
  for (const auto& [k, v] : self.dict().entries()) {
    out.push_back(flavor == SeqFlavor::kDictKeys ? k : flavor == SeqFlavor::kDictValues ? v : Value::Tuple({k, v}));
  }
  return Value::List(std::move(out), flavor);
}
absl::StatusOr<Value> Keys(Renderer& r, const Value& s, CallArgs a) {
  return DictView(r, s, std::move(a), SeqFlavor::kDictKeys);
}
absl::StatusOr<Value> Values(Renderer& r, const Value& s, CallArgs a) {
  return DictView(r, s, std::move(a), SeqFlavor::kDictValues);
}
absl::StatusOr<Value> DictItems(Renderer& r, const Value& s, CallArgs a) {
  return DictView(r, s, std::move(a), SeqFlavor::kDictItems);
}

absl::StatusOr<Value> Copy(Renderer&, const Value& self, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("copy", std::move(a), {}).status());
  if (self.is_dict()) return Value::Dict(self.dict());
  return Value::List(self.items());
}

absl::StatusOr<Value> FromKeys(Renderer& r, const Value&, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("fromkeys", std::move(a), {"iterable", "value"}, 1));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> keys, r.Iterate(*p[0]));
  DictData d;
  for (Value& k : keys) {
    if (!Hashable(k)) return TypeError(absl::StrCat("unhashable type: '", TypeName(k), "'"));
    d.Set(std::move(k), p[1] ? *p[1] : Value::None());
  }
  return Value::Dict(std::move(d));
}

absl::StatusOr<Value> SeqCount(Renderer&, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("count", std::move(a), {"value"}, 1));
  return Value::Int(
      std::count_if(self.items().begin(), self.items().end(), [&](const Value& x) { return PyEquals(x, *p[0]); }));
}

absl::StatusOr<Value> SeqIndex(Renderer&, const Value& self, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("index", std::move(a), {"value", "start", "stop"}, 1));
  const int64_t n = static_cast<int64_t>(self.items().size());
  RTO_ASSIGN_OR_RETURN(int64_t b, IntArg(p[1], 0));
  RTO_ASSIGN_OR_RETURN(int64_t e, IntArg(p[2], n));
  auto clamp = [n](int64_t x) { return x < 0 ? std::max<int64_t>(x + n, 0) : std::min(x, n); };
  for (int64_t i = clamp(b); i < clamp(e); ++i) {
    if (PyEquals(self.items()[i], *p[0])) return Value::Int(i);
  }
  if (self.kind() == Kind::kTuple) return PyError("ValueError", "tuple.index(x): x not in tuple");
  return PyError("ValueError", absl::StrCat(ToRepr(*p[0]), " is not in list"));
}

// Methods Python has but this interpreter does not provide: they fail when called.
const std::set<absl::string_view>& UnsupportedStrMethods() {
  static const auto* s = new std::set<absl::string_view>{"encode",      "expandtabs", "format_map", "isidentifier",
                                                         "isprintable", "maketrans",  "translate"};
  return *s;
}

bool Mutating(const Value& self, absl::string_view name) {
  static const std::set<absl::string_view> kList = {"append", "clear", "pop",    "reverse",
                                                    "insert", "sort",  "extend", "remove"};
  static const std::set<absl::string_view> kDict = {"clear", "pop", "popitem", "setdefault", "update"};
  if (self.is_dict()) return kDict.count(name) > 0;
  return self.kind() == Kind::kList && self.list().flavor == SeqFlavor::kPlain && kList.count(name) > 0;
}

Method MethodFor(const Value& self, absl::string_view name) {
  if (self.is_str()) {
    auto it = StrMethods().find(name);
    return it == StrMethods().end() ? nullptr : it->second;
  }
  if (self.is_dict()) {
    static const std::map<absl::string_view, Method> kDict = {{"get", DictGet}, {"items", DictItems},
                                                              {"keys", Keys},   {"values", Values},
                                                              {"copy", Copy},   {"fromkeys", FromKeys}};
    auto it = kDict.find(name);
    return it == kDict.end() ? nullptr : it->second;
  }
  if (!self.is_seq()) return nullptr;
  const SeqFlavor f = self.list().flavor;
  if (f != SeqFlavor::kPlain && f != SeqFlavor::kRange && f != SeqFlavor::kGroup) return nullptr;
  if (name == "count") return SeqCount;
  if (name == "index") return SeqIndex;
  if (name == "copy" && self.kind() == Kind::kList && f == SeqFlavor::kPlain) return Copy;
  return nullptr;
}

// The str methods markupsafe.Markup wraps so that they return Markup (their arguments are not
// escaped here, where markupsafe would escape them).
bool MarkupMethod(absl::string_view name) {
  static const std::set<absl::string_view> kNames = {"capitalize", "title",     "lower",      "upper",  "replace",
                                                     "ljust",      "rjust",     "lstrip",     "rstrip", "center",
                                                     "strip",      "swapcase",  "zfill",      "split",  "rsplit",
                                                     "splitlines", "partition", "rpartition", "format", "join"};
  return kNames.count(name) > 0;
}

Value AsMarkup(Value v) {
  if (v.is_str()) return Value::Str(v.s(), true);
  if (!v.is_seq()) return v;
  std::vector<Value> items;
  for (const Value& x : v.items()) items.push_back(x.is_str() ? Value::Str(x.s(), true) : x);
  return v.kind() == Kind::kTuple ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
}

// The attributes of int, bool and float that do not need bytes or fractions.
std::optional<Value> NumberAttr(Renderer& r, const Value& self, absl::string_view name) {
  const bool is_float = self.kind() == Kind::kFloat;
  const Value plain = is_float ? Value::Float(self.f()) : Value::Int(self.i());
  if (name == "real") return plain;
  if (name == "imag") return is_float ? Value::Float(0.0) : Value::Int(0);
  if (!is_float && name == "numerator") return plain;
  if (!is_float && name == "denominator") return Value::Int(1);
  const std::string repr = absl::StrCat("<built-in method ", name, " of ", TypeName(self), " object>");
  if (name == "conjugate") {
    return r.Function(repr, "builtin_function_or_method",
                      [plain](Renderer&, CallArgs) -> absl::StatusOr<Value> { return plain; });
  }
  if (is_float && name == "is_integer") {
    const double f = self.f();
    return r.Function(repr, "builtin_function_or_method", [f](Renderer&, CallArgs) -> absl::StatusOr<Value> {
      return Value::Bool(std::isfinite(f) && std::floor(f) == f);
    });
  }
  if (!is_float && name == "bit_length") {
    const int64_t i = self.i();
    return r.Function(repr, "builtin_function_or_method", [i](Renderer&, CallArgs) -> absl::StatusOr<Value> {
      const uint64_t mag = i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
      return Value::Int(mag == 0 ? 0 : 64 - __builtin_clzll(mag));
    });
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> LookupMethod(Renderer& r, const Value& self, absl::string_view name) {
  if (self.is_number()) return NumberAttr(r, self, name);
  const std::string type = TypeName(self);
  if (Mutating(self, name)) {
    return Value::Undefined(absl::StrCat("access to attribute '", name, "' of '", type, "' object is unsafe."), true);
  }
  const std::string repr = absl::StrCat("<built-in method ", name, " of ", type, " object>");
  if (self.is_str() && UnsupportedStrMethods().count(name) > 0) {
    const std::string what = absl::StrCat("str.", name, "() is not supported");
    return r.Function(repr, "builtin_function_or_method", [what](Renderer&, CallArgs) -> absl::StatusOr<Value> {
      return PyError("TemplateRuntimeError", what);
    });
  }
  const Method m = MethodFor(self, name);
  if (m == nullptr) return std::nullopt;
  if (self.is_str() && self.markup() && MarkupMethod(name)) {
    return r.Function(repr, "builtin_function_or_method", [m, self](Renderer& rr, CallArgs a) -> absl::StatusOr<Value> {
      RTO_ASSIGN_OR_RETURN(Value v, m(rr, self, std::move(a)));
      return AsMarkup(std::move(v));
    });
  }
  return r.Function(repr, "builtin_function_or_method",
                    [m, self](Renderer& rr, CallArgs a) { return m(rr, self, std::move(a)); });
}

bool HasDirectMethod(const Value& self, absl::string_view name) {
  return !self.is_number() && !Mutating(self, name) && MethodFor(self, name) != nullptr;
}

absl::StatusOr<Value> CallDirectMethod(Renderer& r, const Value& self, absl::string_view name, CallArgs args) {
  RTO_ASSIGN_OR_RETURN(Value v, MethodFor(self, name)(r, self, std::move(args)));
  if (self.is_str() && self.markup() && MarkupMethod(name)) return AsMarkup(std::move(v));
  return v;
}

// ---- globals ----

namespace {

absl::StatusOr<Value> Range(Renderer& r, CallArgs a) {
  if (!a.keywords.empty()) return TypeError("range() takes no keyword arguments");
  if (a.positional.empty() || a.positional.size() > 3) {
    return TypeError(absl::StrCat("range expected at most 3 arguments, got ", a.positional.size()));
  }
  int64_t bounds[3] = {0, 0, 1};
  for (size_t i = 0; i < a.positional.size(); ++i) {
    std::optional<int64_t> v = AsIndex(a.positional[i]);
    if (!v)
      return TypeError(absl::StrCat("'", TypeName(a.positional[i]), "' object cannot be interpreted as an integer"));
    bounds[a.positional.size() == 1 ? 1 : i] = *v;
  }
  const int64_t start = bounds[0], stop = bounds[1], step = bounds[2];
  if (step == 0) return PyError("ValueError", "range() arg 3 must not be zero");
  const __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
  const __int128 abs_step = step > 0 ? step : -static_cast<__int128>(step);
  const __int128 n = span <= 0 ? 0 : (span + abs_step - 1) / abs_step;
  if (n > 100000) {
    return PyError("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(n)));
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(n));
  for (int64_t k = 0; k < static_cast<int64_t>(n); ++k) items.push_back(Value::Int(start + k * step));
  return Value::Range(start, stop, step, std::move(items));
}

// dict(*args, **kwargs): a mapping or an iterable of pairs, then the keywords.
absl::StatusOr<DictData> MakeDict(Renderer& r, CallArgs a, absl::string_view fn) {
  if (a.positional.size() > 1)
    return TypeError(absl::StrCat(fn, " expected at most 1 argument, got ", a.positional.size()));
  DictData d;
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.is_dict()) {
      d = src.dict();
    } else {
      RTO_ASSIGN_OR_RETURN(std::vector<Value> pairs, r.Iterate(src));
      for (size_t i = 0; i < pairs.size(); ++i) {
        absl::StatusOr<std::vector<Value>> kv = pairs[i].is_number() || pairs[i].is_none()
                                                    ? absl::StatusOr<std::vector<Value>>(TypeError(""))
                                                    : r.Iterate(pairs[i]);
        if (!kv.ok())
          return TypeError(absl::StrCat("cannot convert dictionary update sequence element #", i, " to a sequence"));
        if (kv->size() != 2) {
          return PyError("ValueError", absl::StrCat("dictionary update sequence element #", i, " has length ",
                                                    kv->size(), "; 2 is required"));
        }
        if (!Hashable((*kv)[0])) return TypeError(absl::StrCat("unhashable type: '", TypeName((*kv)[0]), "'"));
        d.Set((*kv)[0], (*kv)[1]);
      }
    }
  }
  for (auto& [k, v] : a.keywords) d.Set(Value::Str(k), std::move(v));
  return d;
}

absl::StatusOr<Value> Namespace(Renderer& r, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(DictData d, MakeDict(r, std::move(a), "namespace"));
  auto* ns = r.Make<NamespaceObject>();
  for (const auto& [k, v] : d.entries()) {
    if (k.is_str() && !k.s().empty() && k.s()[0] == '_') {
      return PyError("SecurityError", absl::StrCat("Chat templates cannot store underscore-prefixed attributes on a "
                                                   "namespace, but got ",
                                                   ToRepr(k), ". Please rename the attribute."));
    }
    ns->attrs().Set(k, v);
  }
  return Value::Obj(ns);
}

// transformers' TemplateDict: callable as dict(...), with dict.fromkeys.
class DictGlobal : public FunctionObject {
 public:
  DictGlobal()
      : FunctionObject("<TemplateDict object>", "TemplateDict", [](Renderer& r, CallArgs a) -> absl::StatusOr<Value> {
          RTO_ASSIGN_OR_RETURN(DictData d, MakeDict(r, std::move(a), "dict"));
          return Value::Dict(std::move(d));
        }) {}
  absl::StatusOr<std::optional<Value>> Attr(Renderer& r, absl::string_view name) override {
    if (name != "fromkeys") return std::nullopt;
    return r.Function("<built-in method fromkeys of type object>", "builtin_function_or_method",
                      [](Renderer& rr, CallArgs a) { return FromKeys(rr, Value::Dict({}), std::move(a)); });
  }
};

// cycler(*items): .next(), .current and .reset().
class CyclerObject : public Object {
 public:
  explicit CyclerObject(std::vector<Value> items) : items_(std::move(items)) {}
  std::string TypeName() const override { return "Cycler"; }
  std::string Repr(int) const override { return "<Cycler>"; }
  absl::StatusOr<std::optional<Value>> Attr(Renderer& r, absl::string_view name) override {
    if (name == "current") return items_[pos_];
    if (name == "next") {
      return r.Function("<bound method Cycler.next>", "method", [this](Renderer&, CallArgs) -> absl::StatusOr<Value> {
        Value v = items_[pos_];
        pos_ = (pos_ + 1) % items_.size();
        return v;
      });
    }
    if (name == "reset") {
      return r.Function("<bound method Cycler.reset>", "method", [this](Renderer&, CallArgs) -> absl::StatusOr<Value> {
        pos_ = 0;
        return Value::None();
      });
    }
    return std::nullopt;
  }

 private:
  std::vector<Value> items_;
  size_t pos_ = 0;
};

absl::StatusOr<Value> Joiner(Renderer& r, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("joiner", std::move(a), {"sep"}));
  const std::string sep = p[0] ? ToStr(*p[0]) : ", ";
  auto used = std::make_shared<bool>(false);
  return r.Function("<Joiner>", "Joiner", [sep, used](Renderer&, CallArgs) -> absl::StatusOr<Value> {
    if (!*used) {
      *used = true;
      return Value::Str("");
    }
    return Value::Str(sep);
  });
}

}  // namespace

std::optional<Value> LookupGlobal(Renderer& r, absl::string_view name) {
  if (name == "range") return r.Function("<function safe_range>", "function", Range);
  if (name == "namespace") return r.Function("<class 'TemplateNamespace'>", "type", Namespace);
  if (name == "dict") return Value::Obj(r.Make<DictGlobal>());
  if (name == "joiner") return r.Function("<class 'jinja2.utils.Joiner'>", "type", Joiner);
  if (name == "raise_exception") {
    return r.Function("<function raise_exception>", "function", [](Renderer& rr, CallArgs a) -> absl::StatusOr<Value> {
      RTO_ASSIGN_OR_RETURN(auto p, Bind("raise_exception", std::move(a), {"message"}, 1));
      return rr.Raise(ToStr(*p[0]));
    });
  }
  if (name == "strftime_now") {
    return r.Function("<function strftime_now>", "function", [](Renderer& rr, CallArgs a) -> absl::StatusOr<Value> {
      RTO_ASSIGN_OR_RETURN(auto p, Bind("strftime_now", std::move(a), {"format"}, 1));
      if (!p[0]->is_str()) return TypeError(absl::StrCat("strftime() argument 1 must be str, not ", TypeName(*p[0])));
      return rr.MakeStr(rr.StrftimeNow(p[0]->s()));
    });
  }
  if (name == "cycler") {
    return r.Function("<class 'jinja2.utils.Cycler'>", "type", [](Renderer& rr, CallArgs a) -> absl::StatusOr<Value> {
      if (a.positional.empty()) return TypeError("at least one item has to be provided");
      return Value::Obj(rr.Make<CyclerObject>(std::move(a.positional)));
    });
  }
  if (name == "lipsum") {
    return r.Function("<function generate_lorem_ipsum>", "function", [](Renderer&, CallArgs) -> absl::StatusOr<Value> {
      return PyError("TemplateRuntimeError", "lipsum() is not supported");
    });
  }
  return std::nullopt;
}

}  // namespace rto::jinja
