// Timing a compiled model: one batch of random images and labels with the
// parameters as training starts, run again and again (the inputs never
// change), and the median of timed runs after a warm-up. Shared by
// `netc bench` and `netc tune`.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "aligned.h"
#include "compiled_model.h"
#include "parameters.h"

namespace netc {

// The first step of the optimizer's defaults for an update rule: what a
// timed step passes.
inline StepScalars typical_step_scalars(UpdateRule rule) {
  OptimizerSettings settings;
  if (rule == UpdateRule::Adam) settings.type = OptimizerType::Adam;
  return step_scalars(settings, settings.lr, 1);
}

struct RandomBatch {
  AlignedVector<float> images;
  AlignedVector<int32_t> labels;
  Parameters params, params_out;
  OptimizerSlots slots, slots_out;
  AlignedVector<float> logits, losses;

  explicit RandomBatch(const Manifest& m)
      : images(size_t(m.batch * m.image_size())),
        labels(size_t(m.batch)),
        params(Parameters::initialize(m.params, 1)),
        params_out(Parameters::zeros(m.params)),
        slots(zero_slots(m.update, m.params)),
        slots_out(zero_slots(m.update, m.params)),
        logits(size_t(m.batch * m.classes)),
        losses(size_t(m.batch)) {
    std::mt19937 gen(1);
    std::uniform_real_distribution<float> pixel(0, 1);
    for (float& v : images) v = pixel(gen);
    for (int32_t& l : labels) l = int32_t(gen() % uint32_t(m.classes));
  }

  void train_step(CompiledModel& model) {
    model.train_step(images.data(), labels.data(), typical_step_scalars(model.manifest().update), params.data(),
                     slot_data(slots), params_out.mutable_data(), mutable_slot_data(slots_out));
  }
  // The train step's halves, on a data-parallel model.
  void split_step(CompiledModel& model) {
    Parameters grads = Parameters::zeros(model.manifest().params);
    model.gradients(images.data(), labels.data(), params.data(), grads.mutable_data());
    model.update(typical_step_scalars(model.manifest().update), params.data(), slot_data(slots), grads.data(),
                 params_out.mutable_data(), mutable_slot_data(slots_out));
  }
  void infer(CompiledModel& model) {
    model.infer(images.data(), labels.data(), params.data(), logits.data(), losses.data());
  }
};

// `warmup` untimed runs, then the median of `runs` timed ones, in ms.
template <typename F>
double median_ms(int warmup, int runs, F&& run) {
  for (int i = 0; i < warmup; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

// The spread of timed rounds: the median, the middle half (first and third
// quartile, nearest rank: robust to the odd round slowed by other work on
// the machine) and the extremes, in ms.
struct RoundSpread {
  double median = 0, low = 0, high = 0, min = 0, max = 0;
};
inline RoundSpread spread_of(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  const size_t quarter = (ms.size() - 1) / 4;
  return {ms[ms.size() / 2], ms[quarter], ms[ms.size() - 1 - quarter], ms.front(), ms.back()};
}

// Whether `a` is faster than `b` beyond the noise of rounds timed in
// alternation: the middle half of a's rounds lies wholly below b's. netc tune
// writes a schedule only then, and netc bench --compare says so.
inline bool faster_beyond_noise(const RoundSpread& a, const RoundSpread& b) { return a.high < b.low; }

}  // namespace netc
