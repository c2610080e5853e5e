// Schedule files on arbitrary text: YAML parsing and every check that needs
// no pipeline (parse_schedule), then rule merging as the scheduler does it.
// A rejection must be an InputError at FILE:LINE:COLUMN inside the text.
#include <algorithm>
#include <cstdio>
#include <string>

#include "fuzz_support.h"
#include "schedule/schedule_file.h"

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

void check_error(const std::string& text, const InputError& e) {
  const std::string message = e.what();
  require_one_line(message);
  int line = 0, column = 0, consumed = 0;
  const std::string format = std::string(kFile) + ":%d:%d: %n";
  const int lines = 1 + int(std::count(text.begin(), text.end(), '\n'));
  require(std::sscanf(message.c_str(), format.c_str(), &line, &column, &consumed) == 2 && consumed > 0,
          "message without FILE:LINE:COLUMN: " + message);
  require(line >= 1 && column >= 1 && line <= lines + 1, "message located outside the file: " + message);
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    netc::fuzz::check_schedule(netc::parse_schedule(text, netc::fuzz::kFile));
  } catch (const netc::InputError& e) {
    netc::fuzz::check_error(text, e);
  }
  return 0;
}
