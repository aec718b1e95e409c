// Text from outside (prompts, responses) through a real byte-level BPE tokenizer (the Qwen2-style
// fixture): any bytes encode to valid ids, and valid UTF-8 decodes back to itself as the
// tokenizer's NFC normaliser left it (U+FA02 comes back as U+62D3, as with HF tokenizers).
#include "common/tokenizer/hf_tokenizer.h"
#include "common/tokenizer/unicode.h"
#include "common/util/file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rto::HfTokenizer* tokenizer = [] {
    const std::string dir = std::string(RTO_SOURCE_DIR) + "/tests/fixtures/tokenizers/qwen2-style/";
    auto t = rto::HfTokenizer::Create(*rto::ReadFileToString(dir + "tokenizer.json"),
                                      *rto::ReadFileToString(dir + "tokenizer_config.json"), dir);
    if (!t.ok()) __builtin_trap();
    return t->release();
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<int64_t> ids = tokenizer->Encode(text);
  for (int64_t id : ids) {
    if (id < 0 || id >= tokenizer->vocab_size()) __builtin_trap();
  }
  if (rto::unicode::IsValidUtf8(text) && tokenizer->DecodeBytes(ids) != rto::unicode::NormalizeNfc(text)) {
    __builtin_trap();
  }
  return 0;
}
