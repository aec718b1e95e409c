// Subcommands of the `rto` binary. Each takes the arguments after its name and returns the
// process exit code; errors go to stderr as one line that says what is wrong and where.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rto {

// A command's exit code for `s`: 0, or 1 after "rto COMMAND: error: <message>" on stderr.
inline int Report(absl::string_view command, const absl::Status& s) {
  if (s.ok()) return 0;
  std::cerr << "rto " << command << ": error: " << s.message() << "\n";
  return 1;
}

int ModelInitCommand(const std::vector<std::string>& args);
int ModelInspectCommand(const std::vector<std::string>& args);
int GenerateCommand(const std::vector<std::string>& args);
int SynthCommand(const std::vector<std::string>& args);
int EvalCommand(const std::vector<std::string>& args);
int TrainCommand(const std::vector<std::string>& args);
int LaunchCommand(const std::vector<std::string>& args);
int CoordinatorCommand(const std::vector<std::string>& args);
int CtlCommand(const std::vector<std::string>& args);
int SecurityCommand(const std::vector<std::string>& args);
int HealthCommand(const std::vector<std::string>& args);
int TokenizeCommand(const std::vector<std::string>& args);
int PlotCommand(const std::vector<std::string>& args);

}  // namespace rto
