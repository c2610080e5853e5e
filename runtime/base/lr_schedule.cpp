#include "lr_schedule.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace netc {

// PyTorch's schedulers compute each lr from the previous one; these are
// their closed forms (_get_closed_form_lr), which agree to within double
// rounding. `epoch` is the scheduler's last_epoch: the optimizer steps
// taken since it started.
double LrSchedule::lr(double base, int64_t k) const {
  if (k <= warmup) return base * double(k) / double(warmup);
  const int64_t epoch = k - 1 - warmup;
  switch (type) {
    case Type::Constant:
      return base;
    case Type::Step:
      return base * std::pow(gamma, double(epoch / step_size));
    case Type::MultiStep: {
      const auto passed = std::upper_bound(milestones.begin(), milestones.end(), epoch) - milestones.begin();
      return base * std::pow(gamma, double(passed));
    }
    case Type::Cosine:
      if (epoch == 0) return base;
      return eta_min + (base - eta_min) * (1 + std::cos(M_PI * double(epoch) / double(t_max))) / 2;
  }
  return base;
}

std::string LrSchedule::str() const {
  std::string s = lr_schedule_type_name(type);
  switch (type) {
    case Type::Constant: break;
    case Type::Step: s += fmt::format(" step_size={} gamma={}", step_size, gamma); break;
    case Type::MultiStep: s += fmt::format(" milestones=[{}] gamma={}", fmt::join(milestones, ","), gamma); break;
    case Type::Cosine: s += fmt::format(" t_max={} eta_min={}", t_max, eta_min); break;
  }
  return s + fmt::format(" warmup={}", warmup);
}

const char* lr_schedule_type_name(LrSchedule::Type type) {
  switch (type) {
    case LrSchedule::Type::Constant: return "constant";
    case LrSchedule::Type::Step: return "step";
    case LrSchedule::Type::MultiStep: return "multistep";
    case LrSchedule::Type::Cosine: return "cosine";
  }
  return "constant";
}

bool parse_lr_schedule_type(const std::string& name, LrSchedule::Type* type) {
  for (LrSchedule::Type t : {LrSchedule::Type::Constant, LrSchedule::Type::Step, LrSchedule::Type::MultiStep,
                             LrSchedule::Type::Cosine})
    if (name == lr_schedule_type_name(t)) return *type = t, true;
  return false;
}

}  // namespace netc
