// A machine probe compiled next to every model: the floating-point peak that
// `netc bench` reports each pipeline's GFLOP/s against. Measured by code
// Halide compiles for the same target, not taken from a datasheet.
#pragma once

#include <string>
#include <vector>

#include "Halide.h"

namespace netc {

struct PeakProbe {
  std::string function_name = "netc_peak_fma";
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> arguments;  // iterations (int32), zero (f32), then the output
  // Floating-point operations per iteration of one call (a multiply-add is 2).
  int64_t flops_per_iteration = 0;
  std::vector<int> output_extents;  // lanes, chains, tasks
};

// Independent multiply-add chains in as many vector registers as the
// register tiles of the convolution schedules use, repeated `iterations`
// times, in parallel tasks over the thread pool.
PeakProbe lower_peak_probe(const Halide::Target& target);

}  // namespace netc
