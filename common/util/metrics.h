// A step's metrics by name, as written to metrics.jsonl. Torch-free.
#pragma once

#include <map>
#include <string>

namespace rto {

using Metrics = std::map<std::string, double>;

}  // namespace rto
