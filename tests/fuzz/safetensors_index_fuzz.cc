// A sharded checkpoint's model.safetensors.index.json (and, with it, a small shard the index may
// name): the directory either opens with every tensor where the index says, or is refused.
#include <filesystem>

#include "common/safetensors/directory.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input: the index, then (after a NUL) the bytes of model-00001-of-00001.safetensors.
  const std::vector<std::string> parts = rto::fuzz::Split(data, size, 2);
  const std::string dir = rto::fuzz::ScratchDir() + "/index";
  std::filesystem::create_directories(dir);
  rto::fuzz::WriteScratch("index/model.safetensors.index.json", parts[0]);
  rto::fuzz::WriteScratch("index/model-00001-of-00001.safetensors", parts[1]);
  auto opened = rto::safetensors::Directory::Open(dir);
  if (opened.ok()) {
    for (const auto& [name, entry] : (*opened)->tensors()) {
      if (entry.file == nullptr || entry.info == nullptr || entry.info->name != name) __builtin_trap();
    }
  }
  return 0;
}
