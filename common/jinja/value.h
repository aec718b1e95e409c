// The value model of the Jinja interpreter: Python's values as chat templates see them.
//
// A Value is one of Python's types that templates meet: Undefined (jinja2's default Undefined),
// None, bool, int (64-bit; Python's are unbounded, overflow is an error here), float, str
// (UTF-8 bytes, indexed by code point as Python does), list, tuple, dict (insertion ordered)
// and reference objects (namespaces, loops, macros, functions). Strings, lists and dicts are
// immutable and shared; the sandbox forbids mutating them, so sharing is never observable.
// Objects are owned by the render that made them (Renderer's arena); a Value never outlives it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto::jinja {

class Renderer;
class Object;
class Value;

// Deepest nesting of lists/dicts a template may build or receive (Python's repr and json stop
// near 1000 frames; recursion here stays far below the stack).
inline constexpr int kMaxValueDepth = 512;

enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kTuple, kDict, kObject };

// Python has several list-like types that print and behave differently from a list.
enum class SeqFlavor : uint8_t {
  kPlain,
  kRange,       // range(a, b, s): prints "range(0, 3)"
  kDictKeys,    // dict.keys(): "dict_keys([...])", not subscriptable
  kDictValues,  // dict.values()
  kDictItems,   // dict.items(): tuples
  kGroup,       // groupby's (grouper, list) tuple, whose fields are also attributes
};

struct UndefinedInfo {
  std::string message;    // what an error on use says ("'x' is undefined")
  bool security = false;  // an unsafe attribute: SecurityError rather than UndefinedError
};

struct ListData {
  std::vector<Value> items;
  SeqFlavor flavor = SeqFlavor::kPlain;
  int64_t range_start = 0, range_stop = 0, range_step = 1;  // kRange only
  int depth = 1;
};

// An insertion-ordered Python dict. Keys compare as Python's (1 == 1.0 == True).
class DictData {
 public:
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  size_t size() const;  // defined where Value is complete (clang needs it for the pair)
  // nullptr when absent (an unhashable key is never present).
  const Value* Find(const Value& key) const;
  const Value* FindStr(absl::string_view key) const;
  // Inserts or replaces; a replaced key keeps its first position, as in Python.
  void Set(Value key, Value value);
  int depth() const { return depth_; }

 private:
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string, size_t> str_index_;
  int depth_ = 1;
};

class Value {
 public:
  Value() = default;  // Undefined without a name: "'?' is undefined"
  static Value Undefined(std::string message, bool security = false);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value Str(std::string s, bool markup = false);
  static Value List(std::vector<Value> items, SeqFlavor flavor = SeqFlavor::kPlain);
  static Value Tuple(std::vector<Value> items, SeqFlavor flavor = SeqFlavor::kPlain);
  static Value Range(int64_t start, int64_t stop, int64_t step, std::vector<Value> items);
  static Value Dict(DictData d);
  static Value Obj(Object* o);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_str() const { return kind_ == Kind::kString; }
  bool is_int() const { return kind_ == Kind::kInt; }  // not bool
  bool is_number() const { return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_seq() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool b() const { return scalar_.b; }
  int64_t i() const { return kind_ == Kind::kBool ? (scalar_.b ? 1 : 0) : scalar_.i; }  // bool or int
  double f() const;                                                                     // any number
  const std::string& s() const { return *static_cast<const std::string*>(heap_.get()); }
  bool markup() const { return markup_; }  // a markupsafe.Markup string (|safe, |escape)
  const ListData& list() const { return *static_cast<const ListData*>(heap_.get()); }
  const std::vector<Value>& items() const { return list().items; }
  const DictData& dict() const { return *static_cast<const DictData*>(heap_.get()); }
  Object* obj() const { return scalar_.o; }
  // The error an Undefined raises when used.
  std::string undefined_message() const;
  bool undefined_security() const;
  // Nesting depth: 0 for scalars and objects.
  int depth() const;
  // The same shared storage (Python's `is` for containers and strings).
  bool SameObject(const Value& other) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool markup_ = false;
  union {
    bool b;
    int64_t i;
    double f;
    Object* o;
  } scalar_{};
  std::shared_ptr<const void> heap_;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
  bool empty() const { return positional.empty() && keywords.empty(); }
};

// A reference object: namespace, loop, macro, built-in function, bound method.
class Object {
 public:
  virtual ~Object() = default;
  // Python's type(x).__name__, for error messages.
  virtual std::string TypeName() const = 0;
  // Python's repr (which is also its str for these types); depth bounds nested values.
  virtual std::string Repr(int depth) const = 0;
  // The attribute `name`; nullopt where Python's getattr raises AttributeError.
  virtual absl::StatusOr<std::optional<Value>> Attr(Renderer& r, absl::string_view name);
  virtual bool IsCallable() const { return false; }
  virtual absl::StatusOr<Value> Call(Renderer& r, CallArgs args);
};

// While a render runs on this thread, the recursive algorithms on values (repr, ==, <) draw from
// its work budget and stop early once it is spent, and repr stops once its text passes
// `max_repr_bytes`, so that a value shared many times over (a list of lists of the same list...)
// cannot make one operation run for hours; the render then fails its next limit check. Outside a
// render they are unbounded.
class ScopedValueLimits {
 public:
  ScopedValueLimits(int64_t* budget, size_t max_repr_bytes);
  ~ScopedValueLimits();
  ScopedValueLimits(const ScopedValueLimits&) = delete;
  ScopedValueLimits& operator=(const ScopedValueLimits&) = delete;

 private:
  int64_t* previous_budget_;
  size_t previous_max_repr_bytes_;
};

// Python's type(x).__name__ ("str", "NoneType", "dict_keys", "Undefined", ...).
std::string TypeName(const Value& v);
// Python's bool(x). Undefined is false.
bool Truthy(const Value& v);
// Python's str(x): Undefined is "", floats as repr, containers as repr with quoted strings.
std::string ToStr(const Value& v);
// Python's repr(x).
std::string ToRepr(const Value& v);
void AppendRepr(const Value& v, int depth, std::string* out);
// Python's ==. Values nested deeper than kMaxValueDepth compare unequal.
bool PyEquals(const Value& a, const Value& b);
// Python's a < b; a TypeError names both types as Python does.
absl::StatusOr<bool> PyLess(const Value& a, const Value& b);
// Python's a <op> b for op in "<", "<=", ">", ">=".
absl::StatusOr<bool> PyCompare(absl::string_view op, const Value& a, const Value& b);
// Whether Python could use x as a dict key or set member.
bool Hashable(const Value& v);

}  // namespace rto::jinja
