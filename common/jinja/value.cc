#include "common/jinja/value.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/jinja/pystr.h"

namespace rto::jinja {
namespace {

// Printing stops descending here and writes "..."; nesting is bounded elsewhere, so this is a
// second line of defence.
constexpr int kMaxPrintDepth = kMaxValueDepth + 64;

thread_local int64_t* t_budget = nullptr;
thread_local size_t t_max_repr_bytes = static_cast<size_t>(-1);

// Draws `units` from the render's budget; false once it is spent.
bool Spend(int64_t units) {
  if (t_budget == nullptr) return true;
  *t_budget -= units;
  return *t_budget >= 0;
}

int64_t StringUnits(const Value& v) { return v.is_str() ? static_cast<int64_t>(v.s().size() / 64) : 0; }

int MaxDepth(const std::vector<Value>& items) {
  int d = 0;
  for (const Value& v : items) d = std::max(d, v.depth());
  return d;
}

void AppendItems(const std::vector<Value>& items, int depth, std::string* out) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->append(", ");
    AppendRepr(items[i], depth, out);
  }
}

// Python's Py_ReprEnter: a container already being printed prints as [...] (only a namespace that
// holds the container can lead back to it, the containers themselves being immutable).
class ReprGuard {
 public:
  explicit ReprGuard(const void* container) {
    entered_ = std::find(Printing().begin(), Printing().end(), container) == Printing().end();
    if (entered_) Printing().push_back(container);
  }
  ~ReprGuard() {
    if (entered_) Printing().pop_back();
  }
  bool entered() const { return entered_; }

 private:
  static std::vector<const void*>& Printing() {
    thread_local std::vector<const void*> printing;
    return printing;
  }
  bool entered_ = false;
};

void AppendSeqRepr(const Value& v, int depth, std::string* out) {
  const ListData& l = v.list();
  const ReprGuard guard(&l);
  if (!guard.entered()) {
    out->append(v.kind() == Kind::kTuple ? "(...)" : "[...]");
    return;
  }
  if (v.kind() == Kind::kTuple) {
    out->push_back('(');
    AppendItems(l.items, depth, out);
    out->append(l.items.size() == 1 ? ",)" : ")");
    return;
  }
  switch (l.flavor) {
    case SeqFlavor::kRange:
      absl::StrAppend(out, "range(", l.range_start, ", ", l.range_stop);
      if (l.range_step != 1) absl::StrAppend(out, ", ", l.range_step);
      out->push_back(')');
      return;
    case SeqFlavor::kDictKeys: out->append("dict_keys("); break;
    case SeqFlavor::kDictValues: out->append("dict_values("); break;
    case SeqFlavor::kDictItems: out->append("dict_items("); break;
    default: break;
  }
  out->push_back('[');
  AppendItems(l.items, depth, out);
  out->push_back(']');
  if (l.flavor != SeqFlavor::kPlain) out->push_back(')');
}

bool SetEquals(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (const Value& x : a) {
    if (std::none_of(b.begin(), b.end(), [&](const Value& y) { return PyEquals(x, y); })) return false;
  }
  return true;
}

bool SeqEquals(const Value& a, const Value& b) {
  const ListData& la = a.list();
  const ListData& lb = b.list();
  const bool a_plain = la.flavor == SeqFlavor::kPlain || la.flavor == SeqFlavor::kGroup;
  const bool b_plain = lb.flavor == SeqFlavor::kPlain || lb.flavor == SeqFlavor::kGroup;
  if (a_plain != b_plain || (!a_plain && la.flavor != lb.flavor)) return false;
  if (la.flavor == SeqFlavor::kDictKeys || la.flavor == SeqFlavor::kDictItems) return SetEquals(la.items, lb.items);
  if (la.flavor == SeqFlavor::kDictValues) return a.SameObject(b);
  if (la.items.size() != lb.items.size()) return false;
  for (size_t i = 0; i < la.items.size(); ++i) {
    if (!PyEquals(la.items[i], lb.items[i])) return false;
  }
  return true;
}

bool DictEquals(const DictData& a, const DictData& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a.entries()) {
    const Value* other = b.Find(k);
    if (other == nullptr || !PyEquals(v, *other)) return false;
  }
  return true;
}

// Python compares an int with a float exactly (2**53 + 1 != 2.0**53), not through a double.
// Returns -1, 0 or 1, or 2 when unordered (NaN).
int CompareIntFloat(int64_t i, double d) {
  if (std::isnan(d)) return 2;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  const double whole = std::trunc(d);
  const auto t = static_cast<int64_t>(whole);
  if (i != t) return i < t ? -1 : 1;
  const double frac = d - whole;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

// a <=> b for numbers, as CompareIntFloat.
int CompareNumbers(const Value& a, const Value& b) {
  const bool af = a.kind() == Kind::kFloat, bf = b.kind() == Kind::kFloat;
  if (!af && !bf) return a.i() < b.i() ? -1 : a.i() > b.i() ? 1 : 0;
  if (af && bf) {
    if (std::isnan(a.f()) || std::isnan(b.f())) return 2;
    return a.f() < b.f() ? -1 : a.f() > b.f() ? 1 : 0;
  }
  if (bf) return CompareIntFloat(a.i(), b.f());
  const int c = CompareIntFloat(b.i(), a.f());
  return c == 2 ? 2 : -c;
}

bool NumberEquals(const Value& a, const Value& b) { return CompareNumbers(a, b) == 0; }

}  // namespace

ScopedValueLimits::ScopedValueLimits(int64_t* budget, size_t max_repr_bytes)
    : previous_budget_(t_budget), previous_max_repr_bytes_(t_max_repr_bytes) {
  t_budget = budget;
  t_max_repr_bytes = max_repr_bytes;
}

ScopedValueLimits::~ScopedValueLimits() {
  t_budget = previous_budget_;
  t_max_repr_bytes = previous_max_repr_bytes_;
}

double Value::f() const {
  switch (kind_) {
    case Kind::kFloat: return scalar_.f;
    case Kind::kInt: return static_cast<double>(scalar_.i);
    case Kind::kBool: return scalar_.b ? 1.0 : 0.0;
    default: return 0.0;
  }
}

Value Value::Undefined(std::string message, bool security) {
  Value v;
  v.heap_ = std::make_shared<const UndefinedInfo>(UndefinedInfo{std::move(message), security});
  return v;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.scalar_.b = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.scalar_.i = i;
  return v;
}

Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.scalar_.f = f;
  return v;
}

Value Value::Str(std::string s, bool markup) {
  Value v;
  v.kind_ = Kind::kString;
  v.markup_ = markup;
  v.heap_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::List(std::vector<Value> items, SeqFlavor flavor) {
  Value v;
  v.kind_ = Kind::kList;
  auto data = std::make_shared<ListData>();
  data->depth = 1 + MaxDepth(items);
  data->items = std::move(items);
  data->flavor = flavor;
  v.heap_ = std::move(data);
  return v;
}

Value Value::Tuple(std::vector<Value> items, SeqFlavor flavor) {
  Value v = List(std::move(items), flavor);
  v.kind_ = Kind::kTuple;
  return v;
}

Value Value::Range(int64_t start, int64_t stop, int64_t step, std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kList;
  auto data = std::make_shared<ListData>();
  data->items = std::move(items);
  data->flavor = SeqFlavor::kRange;
  data->range_start = start, data->range_stop = stop, data->range_step = step;
  v.heap_ = std::move(data);
  return v;
}

Value Value::Dict(DictData d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.heap_ = std::make_shared<const DictData>(std::move(d));
  return v;
}

Value Value::Obj(Object* o) {
  Value v;
  v.kind_ = Kind::kObject;
  v.scalar_.o = o;
  return v;
}

std::string Value::undefined_message() const {
  if (heap_ == nullptr) return "'?' is undefined";
  return static_cast<const UndefinedInfo*>(heap_.get())->message;
}

bool Value::undefined_security() const {
  return heap_ != nullptr && static_cast<const UndefinedInfo*>(heap_.get())->security;
}

int Value::depth() const {
  switch (kind_) {
    case Kind::kList:
    case Kind::kTuple: return list().depth;
    case Kind::kDict: return dict().depth();
    default: return 0;
  }
}

bool Value::SameObject(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined: return heap_ == other.heap_;
    case Kind::kNone: return true;
    case Kind::kBool: return scalar_.b == other.scalar_.b;
    case Kind::kInt: return scalar_.i == other.scalar_.i && scalar_.i >= -5 && scalar_.i <= 256;  // CPython's cache
    case Kind::kFloat: return false;
    case Kind::kObject: return scalar_.o == other.scalar_.o;
    default: return heap_ == other.heap_;
  }
}

const Value* DictData::FindStr(absl::string_view key) const {
  auto it = str_index_.find(std::string(key));
  return it == str_index_.end() ? nullptr : &entries_[it->second].second;
}

const Value* DictData::Find(const Value& key) const {
  if (key.is_str()) return FindStr(key.s());
  if (!Hashable(key)) return nullptr;
  for (const auto& [k, v] : entries_) {
    if (!k.is_str() && PyEquals(k, key)) return &v;
  }
  return nullptr;
}

void DictData::Set(Value key, Value value) {
  depth_ = std::max(depth_, 1 + std::max(key.depth(), value.depth()));
  if (key.is_str()) {
    auto [it, inserted] = str_index_.emplace(key.s(), entries_.size());
    if (!inserted) {
      entries_[it->second].second = std::move(value);
      return;
    }
    entries_.emplace_back(std::move(key), std::move(value));
    return;
  }
  for (auto& [k, v] : entries_) {
    if (!k.is_str() && PyEquals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

absl::StatusOr<std::optional<Value>> Object::Attr(Renderer&, absl::string_view) { return std::nullopt; }

absl::StatusOr<Value> Object::Call(Renderer&, CallArgs) {
  return absl::InvalidArgumentError(absl::StrCat("TypeError: '", TypeName(), "' object is not callable"));
}

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return v.markup() ? "Markup" : "str";
    case Kind::kTuple: return v.list().flavor == SeqFlavor::kGroup ? "_GroupTuple" : "tuple";
    case Kind::kDict: return "dict";
    case Kind::kObject: return v.obj()->TypeName();
    case Kind::kList: break;
  }
  switch (v.list().flavor) {
    case SeqFlavor::kRange: return "range";
    case SeqFlavor::kDictKeys: return "dict_keys";
    case SeqFlavor::kDictValues: return "dict_values";
    case SeqFlavor::kDictItems: return "dict_items";
    default: return "list";
  }
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return v.b();
    case Kind::kInt: return v.i() != 0;
    case Kind::kFloat: return v.f() != 0.0;
    case Kind::kString: return !v.s().empty();
    case Kind::kList:
    case Kind::kTuple: return !v.items().empty();
    case Kind::kDict: return v.dict().size() > 0;
    case Kind::kObject: return true;
  }
  return false;
}

std::string ToStr(const Value& v) {
  if (v.is_undefined()) return "";
  if (v.is_str()) return v.s();
  std::string out;
  AppendRepr(v, 0, &out);
  return out;
}

std::string ToRepr(const Value& v) {
  std::string out;
  AppendRepr(v, 0, &out);
  return out;
}

void AppendRepr(const Value& v, int depth, std::string* out) {
  if (depth > kMaxPrintDepth || out->size() > t_max_repr_bytes || !Spend(1 + StringUnits(v))) {
    out->append("...");
    return;
  }
  switch (v.kind()) {
    case Kind::kUndefined: out->append("Undefined"); return;
    case Kind::kNone: out->append("None"); return;
    case Kind::kBool: out->append(v.b() ? "True" : "False"); return;
    case Kind::kInt: absl::StrAppend(out, v.i()); return;
    case Kind::kFloat: out->append(py::FloatRepr(v.f())); return;
    case Kind::kString:
      if (v.markup()) out->append("Markup(");
      py::AppendStrRepr(v.s(), out);
      if (v.markup()) out->push_back(')');
      return;
    case Kind::kList:
    case Kind::kTuple: AppendSeqRepr(v, depth + 1, out); return;
    case Kind::kDict: break;
    case Kind::kObject: out->append(v.obj()->Repr(depth + 1)); return;
  }
  const ReprGuard guard(&v.dict());
  if (!guard.entered()) {
    out->append("{...}");
    return;
  }
  out->push_back('{');
  bool first = true;
  for (const auto& [k, val] : v.dict().entries()) {
    if (!first) out->append(", ");
    first = false;
    AppendRepr(k, depth + 1, out);
    out->append(": ");
    AppendRepr(val, depth + 1, out);
  }
  out->push_back('}');
}

bool PyEquals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return NumberEquals(a, b);
  if (!Spend(1)) return false;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.s() == b.s();
    case Kind::kList:
    case Kind::kTuple: return a.SameObject(b) || SeqEquals(a, b);
    case Kind::kDict: return a.SameObject(b) || DictEquals(a.dict(), b.dict());
    case Kind::kObject: return a.obj() == b.obj();
    default: return false;
  }
}

namespace {

template <typename T>
bool Ordered(absl::string_view op, const T& a, const T& b) {
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  return a >= b;
}

}  // namespace

absl::StatusOr<bool> PyCompare(absl::string_view op, const Value& a, const Value& b) {
  if (!Spend(1)) return false;
  if (a.is_number() && b.is_number()) {
    const int c = CompareNumbers(a, b);
    return c != 2 && Ordered(op, c, 0);
  }
  if (a.is_str() && b.is_str()) return Ordered(op, a.s(), b.s());
  for (const Value* u : {&a, &b}) {
    if (u->is_undefined()) {
      return absl::InvalidArgumentError(
          absl::StrCat(u->undefined_security() ? "SecurityError: " : "UndefinedError: ", u->undefined_message()));
    }
  }
  const bool plain_seq = a.kind() == b.kind() && a.is_seq() && a.list().flavor != SeqFlavor::kRange &&
                         (a.list().flavor == SeqFlavor::kPlain || a.list().flavor == SeqFlavor::kGroup) &&
                         (b.list().flavor == SeqFlavor::kPlain || b.list().flavor == SeqFlavor::kGroup);
  if (!plain_seq) {
    return absl::InvalidArgumentError(absl::StrCat("TypeError: '", op, "' not supported between instances of '",
                                                   TypeName(a), "' and '", TypeName(b), "'"));
  }
  const auto& x = a.items();
  const auto& y = b.items();
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!PyEquals(x[i], y[i])) return PyCompare(op, x[i], y[i]);
  }
  return Ordered(op, x.size(), y.size());
}

absl::StatusOr<bool> PyLess(const Value& a, const Value& b) { return PyCompare("<", a, b); }

bool Hashable(const Value& v) {
  switch (v.kind()) {
    case Kind::kDict: return false;
    case Kind::kList: return v.list().flavor == SeqFlavor::kRange;
    case Kind::kTuple:
      return std::all_of(v.items().begin(), v.items().end(), [](const Value& x) { return Hashable(x); });
    default: return true;
  }
}

size_t DictData::size() const { return entries_.size(); }

}  // namespace rto::jinja
