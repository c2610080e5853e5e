// The compiler as the netc command uses it: libnetc_compiler.so, which links
// libHalide (and its LLVM) and which netc loads with dlopen only when it must
// compile pipelines (graphs and schedules are read by the front end, which
// netc links). Running compiled pipelines (a hit in
// the compile cache) never loads it, so netc runs where Halide is absent.
//
// Both sides are built together by one compiler from these headers, so the
// interface passes C++ types; kCompilerApiVersion guards against a stale
// library.
#pragma once

#include <string>

#include "aot/model_cache.h"
#include "front/graph.h"
#include "tune/trial.h"
#include "tune/tuner.h"

namespace netc {

inline constexpr int kCompilerApiVersion = 4;

struct CompilerApi {
  int version;
  // compile_model of aot/model_cache.h (a compile cache entry).
  void (*compile_model)(const Graph& graph, const BuildOptions& options, const std::string& folder);
  // export_model of aot/export.h (netc compile).
  void (*export_model)(const Graph& graph, const BuildOptions& options, const std::string& folder);
  // netc tune (tune/tuner.h): the search; one trial, its result as JSON
  // (tune/trial.h); the SVG report of a tuning log (tune/report_svg.h).
  void (*tune)(const Graph& graph, const TuneOptions& options);
  std::string (*run_trial)(const TrialRequest& request);
  std::string (*tuning_report_svg)(const std::string& log_path);
};

}  // namespace netc

// The one symbol the library exports.
extern "C" const netc::CompilerApi* netc_compiler_api();
