// `rto train <job> --config FILE [--set key=value ...] [--resume]`.
#include <iostream>

#include "common/config/config.h"
#include "common/train/sft_job.h"
#include "common/util/args.h"
#include "common/util/status_macros.h"
#include "services/rto/commands.h"

namespace rto {
namespace {

absl::Status Train(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("usage: rto train sft --config FILE [--set k=v] [--resume]");
  const std::string job = argv[0];
  RTO_ASSIGN_OR_RETURN(
      Args args, Args::Parse(std::vector<std::string>(argv.begin() + 1, argv.end()), {"config", "set"}, {"resume"}));
  RTO_ASSIGN_OR_RETURN(std::string path, args.GetRequired("config"));
  RTO_ASSIGN_OR_RETURN(ConfigReader config, ConfigReader::Load(path, args.GetAll("set")));
  if (job == "sft") {
    SftJobConfig sft;
    RTO_RETURN_IF_ERROR(sft.Read(config));
    const std::string resolved = config.Resolved();
    std::cout << "resolved config:\n" << resolved;
    return RunSft(sft, resolved, args.Has("resume"));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown job '", job, "'; jobs: sft"));
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  absl::Status s = Train(args);
  if (s.ok()) return 0;
  std::cerr << "rto train: error: " << s.message() << "\n";
  return 1;
}

}  // namespace rto
