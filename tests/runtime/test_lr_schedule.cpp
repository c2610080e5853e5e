// The schedules against the learning rates PyTorch 1.13 prints: each list is
// optimizer.param_groups[0]["lr"] before each of the first steps, the
// scheduler stepped after every optimizer.step(); warm-ups are
// SequentialLR([LinearLR(start_factor=1/W, total_iters=W-1), main],
// milestones=[W]). PyTorch computes each lr from the previous one, netc from
// the closed form: they agree to within double rounding.
#include <vector>

#include <catch2/catch.hpp>

#include "lr_schedule.h"

using namespace netc;

namespace {

void check_lrs(const LrSchedule& s, double base, const std::vector<double>& torch) {
  for (size_t k = 0; k < torch.size(); ++k) {
    INFO("step " << k + 1 << " of " << s.str());
    CHECK(s.lr(base, int64_t(k + 1)) == Approx(torch[k]).epsilon(1e-12).margin(1e-15));
  }
}

LrSchedule schedule(LrSchedule::Type type) {
  LrSchedule s;
  s.type = type;
  return s;
}

}  // namespace

TEST_CASE("lr schedule: constant is the optimizer's lr", "[lr_schedule]") {
  check_lrs(LrSchedule{}, 0.01, {0.01, 0.01, 0.01});
}

TEST_CASE("lr schedule: step is StepLR", "[lr_schedule]") {
  LrSchedule s = schedule(LrSchedule::Type::Step);
  s.step_size = 3, s.gamma = 0.5;  // StepLR(step_size=3, gamma=0.5), lr 0.1
  check_lrs(s, 0.1, {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125});
}

TEST_CASE("lr schedule: multistep is MultiStepLR", "[lr_schedule]") {
  LrSchedule s = schedule(LrSchedule::Type::MultiStep);
  s.milestones = {2, 5, 6}, s.gamma = 0.1;  // lr 0.05
  check_lrs(s, 0.05,
            {0.05, 0.05, 0.005000000000000001, 0.005000000000000001, 0.005000000000000001, 0.0005000000000000001,
             5.0000000000000016e-05, 5.0000000000000016e-05, 5.0000000000000016e-05});
}

TEST_CASE("lr schedule: cosine is CosineAnnealingLR, rising again past t_max", "[lr_schedule]") {
  LrSchedule s = schedule(LrSchedule::Type::Cosine);
  s.t_max = 4, s.eta_min = 0.001;  // lr 0.01
  check_lrs(s, 0.01,
            {0.01, 0.008681980515339464, 0.0055000000000000005, 0.0023180194846605367, 0.001, 0.002318019484660536,
             0.0055000000000000005, 0.008681980515339466, 0.010000000000000002, 0.008681980515339464,
             0.005500000000000001});
}

TEST_CASE("lr schedule: warm-up ramps up linearly, then the schedule starts", "[lr_schedule]") {
  LrSchedule cosine = schedule(LrSchedule::Type::Cosine);
  cosine.t_max = 5, cosine.warmup = 4;  // lr 0.1
  check_lrs(cosine, 0.1,
            {0.025, 0.05, 0.07500000000000001, 0.1, 0.1, 0.09045084971874738, 0.06545084971874737,
             0.03454915028125263, 0.009549150281252633, 0.0, 0.009549150281252628, 0.03454915028125265});
  LrSchedule step = schedule(LrSchedule::Type::Step);
  step.step_size = 2, step.gamma = 0.1, step.warmup = 3;  // lr 0.3
  check_lrs(step, 0.3, {0.09999999999999999, 0.19999999999999998, 0.3, 0.3, 0.3, 0.03, 0.03, 0.003, 0.003});
  LrSchedule multistep = schedule(LrSchedule::Type::MultiStep);
  multistep.milestones = {2}, multistep.gamma = 0.5, multistep.warmup = 1;  // lr 0.2
  check_lrs(multistep, 0.2, {0.2, 0.2, 0.2, 0.1, 0.1});
}

TEST_CASE("lr schedule: far steps stay finite and within range", "[lr_schedule]") {
  LrSchedule cosine = schedule(LrSchedule::Type::Cosine);
  cosine.t_max = 1000, cosine.eta_min = 0.001;
  const int64_t far = int64_t(1) << 40;
  CHECK(cosine.lr(0.01, far) >= 0.001);
  CHECK(cosine.lr(0.01, far) <= 0.01);
  LrSchedule step = schedule(LrSchedule::Type::Step);
  step.step_size = 1, step.gamma = 0.5;
  CHECK(step.lr(0.01, far) == 0);
}

TEST_CASE("lr schedule: str() names every setting of the type", "[lr_schedule]") {
  LrSchedule s = schedule(LrSchedule::Type::MultiStep);
  s.milestones = {10, 20}, s.gamma = 0.5, s.warmup = 2;
  CHECK(s.str() == "multistep milestones=[10,20] gamma=0.5 warmup=2");
  CHECK(LrSchedule{}.str() == "constant warmup=0");
  LrSchedule::Type type;
  CHECK(parse_lr_schedule_type("cosine", &type));
  CHECK(type == LrSchedule::Type::Cosine);
  CHECK_FALSE(parse_lr_schedule_type("linear", &type));
}
