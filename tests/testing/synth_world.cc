#include "tests/testing/synth_world.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <stdexcept>

#include "common/model/checkpoint.h"
#include "common/synth/tasks.h"

namespace rto::testing {

void MakeSynthWorld(const std::string& dir, const std::string& task_name) {
  auto fail = [](const absl::Status& s) {
    if (!s.ok()) throw std::runtime_error(std::string(s.message()));
  };
  auto task = synth::MakeTask(task_name, 0);
  fail(task.status());
  fail(synth::WriteSyntheticTask(**task, dir + "/task",
                                 {.sft_rows = 64, .preference_rows = 64, .rl_prompts = 8, .eval_prompts = 8}));
  auto config = LoadModelConfig(dir + "/task/model_config.json");
  fail(config.status());
  config->hidden_size = 32;
  config->intermediate_size = 64;
  config->head_dim = 8;
  auto model = Transformer::Create(*config, at::kFloat, at::kCPU);
  fail(model.status());
  (*model)->InitRandom(1);
  fail(SaveModel(**model, dir + "/init"));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(dir + "/task/tokenizer/" + f, dir + "/init/" + f);
  }
}

}  // namespace rto::testing
