// What the compile cache (model_cache.cpp) and `netc compile` (export.cpp)
// share, so that both make the same code for the same options: the Halide
// target of a --target name, the schedule applied to a lowered pipeline, and
// the manifest that describes the result (runtime/compiled_model.h).
// Defined in model_cache.cpp.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "aot/model_cache.h"
#include "lower/pipeline.h"

namespace netc {

Halide::Target target_for(const std::string& name);

// `p` with the schedule of `options` (a schedule file, else the target's default).
LoweredPipeline scheduled(LoweredPipeline p, const BuildOptions& options, const Halide::Target& target);

// manifest.json of a compiled model; `library` is relative to its folder.
nlohmann::json manifest_json(const Graph& graph, const BuildOptions& options, const std::string& train_fn,
                             const std::string& inference_fn, const std::string& library,
                             const std::string& library_fingerprint);

}  // namespace netc
