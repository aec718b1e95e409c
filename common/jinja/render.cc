#include "common/jinja/render.h"

#include <algorithm>
#include <ctime>
#include <deque>

#include "absl/strings/str_cat.h"
#include "common/jinja/builtins.h"
#include "common/jinja/ops.h"
#include "common/jinja/pystr.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

// Macro recursion costs native stack; this bounds it whatever RenderLimits asks for.
constexpr int kHardMaxCallDepth = 256;

absl::Status LimitError(absl::string_view what) { return PyError("RenderLimitError", what); }

std::string NoAttribute(const Value& obj, const Value& name) {
  const std::string owner = obj.is_none() ? "None" : absl::StrCat(TypeName(obj), " object");
  if (name.is_str()) return absl::StrCat("'", owner, "' has no attribute ", ToRepr(name));
  return absl::StrCat(owner, " has no element ", ToRepr(name));
}

// Native recursion of the evaluator (expressions inside statements inside macro calls) is bounded
// here: a macro that recurses through a deep expression would otherwise exhaust the stack.
constexpr int kMaxNativeDepth = 3000;

// The filters jinja2 passes the render context (pass_context), which it never folds.
bool NeedsContext(absl::string_view filter) {
  return filter == "map" || filter == "select" || filter == "reject" || filter == "selectattr" ||
         filter == "rejectattr";
}

bool IsDunder(absl::string_view name) {
  return name.size() > 4 && name.substr(0, 2) == "__" && name.substr(name.size() - 2) == "__";
}

}  // namespace

absl::Status PyError(absl::string_view type, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(type, ": ", message));
}

std::optional<Value> Frame::Find(absl::string_view name) const {
  for (const Frame* f = this; f != nullptr; f = f->parent.get()) {
    for (const auto& [k, v] : f->vars) {
      if (k == name) return v;
    }
    if (f->scope == nullptr) continue;
    const auto& undefined = f->scope->undefined_until_set;
    if (std::find(undefined.begin(), undefined.end(), name) != undefined.end()) {
      return Value::Undefined(absl::StrCat(ToRepr(Value::Str(std::string(name))), " is undefined"));
    }
  }
  return std::nullopt;
}

void Frame::Set(absl::string_view name, Value v) {
  for (auto& [k, old] : vars) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  vars.emplace_back(std::string(name), std::move(v));
}

std::string NamespaceObject::Repr(int depth) const {
  // Python's repr guard: the attribute dict of a namespace already being printed (it holds itself,
  // directly or through a list) prints as {...}. Without it two such paths would double the text
  // at every level.
  thread_local std::vector<const NamespaceObject*> printing;
  if (std::find(printing.begin(), printing.end(), this) != printing.end()) return "<Namespace {...}>";
  printing.push_back(this);
  std::string out = "<Namespace {";
  bool first = true;
  for (const auto& [k, v] : attrs_.entries()) {
    if (!first) out += ", ";
    first = false;
    AppendRepr(k, depth + 1, &out);
    out += ": ";
    AppendRepr(v, depth + 1, &out);
  }
  printing.pop_back();
  return out + "}>";
}

absl::StatusOr<std::optional<Value>> NamespaceObject::Attr(Renderer&, absl::string_view name) {
  const Value* v = attrs_.FindStr(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

std::string MacroObject::Repr(int) const { return absl::StrCat("<Macro ", ToRepr(Value::Str(def_->name)), ">"); }

absl::StatusOr<Value> MacroObject::Call(Renderer& r, CallArgs args) { return r.CallMacro(*this, std::move(args)); }

absl::StatusOr<std::optional<Value>> MacroObject::Attr(Renderer&, absl::string_view name) {
  if (name == "name") return Value::Str(def_->name);
  if (name == "arguments") {
    std::vector<Value> params;
    for (const std::string& p : def_->params) params.push_back(Value::Str(p));
    return Value::Tuple(std::move(params));
  }
  if (name == "catch_kwargs") return Value::Bool(def_->uses_kwargs);
  if (name == "catch_varargs") return Value::Bool(def_->uses_varargs);
  if (name == "caller") return Value::Bool(def_->uses_caller);
  return std::nullopt;
}

// The `loop` variable. With an `if` filter the accepted items are found lazily, one ahead when
// loop.last or loop.nextitem asks and all when loop.length does, as jinja2's generator-backed
// LoopContext finds them: a filter that reads a namespace the body writes sees the same values.
class Renderer::Loop : public Object {
 public:
  using Accept = std::function<absl::StatusOr<bool>(const Value&)>;
  Loop(std::vector<Value> items, Accept accept) : src_(std::move(items)), accept_(std::move(accept)) {}

  std::string TypeName() const override { return "LoopContext"; }
  std::string Repr(int) const override {
    const size_t known = static_cast<size_t>(index0_ + 1) + ahead_.size() + (accept_ ? 0 : src_.size() - src_pos_);
    return absl::StrCat("<LoopContext ", index0_ + 1, "/", known, ">");
  }

  absl::StatusOr<std::optional<Value>> Next() {
    RTO_RETURN_IF_ERROR(FillAhead(1));
    if (ahead_.empty()) return std::nullopt;
    Value item = std::move(ahead_.front());
    ahead_.pop_front();
    ++index0_;
    before_ = std::move(current_);
    current_ = item;
    return item;
  }

  // Drops the items once the loop is over (a `loop` kept in a namespace keeps its counters).
  void Release() {
    src_.clear(), ahead_.clear(), src_pos_ = 0;
    accept_ = nullptr;
  }

  absl::StatusOr<std::optional<Value>> Attr(Renderer& r, absl::string_view name) override;

 private:
  absl::Status FillAhead(size_t n) {
    while (ahead_.size() < n && src_pos_ < src_.size()) {
      Value item = src_[src_pos_++];
      bool keep = true;
      if (accept_) {
        RTO_ASSIGN_OR_RETURN(keep, accept_(item));
      }
      if (keep) ahead_.push_back(std::move(item));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Length() {
    RTO_RETURN_IF_ERROR(FillAhead(src_.size()));
    return index0_ + 1 + static_cast<int64_t>(ahead_.size());
  }

  Value Changed(const CallArgs& args) {
    Value now = Value::Tuple(args.positional);
    const bool changed = !has_changed_ || !PyEquals(now, last_changed_);
    last_changed_ = std::move(now);
    has_changed_ = true;
    return Value::Bool(changed);
  }

  std::vector<Value> src_;
  size_t src_pos_ = 0;
  std::deque<Value> ahead_;
  Accept accept_;
  int64_t index0_ = -1;
  Value current_, before_, last_changed_;
  bool has_changed_ = false;
};

absl::StatusOr<std::optional<Value>> Renderer::Loop::Attr(Renderer& r, absl::string_view name) {
  if (name == "index0") return Value::Int(index0_);
  if (name == "index") return Value::Int(index0_ + 1);
  if (name == "first") return Value::Bool(index0_ == 0);
  if (name == "depth") return Value::Int(1);
  if (name == "depth0") return Value::Int(0);
  if (name == "previtem") return index0_ <= 0 ? Value::Undefined("there is no previous item") : before_;
  if (name == "last" || name == "nextitem") {
    RTO_RETURN_IF_ERROR(FillAhead(1));
    if (name == "last") return Value::Bool(ahead_.empty());
    return ahead_.empty() ? Value::Undefined("there is no next item") : ahead_.front();
  }
  if (name == "length" || name == "revindex" || name == "revindex0") {
    RTO_ASSIGN_OR_RETURN(int64_t length, Length());
    if (name == "length") return Value::Int(length);
    return Value::Int(name == "revindex" ? length - index0_ : length - index0_ - 1);
  }
  if (name == "cycle") {
    return r.Function("<bound method LoopContext.cycle>", "method",
                      [this](Renderer&, CallArgs a) -> absl::StatusOr<Value> {
                        if (a.positional.empty()) return TypeError("no items for cycling given");
                        return a.positional[index0_ % static_cast<int64_t>(a.positional.size())];
                      });
  }
  if (name == "changed") {
    return r.Function("<bound method LoopContext.changed>", "method",
                      [this](Renderer&, CallArgs a) -> absl::StatusOr<Value> { return Changed(a); });
  }
  return std::nullopt;
}

Renderer::Renderer(const RenderOptions& options, std::unordered_map<std::string, Value> context, bool const_mode)
    : options_(options), context_(std::move(context)), budget_(options.limits.max_work), const_mode_(const_mode) {}

absl::StatusOr<Value> Renderer::EvalConst(const Expr& e) {
  ScopedValueLimits limits(&budget_, options_.limits.max_output_bytes + 1);
  located_ = false;
  auto top = std::make_shared<Frame>(nullptr);
  return Eval(e, top);
}

absl::Status Renderer::Run(const TemplateBody& body, std::string* out) {
  ScopedValueLimits limits(&budget_, options_.limits.max_output_bytes + 1);
  auto top = std::make_shared<Frame>(nullptr, &body.scope);
  return Exec(body.body, top, out).status();
}

absl::Status Renderer::Locate(absl::Status s) {
  if (s.ok() || located_) return s;
  located_ = true;
  return absl::Status(s.code(), absl::StrCat("line ", current_line_, ": ", s.message()));
}

absl::Status Renderer::Raise(absl::string_view message) {
  located_ = true;
  return absl::InvalidArgumentError(absl::StrCat("template raised: ", message));
}

absl::Status Renderer::UndefinedError(const Value& u) const {
  return PyError(u.undefined_security() ? "SecurityError" : "UndefinedError", u.undefined_message());
}

absl::Status Renderer::Charge(int64_t units) {
  budget_ -= units;
  if (budget_ < 0) {
    return LimitError(absl::StrCat("the template did more than ", options_.limits.max_work,
                                   " steps of work (RenderLimits::max_work)"));
  }
  return absl::OkStatus();
}

absl::Status Renderer::CheckStringSize(size_t bytes) const {
  if (bytes <= options_.limits.max_output_bytes) return absl::OkStatus();
  return LimitError(absl::StrCat("a string of ", bytes, " bytes exceeds the limit of ",
                                 options_.limits.max_output_bytes, " (RenderLimits::max_output_bytes)"));
}

absl::Status Renderer::CheckListSize(size_t items) const {
  if (items <= options_.limits.max_output_bytes) return absl::OkStatus();
  return LimitError(absl::StrCat("a list of ", items, " items exceeds the limit of ", options_.limits.max_output_bytes,
                                 " (RenderLimits::max_output_bytes)"));
}

absl::StatusOr<Value> Renderer::MakeStr(std::string s, bool markup) {
  RTO_RETURN_IF_ERROR(CheckStringSize(s.size()));
  RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(s.size() / 64)));
  return Value::Str(std::move(s), markup);
}

absl::Status Renderer::Append(std::string* out, absl::string_view text) {
  if (out->size() + text.size() > options_.limits.max_output_bytes) {
    return LimitError(absl::StrCat("the output grew past ", options_.limits.max_output_bytes,
                                   " bytes (RenderLimits::max_output_bytes)"));
  }
  RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(text.size() / 64)));
  absl::StrAppend(out, text);
  return absl::OkStatus();
}

std::string Renderer::StrftimeNow(absl::string_view format) const {
  if (options_.strftime_now) return options_.strftime_now(format);
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  const std::string fmt(format);
  for (size_t size = 256; size <= 65536; size *= 4) {
    std::string buf(size, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    if (n > 0 || fmt.empty()) return buf.substr(0, n);
  }
  return "";
}

// ---- statements ----

absl::StatusOr<Renderer::Flow> Renderer::Exec(const Body& body, const FramePtr& frame, std::string* out) {
  for (const StmtPtr& s : body) {
    current_line_ = s->line;
    absl::StatusOr<Flow> flow = ExecStmt(*s, frame, out);
    if (!flow.ok()) {
      current_line_ = located_ ? current_line_ : s->line;
      return Locate(flow.status());
    }
    if (*flow != Flow::kNormal) return *flow;
  }
  return Flow::kNormal;
}

absl::StatusOr<Renderer::Flow> Renderer::ExecStmt(const Stmt& s, const FramePtr& frame, std::string* out) {
  RTO_RETURN_IF_ERROR(Charge(1));
  DepthGuard guard(&native_depth_);
  if (native_depth_ > kMaxNativeDepth) return LimitError("the template nests statements and macro calls too deeply");
  Flow flow = Flow::kNormal;
  switch (s.kind) {
    case StmtKind::kText: RTO_RETURN_IF_ERROR(Append(out, s.text)); break;
    case StmtKind::kOutput:
      for (const ExprPtr& e : s.exprs) {
        RTO_ASSIGN_OR_RETURN(Value v, Eval(*e, frame));
        RTO_RETURN_IF_ERROR(Append(out, ToStr(v)));
      }
      break;
    case StmtKind::kIf: RTO_RETURN_IF_ERROR(ExecIf(s, frame, out, &flow)); break;
    case StmtKind::kFor: return ExecFor(s, frame, out);
    case StmtKind::kSet: {
      RTO_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
      RTO_RETURN_IF_ERROR(Assign(s.target, std::move(v), *frame));
      break;
    }
    case StmtKind::kSetBlock:
    case StmtKind::kFilterBlock: return ExecCapture(s, frame, out);
    case StmtKind::kMacro: frame->Set(s.macro->name, Value::Obj(Make<MacroObject>(s.macro.get(), frame))); break;
    case StmtKind::kCallBlock: RTO_RETURN_IF_ERROR(ExecCallBlock(s, frame, out)); break;
    case StmtKind::kWith: return ExecWith(s, frame, out);
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
    case StmtKind::kScope: {
      auto inner = std::make_shared<Frame>(frame, &s.scope);
      RTO_RETURN_IF_ERROR(Exec(s.body, inner, out).status());
      break;
    }
  }
  return flow;
}

absl::Status Renderer::ExecIf(const Stmt& s, const FramePtr& frame, std::string* out, Flow* flow) {
  for (const auto& [test, body] : s.branches) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*test, frame));
    if (Truthy(v)) {
      RTO_ASSIGN_OR_RETURN(*flow, Exec(body, frame, out));
      return absl::OkStatus();
    }
  }
  RTO_ASSIGN_OR_RETURN(*flow, Exec(s.else_body, frame, out));
  return absl::OkStatus();
}

absl::StatusOr<Renderer::Flow> Renderer::ExecFor(const Stmt& s, const FramePtr& frame, std::string* out) {
  RTO_ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, frame));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(iterable));
  Loop::Accept accept;
  if (s.cond) {
    accept = [this, &s, frame](const Value& item) -> absl::StatusOr<bool> {
      auto probe = std::make_shared<Frame>(frame);
      RTO_RETURN_IF_ERROR(Assign(s.target, item, *probe));
      RTO_ASSIGN_OR_RETURN(Value v, Eval(*s.cond, probe));
      return Truthy(v);
    };
  }
  Loop* loop = Make<Loop>(std::move(items), std::move(accept));
  // jinja2 marks an iteration done at the end of the body, so an iteration left by break or
  // continue does not count: the else block runs unless one iteration ran to its end.
  bool completed = false;
  while (true) {
    RTO_ASSIGN_OR_RETURN(std::optional<Value> item, loop->Next());
    if (!item) break;
    current_line_ = s.line;
    if (++loop_iterations_ > options_.limits.max_loop_iterations) {
      return LimitError(absl::StrCat("the template ran more than ", options_.limits.max_loop_iterations,
                                     " loop iterations (RenderLimits::max_loop_iterations)"));
    }
    auto iter = std::make_shared<Frame>(frame, &s.scope);
    iter->Set("loop", Value::Obj(loop));
    RTO_RETURN_IF_ERROR(Assign(s.target, *std::move(item), *iter));
    RTO_ASSIGN_OR_RETURN(Flow flow, Exec(s.body, iter, out));
    completed |= flow == Flow::kNormal;
    if (flow == Flow::kBreak) break;
  }
  loop->Release();
  if (completed || s.else_body.empty()) return Flow::kNormal;
  auto inner = std::make_shared<Frame>(frame, &s.else_scope);
  return Exec(s.else_body, inner, out);
}

// {% set x %}...{% endset %} and {% filter f %}...{% endfilter %}: the body renders in a frame
// of its own, where the filters are then evaluated too. jinja2 compiles the body inline, so a
// break or continue in it leaves the loop around it, dropping the text.
absl::StatusOr<Renderer::Flow> Renderer::ExecCapture(const Stmt& s, const FramePtr& frame, std::string* out) {
  auto inner = std::make_shared<Frame>(frame, &s.scope);
  std::string text;
  RTO_ASSIGN_OR_RETURN(Flow flow, Exec(s.body, inner, &text));
  if (flow != Flow::kNormal) return flow;
  Value v = Value::Str(std::move(text));
  if (s.expr) {
    RTO_ASSIGN_OR_RETURN(v, EvalFilter(*s.expr, inner, &v));
  }
  if (s.kind == StmtKind::kSetBlock) {
    RTO_RETURN_IF_ERROR(Assign(s.target, std::move(v), *frame));
  } else {
    RTO_RETURN_IF_ERROR(Append(out, ToStr(v)));
  }
  return Flow::kNormal;
}

absl::Status Renderer::ExecCallBlock(const Stmt& s, const FramePtr& frame, std::string* out) {
  Value caller = Value::Obj(Make<MacroObject>(s.macro.get(), frame));
  RTO_ASSIGN_OR_RETURN(Value v, EvalCall(*s.expr, frame, {{"caller", std::move(caller)}}));
  return Append(out, ToStr(v));
}

absl::StatusOr<Renderer::Flow> Renderer::ExecWith(const Stmt& s, const FramePtr& frame, std::string* out) {
  auto inner = std::make_shared<Frame>(frame, &s.scope);
  for (size_t i = 0; i < s.targets.size(); ++i) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*s.exprs[i], frame));
    RTO_RETURN_IF_ERROR(Assign(s.targets[i], std::move(v), *inner));
  }
  return Exec(s.body, inner, out);
}

absl::Status Renderer::Assign(const Target& t, Value v, Frame& frame) {
  if (v.depth() > kMaxValueDepth) {
    return LimitError(absl::StrCat("a value nested deeper than ", kMaxValueDepth, " levels"));
  }
  if (t.kind == Target::Kind::kName) {
    frame.Set(t.name, std::move(v));
    return absl::OkStatus();
  }
  if (t.kind == Target::Kind::kTuple) {
    if (v.is_number() || v.is_none() || v.is_object()) {
      return TypeError(absl::StrCat("cannot unpack non-iterable ", TypeName(v), " object"));
    }
    RTO_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v));
    const size_t n = t.items.size();
    if (items.size() < n) {
      return PyError("ValueError",
                     absl::StrCat("not enough values to unpack (expected ", n, ", got ", items.size(), ")"));
    }
    if (items.size() > n) return PyError("ValueError", absl::StrCat("too many values to unpack (expected ", n, ")"));
    for (size_t i = 0; i < n; ++i) RTO_RETURN_IF_ERROR(Assign(t.items[i], std::move(items[i]), frame));
    return absl::OkStatus();
  }
  RTO_ASSIGN_OR_RETURN(Value ns, Lookup(t.name, frame));
  auto* space = ns.is_object() ? dynamic_cast<NamespaceObject*>(ns.obj()) : nullptr;
  if (space == nullptr) return PyError("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
  if (!t.attr.empty() && t.attr[0] == '_') {
    return PyError("SecurityError", absl::StrCat("Chat templates cannot store underscore-prefixed attributes on a "
                                                 "namespace, but got ",
                                                 ToRepr(Value::Str(t.attr)), ". Please rename the attribute."));
  }
  space->attrs().Set(Value::Str(t.attr), std::move(v));
  return absl::OkStatus();
}

// ---- calls ----

absl::StatusOr<Value> Renderer::Call(const Value& callee, CallArgs args) {
  if (callee.is_undefined()) return UndefinedError(callee);
  if (!callee.is_object() || !callee.obj()->IsCallable()) {
    return TypeError(absl::StrCat("'", TypeName(callee), "' object is not callable"));
  }
  return callee.obj()->Call(*this, std::move(args));
}

absl::StatusOr<Value> Renderer::CallMacro(const MacroObject& m, CallArgs args) {
  const int limit = std::min(options_.limits.max_call_depth, kHardMaxCallDepth);
  if (call_depth_ >= limit) {
    return LimitError(absl::StrCat("macro calls nest deeper than ", limit, " (RenderLimits::max_call_depth)"));
  }
  RTO_RETURN_IF_ERROR(Charge(1));
  ++call_depth_;
  auto frame = std::make_shared<Frame>(m.closure(), &m.def().scope);
  absl::Status bound = BindMacroArgs(m, std::move(args), *frame, frame);
  std::string out;
  absl::StatusOr<Flow> flow = bound.ok() ? Exec(m.def().body, frame, &out) : bound;
  --call_depth_;
  if (!flow.ok()) return flow.status();
  return Value::Str(std::move(out));
}

// jinja2's Macro.__call__: positional arguments first, then keywords, then defaults (evaluated
// in the macro's frame, so one may use an earlier parameter); `caller`, `varargs` and `kwargs`
// exist only when the body reads them.
absl::Status Renderer::BindMacroArgs(const MacroObject& m, CallArgs args, Frame& frame, const FramePtr& frame_ptr) {
  const MacroDef& d = m.def();
  const size_t n = d.params.size();
  auto& kw = args.keywords;
  auto take_kw = [&](absl::string_view name) -> std::optional<Value> {
    for (auto it = kw.begin(); it != kw.end(); ++it) {
      if (it->first != name) continue;
      Value v = std::move(it->second);
      kw.erase(it);
      return v;
    }
    return std::nullopt;
  };
  const bool explicit_caller = std::find(d.params.begin(), d.params.end(), "caller") != d.params.end();
  bool found_caller = args.positional.size() >= n && explicit_caller;
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = d.params[i];
    std::optional<Value> v = i < args.positional.size() ? std::optional<Value>(args.positional[i]) : take_kw(name);
    if (i >= args.positional.size() && name == "caller") found_caller = true;
    if (!v) {
      const size_t first_default = n - d.defaults.size();
      if (i >= first_default) {
        RTO_ASSIGN_OR_RETURN(v, Eval(*d.defaults[i - first_default], frame_ptr));
      } else {
        v = Value::Undefined(absl::StrCat("parameter ", ToRepr(Value::Str(name)), " was not provided"));
      }
    }
    frame.Set(name, *std::move(v));
  }
  if (d.uses_caller && !found_caller) {
    std::optional<Value> caller = take_kw("caller");
    frame.Set("caller", caller ? *std::move(caller) : Value::Undefined("No caller defined"));
  }
  const std::string quoted = ToRepr(Value::Str(d.name));
  if (d.uses_kwargs) {
    DictData extra;
    for (auto& [k, v] : kw) extra.Set(Value::Str(k), std::move(v));
    frame.Set("kwargs", Value::Dict(std::move(extra)));
  } else if (!kw.empty()) {
    if (take_kw("caller")) {
      return TypeError(
          absl::StrCat("macro ", quoted,
                       " was invoked with two values for the special caller argument. This is most likely a bug."));
    }
    return TypeError(absl::StrCat("macro ", quoted, " takes no keyword argument ", ToRepr(Value::Str(kw[0].first))));
  }
  if (d.uses_varargs) {
    std::vector<Value> rest;
    if (args.positional.size() > n) rest.assign(args.positional.begin() + n, args.positional.end());
    frame.Set("varargs", Value::Tuple(std::move(rest)));
  } else if (args.positional.size() > n) {
    return TypeError(absl::StrCat("macro ", quoted, " takes not more than ", n, " argument(s)"));
  }
  return absl::OkStatus();
}

// ---- expressions ----

absl::StatusOr<Value> Renderer::Eval(const Expr& e, const FramePtr& frame) {
  current_line_ = e.line;
  DepthGuard guard(&native_depth_);
  absl::Status charged = Charge(1);
  if (charged.ok() && native_depth_ > kMaxNativeDepth) {
    charged = LimitError("the template nests expressions and macro calls too deeply");
  }
  absl::StatusOr<Value> v = charged.ok() ? EvalKind(e, frame) : absl::StatusOr<Value>(charged);
  if (!v.ok() && !located_) {
    current_line_ = e.line;
    return Locate(v.status());
  }
  return v;
}

absl::StatusOr<Value> Renderer::EvalKind(const Expr& e, const FramePtr& frame) {
  switch (e.kind) {
    case ExprKind::kConst: return e.value;
    case ExprKind::kName: return Lookup(e.name, *frame);
    case ExprKind::kList:
    case ExprKind::kTuple:
    case ExprKind::kDict: return EvalContainer(e, frame);
    case ExprKind::kGetattr: {
      RTO_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], frame));
      return GetAttr(obj, e.name);
    }
    case ExprKind::kGetitem: return EvalGetitem(e, frame);
    case ExprKind::kSlice: return TypeError("a slice is only valid as the one subscript of [...]");
    case ExprKind::kCall: return EvalCall(e, frame, {});
    case ExprKind::kFilter: return EvalFilter(e, frame, nullptr);
    case ExprKind::kTest: return EvalTest(e, frame);
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      RTO_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], frame));
      if (v.is_undefined()) return UndefinedError(v);
      return Negate(v, e.kind == ExprKind::kNeg);
    }
    case ExprKind::kNot: {
      RTO_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], frame));
      return Value::Bool(!Truthy(v));
    }
    case ExprKind::kBinary: {
      RTO_ASSIGN_OR_RETURN(Value a, Eval(*e.operands[0], frame));
      RTO_ASSIGN_OR_RETURN(Value b, Eval(*e.operands[1], frame));
      if (a.is_undefined()) return UndefinedError(a);
      // str % x formats without asking x anything first; other operators try the Undefined's.
      if (b.is_undefined() && !(a.is_str() && e.bin_op == BinOp::kMod)) return UndefinedError(b);
      return Arith(*this, e.bin_op, a, b);
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      RTO_ASSIGN_OR_RETURN(Value a, Eval(*e.operands[0], frame));
      if (Truthy(a) == (e.kind == ExprKind::kOr)) return a;
      return Eval(*e.operands[1], frame);
    }
    case ExprKind::kConcat: return EvalConcat(e, frame);
    case ExprKind::kCompare: return EvalCompare(e, frame);
    case ExprKind::kCondExpr: return EvalCondExpr(e, frame);
  }
  return Value();
}

absl::StatusOr<Value> Renderer::Lookup(absl::string_view name, const Frame& frame) {
  if (const_mode_) return absl::FailedPreconditionError("a name is not a constant");
  if (std::optional<Value> v = frame.Find(name)) return *std::move(v);
  const std::string key(name);
  if (auto it = context_.find(key); it != context_.end()) return it->second;
  if (auto it = globals_.find(key); it != globals_.end()) return it->second;
  if (std::optional<Value> g = LookupGlobal(*this, name)) {
    globals_.emplace(key, *g);
    return *std::move(g);
  }
  return Value::Undefined(absl::StrCat(ToRepr(Value::Str(key)), " is undefined"));
}

absl::StatusOr<Value> Renderer::EvalContainer(const Expr& e, const FramePtr& frame) {
  RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(e.operands.size())));
  if (e.kind == ExprKind::kDict) {
    DictData d;
    for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
      RTO_ASSIGN_OR_RETURN(Value k, Eval(*e.operands[i], frame));
      RTO_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[i + 1], frame));
      if (!Hashable(k)) return TypeError(absl::StrCat("unhashable type: '", TypeName(k), "'"));
      d.Set(std::move(k), std::move(v));
    }
    return Value::Dict(std::move(d));
  }
  std::vector<Value> items;
  items.reserve(e.operands.size());
  for (const ExprPtr& o : e.operands) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*o, frame));
    items.push_back(std::move(v));
  }
  return e.kind == ExprKind::kList ? Value::List(std::move(items)) : Value::Tuple(std::move(items));
}

absl::StatusOr<Value> Renderer::EvalGetitem(const Expr& e, const FramePtr& frame) {
  RTO_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], frame));
  const Expr& key = *e.operands[1];
  if (key.kind == ExprKind::kSlice) return EvalSlice(obj, key, frame);
  RTO_ASSIGN_OR_RETURN(Value k, Eval(key, frame));
  return GetItem(obj, k);
}

// jinja2 compiles x[a:b] to a plain Python subscript, not the sandbox's getitem, so a type error
// is an error; only when the optimizer folded it (all literals) does getitem's Undefined show.
absl::StatusOr<Value> Renderer::EvalSlice(const Value& obj, const Expr& slice, const FramePtr& frame) {
  if (obj.is_undefined()) return UndefinedError(obj);
  const bool folded = const_mode_;
  const bool sliceable =
      obj.is_str() || (obj.is_seq() && obj.list().flavor != SeqFlavor::kDictKeys &&
                       obj.list().flavor != SeqFlavor::kDictValues && obj.list().flavor != SeqFlavor::kDictItems);
  auto type_error = [&](const std::string& message) -> absl::StatusOr<Value> {
    if (folded) return Value::Undefined(absl::StrCat(TypeName(obj), " object has no element slice(...)"));
    return TypeError(message);
  };
  if (!sliceable) {
    return type_error(obj.is_dict() ? "unhashable type: 'slice'"
                                    : absl::StrCat("'", TypeName(obj), "' object is not subscriptable"));
  }
  std::optional<int64_t> bounds[3];
  for (int i = 0; i < 3; ++i) {
    if (!slice.operands[i]) continue;
    RTO_ASSIGN_OR_RETURN(Value b, Eval(*slice.operands[i], frame));
    if (b.is_undefined()) return UndefinedError(b);
    if (b.is_none()) continue;
    bounds[i] = AsIndex(b);
    if (!bounds[i]) return type_error("slice indices must be integers or None or have an __index__ method");
  }
  return SliceValue(*this, obj, bounds[0], bounds[1], bounds[2]);
}

absl::StatusOr<CallArgs> Renderer::EvalArgs(const ArgExprs& a, const FramePtr& frame) {
  CallArgs args;
  for (const ExprPtr& p : a.positional) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*p, frame));
    args.positional.push_back(std::move(v));
  }
  if (a.star) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*a.star, frame));
    RTO_ASSIGN_OR_RETURN(std::vector<Value> more, Iterate(v));
    args.positional.insert(args.positional.end(), more.begin(), more.end());
  }
  for (const auto& [k, p] : a.keywords) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*p, frame));
    args.keywords.emplace_back(k, std::move(v));
  }
  if (a.dstar) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*a.dstar, frame));
    if (!v.is_dict()) return TypeError(absl::StrCat("argument after ** must be a mapping, not ", TypeName(v)));
    for (const auto& [k, val] : v.dict().entries()) {
      if (!k.is_str()) return TypeError("keywords must be strings");
      args.keywords.emplace_back(k.s(), val);
    }
  }
  for (size_t i = 0; i < args.keywords.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (args.keywords[i].first == args.keywords[j].first) {
        return TypeError(absl::StrCat("got multiple values for keyword argument '", args.keywords[i].first, "'"));
      }
    }
  }
  return args;
}

absl::StatusOr<Value> Renderer::EvalCall(const Expr& e, const FramePtr& frame,
                                         std::vector<std::pair<std::string, Value>> extra) {
  if (const_mode_) return absl::FailedPreconditionError("a call is not a constant");
  const Expr& target = *e.operands[0];
  if (target.kind == ExprKind::kGetattr && !IsDunder(target.name)) {
    // x.method(...): the sandbox's getattr finds the method before any dict key of that name.
    RTO_ASSIGN_OR_RETURN(Value self, Eval(*target.operands[0], frame));
    if (!self.is_undefined() && HasDirectMethod(self, target.name)) {
      RTO_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, frame));
      for (auto& kv : extra) args.keywords.push_back(std::move(kv));
      current_line_ = e.line;
      return CallDirectMethod(*this, self, target.name, std::move(args));
    }
    RTO_ASSIGN_OR_RETURN(Value callee, GetAttr(self, target.name));
    RTO_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, frame));
    for (auto& kv : extra) args.keywords.push_back(std::move(kv));
    current_line_ = e.line;
    return Call(callee, std::move(args));
  }
  RTO_ASSIGN_OR_RETURN(Value callee, Eval(target, frame));
  RTO_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, frame));
  for (auto& kv : extra) args.keywords.push_back(std::move(kv));
  current_line_ = e.line;
  return Call(callee, std::move(args));
}

absl::StatusOr<Value> Renderer::EvalFilter(const Expr& e, const FramePtr& frame, const Value* block_text) {
  Value input;
  const Expr* operand = e.operands[0].get();
  if (const_mode_ && (operand == nullptr || NeedsContext(e.name))) return absl::FailedPreconditionError("not constant");
  if (operand == nullptr) {
    input = *block_text;
  } else if (operand->kind == ExprKind::kFilter && block_text != nullptr) {
    RTO_ASSIGN_OR_RETURN(input, EvalFilter(*operand, frame, block_text));
  } else {
    RTO_ASSIGN_OR_RETURN(input, Eval(*operand, frame));
  }
  RTO_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, frame));
  current_line_ = e.line;
  const Support support = FilterSupport(e.name);
  if (support == Support::kUnknown) {
    return PyError("TemplateRuntimeError", absl::StrCat("No filter named ", ToRepr(Value::Str(e.name)), " found."));
  }
  if (support == Support::kUnsupported) {
    return PyError("TemplateRuntimeError",
                   absl::StrCat("the ", ToRepr(Value::Str(e.name)), " filter is not supported"));
  }
  return ApplyFilter(*this, e.name, std::move(input), std::move(args));
}

absl::StatusOr<Value> Renderer::EvalTest(const Expr& e, const FramePtr& frame) {
  RTO_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], frame));
  RTO_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, frame));
  current_line_ = e.line;
  const Support support = TestSupport(e.name);
  if (support == Support::kUnknown) {
    return PyError("TemplateRuntimeError", absl::StrCat("No test named ", ToRepr(Value::Str(e.name)), " found."));
  }
  if (support == Support::kUnsupported) {
    return PyError("TemplateRuntimeError", absl::StrCat("the ", ToRepr(Value::Str(e.name)), " test is not supported"));
  }
  RTO_ASSIGN_OR_RETURN(bool b, ApplyTest(*this, e.name, v, std::move(args)));
  return Value::Bool(b);
}

namespace {

absl::StatusOr<bool> CompareOne(const Renderer& r, CmpOp op, const Value& a, const Value& b) {
  switch (op) {
    case CmpOp::kEq: return PyEquals(a, b);
    case CmpOp::kNe: return !PyEquals(a, b);
    case CmpOp::kIn: return Contains(b, a);
    case CmpOp::kNotIn: {
      RTO_ASSIGN_OR_RETURN(bool in, Contains(b, a));
      return !in;
    }
    default: break;
  }
  if (a.is_undefined()) return r.UndefinedError(a);
  if (b.is_undefined()) return r.UndefinedError(b);
  static constexpr absl::string_view kText[] = {"==", "!=", "<", "<=", ">", ">="};
  return PyCompare(kText[static_cast<int>(op)], a, b);
}

}  // namespace

absl::StatusOr<Value> Renderer::EvalCompare(const Expr& e, const FramePtr& frame) {
  RTO_ASSIGN_OR_RETURN(Value left, Eval(*e.operands[0], frame));
  for (size_t i = 0; i < e.cmp_ops.size(); ++i) {
    RTO_ASSIGN_OR_RETURN(Value right, Eval(*e.operands[i + 1], frame));
    current_line_ = e.line;
    RTO_RETURN_IF_ERROR(Charge(StringCost(left) + StringCost(right)));
    RTO_ASSIGN_OR_RETURN(bool ok, CompareOne(*this, e.cmp_ops[i], left, right));
    if (!ok) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

absl::StatusOr<Value> Renderer::EvalConcat(const Expr& e, const FramePtr& frame) {
  std::string out;
  for (const ExprPtr& o : e.operands) {
    RTO_ASSIGN_OR_RETURN(Value v, Eval(*o, frame));
    const std::string s = ToStr(v);
    RTO_RETURN_IF_ERROR(CheckStringSize(out.size() + s.size()));
    out += s;
  }
  return MakeStr(std::move(out));
}

absl::StatusOr<Value> Renderer::EvalCondExpr(const Expr& e, const FramePtr& frame) {
  RTO_ASSIGN_OR_RETURN(Value test, Eval(*e.operands[1], frame));
  if (Truthy(test)) return Eval(*e.operands[0], frame);
  if (e.operands[2]) return Eval(*e.operands[2], frame);
  return Value::Undefined(absl::StrCat("the inline if-expression on line ", e.line,
                                       " evaluated to false and no else section was defined."));
}

// ---- the sandbox's getattr / getitem ----

// Python's getattr(obj, name), or nullopt for AttributeError. Dunder attributes exist on every
// object and are unsafe; methods that mutate are unsafe in the immutable sandbox.
absl::StatusOr<std::optional<Value>> Renderer::AttrOf(const Value& obj, absl::string_view name) {
  if (IsDunder(name)) {
    return Value::Undefined(absl::StrCat("access to attribute '", name, "' of '", TypeName(obj), "' object is unsafe."),
                            true);
  }
  if (obj.is_object()) return obj.obj()->Attr(*this, name);
  if (obj.kind() == Kind::kTuple && obj.list().flavor == SeqFlavor::kGroup) {
    if (name == "grouper") return obj.items()[0];
    if (name == "list") return obj.items()[1];
  }
  return LookupMethod(*this, obj, name);
}

absl::StatusOr<Value> Renderer::GetAttr(const Value& obj, absl::string_view name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  RTO_ASSIGN_OR_RETURN(std::optional<Value> attr, AttrOf(obj, name));
  if (attr) return *std::move(attr);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().FindStr(name)) return *v;
  }
  return Value::Undefined(NoAttribute(obj, Value::Str(std::string(name))));
}

absl::StatusOr<Value> Renderer::GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().Find(key)) return *v;
  } else if (obj.is_str() ||
             (obj.is_seq() && (obj.list().flavor == SeqFlavor::kPlain || obj.list().flavor == SeqFlavor::kRange ||
                               obj.list().flavor == SeqFlavor::kGroup))) {
    if (std::optional<int64_t> index = AsIndex(key)) {
      if (obj.is_str()) RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(obj.s().size() / 64)));
      if (std::optional<Value> v = IndexValue(obj, *index)) return *std::move(v);
    }
  }
  if (key.is_str()) {
    RTO_ASSIGN_OR_RETURN(std::optional<Value> attr, AttrOf(obj, key.s()));
    if (attr) return *std::move(attr);
  }
  return Value::Undefined(NoAttribute(obj, key));
}

absl::StatusOr<std::vector<Value>> Renderer::Iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return std::vector<Value>();
    case Kind::kString: {
      RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(v.s().size())));
      std::vector<Value> chars;
      for (char32_t c : py::Decode(v.s())) chars.push_back(Value::Str(py::Encode(std::u32string(1, c))));
      return chars;
    }
    case Kind::kList:
    case Kind::kTuple: RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(v.items().size()))); return v.items();
    case Kind::kDict: {
      RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(v.dict().size())));
      std::vector<Value> keys;
      for (const auto& kv : v.dict().entries()) keys.push_back(kv.first);
      return keys;
    }
    default: return TypeError(absl::StrCat("'", TypeName(v), "' object is not iterable"));
  }
}

absl::StatusOr<int64_t> Renderer::Len(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return 0;
    case Kind::kString:
      RTO_RETURN_IF_ERROR(Charge(static_cast<int64_t>(v.s().size() / 64)));
      return static_cast<int64_t>(py::Length(v.s()));
    case Kind::kList:
    case Kind::kTuple: return static_cast<int64_t>(v.items().size());
    case Kind::kDict: return static_cast<int64_t>(v.dict().size());
    default: return TypeError(absl::StrCat("object of type '", TypeName(v), "' has no len()"));
  }
}

// ---- constant folding ----

namespace {

// jinja2's has_safe_repr: the values a folded constant may hold.
bool SafeRepr(const Value& v) {
  switch (v.kind()) {
    case Kind::kNone:
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:
    case Kind::kString: return true;
    case Kind::kList:
    case Kind::kTuple: {
      const SeqFlavor f = v.list().flavor;
      if (f == SeqFlavor::kRange) return true;
      if (f != SeqFlavor::kPlain) return false;
      return std::all_of(v.items().begin(), v.items().end(), SafeRepr);
    }
    case Kind::kDict:
      return std::all_of(v.dict().entries().begin(), v.dict().entries().end(),
                         [](const auto& kv) { return SafeRepr(kv.first) && SafeRepr(kv.second); });
    default: return false;
  }
}

class Folder {
 public:
  Folder() : r_(Options(), {}, true) {}

  void FoldBody(Body& body) {
    for (StmtPtr& s : body) FoldStmt(*s);
  }

 private:
  static RenderOptions Options() {
    RenderOptions o;
    o.limits.max_work = 2000000;  // all folding of one template together; beyond it nothing folds
    return o;
  }

  void FoldStmt(Stmt& s) {
    for (ExprPtr& e : s.exprs) Fold(e.get(), s.kind == StmtKind::kOutput);
    Fold(s.expr.get(), false);
    Fold(s.cond.get(), false);
    for (auto& [test, body] : s.branches) {
      Fold(test.get(), false);
      FoldBody(body);
    }
    FoldBody(s.body);
    FoldBody(s.else_body);
    if (s.macro) {
      for (ExprPtr& d : s.macro->defaults) Fold(d.get(), false);
      FoldBody(s.macro->body);
    }
  }

  // Folds the children first, as jinja2's NodeTransformer does. `output` marks the whole of a
  // {{ }}, which jinja2 turns into text whatever the value.
  void Fold(Expr* e, bool output) {
    if (e == nullptr || e->kind == ExprKind::kConst) return;
    for (ExprPtr& o : e->operands) Fold(o.get(), false);
    for (ExprPtr& o : e->args.positional) Fold(o.get(), false);
    for (auto& kv : e->args.keywords) Fold(kv.second.get(), false);
    // Every expression is tried, as jinja2 does: an inline if, and or or folds on the branch it
    // takes even when the other one reads a name. Folded children make each try cheap.
    absl::StatusOr<Value> v = r_.EvalConst(*e);
    if (!v.ok() || (!output && !SafeRepr(*v))) return;
    e->kind = ExprKind::kConst;
    e->value = output ? Value::Str(ToStr(*v)) : *std::move(v);
    e->operands.clear();
    e->args = ArgExprs();
    e->constant = true;
  }

  Renderer r_;
};

}  // namespace

void FoldConstants(Body& body) { Folder().FoldBody(body); }

}  // namespace rto::jinja
