#include "common/synth/tasks.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/tokenizer/unicode.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto::synth {
namespace {

using nlohmann::json;

// Draws built on raw mt19937_64 output (which the standard fixes), not on std distributions
// (whose output differs between standard libraries), so a seed means the same data everywhere.
double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
int64_t UniformInt(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\n\r"), absl::SkipEmpty());
}

const std::vector<std::string>& Lexicon() {
  static const std::vector<std::string> words = {
      "bright", "calm",  "dark",  "eager", "faint", "gentle", "harsh", "idle",  "jolly", "keen", "lively", "mild",
      "noisy",  "odd",   "proud", "quiet", "rough", "sharp",  "tidy",  "ugly",  "vivid", "warm", "young",  "zesty",
      "bold",   "cold",  "dull",  "fresh", "grim",  "happy",  "icy",   "jaded", "kind",  "lazy", "messy",  "neat",
      "open",   "plain", "rapid", "sad",   "tame",  "vast",   "wild",  "brave", "crisp", "dry",  "fair",   "glad"};
  return words;
}

const std::vector<std::string>& Topics() {
  static const std::vector<std::string> topics = {"sea",    "forest", "city",  "winter",  "market", "river",
                                                  "desert", "garden", "storm", "library", "harbor", "mountain"};
  return topics;
}

// The number after `prefix` in `prompt`, e.g. "Count up from 17:" -> 17.
int64_t NumberAfter(absl::string_view prompt, absl::string_view prefix) {
  size_t at = prompt.find(prefix);
  if (at == absl::string_view::npos) return 0;
  int64_t n = 0;
  for (size_t i = at + prefix.size(); i < prompt.size() && std::isdigit(static_cast<unsigned char>(prompt[i])); ++i) {
    n = n * 10 + (prompt[i] - '0');
  }
  return n;
}

class LexiconTask : public Task {
 public:
  static constexpr int kMaxWords = 8;
  explicit LexiconTask(uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0x1E81C0Aull);
    for (size_t i = 0; i < Lexicon().size(); ++i) scores_[Lexicon()[i]] = 2 * Uniform01(rng) - 1;  // hidden
  }
  std::string name() const override { return "lexicon"; }
  std::string SamplePrompt(std::mt19937_64& rng) const override {
    return absl::StrCat("Describe the ", Topics()[rng() % Topics().size()], " in a few words.");
  }
  std::string SampleResponse(absl::string_view, std::mt19937_64& rng) const override {
    // The demonstrator leans a little toward good words: better than chance, far from the best.
    std::vector<double> weights;
    double total = 0;
    for (const std::string& w : Lexicon()) total += weights.emplace_back(std::exp(0.8 * scores_.at(w)));
    std::vector<std::string> out;
    for (int64_t n = UniformInt(rng, 3, kMaxWords); n > 0; --n) {
      double u = Uniform01(rng) * total;
      size_t i = 0;
      while (i + 1 < weights.size() && u >= weights[i]) u -= weights[i++];
      out.push_back(Lexicon()[i]);
    }
    return " " + absl::StrJoin(out, " ");
  }
  std::string IdealResponse(absl::string_view) const override {
    std::string best = Lexicon()[0];
    for (const std::string& w : Lexicon()) best = scores_.at(w) > scores_.at(best) ? w : best;
    std::vector<std::string> out(kMaxWords, best);
    return " " + absl::StrJoin(out, " ");
  }
  double GoldReward(absl::string_view, absl::string_view response) const override {
    double total = 0;
    std::vector<std::string> words = Words(response);
    for (size_t i = 0; i < words.size(); ++i) {
      auto it = scores_.find(words[i]);
      total += (i < kMaxWords && it != scores_.end()) ? it->second : -1.0;  // unknown or surplus words cost 1
    }
    return total;
  }
  double label_sharpness() const override { return 1.0; }

 private:
  std::map<std::string, double> scores_;
};

class CountTask : public Task {
 public:
  static constexpr int kMaxItems = 10;
  std::string name() const override { return "count"; }
  std::string SamplePrompt(std::mt19937_64& rng) const override {
    return absl::StrCat("Count up from ", UniformInt(rng, 0, 89), ":");
  }
  std::string SampleResponse(absl::string_view prompt, std::mt19937_64& rng) const override {
    int64_t prev = NumberAfter(prompt, "from ");
    std::vector<std::string> out;
    for (int64_t n = UniformInt(rng, 3, kMaxItems); n > 0; --n) {
      double u = Uniform01(rng);
      prev = u < 0.75 ? prev + 1 : u < 0.9 ? prev + 2 : UniformInt(rng, 0, 99);  // slips, as a weak model's
      out.push_back(absl::StrCat(prev));
    }
    return " " + absl::StrJoin(out, " ");
  }
  std::string IdealResponse(absl::string_view prompt) const override {
    int64_t start = NumberAfter(prompt, "from ");
    std::vector<std::string> out;
    for (int i = 1; i <= kMaxItems; ++i) out.push_back(absl::StrCat(start + i));
    return " " + absl::StrJoin(out, " ");
  }
  double GoldReward(absl::string_view prompt, absl::string_view response) const override {
    int64_t prev = NumberAfter(prompt, "from ");
    double total = 0;
    std::vector<std::string> items = Words(response);
    for (size_t i = 0; i < items.size(); ++i) {
      int64_t v;
      bool number = absl::SimpleAtoi(items[i], &v);
      total += (i < kMaxItems && number && v == prev + 1) ? 1.0 : -1.0;
      if (number) prev = v;
    }
    return total;
  }
  double label_sharpness() const override { return 0.5; }
};

class ExactLengthTask : public Task {
 public:
  std::string name() const override { return "exact_length"; }
  std::string SamplePrompt(std::mt19937_64& rng) const override {
    return absl::StrCat("Write exactly ", UniformInt(rng, 3, 9), " words.");
  }
  std::string SampleResponse(absl::string_view prompt, std::mt19937_64& rng) const override {
    int64_t n = std::max<int64_t>(1, NumberAfter(prompt, "exactly ") + UniformInt(rng, -3, 3));
    std::vector<std::string> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(Lexicon()[rng() % Lexicon().size()]);
    return " " + absl::StrJoin(out, " ");
  }
  std::string IdealResponse(absl::string_view prompt) const override {
    std::vector<std::string> out(NumberAfter(prompt, "exactly "), "calm");
    return " " + absl::StrJoin(out, " ");
  }
  double GoldReward(absl::string_view prompt, absl::string_view response) const override {
    return -std::abs(static_cast<double>(Words(response).size()) -
                     static_cast<double>(NumberAfter(prompt, "exactly ")));
  }
  double label_sharpness() const override { return 1.0; }
};

// A byte-level tokenizer.json (GPT-2 pre-tokenizer, no merges: one token per byte) with one
// special token, and a chat template in Jinja that HF renders the way rto's "plain" does.
json TokenizerJson() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) {
    std::string token;
    unicode::AppendUtf8(unicode::ByteToCodePoint()[b], &token);
    vocab[token] = b;
  }
  vocab["<|endoftext|>"] = 256;
  return {{"version", "1.0"},
          {"added_tokens",
           {{{"id", 256},
             {"content", "<|endoftext|>"},
             {"single_word", false},
             {"lstrip", false},
             {"rstrip", false},
             {"normalized", false},
             {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", json::array()}}}};
}

constexpr char kPlainJinja[] =
    "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}";

json ModelConfigJson() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", 264},
          {"hidden_size", 64},
          {"intermediate_size", 176},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"max_position_embeddings", 256},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"tie_word_embeddings", false},
          {"eos_token_id", 256},
          {"pad_token_id", 256},
          {"torch_dtype", "float32"}};
}

absl::Status WriteJsonl(const std::string& path, const std::vector<json>& rows) {
  std::string text;
  for (const json& r : rows) text += r.dump() + "\n";
  return WriteFileAtomically(path, text);
}

}  // namespace

std::vector<std::string> TaskNames() { return {"lexicon", "count", "exact_length"}; }

absl::StatusOr<std::unique_ptr<Task>> MakeTask(absl::string_view name, uint64_t seed) {
  if (name == "lexicon") return std::unique_ptr<Task>(new LexiconTask(seed));
  if (name == "count") return std::unique_ptr<Task>(new CountTask());
  if (name == "exact_length") return std::unique_ptr<Task>(new ExactLengthTask());
  return absl::InvalidArgumentError(
      absl::StrCat("unknown task '", name, "'; tasks: ", absl::StrJoin(TaskNames(), ", ")));
}

double PreferenceProbability(const Task& task, double gold_a, double gold_b) {
  return 1.0 / (1.0 + std::exp(-task.label_sharpness() * (gold_a - gold_b)));
}

absl::Status WriteSyntheticTask(const Task& task, const std::string& dir, const SynthOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "tokenizer", ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": cannot create: ", ec.message()));
  // Separate streams, so that changing one row count leaves the other files as they were.
  std::mt19937_64 sft_rng(o.seed * 4 + 1), pref_rng(o.seed * 4 + 2), rl_rng(o.seed * 4 + 3), eval_rng(o.seed * 4 + 4);

  std::vector<json> sft, prefs, rl, eval;
  for (int64_t i = 0; i < o.sft_rows; ++i) {
    std::string prompt = task.SamplePrompt(sft_rng);
    sft.push_back({{"prompt", prompt}, {"response", task.SampleResponse(prompt, sft_rng)}});
  }
  for (int64_t i = 0; i < o.preference_rows; ++i) {
    std::string prompt = task.SamplePrompt(pref_rng);
    std::string a = task.SampleResponse(prompt, pref_rng), b = task.SampleResponse(prompt, pref_rng);
    for (int tries = 0; a == b && tries < 10; ++tries) b = task.SampleResponse(prompt, pref_rng);
    double p = PreferenceProbability(task, task.GoldReward(prompt, a), task.GoldReward(prompt, b));
    bool a_wins = Uniform01(pref_rng) < p;
    prefs.push_back({{"prompt", prompt}, {"chosen", a_wins ? a : b}, {"rejected", a_wins ? b : a}});
  }
  for (int64_t i = 0; i < o.rl_prompts; ++i) rl.push_back({{"prompt", task.SamplePrompt(rl_rng)}});
  for (int64_t i = 0; i < o.eval_prompts; ++i) eval.push_back({{"prompt", task.SamplePrompt(eval_rng)}});

  const fs::path d(dir);
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "sft.jsonl").string(), sft));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "preferences.jsonl").string(), prefs));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "rl_prompts.jsonl").string(), rl));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "eval_prompts.jsonl").string(), eval));
  RTO_RETURN_IF_ERROR(WriteFileAtomically((d / "tokenizer" / "tokenizer.json").string(), TokenizerJson().dump(2)));
  json tokenizer_config = {{"eos_token", "<|endoftext|>"},
                           {"pad_token", "<|endoftext|>"},
                           {"chat_template", kPlainJinja},
                           {"tokenizer_class", "PreTrainedTokenizerFast"}};
  RTO_RETURN_IF_ERROR(
      WriteFileAtomically((d / "tokenizer" / "tokenizer_config.json").string(), tokenizer_config.dump(2)));
  RTO_RETURN_IF_ERROR(WriteFileAtomically((d / "model_config.json").string(), ModelConfigJson().dump(2) + "\n"));
  json task_json = {{"task", task.name()}, {"seed", o.seed}, {"label_sharpness", task.label_sharpness()}};
  return WriteFileAtomically((d / "task.json").string(), task_json.dump(2) + "\n");
}

}  // namespace rto::synth
