// What the compile cache (model_cache.cpp) and `netc compile` (export.cpp)
// share, so that both make the same code for the same options: the Halide
// target of a --target name, the scheduled pipelines, the policy for Halide's
// compile errors, and the manifest that describes the result
// (runtime/compiled_model.h). Defined in model_cache.cpp.
#pragma once

#include <optional>
#include <string>

#include "aot/model_cache.h"
#include "compiled_model.h"
#include "lower/pipeline.h"
#include "schedule/peak_probe.h"
#include "schedule/schedule.h"

namespace netc {

// The Halide target of runtime/host_target.h's halide_target_string: what
// the compile cache is keyed by. `profile` (or NETC_PROFILE=1) adds Halide's
// sampling profiler.
Halide::Target target_for(const std::string& name, bool profile = false);

struct ScheduledPipelines {
  std::optional<LoweredPipeline> train;  // the fused step; none in a micro-batched model
  LoweredPipeline inference;
  std::optional<LoweredPipeline> gather;  // the batch gatherer, on a GPU target
  // The step's halves: BuildOptions::data_parallel's, or micro_batch's (the
  // gradients of a micro-batch).
  std::optional<LoweredPipeline> gradients, update;
  bool autoscheduled = false;
};

// The graph's pipelines, lowered with the schedule's variants and scheduled.
ScheduledPipelines scheduled_pipelines(const Graph& graph, const BuildOptions& options, const Halide::Target& target);

// Halide checks some schedules only while compiling: a user's schedule that
// it rejects is bad input (InputError); the built-in one, or an
// autoscheduler's, is netc's failure (std::runtime_error).
[[noreturn]] void report_compile_error(const Halide::CompileError& e, const LoweredPipeline& p,
                                       const BuildOptions& options, bool autoscheduled);

// The manifest of a compiled model; `library` is relative to its folder;
// `probe` is the peak probe compiled into it, if any; `gather_fn` the batch
// gatherer of a GPU target.
Manifest manifest_of(const Graph& graph, const BuildOptions& options, const std::string& train_fn,
                     const std::string& inference_fn, const std::string& library,
                     const std::string& library_sha256, const PeakProbe* probe = nullptr,
                     const std::string& gather_fn = "");

}  // namespace netc
