// An HF config.json.
#include "common/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)rto::ParseModelConfig(std::string(reinterpret_cast<const char*>(data), size), "config.json");
  return 0;
}
