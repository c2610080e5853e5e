// Ahead-of-time compilation of a graph's pipelines into a loadable library:
// what one entry of the compile cache (runtime/compile_cache.h) holds.
//
// A compiled model is a folder holding
//   model.so       the pipelines (train step, inference, the peak probe, and
//                  on a GPU target the batch gatherer) with one Halide runtime
//   manifest.json  what the runtime needs to call them (runtime/compiled_model.h)
#pragma once

#include <string>

#include "compile_cache.h"
#include "front/graph.h"

namespace netc {

// Compiles `graph` into `folder` (which must not exist): model.so and its
// manifest. On failure nothing of the folder is left behind.
void compile_model(const Graph& graph, const BuildOptions& options, const std::string& folder);

// The compile cache's folder for (graph, options), the one `netc train`
// finds (runtime/compile_cache.h), compiled now if it is missing or corrupt.
std::string cached_model(const Graph& graph, const BuildOptions& options);

}  // namespace netc
