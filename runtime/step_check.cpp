#include "step_check.h"

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "parameters.h"
#include "safetensors.h"

namespace netc {

StepOutputs run_check_step(CompiledModel& model) {
  const Manifest& m = model.manifest();
  std::mt19937 gen(42);
  std::uniform_real_distribution<float> pixel(0, 1);
  AlignedVector<float> images(size_t(m.batch * m.image_size()));
  for (float& v : images) v = pixel(gen);
  AlignedVector<int32_t> labels(size_t(m.batch));  // compiled pipelines want aligned buffers
  for (int32_t& l : labels) l = int32_t(gen() % uint32_t(m.classes));

  const std::vector<std::string> slot_names = update_slots(m.update);
  Parameters params = Parameters::initialize(m.params, 7), new_params = Parameters::zeros(m.params);
  OptimizerSlots slots, new_slots = zero_slots(m.update, m.params);
  for (size_t s = 0; s < slot_names.size(); ++s) {
    slots.push_back(Parameters::initialize(m.params, 8 + s));
    if (slot_names[s] == "exp_avg_sq")  // a mean of squares
      for (size_t k = 0; k < slots[s].count(); ++k)
        for (float& v : slots[s][k]) v = std::abs(v);
  }
  // Every term of the update: Nesterov momentum and weight decay; Adam's second step.
  OptimizerSettings settings{0.05, 0.9, 1e-3, true};
  if (m.update == UpdateRule::Adam) settings.type = OptimizerType::Adam;
  const StepScalars scalars = step_scalars(settings, settings.lr, 2);
  StepOutputs out;
  out["loss"] = {model.train_step(images.data(), labels.data(), scalars, params.data(), slot_data(slots),
                                  new_params.mutable_data(), mutable_slot_data(new_slots))};
  for (size_t k = 0; k < params.count(); ++k) {
    out[m.params[k].name].assign(new_params[k].begin(), new_params[k].end());
    for (size_t s = 0; s < slot_names.size(); ++s)
      out[m.params[k].name + "." + slot_names[s]].assign(new_slots[s][k].begin(), new_slots[s][k].end());
  }
  AlignedVector<float> logits(size_t(m.batch * m.classes)), losses(size_t(m.batch));
  model.infer(images.data(), labels.data(), params.data(), logits.data(), losses.data());
  out["logits"].assign(logits.begin(), logits.end());
  out["losses"].assign(losses.begin(), losses.end());
  return out;
}

StepComparison compare_step_outputs(const StepOutputs& got, const StepOutputs& want) {
  StepComparison c;
  if (got.size() != want.size()) c.problem = fmt::format("{} outputs, not {}", got.size(), want.size());
  for (const auto& [name, b] : want) {
    auto it = got.find(name);
    if (it == got.end() || it->second.size() != b.size()) {
      c.problem = fmt::format("output {} is missing or has another size", name);
      continue;
    }
    const std::vector<float>& a = it->second;
    double diff = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      // NaN anywhere is the largest error there is.
      double d = std::abs(double(a[i]) - double(b[i]));
      diff = std::isnan(d) ? INFINITY : std::max(diff, d);
      scale = std::max(scale, std::abs(double(b[i])));
    }
    double error = diff / (scale + 1e-6);
    if (error >= c.max_relative_error) {
      c.max_relative_error = error;
      c.worst = name;
    }
  }
  return c;
}

void save_step_outputs(const std::string& path, const StepOutputs& outputs) {
  std::map<std::string, SafeTensor> tensors;
  for (const auto& [name, values] : outputs) tensors[name] = {{int64_t(values.size())}, values};
  write_safetensors(path, tensors, {{"what", "netc step check outputs"}});
}

StepOutputs load_step_outputs(const std::string& path) {
  StepOutputs outputs;
  for (auto& [name, t] : read_safetensors(path)) outputs[name] = std::move(t.data);
  return outputs;
}

}  // namespace netc
