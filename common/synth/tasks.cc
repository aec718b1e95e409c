#include "common/synth/tasks.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

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
  bool gold_is_token_sum() const override { return true; }

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
  bool gold_is_token_sum() const override { return true; }
};

// The items after the first ':' of a prompt: "Encode: a b" -> {a, b}.
std::vector<std::string> ItemsAfterColon(absl::string_view prompt) {
  size_t at = prompt.find(':');
  return at == absl::string_view::npos ? std::vector<std::string>() : Words(prompt.substr(at + 1));
}

// Five single characters after the prompt's colon: fixed-width items, so that output item i
// is a constant distance from prompt item i (what a tiny model's attention can learn).
constexpr int kItems = 5;

// A task whose answer is one target item per prompt item (cipher, add). Gold: +1 for each
// response item equal to its position's target, -1 for every other item (wrong, or past the
// targets' end). The demonstrator gets each item right with probability p_right(); a slip copies
// the prompt's item unchanged half the time and writes RandomItem() otherwise; now and then it
// drops the last item or adds one, as a weak model would.
class PositionalTask : public Task {
 public:
  std::string SampleResponse(absl::string_view prompt, std::mt19937_64& rng) const override {
    const std::vector<std::string> source = ItemsAfterColon(prompt);
    auto slip = [&](size_t i) { return Uniform01(rng) < 0.5 && i < source.size() ? source[i] : RandomItem(rng); };
    std::vector<std::string> out;
    for (const std::string& target : Targets(prompt))
      out.push_back(Uniform01(rng) < p_right() ? target : slip(out.size()));
    const double u = Uniform01(rng);
    if (u < 0.15 && out.size() > 1) out.pop_back();
    if (u > 0.85) out.push_back(slip(out.size()));
    return " " + absl::StrJoin(out, " ");
  }
  std::string IdealResponse(absl::string_view prompt) const override {
    return " " + absl::StrJoin(Targets(prompt), " ");
  }
  double GoldReward(absl::string_view prompt, absl::string_view response) const override {
    const std::vector<std::string> targets = Targets(prompt), items = Words(response);
    double total = 0;
    for (size_t i = 0; i < items.size(); ++i) total += (i < targets.size() && items[i] == targets[i]) ? 1.0 : -1.0;
    return total;
  }
  double label_sharpness() const override { return 0.5; }
  bool gold_is_token_sum() const override { return true; }

 protected:
  // The right answer for each of the prompt's items ("?" for an item that has none).
  virtual std::vector<std::string> Targets(absl::string_view prompt) const = 0;
  virtual std::string RandomItem(std::mt19937_64& rng) const = 0;
  virtual double p_right() const = 0;
};

class CipherTask : public PositionalTask {
 public:
  explicit CipherTask(uint64_t seed) {
    // A hidden substitution cipher over a-z, fixed by the seed.
    std::mt19937_64 rng(seed ^ 0xC1F4E5ull);
    for (int i = 0; i < 26; ++i) cipher_[i] = static_cast<char>('a' + i);
    for (int i = 25; i > 0; --i) std::swap(cipher_[i], cipher_[rng() % (i + 1)]);
  }
  std::string name() const override { return "cipher"; }
  std::string SamplePrompt(std::mt19937_64& rng) const override {
    std::vector<std::string> letters(kItems);
    for (std::string& letter : letters) letter = RandomItem(rng);
    return "Encode: " + absl::StrJoin(letters, " ");
  }

 private:
  std::vector<std::string> Targets(absl::string_view prompt) const override {
    std::vector<std::string> out;
    for (const std::string& w : ItemsAfterColon(prompt)) {
      out.push_back(w.size() == 1 && w[0] >= 'a' && w[0] <= 'z' ? std::string(1, cipher_[w[0] - 'a']) : "?");
    }
    return out;
  }
  std::string RandomItem(std::mt19937_64& rng) const override { return std::string(1, 'a' + rng() % 26); }
  double p_right() const override { return 0.7; }
  char cipher_[26];
};

class AddTask : public PositionalTask {
 public:
  std::string name() const override { return "add"; }
  std::string SamplePrompt(std::mt19937_64& rng) const override {
    const int64_t k = UniformInt(rng, 1, 4);
    std::vector<std::string> digits(kItems);  // each sum one digit too
    for (std::string& digit : digits) digit = absl::StrCat(UniformInt(rng, 0, 9 - k));
    return absl::StrCat("Add ", k, " to each: ", absl::StrJoin(digits, " "));
  }

 private:
  std::vector<std::string> Targets(absl::string_view prompt) const override {
    const int64_t k = NumberAfter(prompt, "Add ");
    std::vector<std::string> out;
    for (const std::string& item : ItemsAfterColon(prompt)) {
      int64_t v = 0;
      out.push_back(absl::SimpleAtoi(item, &v) ? absl::StrCat(v + k) : "?");
    }
    return out;
  }
  std::string RandomItem(std::mt19937_64& rng) const override { return absl::StrCat(UniformInt(rng, 0, 9)); }
  double p_right() const override { return 0.6; }
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
  bool gold_is_token_sum() const override { return false; }
};

class SumToTask : public Task {
 public:
  std::string name() const override { return "sum_to"; }
  std::string SamplePrompt(std::mt19937_64& rng) const override {
    return absl::StrCat("Write digits that add up to ", UniformInt(rng, 5, 20), ".");
  }
  std::string SampleResponse(absl::string_view prompt, std::mt19937_64& rng) const override {
    // Random digits while the sum is short of the target (or, a third of the time, of a point
    // up to 6 before it: demonstrations miss on both sides); the last one lands on the target a
    // quarter of the time.
    const int64_t target = NumberAfter(prompt, "add up to ");
    const int64_t stop = Uniform01(rng) < 1.0 / 3 ? std::max<int64_t>(1, target - UniformInt(rng, 1, 6)) : target;
    std::vector<std::string> out;
    for (int64_t sum = 0; sum < stop;) {
      int64_t d = UniformInt(rng, 1, 9);
      if (target - sum <= 9 && Uniform01(rng) < 0.25) d = target - sum;
      sum += d;
      out.push_back(absl::StrCat(d));
    }
    return " " + absl::StrJoin(out, " ");
  }
  std::string IdealResponse(absl::string_view prompt) const override {
    std::vector<std::string> out;
    for (int64_t left = NumberAfter(prompt, "add up to "); left > 0; left -= 9) {
      out.push_back(absl::StrCat(std::min<int64_t>(left, 9)));
    }
    return " " + absl::StrJoin(out, " ");
  }
  double GoldReward(absl::string_view prompt, absl::string_view response) const override {
    int64_t sum = 0;
    for (const std::string& item : Words(response)) {
      int64_t v;
      if (absl::SimpleAtoi(item, &v)) sum += std::clamp<int64_t>(v, -1000, 1000);  // no overflow
    }
    return -std::abs(static_cast<double>(sum - NumberAfter(prompt, "add up to ")));
  }
  double label_sharpness() const override { return 0.5; }
  bool gold_is_token_sum() const override { return false; }
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

std::vector<std::string> TaskNames() { return {"lexicon", "count", "cipher", "add", "exact_length", "sum_to"}; }

absl::StatusOr<std::unique_ptr<Task>> MakeTask(absl::string_view name, uint64_t seed) {
  if (name == "lexicon") return std::unique_ptr<Task>(new LexiconTask(seed));
  if (name == "count") return std::unique_ptr<Task>(new CountTask());
  if (name == "cipher") return std::unique_ptr<Task>(new CipherTask(seed));
  if (name == "add") return std::unique_ptr<Task>(new AddTask());
  if (name == "exact_length") return std::unique_ptr<Task>(new ExactLengthTask());
  if (name == "sum_to") return std::unique_ptr<Task>(new SumToTask());
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
  std::mt19937_64 val_rng(o.seed ^ 0x7A11DA7E5EEDull);

  std::vector<json> sft, prefs, rl, eval, val;
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
  for (int64_t i = 0; i < o.val_prompts; ++i) val.push_back({{"prompt", task.SamplePrompt(val_rng)}});

  const fs::path d(dir);
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "sft.jsonl").string(), sft));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "preferences.jsonl").string(), prefs));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "rl_prompts.jsonl").string(), rl));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "eval_prompts.jsonl").string(), eval));
  RTO_RETURN_IF_ERROR(WriteJsonl((d / "val_prompts.jsonl").string(), val));
  RTO_RETURN_IF_ERROR(WriteFileAtomically((d / "tokenizer" / "tokenizer.json").string(), TokenizerJson().dump(2)));
  json tokenizer_config = {{"eos_token", "<|endoftext|>"},
                           {"pad_token", "<|endoftext|>"},
                           {"chat_template", kPlainJinja},
                           {"tokenizer_class", "PreTrainedTokenizerFast"}};
  RTO_RETURN_IF_ERROR(
      WriteFileAtomically((d / "tokenizer" / "tokenizer_config.json").string(), tokenizer_config.dump(2)));
  RTO_RETURN_IF_ERROR(WriteFileAtomically((d / "model_config.json").string(), ModelConfigJson().dump(2) + "\n"));
  json task_json = {{"task", task.name()},
                    {"seed", o.seed},
                    {"label_sharpness", task.label_sharpness()},
                    {"gold_is_token_sum", task.gold_is_token_sum()}};
  return WriteFileAtomically((d / "task.json").string(), task_json.dump(2) + "\n");
}

}  // namespace rto::synth
