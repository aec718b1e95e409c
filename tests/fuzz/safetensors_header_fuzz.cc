// A safetensors file's header: 8-byte length, JSON, then offsets into the data that follows.
#include <map>
#include <string>

#include "common/safetensors/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;
  auto tensors = rto::safetensors::File::ParseHeader(data, size, "fuzz.safetensors", &metadata, &data_start);
  if (tensors.ok()) {
    // Every accepted tensor lies inside the input.
    for (const auto& t : *tensors) {
      if (t.begin > t.end || data_start + t.end > size) __builtin_trap();
    }
  }
  return 0;
}
