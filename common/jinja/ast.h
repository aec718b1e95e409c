// The syntax tree of a parsed template, as jinja2's nodes.py for the statements and expressions
// chat templates use. Built by parse.cc, walked by render.cc; immutable once parsed.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/jinja/value.h"

namespace rto::jinja {

enum class ExprKind : uint8_t {
  kConst,     // value
  kName,      // name
  kList,      // operands: items
  kTuple,     // operands: items
  kDict,      // operands: key, value, key, value...
  kGetattr,   // operands: [object]; name: attribute
  kGetitem,   // operands: [object, key]
  kSlice,     // operands: [start, stop, step], each may be null
  kCall,      // operands: [callee]; args
  kFilter,    // operands: [value] (null in filter blocks: the block's text); name; args
  kTest,      // operands: [value]; name; args
  kNeg,       // operands: [x]
  kPos,       // operands: [x]
  kNot,       // operands: [x]
  kBinary,    // operands: [a, b]; bin_op
  kAnd,       // operands: [a, b]
  kOr,        // operands: [a, b]
  kConcat,    // operands: items joined as strings (~)
  kCompare,   // operands: [first, then one per cmp_ops entry]
  kCondExpr,  // operands: [then, test, else (may be null)]
};

enum class BinOp : uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct ArgExprs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  ExprPtr star;   // *args
  ExprPtr dstar;  // **kwargs
};

struct Expr {
  ExprKind kind = ExprKind::kConst;
  int line = 0;
  int column = 0;
  int depth = 1;  // of the subtree, bounded by the parser so that walking it cannot exhaust the stack
  // jinja2's optimizer folds this subtree at compile time (no names, calls or context filters),
  // which changes what a failing slice does (see Renderer::EvalSlice).
  bool constant = false;
  Value value;
  std::string name;
  BinOp bin_op = BinOp::kAdd;
  std::vector<CmpOp> cmp_ops;
  std::vector<ExprPtr> operands;
  ArgExprs args;
  // kFilter / kTest: the name is not a known filter or test, which jinja2 reports only when the
  // expression runs because it sits in an if statement or an inline if.
  bool unknown_name = false;
};

// An assignment target: a name, a tuple of targets (for k, v in ...), or namespace.attr.
struct Target {
  enum class Kind : uint8_t { kName, kTuple, kNsAttr } kind = Kind::kName;
  std::string name;
  std::string attr;
  std::vector<Target> items;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// What jinja2's compile-time name resolution (idtracking.py) decided for one scope (the template,
// a loop body, a macro, a with/set/filter block): the names it assigns that start out undefined.
// Such a name reads as Undefined until assigned, in the scope and in the scopes nested in it,
// rather than falling through to an outer value or the context: `{% for %}{{ x }}{% endfor %}
// {% set x = 1 %}` prints nothing even when the context has x. (Names the scope reads before it
// assigns them, or assigns only in if branches, start from the outer value, as the dynamic lookup
// gives anyway.)
struct ScopeInfo {
  std::vector<std::string> undefined_until_set;
};

// A macro, or the caller of a {% call %} block.
struct MacroDef {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
  bool uses_caller = false;       // the body reads `caller`
  bool uses_varargs = false;      // the body reads `varargs`: extra positional arguments allowed
  bool uses_kwargs = false;       // the body reads `kwargs`: extra keyword arguments allowed
  Body body;
  ScopeInfo scope;
};

enum class StmtKind : uint8_t {
  kText,         // text
  kOutput,       // exprs: {{ x }} or {% print a, b %}
  kIf,           // branches (if, elif...), else_body
  kFor,          // target, expr (iterable), cond (the `if` filter, may be null), body, else_body
  kSet,          // target, expr
  kSetBlock,     // target, expr (filter chain, may be null), body
  kMacro,        // macro
  kCallBlock,    // expr (the call), macro (the caller)
  kFilterBlock,  // expr (filter chain), body
  kWith,         // targets, exprs (values), body
  kBreak,
  kContinue,
  kScope,  // {% generation %}: renders its body
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  int line = 0;
  std::string text;
  std::vector<ExprPtr> exprs;
  ExprPtr expr;
  ExprPtr cond;
  Target target;
  std::vector<Target> targets;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::unique_ptr<MacroDef> macro;
  ScopeInfo scope;       // of body (for, with, set block, filter block, generation)
  ScopeInfo else_scope;  // of else_body (for)
};

// A parsed template (jinja.h's Template holds one).
struct TemplateBody {
  Body body;
  ScopeInfo scope;
};

}  // namespace rto::jinja
