#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"
#include "common/data/jsonl.h"
#include "common/generate/generate.h"
#include "common/model/checkpoint.h"
#include "common/runtime/threads.h"
#include "common/safetensors/directory.h"
#include "common/tokenizer/chat_format.h"
#include "common/tokenizer/tokenizer.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "nlohmann/json.hpp"
#include "services/rto/commands.h"

namespace rto {
namespace {

using nlohmann::json;

int Fail(absl::string_view command, const absl::Status& status) {
  std::cerr << "rto " << command << ": error: " << status.message() << "\n";
  return 1;
}

// A model directory carries its tokenizer, as HF directories do.
absl::Status CopyTokenizerFiles(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  RTO_RETURN_IF_ERROR(LoadTokenizer(from).status());  // validate before copying
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    std::error_code ec;
    if (!fs::exists(fs::path(from) / name, ec)) continue;
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString((fs::path(from) / name).string()));
    RTO_RETURN_IF_ERROR(WriteFileAtomically((fs::path(to) / name).string(), text));
  }
  return absl::OkStatus();
}

absl::Status ModelInit(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"config", "out", "seed", "dtype", "tokenizer"}));
  RTO_ASSIGN_OR_RETURN(std::string config_path, args.GetRequired("config"));
  RTO_ASSIGN_OR_RETURN(std::string out, args.GetRequired("out"));
  RTO_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 0));
  RTO_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(config_path));
  RTO_ASSIGN_OR_RETURN(at::ScalarType dtype, ParseScalarType(args.GetString("dtype", config.torch_dtype)));
  RTO_ASSIGN_OR_RETURN(auto model, Transformer::Create(config, dtype, at::kCPU));
  model->InitRandom(static_cast<uint64_t>(seed));
  RTO_RETURN_IF_ERROR(SaveModel(*model, out));
  if (args.Has("tokenizer")) RTO_RETURN_IF_ERROR(CopyTokenizerFiles(args.GetString("tokenizer", ""), out));
  std::cout << absl::StrFormat("wrote %s: %s, %d parameters, %s, seed %d\n", out, config.ArchitectureName(),
                               config.NumParameters(), ScalarTypeName(dtype), seed);
  return absl::OkStatus();
}

absl::Status ModelInspect(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {}));
  if (args.positionals().size() != 1) return absl::InvalidArgumentError("usage: rto model inspect DIR");
  const std::string& dir = args.positionals()[0];
  // Loading validates config.json and every tensor's name, shape and dtype.
  RTO_ASSIGN_OR_RETURN(auto model, LoadModel(dir));
  RTO_ASSIGN_OR_RETURN(auto weights, safetensors::Directory::Open(dir));
  const ModelConfig& c = model->config();
  std::map<std::string, int64_t> stored;  // dtype name -> tensor count
  uint64_t bytes = 0;
  for (const auto& [name, entry] : weights->tensors()) {
    ++stored[std::string(safetensors::DTypeName(entry.info->dtype))];
    bytes += entry.info->num_bytes();
  }
  std::string stored_text;
  for (const auto& [name, count] : stored)
    absl::StrAppend(&stored_text, stored_text.empty() ? "" : ", ", name, " x", count);
  const char* rope = c.rope_scaling.type == RopeScaling::Type::kNone     ? "none"
                     : c.rope_scaling.type == RopeScaling::Type::kLinear ? "linear"
                                                                         : "llama3";
  std::cout << absl::StrFormat(
      "%s\n"
      "  architecture      %s (model_type %s)\n"
      "  layers            %d\n"
      "  hidden / ffn      %d / %d\n"
      "  heads / kv heads  %d / %d (head_dim %d)\n"
      "  vocab             %d\n"
      "  rope              theta %g, scaling %s, max positions %d\n"
      "  biases            qkv %s, o %s, mlp %s; tied embeddings %s; sliding window %s\n"
      "  parameters        %d\n"
      "  dtype             %s (stored: %s; %d files, %.2f MB)\n",
      dir, c.ArchitectureName(), c.model_type, c.num_hidden_layers, c.hidden_size, c.intermediate_size,
      c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size, c.rope_theta, rope,
      c.max_position_embeddings, c.qkv_bias ? "yes" : "no", c.o_bias ? "yes" : "no", c.mlp_bias ? "yes" : "no",
      c.tie_word_embeddings ? "yes" : "no", c.sliding_window ? absl::StrCat(*c.sliding_window) : "none",
      c.NumParameters(), c.torch_dtype, stored_text, weights->files().size(), bytes / 1e6);
  return absl::OkStatus();
}

// One prompt of `rto generate`: token ids as given, or text rendered with the chat template.
struct PromptInput {
  std::vector<int64_t> ids;
  json original;  // echoed back as "prompt" (text mode) or "prompt_ids"
};

// Reads {"prompt_ids": [int, ...]} lines; errors name file:line.
absl::StatusOr<std::vector<PromptInput>> ReadPromptIds(const std::string& path) {
  std::vector<PromptInput> prompts;
  absl::Status status = ReadJsonl(path, BadLinePolicy::kFail, nullptr, [&](int64_t, const json& j) {
    const json& ids = j.value("prompt_ids", json());
    if (!ids.is_array() || ids.empty()) {
      return absl::InvalidArgumentError("'prompt_ids' must be a non-empty list of token ids");
    }
    PromptInput p;
    for (const json& id : ids) {
      if (!id.is_number_unsigned()) {
        return absl::InvalidArgumentError("'prompt_ids' holds something that is not a non-negative integer");
      }
      p.ids.push_back(id.get<int64_t>());
    }
    p.original = ids;
    prompts.push_back(std::move(p));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return prompts;
}

// Reads {"prompt": text or messages} / {"messages": [...]} lines and renders them.
absl::StatusOr<std::vector<PromptInput>> ReadTextPrompts(const std::string& path, TextEncoder& encoder) {
  RTO_ASSIGN_OR_RETURN(std::vector<PromptRow> rows, ReadPrompts(path, {}));
  std::vector<PromptInput> prompts;
  for (const PromptRow& row : rows) {
    PromptInput p;
    absl::StatusOr<std::vector<int64_t>> ids = encoder.Prompt(row.prompt);
    if (!ids.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ":", row.line, ": ", ids.status().message()));
    p.ids = std::move(*ids);
    if (row.prompt.size() == 1 && row.prompt[0].role == "user") {
      p.original = row.prompt[0].content;  // so that `rto eval` can match the prompt
    } else {
      for (const ChatMessage& m : row.prompt) p.original.push_back({{"role", m.role}, {"content", m.content}});
    }
    prompts.push_back(std::move(p));
  }
  return prompts;
}

// True when the first non-blank line of a JSONL file has "prompt_ids".
bool HoldsTokenIds(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.contains("prompt_ids");
  }
  return false;
}

// --temperature, --top-k, --top-p, --seed, --max-new-tokens and --stop-token-ids (default: the
// model's EOS tokens), checked against the model's vocabulary.
absl::StatusOr<SamplingParams> ParseSampling(const Args& args, const ModelConfig& config) {
  SamplingParams params;
  RTO_ASSIGN_OR_RETURN(params.max_new_tokens, args.GetInt("max-new-tokens", 64));
  RTO_ASSIGN_OR_RETURN(params.temperature, args.GetDouble("temperature", 1.0));
  RTO_ASSIGN_OR_RETURN(params.top_k, args.GetInt("top-k", 0));
  RTO_ASSIGN_OR_RETURN(params.top_p, args.GetDouble("top-p", 1.0));
  RTO_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 0));
  params.seed = static_cast<uint64_t>(seed);
  if (args.Has("stop-token-ids")) {
    RTO_ASSIGN_OR_RETURN(params.stop_token_ids, args.GetIntList("stop-token-ids"));
  } else {
    params.stop_token_ids = config.eos_token_ids;
  }
  RTO_RETURN_IF_ERROR(ValidateSamplingParams(params, config.vocab_size));
  return params;
}

// Token ids in and out, or text through the model's tokenizer and chat template (then
// *tokenizer is set, to decode the responses).
absl::StatusOr<std::vector<PromptInput>> ReadGenerationPrompts(const Args& args, const std::string& path,
                                                               const std::string& model_dir,
                                                               std::unique_ptr<Tokenizer>* tokenizer) {
  if (HoldsTokenIds(path)) return ReadPromptIds(path);
  RTO_ASSIGN_OR_RETURN(*tokenizer, LoadTokenizer(args.GetString("tokenizer", model_dir)));
  TextEncoderOptions text;
  RTO_ASSIGN_OR_RETURN(text.chat_template, ChatFormat::Of(**tokenizer, args.GetString("chat-template", "")));
  RTO_ASSIGN_OR_RETURN(text.max_prompt_tokens, args.GetInt("max-prompt-tokens", 0));
  TextEncoder encoder(**tokenizer, text);
  return ReadTextPrompts(path, encoder);
}

// One JSONL line per prompt, batch by batch; *new_tokens counts the generated tokens.
absl::StatusOr<std::string> GenerateLines(const Transformer& model, const std::vector<PromptInput>& prompts,
                                          const SamplingParams& params, int64_t batch_size, const Tokenizer* tokenizer,
                                          int64_t* new_tokens) {
  std::string output;
  for (size_t begin = 0; begin < prompts.size(); begin += batch_size) {
    size_t end = std::min(prompts.size(), begin + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> batch;
    std::vector<uint64_t> seeds;  // the line index keys each prompt's random stream
    for (size_t i = begin; i < end; ++i) {
      batch.push_back(prompts[i].ids);
      seeds.push_back(i);
    }
    RTO_ASSIGN_OR_RETURN(std::vector<Generation> gens, Generate(model, batch, params, seeds));
    for (size_t i = 0; i < gens.size(); ++i) {
      const Generation& g = gens[i];
      json line = {{"index", begin + i},
                   {"response_ids", g.tokens},
                   {"logprobs", g.logprobs},
                   {"finish_reason", g.finish_reason == FinishReason::kStop ? "stop" : "length"}};
      if (tokenizer != nullptr) {
        line["prompt"] = prompts[begin + i].original;
        line["response"] = tokenizer->Decode(g.tokens, /*skip_special_tokens=*/true);
      } else {
        line["prompt_ids"] = prompts[begin + i].original;
      }
      output += line.dump() + "\n";
      *new_tokens += static_cast<int64_t>(g.tokens.size());
    }
  }
  return output;
}

absl::Status GenerateRun(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(argv, {"model", "prompts", "out", "max-new-tokens", "temperature", "top-k", "top-p",
                                          "seed", "batch-size", "stop-token-ids", "dtype", "device", "tokenizer",
                                          "chat-template", "max-prompt-tokens", "threads"}));
  RTO_ASSIGN_OR_RETURN(int64_t threads, args.GetInt("threads", 0));
  if (threads < 0) return absl::InvalidArgumentError("--threads must be >= 0 (0: every core this process may use)");
  ApplyThreadPlan({.intra_op = threads});
  RTO_ASSIGN_OR_RETURN(std::string model_dir, args.GetRequired("model"));
  RTO_ASSIGN_OR_RETURN(std::string prompts_path, args.GetRequired("prompts"));
  RTO_ASSIGN_OR_RETURN(std::string out_path, args.GetRequired("out"));
  RTO_ASSIGN_OR_RETURN(int64_t batch_size, args.GetInt("batch-size", 16));
  if (batch_size < 1) return absl::InvalidArgumentError("--batch-size must be at least 1");
  LoadOptions load;
  if (args.Has("dtype")) {
    RTO_ASSIGN_OR_RETURN(load.dtype, ParseScalarType(args.GetString("dtype", "")));
  }
  RTO_ASSIGN_OR_RETURN(load.device, ParseDevice(args.GetString("device", "cpu")));
  RTO_ASSIGN_OR_RETURN(auto model, LoadModel(model_dir, load));
  RTO_ASSIGN_OR_RETURN(SamplingParams params, ParseSampling(args, model->config()));
  std::unique_ptr<Tokenizer> tokenizer;
  RTO_ASSIGN_OR_RETURN(std::vector<PromptInput> prompts,
                       ReadGenerationPrompts(args, prompts_path, model_dir, &tokenizer));

  int64_t new_tokens = 0;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> output = GenerateLines(*model, prompts, params, batch_size, tokenizer.get(), &new_tokens);
  if (!output.ok()) return absl::InvalidArgumentError(absl::StrCat(prompts_path, ": ", output.status().message()));
  RTO_RETURN_IF_ERROR(WriteFileAtomically(out_path, *output));
  const double seconds = SecondsSince(start);
  std::cout << absl::StrFormat("wrote %d responses to %s: %d new tokens in %.2f s (%.1f tokens/s)\n", prompts.size(),
                               out_path, new_tokens, seconds, new_tokens / std::max(seconds, 1e-9));
  return absl::OkStatus();
}

}  // namespace

int ModelInitCommand(const std::vector<std::string>& args) {
  absl::Status s = ModelInit(args);
  return s.ok() ? 0 : Fail("model init", s);
}

int ModelInspectCommand(const std::vector<std::string>& args) {
  absl::Status s = ModelInspect(args);
  return s.ok() ? 0 : Fail("model inspect", s);
}

int GenerateCommand(const std::vector<std::string>& args) {
  absl::Status s = GenerateRun(args);
  return s.ok() ? 0 : Fail("generate", s);
}

}  // namespace rto
