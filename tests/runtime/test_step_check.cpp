// The comparison that decides whether a schedule computes what the reference
// schedule computes: relative errors per output, the worst one named, and
// outputs that round-trip through a file for another process.
#include <catch2/catch.hpp>

#include <cmath>

#include "step_check.h"
#include "temp_dir.h"

namespace netc {

TEST_CASE("step outputs compare by the largest relative error and name the worst output", "[step_check]") {
  StepOutputs want = {{"loss", {2.0f}}, {"fc1.weight", {1.0f, -4.0f}}, {"logits", {10.0f, 0.0f}}};
  StepComparison same = compare_step_outputs(want, want);
  CHECK(same.max_relative_error == 0);
  CHECK(same.problem.empty());

  StepOutputs got = want;
  got["fc1.weight"][0] = 1.004f;  // 0.004 / 4: 1e-3
  got["logits"][1] = 1e-4f;       // 1e-4 / 10: 1e-5
  StepComparison c = compare_step_outputs(got, want);
  CHECK(c.worst == "fc1.weight");
  CHECK(c.max_relative_error == Approx(1e-3).epsilon(1e-3));

  got["loss"][0] = NAN;
  CHECK(std::isinf(compare_step_outputs(got, want).max_relative_error));
  CHECK(compare_step_outputs(got, want).worst == "loss");

  got.erase("logits");
  CHECK_FALSE(compare_step_outputs(got, want).problem.empty());
  got = want;
  got["fc1.weight"].push_back(0);
  CHECK(compare_step_outputs(got, want).problem.find("fc1.weight") != std::string::npos);
}

TEST_CASE("step outputs survive a round trip through a file", "[step_check]") {
  test::TempDir dir;
  StepOutputs outputs = {{"loss", {0.5f}}, {"cnn1.weight.momentum", {1, 2, 3}}, {"losses", {}}};
  save_step_outputs(dir / "ref.safetensors", outputs);
  CHECK(load_step_outputs(dir / "ref.safetensors") == outputs);
}

}  // namespace netc
