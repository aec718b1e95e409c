// `rto train <job> --config FILE [--set key=value ...] [--resume]`.
#include <iostream>

#include "common/actors/rto_job.h"
#include "common/config/config.h"
#include "common/runtime/threads.h"
#include "common/train/preference_jobs.h"
#include "common/train/sft_job.h"
#include "common/util/args.h"
#include "common/util/status_macros.h"
#include "services/coordinator/in_process_run.h"
#include "services/rto/commands.h"

namespace rto {
namespace {

absl::Status Train(const std::vector<std::string>& argv) {
  if (argv.empty())
    return absl::InvalidArgumentError("usage: rto train sft|rm|dpo|rto|ppo --config FILE [--set k=v] [--resume]");
  const std::string job = argv[0];
  RTO_ASSIGN_OR_RETURN(
      Args args, Args::Parse(std::vector<std::string>(argv.begin() + 1, argv.end()), {"config", "set"}, {"resume"}));
  RTO_ASSIGN_OR_RETURN(std::string path, args.GetRequired("config"));
  std::vector<std::string> overrides = args.GetAll("set");
  // PPO is RTO without the DPO token reward: the same job, the same config file.
  if (job == "ppo") {
    overrides.push_back("reward.dpo_reward_scale=0");
    overrides.push_back("reward.dpo_reward_scale_end=-1");
  }
  RTO_ASSIGN_OR_RETURN(ConfigReader config, ConfigReader::Load(path, overrides));
  const bool resume = args.Has("resume");
  auto start = [&](auto& job_config, auto run) -> absl::Status {
    ThreadPlan threads;
    RTO_RETURN_IF_ERROR(ReadThreadPlan(config, &threads));
    RTO_RETURN_IF_ERROR(job_config.Read(config));
    const std::string resolved = config.Resolved();
    std::cout << "resolved config:\n" << resolved;
    std::cout << "threads: " << ApplyThreadPlan(threads) << " intra-op\n";
    return run(job_config, resolved, resume);
  };
  if (job == "sft") {
    SftJobConfig c;
    return start(c, RunSft);
  }
  if (job == "rm") {
    RmJobConfig c;
    return start(c, RunRm);
  }
  if (job == "dpo") {
    DpoJobConfig c;
    return start(c, RunDpo);
  }
  if (job == "rto" || job == "ppo") {
    RtoJobConfig c;
    return start(c, RunRto);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown job '", job, "'; jobs: sft, rm, dpo, rto, ppo"));
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  absl::Status s = Train(args);
  if (s.ok()) return 0;
  std::cerr << "rto train: error: " << s.message() << "\n";
  return 1;
}

}  // namespace rto
