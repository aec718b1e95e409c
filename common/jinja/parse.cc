#include "common/jinja/parse.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/jinja/builtins.h"
#include "common/jinja/lexer.h"
#include "common/jinja/pystr.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

// Recursion bounds: nested brackets, unary operators and blocks, and the depth of any one
// expression tree (a+a+a+... builds a left-deep tree without recursing here).
constexpr int kMaxNesting = 150;
constexpr int kMaxExprDepth = 400;

std::string Quote(absl::string_view s) {
  std::string out;
  py::AppendStrRepr(s, &out);
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  absl::StatusOr<std::unique_ptr<Body>> Run() {
    auto body = std::make_unique<Body>();
    RTO_ASSIGN_OR_RETURN(*body, Subparse({}));
    return body;
  }

 private:
  // A name test like jinja2's "name:endfor".
  using EndTags = std::vector<std::string>;

  const Token& cur() const { return toks_[i_]; }
  const Token& look() const { return toks_[std::min(i_ + 1, toks_.size() - 1)]; }
  void Next() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  bool IsName(absl::string_view v) const { return cur().type == Tok::kName && cur().text == v; }
  bool IsOp(absl::string_view op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool SkipName(absl::string_view v) {
    if (!IsName(v)) return false;
    Next();
    return true;
  }
  bool SkipOp(absl::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool AtAny(const EndTags& tags) const {
    return std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return IsName(t); });
  }

  absl::Status FailAt(const Token& t, absl::string_view msg) const {
    return absl::InvalidArgumentError(absl::StrCat("line ", t.line, ", column ", t.column, ": ", msg));
  }
  absl::Status Fail(absl::string_view msg) const { return FailAt(cur(), msg); }

  // jinja2's TokenStream.expect message for `what` (a description such as "name" or ")").
  absl::Status ExpectFailure(absl::string_view what) const {
    if (cur().type == Tok::kEof) return Fail(absl::StrCat("unexpected end of template, expected ", Quote(what), "."));
    return Fail(absl::StrCat("expected token ", Quote(what), ", got ", Quote(DescribeToken(cur()))));
  }
  absl::StatusOr<Token> Expect(Tok type, absl::string_view what) {
    if (cur().type != type) return ExpectFailure(what);
    Token t = cur();
    Next();
    return t;
  }
  absl::Status ExpectOp(absl::string_view op) {
    if (!IsOp(op)) return ExpectFailure(op);
    Next();
    return absl::OkStatus();
  }
  absl::Status ExpectName(absl::string_view v) {
    if (!IsName(v)) return ExpectFailure(v);
    Next();
    return absl::OkStatus();
  }
  absl::Status ExpectBlockEnd() { return Expect(Tok::kBlockEnd, "end of statement block").status(); }

  // Bounds the parser's recursion.
  struct Nest {
    explicit Nest(Parser* p) : p(p) { ++p->nesting_; }
    ~Nest() { --p->nesting_; }
    Parser* p;
  };
  absl::Status CheckNesting() const {
    if (nesting_ > kMaxNesting) return Fail("the template nests too deeply");
    return absl::OkStatus();
  }

  ExprPtr Leaf(ExprKind kind, const Token& at) const {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }

  // Records the depth of a finished node, refusing trees too deep to walk.
  absl::StatusOr<ExprPtr> Finish(ExprPtr e) const {
    int d = 0;
    for (const ExprPtr& o : e->operands) d = std::max(d, o ? o->depth : 0);
    for (const ExprPtr& o : e->args.positional) d = std::max(d, o->depth);
    for (const auto& kv : e->args.keywords) d = std::max(d, kv.second->depth);
    if (e->args.star) d = std::max(d, e->args.star->depth);
    if (e->args.dstar) d = std::max(d, e->args.dstar->depth);
    e->depth = d + 1;
    if (e->depth > kMaxExprDepth) return Fail("an expression nests too deeply");
    e->constant = Foldable(*e);
    return e;
  }

  // nodes.Expr.as_const: constants, and operators, subscripts, filters and tests over them; not
  // names, calls, or the filters that need the render context (map, select, reject and the attr ones).
  static bool Foldable(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kName:
      case ExprKind::kCall: return false;
      case ExprKind::kFilter:
        if (e.unknown_name || e.name == "map" || e.name == "select" || e.name == "reject" || e.name == "selectattr" ||
            e.name == "rejectattr" || !e.operands[0]) {
          return false;
        }
        break;
      default: break;
    }
    if (e.args.star || e.args.dstar) return false;
    auto constant = [](const ExprPtr& o) { return o == nullptr || o->constant; };
    return std::all_of(e.operands.begin(), e.operands.end(), constant) &&
           std::all_of(e.args.positional.begin(), e.args.positional.end(), constant) &&
           std::all_of(e.args.keywords.begin(), e.args.keywords.end(),
                       [&](const auto& kv) { return constant(kv.second); });
  }

  absl::StatusOr<ExprPtr> Node(ExprKind kind, const Token& at, std::vector<ExprPtr> operands) const {
    ExprPtr e = Leaf(kind, at);
    e->operands = std::move(operands);
    return Finish(std::move(e));
  }

  template <typename... T>
  static std::vector<ExprPtr> Ops(T&&... e) {
    std::vector<ExprPtr> v;
    (v.push_back(std::forward<T>(e)), ...);
    return v;
  }

  // ---- statements ----

  absl::StatusOr<Body> Subparse(const EndTags& end_tags);
  absl::StatusOr<Body> ParseStatements(const EndTags& end_tags, bool drop_needle);
  absl::StatusOr<StmtPtr> ParseStatement();
  absl::StatusOr<StmtPtr> ParseKnownStatement(const Token& tag);
  absl::Status FailUnknownTag(const std::string* name, const EndTags* extra) const;
  absl::StatusOr<StmtPtr> ParseFor(const Token& tag);
  absl::StatusOr<StmtPtr> ParseIf(const Token& tag);
  absl::StatusOr<StmtPtr> ParseSet(const Token& tag);
  absl::StatusOr<StmtPtr> ParseMacro(const Token& tag);
  absl::StatusOr<StmtPtr> ParseCallBlock(const Token& tag);
  absl::StatusOr<StmtPtr> ParseFilterBlock(const Token& tag);
  absl::StatusOr<StmtPtr> ParseWith(const Token& tag);
  absl::StatusOr<StmtPtr> ParsePrint(const Token& tag);
  absl::StatusOr<Body> ParseFunctionBody(const std::string& end_tag);
  absl::Status ParseSignature(MacroDef* m);
  absl::StatusOr<Target> ParseTarget(const EndTags& extra_end, bool with_namespace);
  absl::StatusOr<Target> ParseTargetItem(bool with_namespace);
  absl::StatusOr<std::string> ParseParamName();

  // ---- expressions ----

  bool IsTupleEnd(const EndTags& extra) const {
    if (cur().type == Tok::kVarEnd || cur().type == Tok::kBlockEnd || IsOp(")")) return true;
    return AtAny(extra);
  }
  absl::StatusOr<ExprPtr> ParseExpression(bool with_condexpr = true) {
    return with_condexpr ? ParseCondExpr() : ParseOr();
  }
  absl::StatusOr<ExprPtr> ParseCondExpr();
  absl::StatusOr<ExprPtr> ParseOr();
  absl::StatusOr<ExprPtr> ParseAnd();
  absl::StatusOr<ExprPtr> ParseNot();
  absl::StatusOr<ExprPtr> ParseCompare();
  absl::StatusOr<ExprPtr> ParseMath1();
  absl::StatusOr<ExprPtr> ParseConcat();
  absl::StatusOr<ExprPtr> ParseMath2();
  absl::StatusOr<ExprPtr> ParsePow();
  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter);
  absl::StatusOr<ExprPtr> ParsePrimary();
  absl::StatusOr<ExprPtr> ParseTuple(bool with_condexpr, const EndTags& extra_end, bool explicit_parens);
  absl::StatusOr<ExprPtr> ParseList();
  absl::StatusOr<ExprPtr> ParseDict();
  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseSubscribed();
  absl::Status ParseCallArgs(ArgExprs* args);
  absl::StatusOr<ExprPtr> ParseCall(ExprPtr node);
  absl::StatusOr<ExprPtr> ParseFilter(ExprPtr node, bool start_inline);
  absl::StatusOr<ExprPtr> ParseTest(ExprPtr node);
  absl::StatusOr<std::string> ParseDottedName();

  std::vector<Token> toks_;
  size_t i_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;  // for-loop bodies around the current point, within one function
  std::vector<EndTags> end_stack_;
  std::vector<std::string> tag_stack_;
};

absl::StatusOr<Body> Parser::Subparse(const EndTags& end_tags) {
  Body body;
  end_stack_.push_back(end_tags);
  while (cur().type != Tok::kEof) {
    const Token tok = cur();
    if (tok.type == Tok::kData) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kText;
      s->line = tok.line;
      s->text = tok.text;
      body.push_back(std::move(s));
      Next();
    } else if (tok.type == Tok::kVarBegin) {
      Next();
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kOutput;
      s->line = tok.line;
      RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(true, {}, false));
      s->exprs.push_back(std::move(e));
      RTO_RETURN_IF_ERROR(Expect(Tok::kVarEnd, "end of print statement").status());
      body.push_back(std::move(s));
    } else {
      Next();  // the block begin
      if (!end_tags.empty() && AtAny(end_tags)) {
        end_stack_.pop_back();
        return body;
      }
      RTO_ASSIGN_OR_RETURN(StmtPtr s, ParseStatement());
      body.push_back(std::move(s));
      RTO_RETURN_IF_ERROR(ExpectBlockEnd());
    }
  }
  end_stack_.pop_back();
  return body;
}

absl::StatusOr<Body> Parser::ParseStatements(const EndTags& end_tags, bool drop_needle) {
  SkipOp(":");
  RTO_RETURN_IF_ERROR(ExpectBlockEnd());
  RTO_ASSIGN_OR_RETURN(Body body, Subparse(end_tags));
  if (cur().type == Tok::kEof) {
    end_stack_.push_back(end_tags);
    absl::Status s = FailUnknownTag(nullptr, nullptr);
    end_stack_.pop_back();
    return s;
  }
  if (drop_needle) Next();
  return body;
}

// jinja2's _fail_ut_eof: names the tags it was looking for and the innermost open block.
absl::Status Parser::FailUnknownTag(const std::string* name, const EndTags*) const {
  std::set<std::string> expected;
  for (const EndTags& tags : end_stack_) expected.insert(tags.begin(), tags.end());
  std::vector<std::string> looking;
  if (!end_stack_.empty()) {
    for (const std::string& t : end_stack_.back()) looking.push_back(Quote(t));
  }
  std::string msg =
      name == nullptr ? "Unexpected end of template." : absl::StrCat("Encountered unknown tag ", Quote(*name), ".");
  if (!looking.empty()) {
    if (name != nullptr && expected.count(*name) > 0) {
      absl::StrAppend(&msg,
                      " You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for ",
                      absl::StrJoin(looking, " or "), ".");
    } else {
      absl::StrAppend(&msg, " Jinja was looking for the following tags: ", absl::StrJoin(looking, " or "), ".");
    }
  }
  if (!tag_stack_.empty())
    absl::StrAppend(&msg, " The innermost block that needs to be closed is ", Quote(tag_stack_.back()), ".");
  return Fail(msg);
}

absl::StatusOr<StmtPtr> Parser::ParseStatement() {
  Nest nest(this);
  RTO_RETURN_IF_ERROR(CheckNesting());
  const Token tag = cur();
  if (tag.type != Tok::kName) return Fail("tag name expected");
  static const std::set<std::string> kUnsupported = {"block", "extends", "include", "import", "from", "autoescape"};
  if (kUnsupported.count(tag.text) > 0) {
    return Fail(absl::StrCat("the ", Quote(tag.text),
                             " tag is not supported (chat templates are one file without autoescape)"));
  }
  tag_stack_.push_back(tag.text);
  absl::StatusOr<StmtPtr> s = ParseKnownStatement(tag);
  tag_stack_.pop_back();
  return s;
}

absl::StatusOr<StmtPtr> Parser::ParseKnownStatement(const Token& tag) {
  const std::string& t = tag.text;
  if (t == "for") return ParseFor(tag);
  if (t == "if") return ParseIf(tag);
  if (t == "set") return ParseSet(tag);
  if (t == "macro") return ParseMacro(tag);
  if (t == "call") return ParseCallBlock(tag);
  if (t == "filter") return ParseFilterBlock(tag);
  if (t == "with") return ParseWith(tag);
  if (t == "print") return ParsePrint(tag);
  auto s = std::make_unique<Stmt>();
  s->line = tag.line;
  if (t == "break" || t == "continue") {
    if (loop_depth_ == 0) return Fail(absl::StrCat(Quote(t), " outside loop"));
    Next();
    s->kind = t == "break" ? StmtKind::kBreak : StmtKind::kContinue;
    return s;
  }
  if (t == "generation") {
    Next();
    s->kind = StmtKind::kScope;
    RTO_ASSIGN_OR_RETURN(s->body, ParseFunctionBody("endgeneration"));
    return s;
  }
  tag_stack_.pop_back();
  absl::Status st = FailUnknownTag(&t, nullptr);
  tag_stack_.push_back(t);
  return st;
}

// The body of a macro, call block or generation block: a function of its own in jinja2's
// compiled code, so a break inside it has no loop.
absl::StatusOr<Body> Parser::ParseFunctionBody(const std::string& end_tag) {
  const int saved = loop_depth_;
  loop_depth_ = 0;
  absl::StatusOr<Body> body = ParseStatements({end_tag}, true);
  loop_depth_ = saved;
  return body;
}

absl::StatusOr<StmtPtr> Parser::ParseFor(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kFor;
  s->line = tag.line;
  RTO_ASSIGN_OR_RETURN(s->target, ParseTarget({"in"}, false));
  RTO_RETURN_IF_ERROR(ExpectName("in"));
  RTO_ASSIGN_OR_RETURN(s->expr, ParseTuple(false, {"recursive"}, false));
  if (SkipName("if")) {
    RTO_ASSIGN_OR_RETURN(s->cond, ParseExpression());
  }
  if (IsName("recursive")) return Fail("recursive for loops are not supported");
  ++loop_depth_;
  absl::StatusOr<Body> body = ParseStatements({"endfor", "else"}, false);
  --loop_depth_;
  if (!body.ok()) return body.status();
  s->body = *std::move(body);
  const bool has_else = IsName("else");
  Next();
  if (has_else) {
    RTO_ASSIGN_OR_RETURN(s->else_body, ParseStatements({"endfor"}, true));
  }
  return s;
}

absl::StatusOr<StmtPtr> Parser::ParseIf(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kIf;
  s->line = tag.line;
  while (true) {
    RTO_ASSIGN_OR_RETURN(ExprPtr test, ParseTuple(false, {}, false));
    RTO_ASSIGN_OR_RETURN(Body body, ParseStatements({"elif", "else", "endif"}, false));
    s->branches.emplace_back(std::move(test), std::move(body));
    const std::string which = cur().text;
    Next();
    if (which == "elif") continue;
    if (which == "else") {
      RTO_ASSIGN_OR_RETURN(s->else_body, ParseStatements({"endif"}, true));
    }
    return s;
  }
}

absl::StatusOr<StmtPtr> Parser::ParseSet(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->line = tag.line;
  RTO_ASSIGN_OR_RETURN(s->target, ParseTarget({}, true));
  if (SkipOp("=")) {
    s->kind = StmtKind::kSet;
    RTO_ASSIGN_OR_RETURN(s->expr, ParseTuple(true, {}, false));
    return s;
  }
  s->kind = StmtKind::kSetBlock;
  if (IsOp("|")) {
    RTO_ASSIGN_OR_RETURN(s->expr, ParseFilter(nullptr, false));
  }
  RTO_ASSIGN_OR_RETURN(s->body, ParseStatements({"endset"}, true));
  return s;
}

absl::StatusOr<std::string> Parser::ParseParamName() {
  RTO_ASSIGN_OR_RETURN(Token name, Expect(Tok::kName, "name"));
  static const std::set<std::string> kConst = {"true", "false", "none", "True", "False", "None"};
  if (kConst.count(name.text) > 0) return FailAt(name, "can't assign to 'name'");
  return name.text;
}

absl::Status Parser::ParseSignature(MacroDef* m) {
  RTO_RETURN_IF_ERROR(ExpectOp("("));
  while (!IsOp(")")) {
    if (!m->params.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    RTO_ASSIGN_OR_RETURN(std::string name, ParseParamName());
    if (SkipOp("=")) {
      RTO_ASSIGN_OR_RETURN(ExprPtr d, ParseExpression());
      m->defaults.push_back(std::move(d));
    } else if (!m->defaults.empty()) {
      return Fail("non-default argument follows default argument");
    }
    m->params.push_back(std::move(name));
  }
  const auto caller = std::find(m->params.begin(), m->params.end(), "caller");
  if (caller != m->params.end() &&
      static_cast<size_t>(caller - m->params.begin()) < m->params.size() - m->defaults.size()) {
    return Fail(
        "When defining macros or call blocks the special \"caller\" argument must be omitted or be given a default.");
  }
  return ExpectOp(")");
}

void ScanNames(const Body& body, MacroDef* m);

void ScanExpr(const Expr* e, MacroDef* m) {
  if (e == nullptr) return;
  if (e->kind == ExprKind::kName) {
    m->uses_caller |= e->name == "caller";
    m->uses_varargs |= e->name == "varargs";
    m->uses_kwargs |= e->name == "kwargs";
  }
  for (const ExprPtr& o : e->operands) ScanExpr(o.get(), m);
  for (const ExprPtr& o : e->args.positional) ScanExpr(o.get(), m);
  for (const auto& kv : e->args.keywords) ScanExpr(kv.second.get(), m);
  ScanExpr(e->args.star.get(), m);
  ScanExpr(e->args.dstar.get(), m);
}

// Which of caller, varargs and kwargs a macro body reads (jinja2's find_undeclared).
void ScanNames(const Body& body, MacroDef* m) {
  for (const StmtPtr& s : body) {
    for (const ExprPtr& e : s->exprs) ScanExpr(e.get(), m);
    ScanExpr(s->expr.get(), m);
    ScanExpr(s->cond.get(), m);
    for (const auto& [test, branch] : s->branches) {
      ScanExpr(test.get(), m);
      ScanNames(branch, m);
    }
    ScanNames(s->body, m);
    ScanNames(s->else_body, m);
    if (s->macro) {
      for (const ExprPtr& d : s->macro->defaults) ScanExpr(d.get(), m);
      ScanNames(s->macro->body, m);
    }
  }
}

absl::StatusOr<StmtPtr> Parser::ParseMacro(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kMacro;
  s->line = tag.line;
  s->macro = std::make_unique<MacroDef>();
  RTO_ASSIGN_OR_RETURN(s->macro->name, ParseParamName());
  RTO_RETURN_IF_ERROR(ParseSignature(s->macro.get()));
  RTO_ASSIGN_OR_RETURN(s->macro->body, ParseFunctionBody("endmacro"));
  ScanNames(s->macro->body, s->macro.get());
  return s;
}

absl::StatusOr<StmtPtr> Parser::ParseCallBlock(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kCallBlock;
  s->line = tag.line;
  s->macro = std::make_unique<MacroDef>();
  s->macro->name = "caller";
  if (IsOp("(")) RTO_RETURN_IF_ERROR(ParseSignature(s->macro.get()));
  RTO_ASSIGN_OR_RETURN(s->expr, ParseExpression());
  if (s->expr->kind != ExprKind::kCall) return FailAt(tag, "expected call");
  RTO_ASSIGN_OR_RETURN(s->macro->body, ParseFunctionBody("endcall"));
  ScanNames(s->macro->body, s->macro.get());
  return s;
}

absl::StatusOr<StmtPtr> Parser::ParseFilterBlock(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kFilterBlock;
  s->line = tag.line;
  RTO_ASSIGN_OR_RETURN(s->expr, ParseFilter(nullptr, true));
  RTO_ASSIGN_OR_RETURN(s->body, ParseStatements({"endfilter"}, true));
  return s;
}

absl::StatusOr<StmtPtr> Parser::ParseWith(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kWith;
  s->line = tag.line;
  while (cur().type != Tok::kBlockEnd) {
    if (!s->targets.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    RTO_ASSIGN_OR_RETURN(Target t, ParseTarget({}, false));
    s->targets.push_back(std::move(t));
    RTO_RETURN_IF_ERROR(ExpectOp("="));
    RTO_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression());
    s->exprs.push_back(std::move(v));
  }
  RTO_ASSIGN_OR_RETURN(s->body, ParseStatements({"endwith"}, true));
  return s;
}

absl::StatusOr<StmtPtr> Parser::ParsePrint(const Token& tag) {
  Next();
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kOutput;
  s->line = tag.line;
  while (cur().type != Tok::kBlockEnd) {
    if (!s->exprs.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression());
    s->exprs.push_back(std::move(e));
  }
  return s;
}

// jinja2's parse_assign_target: a name, namespace.attr, or a tuple of them, e.g. `k, v`.
absl::StatusOr<Target> Parser::ParseTarget(const EndTags& extra_end, bool with_namespace) {
  std::vector<Target> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    if (IsTupleEnd(extra_end)) break;
    RTO_ASSIGN_OR_RETURN(Target t, ParseTargetItem(with_namespace));
    items.push_back(std::move(t));
    if (!IsOp(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (items.empty()) return Fail(absl::StrCat("Expected an expression, got ", Quote(DescribeToken(cur()))));
    return std::move(items[0]);
  }
  Target t;
  t.kind = Target::Kind::kTuple;
  t.items = std::move(items);
  return t;
}

absl::StatusOr<Target> Parser::ParseTargetItem(bool with_namespace) {
  Target t;
  if (cur().type == Tok::kName) {
    static const std::set<std::string> kConst = {"true", "false", "none", "True", "False", "None"};
    if (kConst.count(cur().text) > 0) return Fail("can't assign to 'const'");
    RTO_ASSIGN_OR_RETURN(t.name, ParseParamName());
    if (with_namespace && IsOp(".")) {
      Next();
      RTO_ASSIGN_OR_RETURN(Token attr, Expect(Tok::kName, "name"));
      t.kind = Target::Kind::kNsAttr;
      t.attr = attr.text;
    }
    return t;
  }
  if (SkipOp("(")) {
    RTO_ASSIGN_OR_RETURN(t, ParseTarget({}, with_namespace));
    RTO_RETURN_IF_ERROR(ExpectOp(")"));
    return t;
  }
  const bool literal = cur().type == Tok::kString || cur().type == Tok::kInt || cur().type == Tok::kFloat;
  if (literal) return Fail("can't assign to 'const'");
  if (IsOp("[")) return Fail("can't assign to 'list'");
  if (IsOp("{")) return Fail("can't assign to 'dict'");
  return Fail(absl::StrCat("unexpected ", Quote(DescribeToken(cur()))));
}

// ---- expressions ----

absl::StatusOr<ExprPtr> Parser::ParseCondExpr() {
  Nest nest(this);
  RTO_RETURN_IF_ERROR(CheckNesting());
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr expr1, ParseOr());
  while (SkipName("if")) {
    RTO_ASSIGN_OR_RETURN(ExprPtr test, ParseOr());
    ExprPtr expr3;
    if (SkipName("else")) {
      RTO_ASSIGN_OR_RETURN(expr3, ParseCondExpr());
    }
    RTO_ASSIGN_OR_RETURN(expr1,
                         Node(ExprKind::kCondExpr, start, Ops(std::move(expr1), std::move(test), std::move(expr3))));
  }
  return expr1;
}

absl::StatusOr<ExprPtr> Parser::ParseOr() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
  while (SkipName("or")) {
    RTO_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
    RTO_ASSIGN_OR_RETURN(left, Node(ExprKind::kOr, start, Ops(std::move(left), std::move(right))));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseAnd() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
  while (SkipName("and")) {
    RTO_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
    RTO_ASSIGN_OR_RETURN(left, Node(ExprKind::kAnd, start, Ops(std::move(left), std::move(right))));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseNot() {
  if (IsName("not")) {
    Nest nest(this);
    RTO_RETURN_IF_ERROR(CheckNesting());
    const Token start = cur();
    Next();
    RTO_ASSIGN_OR_RETURN(ExprPtr x, ParseNot());
    return Node(ExprKind::kNot, start, Ops(std::move(x)));
  }
  return ParseCompare();
}

absl::StatusOr<ExprPtr> Parser::ParseCompare() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  std::vector<ExprPtr> operands = Ops(std::move(first));
  std::vector<CmpOp> ops;
  static const std::pair<absl::string_view, CmpOp> kOps[] = {{"==", CmpOp::kEq}, {"!=", CmpOp::kNe},
                                                             {"<", CmpOp::kLt},  {"<=", CmpOp::kLe},
                                                             {">", CmpOp::kGt},  {">=", CmpOp::kGe}};
  while (true) {
    const auto it = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& p) { return IsOp(p.first); });
    if (it != std::end(kOps)) {
      Next();
      ops.push_back(it->second);
    } else if (SkipName("in")) {
      ops.push_back(CmpOp::kIn);
    } else if (IsName("not") && look().type == Tok::kName && look().text == "in") {
      Next(), Next();
      ops.push_back(CmpOp::kNotIn);
    } else {
      break;
    }
    RTO_ASSIGN_OR_RETURN(ExprPtr next, ParseMath1());
    operands.push_back(std::move(next));
  }
  if (ops.empty()) return std::move(operands[0]);
  ExprPtr e = Leaf(ExprKind::kCompare, start);
  e->operands = std::move(operands);
  e->cmp_ops = std::move(ops);
  return Finish(std::move(e));
}

absl::StatusOr<ExprPtr> Parser::ParseMath1() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
  while (IsOp("+") || IsOp("-")) {
    const BinOp op = IsOp("+") ? BinOp::kAdd : BinOp::kSub;
    Next();
    RTO_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
    ExprPtr e = Leaf(ExprKind::kBinary, start);
    e->bin_op = op;
    e->operands = Ops(std::move(left), std::move(right));
    RTO_ASSIGN_OR_RETURN(left, Finish(std::move(e)));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseConcat() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr first, ParseMath2());
  std::vector<ExprPtr> items = Ops(std::move(first));
  while (SkipOp("~")) {
    RTO_ASSIGN_OR_RETURN(ExprPtr next, ParseMath2());
    items.push_back(std::move(next));
  }
  if (items.size() == 1) return std::move(items[0]);
  return Node(ExprKind::kConcat, start, std::move(items));
}

absl::StatusOr<ExprPtr> Parser::ParseMath2() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const BinOp op = IsOp("*") ? BinOp::kMul : IsOp("/") ? BinOp::kDiv : IsOp("//") ? BinOp::kFloorDiv : BinOp::kMod;
    Next();
    RTO_ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
    ExprPtr e = Leaf(ExprKind::kBinary, start);
    e->bin_op = op;
    e->operands = Ops(std::move(left), std::move(right));
    RTO_ASSIGN_OR_RETURN(left, Finish(std::move(e)));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParsePow() {
  const Token start = cur();
  RTO_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(true));
  while (SkipOp("**")) {
    RTO_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(true));
    ExprPtr e = Leaf(ExprKind::kBinary, start);
    e->bin_op = BinOp::kPow;
    e->operands = Ops(std::move(left), std::move(right));
    RTO_ASSIGN_OR_RETURN(left, Finish(std::move(e)));
  }
  return left;
}

absl::StatusOr<ExprPtr> Parser::ParseUnary(bool with_filter) {
  Nest nest(this);
  RTO_RETURN_IF_ERROR(CheckNesting());
  const Token start = cur();
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const ExprKind kind = IsOp("-") ? ExprKind::kNeg : ExprKind::kPos;
    Next();
    RTO_ASSIGN_OR_RETURN(ExprPtr x, ParseUnary(false));
    RTO_ASSIGN_OR_RETURN(node, Node(kind, start, Ops(std::move(x))));
  } else {
    RTO_ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  RTO_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) return ParseFilterExpr(std::move(node));
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token tok = cur();
  ExprPtr e = Leaf(ExprKind::kConst, tok);
  e->constant = true;
  if (tok.type == Tok::kName) {
    Next();
    if (tok.text == "true" || tok.text == "True" || tok.text == "false" || tok.text == "False") {
      e->value = Value::Bool(tok.text == "true" || tok.text == "True");
    } else if (tok.text == "none" || tok.text == "None") {
      e->value = Value::None();
    } else {
      e->kind = ExprKind::kName;
      e->name = tok.text;
      e->constant = false;
    }
    return e;
  }
  if (tok.type == Tok::kString) {
    std::string text;
    while (cur().type == Tok::kString) {
      text += cur().text;
      Next();
    }
    e->value = Value::Str(std::move(text));
    return e;
  }
  if (tok.type == Tok::kInt || tok.type == Tok::kFloat) {
    Next();
    e->value = tok.type == Tok::kInt ? Value::Int(tok.int_value) : Value::Float(tok.float_value);
    return e;
  }
  if (SkipOp("(")) {
    RTO_ASSIGN_OR_RETURN(e, ParseTuple(true, {}, true));
    RTO_RETURN_IF_ERROR(ExpectOp(")"));
    return e;
  }
  if (IsOp("[")) return ParseList();
  if (IsOp("{")) return ParseDict();
  return Fail(absl::StrCat("unexpected ", Quote(DescribeToken(tok))));
}

absl::StatusOr<ExprPtr> Parser::ParseTuple(bool with_condexpr, const EndTags& extra_end, bool explicit_parens) {
  const Token start = cur();
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    if (IsTupleEnd(extra_end)) break;
    RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(with_condexpr));
    items.push_back(std::move(e));
    if (!IsOp(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) return Fail(absl::StrCat("Expected an expression, got ", Quote(DescribeToken(cur()))));
  }
  return Node(ExprKind::kTuple, start, std::move(items));
}

absl::StatusOr<ExprPtr> Parser::ParseList() {
  const Token start = cur();
  RTO_RETURN_IF_ERROR(ExpectOp("["));
  std::vector<ExprPtr> items;
  while (!IsOp("]")) {
    if (!items.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    if (IsOp("]")) break;
    RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression());
    items.push_back(std::move(e));
  }
  RTO_RETURN_IF_ERROR(ExpectOp("]"));
  return Node(ExprKind::kList, start, std::move(items));
}

absl::StatusOr<ExprPtr> Parser::ParseDict() {
  const Token start = cur();
  RTO_RETURN_IF_ERROR(ExpectOp("{"));
  std::vector<ExprPtr> items;
  while (!IsOp("}")) {
    if (!items.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    if (IsOp("}")) break;
    RTO_ASSIGN_OR_RETURN(ExprPtr key, ParseExpression());
    RTO_RETURN_IF_ERROR(ExpectOp(":"));
    RTO_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression());
    items.push_back(std::move(key));
    items.push_back(std::move(value));
  }
  RTO_RETURN_IF_ERROR(ExpectOp("}"));
  return Node(ExprKind::kDict, start, std::move(items));
}

absl::StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".") || IsOp("[")) {
      RTO_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
    } else if (IsOp("(")) {
      RTO_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      RTO_ASSIGN_OR_RETURN(node, ParseFilter(std::move(node), false));
    } else if (IsName("is")) {
      RTO_ASSIGN_OR_RETURN(node, ParseTest(std::move(node)));
    } else if (IsOp("(")) {
      RTO_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

absl::StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr node) {
  const Token tok = cur();
  Next();
  if (tok.text == ".") {
    const Token attr = cur();
    Next();
    if (attr.type == Tok::kName) {
      ExprPtr e = Leaf(ExprKind::kGetattr, tok);
      e->name = attr.text;
      e->operands = Ops(std::move(node));
      return Finish(std::move(e));
    }
    if (attr.type != Tok::kInt) return FailAt(attr, "expected name or number");
    ExprPtr key = Leaf(ExprKind::kConst, attr);
    key->constant = true;
    key->value = Value::Int(attr.int_value);
    return Node(ExprKind::kGetitem, tok, Ops(std::move(node), std::move(key)));
  }
  std::vector<ExprPtr> args;
  while (!IsOp("]")) {
    if (!args.empty()) RTO_RETURN_IF_ERROR(ExpectOp(","));
    RTO_ASSIGN_OR_RETURN(ExprPtr a, ParseSubscribed());
    args.push_back(std::move(a));
  }
  RTO_RETURN_IF_ERROR(ExpectOp("]"));
  ExprPtr key;
  if (args.size() == 1) {
    key = std::move(args[0]);
  } else {
    RTO_ASSIGN_OR_RETURN(key, Node(ExprKind::kTuple, tok, std::move(args)));
  }
  return Node(ExprKind::kGetitem, tok, Ops(std::move(node), std::move(key)));
}

absl::StatusOr<ExprPtr> Parser::ParseSubscribed() {
  const Token start = cur();
  std::vector<ExprPtr> parts;
  if (SkipOp(":")) {
    parts.push_back(nullptr);
  } else {
    RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression());
    if (!SkipOp(":")) return e;
    parts.push_back(std::move(e));
  }
  auto part_end = [&] { return IsOp("]") || IsOp(","); };
  if (IsOp(":") || part_end()) {
    parts.push_back(nullptr);
  } else {
    RTO_ASSIGN_OR_RETURN(ExprPtr stop, ParseExpression());
    parts.push_back(std::move(stop));
  }
  if (SkipOp(":") && !part_end()) {
    RTO_ASSIGN_OR_RETURN(ExprPtr step, ParseExpression());
    parts.push_back(std::move(step));
  } else {
    parts.push_back(nullptr);
  }
  return Node(ExprKind::kSlice, start, std::move(parts));
}

absl::Status Parser::ParseCallArgs(ArgExprs* args) {
  const Token open = cur();
  RTO_RETURN_IF_ERROR(ExpectOp("("));
  bool require_comma = false;
  auto ensure = [&](bool ok) {
    return ok ? absl::OkStatus() : FailAt(open, "invalid syntax for function call expression");
  };
  while (!IsOp(")")) {
    if (require_comma) {
      RTO_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
    }
    if (IsOp("*") || IsOp("**")) {
      const bool star = IsOp("*");
      RTO_RETURN_IF_ERROR(ensure(star ? !args->star && !args->dstar : !args->dstar));
      Next();
      RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression());
      (star ? args->star : args->dstar) = std::move(e);
    } else if (cur().type == Tok::kName && look().type == Tok::kOp && look().text == "=") {
      RTO_RETURN_IF_ERROR(ensure(!args->dstar));
      std::string key = cur().text;
      Next(), Next();
      RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression());
      args->keywords.emplace_back(std::move(key), std::move(e));
    } else {
      RTO_RETURN_IF_ERROR(ensure(!args->star && !args->dstar && args->keywords.empty()));
      RTO_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression());
      args->positional.push_back(std::move(e));
    }
    require_comma = true;
  }
  return ExpectOp(")");
}

absl::StatusOr<ExprPtr> Parser::ParseCall(ExprPtr node) {
  ExprPtr e = Leaf(ExprKind::kCall, cur());
  RTO_RETURN_IF_ERROR(ParseCallArgs(&e->args));
  e->operands = Ops(std::move(node));
  return Finish(std::move(e));
}

absl::StatusOr<std::string> Parser::ParseDottedName() {
  RTO_ASSIGN_OR_RETURN(Token name, Expect(Tok::kName, "name"));
  std::string out = name.text;
  while (SkipOp(".")) {
    RTO_ASSIGN_OR_RETURN(Token part, Expect(Tok::kName, "name"));
    absl::StrAppend(&out, ".", part.text);
  }
  return out;
}

absl::StatusOr<ExprPtr> Parser::ParseFilter(ExprPtr node, bool start_inline) {
  while (IsOp("|") || start_inline) {
    if (!start_inline) Next();
    start_inline = false;
    ExprPtr e = Leaf(ExprKind::kFilter, cur());
    RTO_ASSIGN_OR_RETURN(e->name, ParseDottedName());
    if (IsOp("(")) RTO_RETURN_IF_ERROR(ParseCallArgs(&e->args));
    e->unknown_name = FilterSupport(e->name) == Support::kUnknown;
    e->operands = Ops(std::move(node));
    RTO_ASSIGN_OR_RETURN(node, Finish(std::move(e)));
  }
  return node;
}

absl::StatusOr<ExprPtr> Parser::ParseTest(ExprPtr node) {
  const Token is = cur();
  Next();
  const bool negated = SkipName("not");
  ExprPtr e = Leaf(ExprKind::kTest, is);
  RTO_ASSIGN_OR_RETURN(e->name, ParseDottedName());
  const Tok t = cur().type;
  const bool arg_start =
      t == Tok::kName || t == Tok::kString || t == Tok::kInt || t == Tok::kFloat || IsOp("[") || IsOp("{");
  if (IsOp("(")) {
    RTO_RETURN_IF_ERROR(ParseCallArgs(&e->args));
  } else if (arg_start && !IsName("else") && !IsName("or") && !IsName("and")) {
    if (IsName("is")) return Fail("You cannot chain multiple tests with is");
    RTO_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    RTO_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    e->args.positional.push_back(std::move(arg));
  }
  e->unknown_name = TestSupport(e->name) == Support::kUnknown;
  e->operands = Ops(std::move(node));
  RTO_ASSIGN_OR_RETURN(node, Finish(std::move(e)));
  if (negated) return Node(ExprKind::kNot, is, Ops(std::move(node)));
  return node;
}

// jinja2 refuses an unknown filter or test when it compiles the template, unless it sits in an
// if statement or an inline if ("soft" frames), where it fails only if it runs. Loops, macros,
// call, filter, set and with blocks open frames that are not soft.
class NameCheck {
 public:
  absl::Status CheckBody(const Body& body, bool soft) {
    for (const StmtPtr& s : body) RTO_RETURN_IF_ERROR(Statement(*s, soft));
    return absl::OkStatus();
  }

 private:
  absl::Status Statement(const Stmt& s, bool soft) {
    for (const ExprPtr& e : s.exprs) RTO_RETURN_IF_ERROR(Expression(e.get(), soft));
    RTO_RETURN_IF_ERROR(Expression(s.expr.get(), soft));
    RTO_RETURN_IF_ERROR(Expression(s.cond.get(), false));
    for (const auto& [test, branch] : s.branches) {
      RTO_RETURN_IF_ERROR(Expression(test.get(), true));
      RTO_RETURN_IF_ERROR(CheckBody(branch, true));
    }
    const bool inner_soft = s.kind == StmtKind::kIf;
    RTO_RETURN_IF_ERROR(CheckBody(s.body, inner_soft));
    RTO_RETURN_IF_ERROR(CheckBody(s.else_body, inner_soft));
    if (s.macro) {
      for (const ExprPtr& d : s.macro->defaults) RTO_RETURN_IF_ERROR(Expression(d.get(), false));
      RTO_RETURN_IF_ERROR(CheckBody(s.macro->body, false));
    }
    return absl::OkStatus();
  }

  absl::Status Expression(const Expr* e, bool soft) {
    if (e == nullptr) return absl::OkStatus();
    if (e->unknown_name && !soft) {
      return absl::InvalidArgumentError(absl::StrCat("line ", e->line, ", column ", e->column, ": No ",
                                                     e->kind == ExprKind::kFilter ? "filter" : "test", " named ",
                                                     Quote(e->name), "."));
    }
    const bool inner = soft || e->kind == ExprKind::kCondExpr;
    for (const ExprPtr& o : e->operands) RTO_RETURN_IF_ERROR(Expression(o.get(), inner));
    for (const ExprPtr& o : e->args.positional) RTO_RETURN_IF_ERROR(Expression(o.get(), inner));
    for (const auto& kv : e->args.keywords) RTO_RETURN_IF_ERROR(Expression(kv.second.get(), inner));
    RTO_RETURN_IF_ERROR(Expression(e->args.star.get(), inner));
    return Expression(e->args.dstar.get(), inner);
  }
};

}  // namespace

// jinja2's idtracking.py: how each scope's names start out. A scope's own statements are read in
// order (not descending into nested scopes, except through if branches); a name read before any
// assignment and unknown to the enclosing scopes resolves from the context, an assigned name the
// enclosing scopes know aliases theirs, and an assigned name they do not know starts undefined.
// Assignments in if branches start from the outer value or the context. Enclosing scopes are
// analysed completely before the scopes nested in them, as jinja2's compiler does.
class ScopeAnalyzer {
 public:
  void Analyze(TemplateBody& t) { AnalyzeScope(nullptr, {}, {}, &t.body, nullptr, &t.scope); }

 private:
  enum class Init : uint8_t { kParam, kResolve, kAlias, kUndefined };
  struct Sym {
    const Sym* parent = nullptr;
    std::map<std::string, Init> refs;
    std::set<std::string> stores;

    bool FindRef(const std::string& n) const {
      for (const Sym* s = this; s != nullptr; s = s->parent) {
        if (s->refs.count(n) > 0) return true;
      }
      return false;
    }
    void Load(const std::string& n) {
      if (!FindRef(n)) refs[n] = Init::kResolve;
    }
    void Store(const std::string& n) {
      stores.insert(n);
      if (refs.count(n) == 0) refs[n] = parent != nullptr && parent->FindRef(n) ? Init::kAlias : Init::kUndefined;
    }
    void Param(const std::string& n) {
      stores.insert(n);
      refs[n] = Init::kParam;
    }
    void BranchUpdate(const std::vector<Sym>& branches) {
      std::set<std::string> assigned;
      for (const Sym& b : branches) assigned.insert(b.stores.begin(), b.stores.end());
      for (const std::string& n : stores) assigned.erase(n);
      for (const Sym& b : branches) {
        for (const auto& [n, init] : b.refs) refs[n] = init;
        stores.insert(b.stores.begin(), b.stores.end());
      }
      for (const std::string& n : assigned) {
        refs[n] = parent != nullptr && parent->FindRef(n) ? Init::kAlias : Init::kResolve;
      }
    }
  };

  static void TargetNames(const Target& t, std::vector<std::string>* out) {
    if (t.kind == Target::Kind::kName) out->push_back(t.name);
    for (const Target& item : t.items) TargetNames(item, out);
  }

  static void Loads(const Expr* e, Sym& sym) {
    if (e == nullptr) return;
    if (e->kind == ExprKind::kName) sym.Load(e->name);
    for (const ExprPtr& o : e->operands) Loads(o.get(), sym);
    for (const ExprPtr& o : e->args.positional) Loads(o.get(), sym);
    for (const auto& kv : e->args.keywords) Loads(kv.second.get(), sym);
    Loads(e->args.star.get(), sym);
    Loads(e->args.dstar.get(), sym);
  }

  static void StoreTarget(const Target& t, Sym& sym) {
    if (t.kind == Target::Kind::kNsAttr) return sym.Load(t.name);
    if (t.kind == Target::Kind::kName) return sym.Store(t.name);
    for (const Target& item : t.items) StoreTarget(item, sym);
  }

  // The if statement from branch `k` on: jinja2 nests each elif as an If in the one before.
  static void VisitIf(const Stmt& s, size_t k, Sym& sym) {
    Loads(s.branches[k].first.get(), sym);
    Sym body = sym, elifs = sym, other = sym;
    VisitBody(s.branches[k].second, body);
    if (k == 0) {
      for (size_t j = 1; j < s.branches.size(); ++j) VisitIf(s, j, elifs);
      VisitBody(s.else_body, other);
    }
    sym.BranchUpdate({body, elifs, other});
  }

  static void VisitStmt(const Stmt& s, Sym& sym) {
    switch (s.kind) {
      case StmtKind::kOutput:
        for (const ExprPtr& e : s.exprs) Loads(e.get(), sym);
        break;
      case StmtKind::kIf: VisitIf(s, 0, sym); break;
      case StmtKind::kSet:
        Loads(s.expr.get(), sym);
        StoreTarget(s.target, sym);
        break;
      case StmtKind::kSetBlock: StoreTarget(s.target, sym); break;
      case StmtKind::kMacro: sym.Store(s.macro->name); break;
      case StmtKind::kFor:
      case StmtKind::kCallBlock:
      case StmtKind::kFilterBlock: Loads(s.expr.get(), sym); break;
      case StmtKind::kWith:
        for (const ExprPtr& e : s.exprs) Loads(e.get(), sym);
        break;
      default: break;
    }
  }

  static void VisitBody(const Body& body, Sym& sym) {
    for (const StmtPtr& s : body) VisitStmt(*s, sym);
  }

  void AnalyzeScope(const Sym* parent, const std::vector<std::string>& params, const std::vector<const Expr*>& loads,
                    Body* body, const Expr* trailing, ScopeInfo* out) {
    Sym sym;
    sym.parent = parent;
    for (const std::string& p : params) sym.Param(p);
    for (const Expr* e : loads) Loads(e, sym);
    VisitBody(*body, sym);
    Loads(trailing, sym);
    for (const auto& [n, init] : sym.refs) {
      if (init == Init::kUndefined) out->undefined_until_set.push_back(n);
    }
    NestedScopes(*body, sym);
  }

  void NestedScopes(Body& body, const Sym& sym) {
    for (StmtPtr& s : body) {
      std::vector<std::string> params;
      switch (s->kind) {
        case StmtKind::kIf:
          for (auto& branch : s->branches) NestedScopes(branch.second, sym);
          NestedScopes(s->else_body, sym);
          break;
        case StmtKind::kFor:
          TargetNames(s->target, &params);
          params.push_back("loop");
          AnalyzeScope(&sym, params, {}, &s->body, nullptr, &s->scope);
          AnalyzeScope(&sym, {}, {}, &s->else_body, nullptr, &s->else_scope);
          break;
        case StmtKind::kMacro:
        case StmtKind::kCallBlock: {
          std::vector<const Expr*> defaults;
          for (const ExprPtr& d : s->macro->defaults) defaults.push_back(d.get());
          AnalyzeScope(&sym, s->macro->params, defaults, &s->macro->body, nullptr, &s->macro->scope);
          break;
        }
        case StmtKind::kWith:
          for (const Target& t : s->targets) TargetNames(t, &params);
          AnalyzeScope(&sym, params, {}, &s->body, nullptr, &s->scope);
          break;
        case StmtKind::kSetBlock:
        case StmtKind::kScope: AnalyzeScope(&sym, {}, {}, &s->body, nullptr, &s->scope); break;
        case StmtKind::kFilterBlock: AnalyzeScope(&sym, {}, {}, &s->body, s->expr.get(), &s->scope); break;
        default: break;
      }
    }
  }
};

absl::StatusOr<std::unique_ptr<TemplateBody>> ParseTemplate(absl::string_view source) {
  RTO_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Body> body, Parser(std::move(tokens)).Run());
  RTO_RETURN_IF_ERROR(NameCheck().CheckBody(*body, false));
  auto t = std::make_unique<TemplateBody>();
  t->body = std::move(*body);
  ScopeAnalyzer().Analyze(*t);
  return t;
}

}  // namespace rto::jinja
