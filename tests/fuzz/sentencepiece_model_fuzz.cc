// A SentencePiece tokenizer.model (a protobuf rto parses itself): it either loads (and then
// encodes and decodes) or is refused.
#include "common/tokenizer/sentencepiece_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // tokenizer.model, NUL NUL, a text to encode (the model itself may hold NULs, so the split is
  // at the last double NUL).
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.rfind(std::string(2, '\0'));
  const std::string model = split == std::string::npos ? input : input.substr(0, split);
  const std::string text = split == std::string::npos ? "Hello world" : input.substr(split + 2);
  auto tokenizer = rto::SentencePieceTokenizer::Create(model, "", "fuzz.model");
  if (!tokenizer.ok()) return 0;
  const std::vector<int64_t> ids = (*tokenizer)->Encode(text);
  for (int64_t id : ids) {
    if (id < 0 || id >= (*tokenizer)->vocab_size()) __builtin_trap();
  }
  (void)(*tokenizer)->DecodeBytes(ids);
  return 0;
}
