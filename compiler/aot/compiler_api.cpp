#include "aot/compiler_api.h"

#include "aot/export.h"

extern "C" __attribute__((visibility("default"))) const netc::CompilerApi* netc_compiler_api() {
  static const netc::CompilerApi api = {netc::kCompilerApiVersion, netc::parse_graph,   netc::graph_fingerprint,
                                        netc::check_schedule,       netc::compile_model, netc::export_model};
  return &api;
}
