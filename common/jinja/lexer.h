// The Jinja lexer, as jinja2's lexer.py with trim_blocks and lstrip_blocks on (transformers'
// chat-template environment): template text, {{ }}, {% %}, {# #}, {% raw %}, the -/+ whitespace
// modifiers and the tokens inside tags.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto::jinja {

enum class Tok : uint8_t { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok type = Tok::kEof;
  std::string text;  // data, a name, a decoded string literal, an operator ("**", "(")
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
  int column = 1;
};

// Tokenizes a template. The source's newlines are normalised to \n and one trailing newline is
// dropped (keep_trailing_newline=False), as jinja2 does. Errors are InvalidArgument
// "line L, column C: <what>" (an unterminated comment or raw block, a stray character in a tag,
// unbalanced brackets, a bad escape in a string literal).
absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view source);

// Python's name for a token in messages ("end of print statement", "'}'").
std::string DescribeToken(const Token& t);

}  // namespace rto::jinja
