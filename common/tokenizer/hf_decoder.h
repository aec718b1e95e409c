// tokenizer.json's `decoder`: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
// BPEDecoder and Sequence, turning token strings back into text as HF tokenizers does; no
// decoder joins the tokens with spaces, as HF does. Immutable after Create; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace rto {

class HfDecoder {
 public:
  // `spec`: the decoder's JSON (null: none). Unimplemented names a component rto lacks;
  // InvalidArgument says what is malformed.
  static absl::StatusOr<std::unique_ptr<HfDecoder>> Create(const nlohmann::json& spec, const std::string& source);

  // The text of `tokens` (as the file writes them). With `lossy`, invalid UTF-8 becomes U+FFFD
  // where HF's decoders put it (ByteLevel per maximal invalid stretch, ByteFallback one per byte
  // token); without, the bytes stay as they are (for decoding a stream piece by piece).
  std::string Decode(std::vector<std::string> tokens, bool lossy) const;

 private:
  using Step = std::function<void(std::vector<std::string>*, bool lossy)>;
  absl::Status Add(const nlohmann::json& spec, const std::string& source);
  absl::Status AddMetaspace(const nlohmann::json& spec, const std::string& source);
  std::vector<Step> steps_;
  bool has_decoder_ = false;
};

}  // namespace rto
