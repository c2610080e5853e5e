#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "atomic_file.h"
#include "compile_cache.h"
#include "compiled_model.h"
#include "sha256.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;

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
  m.library_sha256 = "0123456789abcdef";
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

TEST_CASE("manifest: a micro-batched model has the step's halves and no fused step", "[manifest]") {
  test::TempDir dir;
  Manifest m;
  m.graph = "narrow";
  m.target = "host";
  m.halide_target = "x86-64-linux";
  m.inference = "narrow_inference";
  m.gradients = "narrow_gradients";
  m.update_step = "narrow_update_step";
  m.micro_batch = 125;
  m.library = "model.so";
  m.batch = 500;
  m.classes = 10;
  m.input = {1, 28, 28};
  write_file_atomically(dir / "manifest.json", m.text());
  const Manifest back = Manifest::read(dir.path());
  CHECK(back.micro_batch == 125);
  CHECK(back.gradients_batch() == 125);
  CHECK(back.text() == m.text());

  auto refused = [&](Manifest bad) {
    write_file_atomically(dir / "manifest.json", bad.text());
    CHECK_THROWS_WITH(Manifest::read(dir.path()), Contains("malformed") || Contains("micro-batch") ||
                                                      Contains("fused train step"));
  };
  Manifest indivisible = m;
  indivisible.micro_batch = 120;
  refused(indivisible);
  Manifest without_halves = m;
  without_halves.gradients.clear();
  refused(without_halves);
  Manifest fused_too = m;
  fused_too.train_step = "narrow_train_step";
  refused(fused_too);
  Manifest no_step = m;
  no_step.micro_batch = 0;
  refused(no_step);
}

TEST_CASE("compile cache: batches above 128 images per thread train in micro-batches of a divisor from 32 to 128 per thread",
          "[manifest]") {
  CHECK(micro_batch_for(100, "host", 1) == 0);
  CHECK(micro_batch_for(128, "host", 1) == 0);
  CHECK(micro_batch_for(256, "host", 1) == 128);
  CHECK(micro_batch_for(500, "host", 1) == 125);
  CHECK(micro_batch_for(1000, "host", 1) == 125);
  CHECK(micro_batch_for(300, "host", 1) == 100);
  CHECK(micro_batch_for(131, "host", 1) == 0);  // a prime: no divisor fits
  CHECK(micro_batch_for(256, "host", 2) == 0);
  CHECK(micro_batch_for(500, "host", 2) == 250);
  CHECK(micro_batch_for(1000, "host", 2) == 250);
  CHECK(micro_batch_for(1000, "host", 0) == 125);  // (as one thread)
  CHECK(micro_batch_for(1000, "cuda", 1) == 0);
}

namespace {

// A cache entry as the compiler leaves it, around a stand-in library.
Manifest fake_entry(const std::string& dir) {
  Manifest m;
  m.graph = "tiny";
  m.target = "host";
  m.halide_target = "x86-64-linux";
  m.train_step = "tiny_train_step";
  m.inference = "tiny_inference";
  m.library = "model.so";
  m.batch = 4;
  m.classes = 10;
  m.input = {1, 2, 2};
  write_file_atomically(dir + "/model.so", "not really a library");
  m.library_sha256 = sha256_hex("not really a library");
  write_manifest(dir, m);
  return m;
}

}  // namespace

TEST_CASE("manifest: a cache entry is valid only as the compiler wrote it", "[manifest]") {
  test::TempDir dir;
  const std::string entry = dir.path();
  std::string why;
  fake_entry(entry);
  CHECK(compiled_model_is_valid(entry, &why));

  // An edited manifest (batch 0 would divide by zero), even a well-formed one.
  std::string text = test::read_bytes(dir / "manifest.json");
  write_file_atomically(entry + "/manifest.json", text.replace(text.find("\"batch\": 4"), 10, "\"batch\": 8"));
  CHECK_FALSE(compiled_model_is_valid(entry, &why));
  CHECK_THAT(why, Contains("manifest.json does not match its SHA-256 in manifest.sha256"));

  fake_entry(entry);
  write_file_atomically(entry + "/model.so", "not really a library!");
  CHECK_FALSE(compiled_model_is_valid(entry, &why));
  CHECK_THAT(why, Contains("model.so does not match its SHA-256 in manifest.json"));

  fake_entry(entry);
  std::filesystem::remove(dir / "manifest.sha256");
  CHECK_FALSE(compiled_model_is_valid(entry, &why));
  CHECK_THAT(why, Contains("manifest.sha256"));
}

TEST_CASE("manifest: netc compile replaces only an empty folder or an earlier output of its own", "[manifest]") {
  test::TempDir dir;
  std::string why;
  std::filesystem::create_directories(dir / "empty");
  CHECK(compile_output_is_replaceable(dir / "empty", &why));

  std::filesystem::create_directories(dir / "output/include");
  std::filesystem::create_directories(dir / "output/lib");
  write_file_atomically(dir / "output/manifest.json", "{}");
  CHECK(compile_output_is_replaceable(dir / "output", &why));

  std::filesystem::create_directories(dir / "entry");
  fake_entry(dir / "entry");
  CHECK_FALSE(compile_output_is_replaceable(dir / "entry", &why));
  CHECK_THAT(why, Contains("it holds model.so, which netc compile does not write"));

  std::filesystem::create_directories(dir / "mine/lib");
  write_file_atomically(dir / "mine/notes.txt", "mine");
  CHECK_FALSE(compile_output_is_replaceable(dir / "mine", &why));

  std::filesystem::create_directories(dir / "no_manifest/lib");
  CHECK_FALSE(compile_output_is_replaceable(dir / "no_manifest", &why));
  CHECK_THAT(why, Contains("no manifest.json"));

  write_file_atomically(dir / "file", "x");
  CHECK_FALSE(compile_output_is_replaceable(dir / "file", &why));
}

TEST_CASE("compile cache: staging folders of compiles that died are removed", "[manifest]") {
  test::TempDir dir;
  test::ScopedEnv cache("NETC_CACHE_DIR", dir.path().c_str());
  BuildOptions options;
  // The compile runs in a process of its own, which tells where it was asked
  // to build through a file.
  const std::string asked = dir / "asked";
  auto failing_compile = [&](const std::string& folder) {
    write_file_atomically(asked, folder);
    throw std::runtime_error("compile failed");
  };
  CHECK_THROWS_WITH(cached_model("g", "fingerprint", UpdateRule::Sgd, options, "compiler", failing_compile),
                    "compile failed");
  const std::string staging = read_file(asked, 4096);
  // One of a process that no longer runs (pids stop below 2^22), one of this process's parent.
  const std::string prefix = staging.substr(0, staging.rfind('.') + 1);
  std::filesystem::create_directories(prefix + "4194399/part");
  std::filesystem::create_directories(prefix + std::to_string(getppid()));
  CHECK_THROWS(cached_model("g", "fingerprint", UpdateRule::Sgd, options, "compiler", failing_compile));
  CHECK_FALSE(std::filesystem::exists(prefix + "4194399"));
  CHECK(std::filesystem::exists(prefix + std::to_string(getppid())));
}
