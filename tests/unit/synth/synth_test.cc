#include <cmath>
#include <random>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

#include "common/data/dataset.h"
#include "common/synth/eval.h"
#include "common/synth/tasks.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/tokenizer.h"
#include "tests/testing/test_util.h"

namespace rto::synth {
namespace {

using rto::testing::IsOk;
using rto::testing::StatusIs;
using rto::testing::TempDir;

class TaskTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Task> task_ = std::move(MakeTask(GetParam(), 5).value());
};

TEST_P(TaskTest, IdealResponsesAreMaximalAndDemonstrationsFallShort) {
  std::mt19937_64 rng(1);
  double demo_total = 0, ideal_total = 0;
  for (int i = 0; i < 200; ++i) {
    std::string prompt = task_->SamplePrompt(rng);
    double ideal = task_->GoldReward(prompt, task_->IdealResponse(prompt));
    ideal_total += ideal;
    for (int k = 0; k < 20; ++k) {
      double demo = task_->GoldReward(prompt, task_->SampleResponse(prompt, rng));
      ASSERT_LE(demo, ideal + 1e-9) << prompt;
      demo_total += demo / 20;
    }
  }
  // The SFT data is clearly below the best possible: there is room for RLHF to show.
  EXPECT_LT(demo_total / 200, ideal_total / 200 - 1.0);
}

TEST_P(TaskTest, RandomTextScoresLow) {
  std::mt19937_64 rng(2);
  double random_total = 0, ideal_total = 0;
  for (int i = 0; i < 100; ++i) {
    std::string prompt = task_->SamplePrompt(rng);
    std::string junk;  // 1 to 20 words of random letters
    for (int words = 1 + rng() % 20; words > 0; --words) {
      junk += " ";
      for (int k = 0; k < 4; ++k) junk.push_back(static_cast<char>('a' + rng() % 26));
    }
    random_total += task_->GoldReward(prompt, junk);
    ideal_total += task_->GoldReward(prompt, task_->IdealResponse(prompt));
  }
  EXPECT_LT(random_total / 100, ideal_total / 100 - 2.0);
}

TEST_P(TaskTest, PreferenceLabelsFollowTheBradleyTerryRate) {
  TempDir tmp;
  ASSERT_THAT(
      WriteSyntheticTask(*task_, tmp.path(),
                         {.sft_rows = 1, .preference_rows = 4000, .rl_prompts = 1, .eval_prompts = 1, .seed = 5}),
      IsOk());
  auto pairs = ReadPreferences(tmp.Join("preferences.jsonl"), {});
  ASSERT_THAT(pairs, IsOk());
  // The better response (by gold) is chosen with probability sigmoid(k * |gap|): compare the
  // count of such labels with its expectation, within 4 standard deviations.
  double expected = 0, variance = 0;
  int64_t observed = 0;
  for (const PreferenceRow& p : *pairs) {
    double chosen = task_->GoldReward(p.prompt[0].content, p.chosen);
    double rejected = task_->GoldReward(p.prompt[0].content, p.rejected);
    if (chosen == rejected) continue;
    double q = PreferenceProbability(*task_, std::max(chosen, rejected), std::min(chosen, rejected));
    expected += q;
    variance += q * (1 - q);
    observed += chosen > rejected;
  }
  ASSERT_GT(expected, 500);
  EXPECT_NEAR(observed, expected, 4 * std::sqrt(variance));
  EXPECT_LT(observed, expected + 4 * std::sqrt(variance) + 1) << "labels must be noisy, not the gold order";
}

TEST_P(TaskTest, WritesAWorldThatTheRestOfTheSystemReads) {
  TempDir a, b;
  SynthOptions o{.sft_rows = 50, .preference_rows = 50, .rl_prompts = 20, .eval_prompts = 10, .seed = 5};
  ASSERT_THAT(WriteSyntheticTask(*task_, a.path(), o), IsOk());
  ASSERT_THAT(WriteSyntheticTask(*task_, b.path(), o), IsOk());
  for (const char* f : {"sft.jsonl", "preferences.jsonl", "rl_prompts.jsonl", "eval_prompts.jsonl", "task.json"}) {
    EXPECT_EQ(rto::testing::ReadFile(a.Join(f)), rto::testing::ReadFile(b.Join(f))) << f << " is not deterministic";
  }
  EXPECT_THAT(ReadSft(a.Join("sft.jsonl"), {}), IsOk());
  EXPECT_THAT(ReadPrompts(a.Join("rl_prompts.jsonl"), {}), IsOk());
  auto tok = LoadTokenizer(a.Join("tokenizer"));
  ASSERT_THAT(tok, IsOk());
  auto chat = DetectChatTemplate((*tok)->chat_template());
  ASSERT_THAT(chat, IsOk());
  EXPECT_EQ(*chat, ChatTemplate::kPlain);
  EXPECT_EQ(*(*tok)->special_tokens().eos_id, 256);
  std::mt19937_64 rng(3);
  std::string text = "User: " + task_->SamplePrompt(rng) + "\n\nAssistant:";
  EXPECT_EQ((*tok)->Decode((*tok)->Encode(text)), text);
}

TEST_P(TaskTest, ValidationPromptsAreADrawOfTheirOwn) {
  TempDir tmp;
  ASSERT_THAT(
      WriteSyntheticTask(
          *task_, tmp.path(),
          {.sft_rows = 1, .preference_rows = 1, .rl_prompts = 1, .eval_prompts = 200, .val_prompts = 200, .seed = 5}),
      IsOk());
  auto eval = ReadPrompts(tmp.Join("eval_prompts.jsonl"), {});
  auto val = ReadPrompts(tmp.Join("val_prompts.jsonl"), {});
  ASSERT_THAT(eval, IsOk());
  ASSERT_THAT(val, IsOk());
  ASSERT_EQ(val->size(), 200u);
  std::set<std::string> eval_set, val_set;
  for (const PromptRow& p : *eval) eval_set.insert(p.prompt[0].content);
  int64_t same_position = 0, shared = 0;
  for (size_t i = 0; i < val->size(); ++i) {
    const std::string& prompt = (*val)[i].prompt[0].content;
    same_position += prompt == (*eval)[i].prompt[0].content;
    shared += eval_set.contains(prompt);
    val_set.insert(prompt);
  }
  EXPECT_LT(same_position, 200 / 4) << "not the eval stream";
  EXPECT_GT(val_set.size(), std::min<size_t>(eval_set.size() / 2, 100));
  // Where the task has many prompts (cipher, add), the two sets hardly meet.
  if (eval_set.size() > 190) {
    EXPECT_LT(shared, 5);
  }
}

INSTANTIATE_TEST_SUITE_P(Tasks, TaskTest,
                         ::testing::Values("lexicon", "count", "cipher", "add", "exact_length", "sum_to"));

TEST(SynthTest, UnknownTaskNamesTheKnownOnes) {
  EXPECT_THAT(MakeTask("chess", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, "tasks: lexicon, count, cipher, add, exact_length, sum_to"));
}

TEST(SynthTest, WhichGoldsAreTokenSums) {
  for (const std::string& name : TaskNames()) {
    EXPECT_EQ(MakeTask(name, 0).value()->gold_is_token_sum(), name != "exact_length" && name != "sum_to") << name;
  }
}

TEST(SynthTest, GoldRewardsByHand) {
  auto count = MakeTask("count", 0).value();
  EXPECT_EQ(count->GoldReward("Count up from 7:", " 8 9 10"), 3);
  EXPECT_EQ(count->GoldReward("Count up from 7:", " 8 10 11 x"), 1 - 1 + 1 - 1);
  EXPECT_EQ(count->GoldReward("Count up from 7:", count->IdealResponse("Count up from 7:")), 10);
  auto length = MakeTask("exact_length", 0).value();
  EXPECT_EQ(length->GoldReward("Write exactly 4 words.", " a b c d"), 0);
  EXPECT_EQ(length->GoldReward("Write exactly 4 words.", " a b"), -2);
  auto lexicon = MakeTask("lexicon", 0).value();
  EXPECT_EQ(lexicon->GoldReward("Describe the sea in a few words.", " notaword"), -1);
  auto add = MakeTask("add", 0).value();
  const std::string sum_prompt = "Add 3 to each: 4 6 0";
  EXPECT_EQ(add->IdealResponse(sum_prompt), " 7 9 3");
  EXPECT_EQ(add->GoldReward(sum_prompt, " 7 9 3"), 3);
  EXPECT_EQ(add->GoldReward(sum_prompt, " 7 6 3 9"), 1 - 1 + 1 - 1);  // a wrong item, a surplus one
  EXPECT_EQ(add->GoldReward(sum_prompt, " 7"), 1);                    // missing items earn nothing
  auto sum_to = MakeTask("sum_to", 0).value();
  const std::string to_prompt = "Write digits that add up to 20.";
  EXPECT_EQ(sum_to->IdealResponse(to_prompt), " 9 9 2");
  EXPECT_EQ(sum_to->GoldReward(to_prompt, " 9 9 2"), 0);
  EXPECT_EQ(sum_to->GoldReward(to_prompt, " 2 9 9"), 0);  // only the total counts
  EXPECT_EQ(sum_to->GoldReward(to_prompt, " 9 x 9"), -2);
  EXPECT_EQ(sum_to->GoldReward(to_prompt, " 99999999999999999999"), -20);  // no overflow: not a number
}

TEST(SynthTest, CipherIsOneHiddenSubstitutionPerSeed) {
  auto a = MakeTask("cipher", 1).value(), b = MakeTask("cipher", 2).value();
  const std::string prompt = "Encode: q z q e z";
  const std::string ideal = a->IdealResponse(prompt);
  std::vector<std::string> letters = absl::StrSplit(ideal.substr(1), ' ');
  ASSERT_EQ(letters.size(), 5u);
  EXPECT_EQ(letters[0], letters[2]) << "one letter, one code";
  EXPECT_NE(letters[0], letters[1]) << "the cipher is one-to-one";
  EXPECT_EQ(a->GoldReward(prompt, ideal), 5);
  // Position matters: the first two codes swapped earn -1 each.
  EXPECT_EQ(a->GoldReward(prompt, absl::StrJoin({letters[1], letters[0], letters[2], letters[3], letters[4]}, " ")),
            -1 - 1 + 3);
  std::mt19937_64 rng(4);
  int differ = 0;
  for (int i = 0; i < 20; ++i) {
    std::string p = a->SamplePrompt(rng);
    differ += a->IdealResponse(p) != b->IdealResponse(p);
  }
  EXPECT_GT(differ, 15) << "the seed fixes another cipher";
}

TEST(EvalTest, MeansIntervalsAndWinRates) {
  auto task = MakeTask("count", 0).value();
  std::vector<Sample> ideal, weak;
  for (int i = 0; i < 50; ++i) {
    std::string prompt = "Count up from " + std::to_string(i) + ":";
    ideal.push_back({prompt, task->IdealResponse(prompt)});
    weak.push_back({prompt, " 1"});
  }
  auto r = Evaluate(*task, ideal, &weak);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->mean_gold, 10);
  EXPECT_EQ(r->gold_ci95, 0);
  EXPECT_EQ(r->ideal_mean_gold, 10);
  EXPECT_EQ(*r->win_rate, 1.0);
  auto self = Evaluate(*task, weak, &weak);
  EXPECT_EQ(*self->win_rate, 0.5);  // ties count half
  std::vector<Sample> shifted = weak;
  shifted[3].prompt = "Count up from 99:";
  EXPECT_THAT(Evaluate(*task, ideal, &shifted), StatusIs(absl::StatusCode::kInvalidArgument, "sample 4"));
  std::vector<Sample> three(ideal.begin(), ideal.begin() + 3);
  EXPECT_THAT(Evaluate(*task, ideal, &three), StatusIs(absl::StatusCode::kInvalidArgument, "has 3 samples, not 50"));
}

TEST(EvalTest, SampleFileErrorsNameTheLine) {
  TempDir tmp;
  rto::testing::WriteFile(tmp.Join("s.jsonl"), "{\"prompt\": \"p\", \"response\": \"r\"}\n{\"prompt\": \"p\"}\n");
  EXPECT_THAT(ReadSamples(tmp.Join("s.jsonl")),
              StatusIs(absl::StatusCode::kInvalidArgument, "s.jsonl:2: missing string 'response'"));
}

}  // namespace
}  // namespace rto::synth
