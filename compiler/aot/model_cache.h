// Ahead-of-time compilation of a graph's pipelines into a loadable library,
// and the on-disk cache that makes the second run of a graph start at once.
//
// A compiled model is a folder holding
//   model.so       the train step and inference pipelines with one Halide runtime
//   manifest.json  what the runtime needs to call them (runtime/compiled_model.h)
#pragma once

#include <string>

#include "graph/graph.h"

namespace netc {

struct BuildOptions {
  int64_t batch = 100;
  std::string target = "host";   // host or cuda
  std::string schedule_file;     // empty: the built-in default for the target
  bool profile = false;          // Halide's sampling profiler in the pipelines (also: NETC_PROFILE=1)
};

// The cache folder: $NETC_CACHE_DIR, else $XDG_CACHE_HOME/netc, else ~/.cache/netc.
std::string cache_root();

// The folder of a compiled model for (graph, options) in the cache, compiled
// now if it is missing, stale or corrupt. Says on stderr when it compiles.
std::string cached_model(const Graph& graph, const BuildOptions& options);

}  // namespace netc
