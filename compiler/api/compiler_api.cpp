#include "api/compiler_api.h"

#include "aot/export.h"
#include "tune/report_svg.h"
#include "tune/tuning_log.h"

namespace {

std::string trial_json(const netc::TrialRequest& request) { return netc::to_json(netc::run_trial(request)).dump(); }

std::string report_svg(const std::string& log_path) {
  return netc::tuning_report_svg(netc::read_tuning_log(log_path));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const netc::CompilerApi* netc_compiler_api() {
  static const netc::CompilerApi api = {netc::kCompilerApiVersion, netc::compile_model, netc::export_model,
                                        netc::tune, trial_json, report_svg};
  return &api;
}
