// Subcommands of the `rto` binary. Each takes the arguments after its name and returns the
// process exit code; errors go to stderr as one line that says what is wrong and where.
#pragma once

#include <string>
#include <vector>

namespace rto {

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

}  // namespace rto
