// The interpreter: walks a parsed template with jinja2's semantics under transformers'
// ImmutableSandboxedEnvironment. Internal to common/jinja; jinja.h is the public face.
//
// One Renderer renders one template once, on one thread. It owns every reference object the
// render creates (namespaces, loops, macros, methods) in an arena that dies with it, so Values
// hold plain pointers to them and a namespace that contains itself cannot leak. Every step is
// charged to the RenderLimits, so a template cannot run unbounded or build unbounded values.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/jinja/ast.h"
#include "common/jinja/jinja.h"
#include "common/jinja/value.h"

namespace rto::jinja {

// Counts a nesting level for as long as it lives.
struct DepthGuard {
  explicit DepthGuard(int* depth) : depth(depth) { ++*depth; }
  ~DepthGuard() { --*depth; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  int* depth;
};

// Work units for an operation that scans a string (one per 64 bytes); 0 for other values.
inline int64_t StringCost(const Value& v) { return v.is_str() ? static_cast<int64_t>(v.s().size() / 64) : 0; }

// A Python exception as a Status: InvalidArgument "<Type>: <message>".
absl::Status PyError(absl::string_view type, absl::string_view message);
inline absl::Status TypeError(absl::string_view message) { return PyError("TypeError", message); }

// A scope: the template's top level, a loop iteration, a macro call, a with block. Lookups walk
// to the parents; assignments stay in the frame (so a loop body's sets do not leak, as jinja2's).
struct Frame {
  explicit Frame(std::shared_ptr<Frame> parent, const ScopeInfo* scope = nullptr)
      : parent(std::move(parent)), scope(scope) {}
  // The value of `name` in this frame or an enclosing one: nullptr where none assigns it, or an
  // Undefined where a scope that will assign it has not yet (see ScopeInfo).
  std::optional<Value> Find(absl::string_view name) const;
  void Set(absl::string_view name, Value v);

  std::shared_ptr<Frame> parent;
  const ScopeInfo* scope;  // what jinja2 decided at compile time for the scope this frame runs
  std::vector<std::pair<std::string, Value>> vars;
};
using FramePtr = std::shared_ptr<Frame>;

// namespace(...): the one mutable object templates have; `{% set ns.x = ... %}` writes it.
class NamespaceObject : public Object {
 public:
  std::string TypeName() const override { return "TemplateNamespace"; }
  std::string Repr(int depth) const override;
  absl::StatusOr<std::optional<Value>> Attr(Renderer& r, absl::string_view name) override;
  DictData& attrs() { return attrs_; }

 private:
  DictData attrs_;
};

// A macro, or the caller of a {% call %} block, closed over the frame it was defined in.
class MacroObject : public Object {
 public:
  MacroObject(const MacroDef* def, FramePtr closure) : def_(def), closure_(std::move(closure)) {}
  std::string TypeName() const override { return "Macro"; }
  std::string Repr(int) const override;
  // name, arguments, catch_kwargs, catch_varargs, caller: jinja2's Macro attributes.
  absl::StatusOr<std::optional<Value>> Attr(Renderer& r, absl::string_view name) override;
  bool IsCallable() const override { return true; }
  absl::StatusOr<Value> Call(Renderer& r, CallArgs args) override;
  const MacroDef& def() const { return *def_; }
  const FramePtr& closure() const { return closure_; }

 private:
  const MacroDef* def_;
  FramePtr closure_;
};

// A built-in function or bound method: a name for messages and what to call.
class FunctionObject : public Object {
 public:
  using Fn = std::function<absl::StatusOr<Value>(Renderer&, CallArgs)>;
  FunctionObject(std::string repr, std::string type_name, Fn fn)
      : repr_(std::move(repr)), type_name_(std::move(type_name)), fn_(std::move(fn)) {}
  std::string TypeName() const override { return type_name_; }
  std::string Repr(int) const override { return repr_; }
  bool IsCallable() const override { return true; }
  absl::StatusOr<Value> Call(Renderer& r, CallArgs args) override { return fn_(r, std::move(args)); }

 private:
  std::string repr_;
  std::string type_name_;
  Fn fn_;
};

// jinja2's optimizer, run once after parsing: an expression whose value jinja2 computes at compile
// time is replaced by that constant. It matters where compile-time evaluation differs from run
// time: a slice that fails is an Undefined when folded but a TypeError when run, and folding only
// keeps values with a literal form (its has_safe_repr) except for the whole of a {{ }}.
void FoldConstants(Body& body);

class Renderer {
 public:
  // `const_mode` evaluates as jinja2's as_const: names, calls and context filters are impossible.
  Renderer(const RenderOptions& options, std::unordered_map<std::string, Value> context, bool const_mode = false);
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Renders the template body; errors are InvalidArgument "line N: <Type>: <message>", or
  // "template raised: <message>" for raise_exception.
  absl::Status Run(const TemplateBody& body, std::string* out);

  // The sandbox's attribute and item access (SandboxedEnvironment.getattr / getitem).
  absl::StatusOr<Value> GetAttr(const Value& obj, absl::string_view name);
  absl::StatusOr<Value> GetItem(const Value& obj, const Value& key);
  absl::StatusOr<Value> Call(const Value& callee, CallArgs args);
  absl::StatusOr<Value> CallMacro(const MacroObject& m, CallArgs args);
  // Python's iter(): Undefined is empty, a str its characters, a dict its keys.
  absl::StatusOr<std::vector<Value>> Iterate(const Value& v);
  // Python's len(); Undefined has length 0.
  absl::StatusOr<int64_t> Len(const Value& v);
  // The error using an Undefined raises.
  absl::Status UndefinedError(const Value& u) const;
  absl::Status Raise(absl::string_view message);

  // Limits. Charge counts `units` of work (one per expression, statement, element or 64 bytes).
  absl::Status Charge(int64_t units);
  absl::Status CheckStringSize(size_t bytes) const;
  absl::Status CheckListSize(size_t items) const;
  absl::StatusOr<Value> MakeStr(std::string s, bool markup = false);

  // The arena: objects live until the render ends.
  template <typename T, typename... A>
  T* Make(A&&... args) {
    auto p = std::make_unique<T>(std::forward<A>(args)...);
    T* raw = p.get();
    arena_.push_back(std::move(p));
    return raw;
  }
  Value Function(std::string repr, std::string type_name, FunctionObject::Fn fn) {
    return Value::Obj(Make<FunctionObject>(std::move(repr), std::move(type_name), std::move(fn)));
  }

  const RenderOptions& options() const { return options_; }
  // Evaluates `e` in const mode; an error means "not constant".
  absl::StatusOr<Value> EvalConst(const Expr& e);
  std::string StrftimeNow(absl::string_view format) const;

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  class Loop;

  absl::StatusOr<Flow> Exec(const Body& body, const FramePtr& frame, std::string* out);
  absl::StatusOr<Flow> ExecStmt(const Stmt& s, const FramePtr& frame, std::string* out);
  absl::StatusOr<Flow> ExecFor(const Stmt& s, const FramePtr& frame, std::string* out);
  absl::Status ExecIf(const Stmt& s, const FramePtr& frame, std::string* out, Flow* flow);
  absl::StatusOr<Flow> ExecCapture(const Stmt& s, const FramePtr& frame, std::string* out);
  absl::Status ExecCallBlock(const Stmt& s, const FramePtr& frame, std::string* out);
  absl::StatusOr<Flow> ExecWith(const Stmt& s, const FramePtr& frame, std::string* out);
  absl::Status Assign(const Target& t, Value v, Frame& frame);
  absl::Status Append(std::string* out, absl::string_view text);
  absl::Status Locate(absl::Status s);

  absl::StatusOr<Value> Eval(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalKind(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalName(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalContainer(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalGetitem(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalCall(const Expr& e, const FramePtr& frame,
                                 std::vector<std::pair<std::string, Value>> extra);
  absl::StatusOr<CallArgs> EvalArgs(const ArgExprs& a, const FramePtr& frame);
  absl::StatusOr<Value> EvalFilter(const Expr& e, const FramePtr& frame, const Value* block_text);
  absl::StatusOr<Value> EvalTest(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalCompare(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalConcat(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalCondExpr(const Expr& e, const FramePtr& frame);
  absl::StatusOr<Value> EvalSlice(const Value& obj, const Expr& slice, const FramePtr& frame);
  absl::StatusOr<Value> Lookup(absl::string_view name, const Frame& frame);
  absl::StatusOr<std::optional<Value>> AttrOf(const Value& obj, absl::string_view name);
  absl::Status BindMacroArgs(const MacroObject& m, CallArgs args, Frame& frame, const FramePtr& frame_ptr);

  RenderOptions options_;
  std::unordered_map<std::string, Value> context_;
  std::unordered_map<std::string, Value> globals_;
  std::vector<std::unique_ptr<Object>> arena_;
  int64_t loop_iterations_ = 0;
  int64_t budget_ = 0;  // work left (RenderLimits::max_work); value algorithms draw from it too
  int call_depth_ = 0;
  int native_depth_ = 0;  // nested Eval and ExecStmt frames on the native stack
  int current_line_ = 1;
  bool located_ = false;  // the error in flight already names its line (or was raised)
  bool const_mode_ = false;
};

}  // namespace rto::jinja
