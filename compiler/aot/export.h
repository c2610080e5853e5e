// `netc compile`: a graph's pipelines compiled ahead of time into a folder
// that another project builds against with neither Halide nor netc:
//
//   manifest.json                      as in the compile cache (runtime/compiled_model.h)
//   lib/libnetc_<graph>.a              train step, inference, one Halide runtime
//   include/netc_<graph>.hpp           the graph for netc::Model (netc_model.hpp)
//   include/netc_model.hpp             header-only C++ API: weights, inference, train step
//   include/model_abi.h                the pipelines' calling convention, for netc_model.hpp
//   include/safetensors.hpp            the safetensors reader and writer, for netc_model.hpp
//   include/netc_<graph>_inference.h   the pipelines' C declarations (Halide's)
//   include/netc_<graph>_train_step.h
//   include/HalideBuffer.h, HalideRuntime.h
//   lib/cmake/netc_<graph>/netc_<graph>Config.cmake   find_package(netc_<graph>) -> netc::<graph>
//   lib/pkgconfig/netc_<graph>.pc
#pragma once

#include <string>

#include "aot/model_cache.h"
#include "front/graph.h"

namespace netc {

// Compiles `graph` into `folder`, replacing it whole if it holds an earlier
// output (or nothing): the folder is built beside it and swapped in at once,
// so readers see the old output or the new one. A folder that is something
// else is an InputError, never touched.
void export_model(const Graph& graph, const BuildOptions& options, const std::string& folder);

}  // namespace netc
