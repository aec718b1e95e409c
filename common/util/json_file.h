// Small JSON state files (optimizer.json, learner.json, coordinator.json, trainer_state.json):
// read as an object, with errors that name the file and the key.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace rto {

// The JSON object in the file at `path`; an error naming the file when it is unreadable or not
// an object.
absl::StatusOr<nlohmann::json> ReadJsonObject(const std::string& path);

// The integer `key` of `j` (read from `path`, for the error).
absl::StatusOr<int64_t> JsonInt(const nlohmann::json& j, const std::string& path, const char* key);

}  // namespace rto
