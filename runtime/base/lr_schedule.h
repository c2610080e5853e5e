// Learning-rate schedules: the learning rate of every training step, as
// PyTorch's schedulers give it when stepped once after every
// optimizer.step() (docs/graph-format.md, train.lr_schedule, has the
// PyTorch equivalent of each). Host-side: the lr is a scalar argument of
// the compiled train step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

struct LrSchedule {
  // constant: the optimizer's lr; step: StepLR; multistep: MultiStepLR;
  // cosine: CosineAnnealingLR.
  enum class Type { Constant, Step, MultiStep, Cosine };
  Type type = Type::Constant;
  int64_t step_size = 0;            // step
  std::vector<int64_t> milestones;  // multistep: increasing, >= 1
  double gamma = 0.1;               // step, multistep
  int64_t t_max = 0;                // cosine
  double eta_min = 0;               // cosine
  // Steps of linear warm-up before the schedule starts: step k <= warmup
  // uses lr * k / warmup (LinearLR(start_factor=1/warmup,
  // total_iters=warmup-1) in a SequentialLR with milestones [warmup]).
  int64_t warmup = 0;

  // The learning rate of step k (1-based) when the optimizer's is `base`.
  double lr(double base, int64_t k) const;
  // "cosine t_max=1000 eta_min=0 warmup=0": every field of the type, for
  // checkpoints (a resumed run needs the same) and summaries.
  std::string str() const;
};

const char* lr_schedule_type_name(LrSchedule::Type type);
// The type named `name` ("constant", "step", "multistep", "cosine"); false if none is.
bool parse_lr_schedule_type(const std::string& name, LrSchedule::Type* type);

}  // namespace netc
