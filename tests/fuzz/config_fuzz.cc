// A YAML job config and its --set overrides, read the way every job reads its keys.
#include "common/config/config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The YAML, then one --set value per NUL-separated part.
  std::vector<std::string> parts = rto::fuzz::Split(data, size, 4);
  const std::string yaml = parts[0];
  parts.erase(parts.begin());
  auto reader = rto::ConfigReader::Parse(yaml, "fuzz.yaml", parts);
  if (!reader.ok()) return 0;
  int64_t steps = 0;
  double lr = 0;
  bool flag = false;
  std::string name;
  (void)reader->Read("steps", &steps);
  (void)reader->Read("train.lr", &lr);
  (void)reader->Read("launch.restart_workers", &flag);
  (void)reader->Read("models.policy", &name);
  (void)reader->CheckNoUnknownKeys();
  (void)reader->Resolved();
  return 0;
}
