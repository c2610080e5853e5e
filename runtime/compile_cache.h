// The compile cache: compiled models (runtime/compiled_model.h) in folders
// named by a fingerprint of everything that changes their code, so that a
// cached model is found and run without loading the compiler.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model_abi.h"

namespace netc {

// $NETC_CACHE_DIR, else $XDG_CACHE_HOME/netc, else ~/.cache/netc.
std::string cache_root();

// What chooses the compiled code of a graph, besides the graph itself.
struct BuildOptions {
  int64_t batch = 100;
  std::string target = "host";   // host or cuda (host_target.h)
  std::string schedule_file;     // empty: the built-in default for the target
  bool profile = false;          // Halide's sampling profiler in the pipelines (also: NETC_PROFILE=1)
  // The train step's halves too (gradients, update), for data-parallel
  // training (docs/distributed.md); `batch` is then a rank's slice.
  bool data_parallel = false;
  // When not 0, a divisor of `batch`: the train step runs as gradients of
  // micro-batches of this many images, averaged, then one update (the model
  // has the halves and no fused step; micro_batch_for). Part of the cache key.
  int64_t micro_batch = 0;
};

// The micro-batch a host model of `batch` images trains in with `threads`
// threads, or 0 for the whole batch at once: a batch above 128 images per
// thread runs in the largest divisor of it from 32 to 128 per thread, so
// that each thread's share of a micro-batch stays in its caches as batch
// 100's does (one thread, batch 1000: a 1 -> 4 -> 8 network's step cost 1.5x
// per image what batch 100's did, Model C's 1.2x; with two threads, micro-
// batches of 125 made the same network's 1.25-1.35x, each step's many short
// parallel loops waiting on each other). GPU targets and netc compile's
// libraries take the whole batch.
int64_t micro_batch_for(int64_t batch, const std::string& target, int threads);

// The folder <root>/models/<entry> holding a valid compiled model of the
// graph `graph_name` with fingerprint `graph_fingerprint` (graph_fingerprint
// of compiler/front/graph.h) and the update rule of its optimizer, built
// with `options` by the compiler whose fingerprint is
// `compiler_fingerprint`. The entry is named
// "<graph>-b<batch>-<target>-<key>", the key a fingerprint of everything that
// changes the compiled code: the graph's fingerprint, the update rule, the
// batch size, the Halide target string (host_target.h), the schedule file's
// text ("default" when there is none), Halide's version and the compiler's
// fingerprint, and "data-parallel" for such a model. When
// the entry is missing or corrupt, `compile(folder)` makes it in a staging
// folder, then renamed into place; the messages on stderr name the model.
std::string cached_model(const std::string& graph_name, const std::string& graph_fingerprint, UpdateRule update,
                         const BuildOptions& options, const std::string& compiler_fingerprint,
                         const std::function<void(const std::string& folder)>& compile);

}  // namespace netc
