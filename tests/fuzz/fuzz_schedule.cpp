// Schedule files on arbitrary text: YAML parsing and every check that needs
// no pipeline (parse_schedule), then rule merging as the scheduler does it.
// A rejection must be an InputError at FILE:LINE:COLUMN inside the text.
#include <algorithm>
#include <cstdio>
#include <string>

#include "fuzz_support.h"
#include "front/schedule_file.h"

namespace netc::fuzz {
namespace {

constexpr const char* kFile = "fuzz.yaml";

void check_schedule(const ScheduleFile& s) {
  require(s.target == "host" || s.target == "cuda", "target " + s.target);
  for (const StageRule& r : s.rules) {
    require(!r.selector.empty(), "an empty selector");
    require(!r.lowering || *r.lowering == "direct" || *r.lowering == "im2col", "lowering " + r.lowering.value_or(""));
    if (r.recipe) require(!r.recipe->name.empty(), "a recipe without a name");
  }
  // What the scheduler asks of a file for every stage it schedules.
  for (const char* name : {"cnn1.forward", "update.fc1.weight", "loss.mean"})
    s.merged_rule(name, "conv2d.forward");
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    netc::fuzz::check_schedule(netc::parse_schedule(text, netc::fuzz::kFile));
  } catch (const netc::InputError& e) {
    netc::fuzz::require_located(e.what(), text, netc::fuzz::kFile);
  }
  return 0;
}
