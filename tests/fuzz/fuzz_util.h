// What the fuzz targets share: a file of this process to hand to decoders that read files, and
// a split of one input into parts. Each target defines LLVMFuzzerTestOneInput, run by libFuzzer
// (RTO_FUZZ builds, scripts/fuzz.sh) or by fuzz_main.cc over the committed corpus (ctest).
// A target must never crash, hang or leak: every input either decodes or is refused with a status.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace rto::fuzz {

// A directory of this process under the temp dir, made once.
inline const std::string& ScratchDir() {
  static const std::string* dir = [] {
    auto* d =
        new std::string((std::filesystem::temp_directory_path() / ("rto-fuzz-" + std::to_string(getpid()))).string());
    std::filesystem::create_directories(*d);
    return d;
  }();
  return *dir;
}

// Writes `contents` to ScratchDir()/name and returns the path.
inline std::string WriteScratch(const std::string& name, const std::string& contents) {
  const std::string path = ScratchDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

// The input split at the first `n - 1` occurrences of `separator` into n parts (the last part
// holds the rest; missing parts are empty).
inline std::vector<std::string> Split(const uint8_t* data, size_t size, size_t n, char separator = '\0') {
  std::vector<std::string> parts(n);
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t begin = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const size_t end = input.find(separator, begin);
    if (end == std::string::npos) {
      parts[i] = input.substr(begin);
      return parts;
    }
    parts[i] = input.substr(begin, end - begin);
    begin = end + 1;
  }
  parts[n - 1] = input.substr(std::min(begin, input.size()));
  return parts;
}

}  // namespace rto::fuzz
