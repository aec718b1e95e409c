// A synthetic task's world for job tests: `<dir>/task` (rto synth output, 64 rows of each kind)
// and `<dir>/init`, a tiny random Llama (hidden 32) that carries the task's tokenizer.
#pragma once

#include <string>

namespace rto::testing {

void MakeSynthWorld(const std::string& dir, const std::string& task = "count");

}  // namespace rto::testing
