// Dataset files: JSONL prompts, preference pairs and SFT pairs, bad lines skipped and counted.
#include "common/data/dataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      rto::fuzz::WriteScratch("rows.jsonl", std::string(reinterpret_cast<const char*>(data), size));
  for (rto::BadLinePolicy policy : {rto::BadLinePolicy::kFail, rto::BadLinePolicy::kSkip}) {
    rto::ReadOptions options;
    options.bad_lines = policy;
    (void)rto::ReadPrompts(path, options);
    (void)rto::ReadPreferences(path, options);
    (void)rto::ReadSft(path, options);
  }
  return 0;
}
