// tokenizer.json and tokenizer_config.json: a tokenizer either loads (and then encodes and
// decodes) or is refused.
#include "common/tokenizer/hf_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // tokenizer.json, NUL, tokenizer_config.json, NUL, a text to encode.
  const std::vector<std::string> parts = rto::fuzz::Split(data, size, 3);
  auto tokenizer = rto::HfTokenizer::Create(parts[0], parts[1], "fuzz");
  if (!tokenizer.ok()) return 0;
  const std::vector<int64_t> ids = (*tokenizer)->Encode(parts[2]);
  for (int64_t id : ids) {
    if (id < 0 || id >= (*tokenizer)->vocab_size()) __builtin_trap();
  }
  (void)(*tokenizer)->DecodeBytes(ids);
  return 0;
}
