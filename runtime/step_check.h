// How a schedule is checked against the reference schedule: one training step
// and one inference batch of a compiled model on seeded random data (every
// term of the SGD update in play), and the comparison of two such results.
// Shared by the schedule equivalence test and `netc tune`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiled_model.h"

namespace netc {

// Everything the step and the inference produce, by name: "loss", each
// parameter's new value ("cnn1.weight") and momentum ("cnn1.weight.momentum"),
// "logits" and "losses".
using StepOutputs = std::map<std::string, std::vector<float>>;

StepOutputs run_check_step(CompiledModel& model);

struct StepComparison {
  double max_relative_error = 0;  // over the outputs, each max|got - want| / (max|want| + 1e-6)
  std::string worst;              // the output it was found in
  std::string problem;            // a missing or misshapen output; empty if none
};

StepComparison compare_step_outputs(const StepOutputs& got, const StepOutputs& want);

// As a safetensors file (written atomically), so that another process can
// compare with them.
void save_step_outputs(const std::string& path, const StepOutputs& outputs);
StepOutputs load_step_outputs(const std::string& path);

}  // namespace netc
