// `rto tokenize --model DIR [--chat] [--chat-template NAME] [--no-special-tokens] [--decode]
// [--skip-special-tokens]`: a model directory's tokenizer on stdin and stdout, for checking a
// tokenizer by hand and for the parity tests against the Python libraries.
//
// - Default: the whole of stdin, byte for byte, is one text; its ids go to stdout as one line,
//   separated by spaces. --no-special-tokens leaves out what the tokenizer adds around a
//   sequence (HF's add_special_tokens=False).
// - --chat: stdin is JSONL in the prompt formats of the datasets ({"prompt": text or messages}
//   or {"messages": [...]}); each row is rendered with the chat template (the tokenizer's, or
//   --chat-template) ending in the assistant's header, as `rto generate` and the trainers do,
//   and its ids go to stdout as one line.
// - --decode: stdin holds ids separated by whitespace; their text goes to stdout as it is
//   (--skip-special-tokens drops special tokens).
#include <iostream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"
#include "common/tokenizer/chat_format.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/args.h"
#include "common/util/status_macros.h"
#include "services/rto/commands.h"

namespace rto {
namespace {

// Whitespace-separated token ids, each checked against the vocabulary.
absl::StatusOr<std::vector<int64_t>> ReadIds(const std::string& text, int64_t vocab_size) {
  std::vector<int64_t> ids;
  for (absl::string_view word : absl::StrSplit(text, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(word, &id)) {
      return absl::InvalidArgumentError(absl::StrCat("stdin: '", word, "' is not a token id"));
    }
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("stdin: token id ", id, " is outside the vocabulary (", vocab_size, " tokens)"));
    }
    ids.push_back(id);
  }
  return ids;
}

absl::Status Tokenize(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"model", "chat-template"},
                                              {"chat", "decode", "no-special-tokens", "skip-special-tokens"}));
  if (!args.positionals().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args.positionals()[0], "'"));
  }
  if (args.Has("chat") && args.Has("decode")) return absl::InvalidArgumentError("give --chat or --decode, not both");
  RTO_ASSIGN_OR_RETURN(const std::string model, args.GetRequired("model"));
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(model));
  if (!args.Has("chat")) {
    const std::string text(std::istreambuf_iterator<char>(std::cin), {});
    if (args.Has("decode")) {
      RTO_ASSIGN_OR_RETURN(const std::vector<int64_t> ids, ReadIds(text, tokenizer->vocab_size()));
      std::cout << tokenizer->Decode(ids, args.Has("skip-special-tokens"));
      return absl::OkStatus();
    }
    const std::vector<int64_t> ids = tokenizer->Encode(text, {.add_special_tokens = !args.Has("no-special-tokens")});
    std::cout << absl::StrJoin(ids, " ") << "\n";
    return absl::OkStatus();
  }
  TextEncoderOptions options;
  RTO_ASSIGN_OR_RETURN(options.chat_template, ChatFormat::Of(*tokenizer, args.GetString("chat-template", "")));
  TextEncoder encoder(*tokenizer, options);
  RTO_ASSIGN_OR_RETURN(const std::vector<PromptRow> rows, ReadPrompts("/dev/stdin", {}));
  for (const PromptRow& row : rows) {
    absl::StatusOr<std::vector<int64_t>> ids = encoder.Prompt(row.prompt);
    if (!ids.ok()) return absl::InvalidArgumentError(absl::StrCat("stdin:", row.line, ": ", ids.status().message()));
    std::cout << absl::StrJoin(*ids, " ") << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

int TokenizeCommand(const std::vector<std::string>& args) { return Report("tokenize", Tokenize(args)); }

}  // namespace rto
