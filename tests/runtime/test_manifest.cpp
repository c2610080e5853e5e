#include <catch2/catch.hpp>

#include "atomic_file.h"
#include "compiled_model.h"
#include "temp_dir.h"

using namespace netc;

// The compiler writes manifests with Manifest::text() and the runtime reads
// them with Manifest::read(): one definition of the fields, both ways.
TEST_CASE("manifest: what text() writes, read() reads back", "[manifest]") {
  test::TempDir dir;
  Manifest m;
  m.graph = "model_a";
  m.target = "host";
  m.halide_target = "x86-64-linux";
  m.train_step = "model_a_train_step";
  m.inference = "model_a_inference";
  m.library = "model.so";
  m.library_fingerprint = "0123456789abcdef";
  m.batch = 100;
  m.classes = 10;
  m.input = {1, 28, 28};
  m.params = {{"fc1.weight", {10, 784}, 784}, {"fc1.bias", {10}, 784}};
  m.train_step_flops = 3000;
  m.inference_flops = 1000;
  m.peak_probe = "peak_probe";
  m.peak_probe_flops_per_iteration = 64;
  m.peak_probe_output = {16, 4, 1};
  write_file_atomically(dir / "manifest.json", m.text());

  const Manifest back = Manifest::read(dir.path());
  CHECK(back.text() == m.text());
  REQUIRE(back.params.size() == 2);
  CHECK(back.params[1].name == "fc1.bias");
  CHECK(back.params[1].shape == std::vector<int64_t>{10});
  CHECK(back.params[1].fan_in == 784);
  CHECK(back.gather.empty());
  CHECK(back.peak_probe_output == std::vector<int>{16, 4, 1});
}
