// `netc compile` end to end, as a user runs it: compile Model A, build
// examples/classify against the output alone with CMake, and check that the
// program classifies exactly as netc does, without libHalide or yaml-cpp;
// the same for CUDA, as far as a machine without a GPU can.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../compiler/aot/ptx.h"
#include "../runtime/temp_dir.h"
#include "aligned.h"
#include "batches.h"
#include "compiled_model.h"
#include "parameters.h"

namespace fs = std::filesystem;

namespace {

using netc::test::TempDir;

struct Result {
  int code = -1;  // the exit status; -1 when killed by a signal
  std::string out, err;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Runs a program with stdout and stderr captured separately.
Result run(const TempDir& dir, const std::vector<std::string>& argv) {
  std::string command;
  for (const std::string& a : argv) command += shell_quote(a) + " ";
  const std::string out = dir / "stdout", err = dir / "stderr";
  int status = std::system((command + ">" + shell_quote(out) + " 2>" + shell_quote(err)).c_str());
  Result r;
  if (WIFEXITED(status) && WEXITSTATUS(status) < 128) r.code = WEXITSTATUS(status);
  r.out = netc::test::read_bytes(out);
  r.err = netc::test::read_bytes(err);
  return r;
}

Result netc_cli(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), NETC_BINARY);
  return run(dir, args);
}

std::string model_a() { return std::string(NETC_SOURCE_DIR) + "/graphs/model_a.yaml"; }

// A small MNIST-format dataset that a few SGD steps partly learn: class c is
// noise plus a bright square at a place of its own, so that trained weights
// predict many different classes.
struct SyntheticData {
  netc::IdxImages train, test;
  std::vector<uint8_t> train_labels, test_labels;
};

netc::IdxImages synthetic_images(int64_t count, std::vector<uint8_t>& labels, std::mt19937& gen) {
  netc::IdxImages images;
  images.count = count;
  images.rows = images.cols = 28;
  images.pixels.resize(size_t(count * 28 * 28));
  for (int64_t n = 0; n < count; ++n) {
    const int label = int(gen() % 10);
    labels.push_back(uint8_t(label));
    uint8_t* image = &images.pixels[size_t(n * 28 * 28)];
    for (int k = 0; k < 28 * 28; ++k) image[k] = uint8_t(gen() % 100);
    const int top = 2 + (label / 5) * 13, left = 1 + (label % 5) * 5;
    for (int y = top; y < top + 8; ++y)
      for (int x = left; x < left + 5; ++x) image[y * 28 + x] = 255;
  }
  return images;
}

std::string write_dataset(const TempDir& dir) {
  std::mt19937 gen(7);
  SyntheticData d;
  d.train = synthetic_images(300, d.train_labels, gen);
  // Not a multiple of the batch: the last batch is padded.
  d.test = synthetic_images(250, d.test_labels, gen);
  const std::string data = dir / "data";
  fs::create_directories(data);
  netc::write_idx_images(data + "/train-images-idx3-ubyte", d.train, false);
  netc::write_idx_labels(data + "/train-labels-idx1-ubyte", d.train_labels, false);
  netc::write_idx_images(data + "/t10k-images-idx3-ubyte", d.test, false);
  netc::write_idx_labels(data + "/t10k-labels-idx1-ubyte", d.test_labels, false);
  return data;
}

// Each test image's class as the netc runtime computes it: the compiled
// model netc made (dlopen), batches padded as `netc eval` pads them.
std::vector<int> runtime_predictions(const std::string& model_dir, const std::string& weights, const std::string& data) {
  netc::CompiledModel model(model_dir);
  const netc::Manifest& m = model.manifest();
  netc::Parameters params = netc::Parameters::load(m.params, weights);
  netc::IdxImages images = netc::read_idx_images(data + "/t10k-images-idx3-ubyte");
  std::vector<uint8_t> labels = netc::read_idx_labels(data + "/t10k-labels-idx1-ubyte", m.classes);
  netc::AlignedVector<float> image_buf(size_t(m.batch * m.image_size())), logits(size_t(m.batch * m.classes)),
      losses(size_t(m.batch));
  netc::AlignedVector<int32_t> label_buf(size_t(m.batch));
  std::vector<int> predictions;
  for (int64_t start = 0; start < images.count; start += m.batch) {
    const int64_t real = std::min(m.batch, images.count - start);
    std::vector<int32_t> idx;
    for (int64_t k = 0; k < m.batch; ++k) idx.push_back(int32_t(start + std::min(k, real - 1)));
    netc::gather_batch(images, labels, idx, image_buf.data(), label_buf.data());
    model.infer(image_buf.data(), label_buf.data(), params.data(), logits.data(), losses.data());
    for (int64_t k = 0; k < real; ++k) {
      const float* row = &logits[size_t(k * m.classes)];
      predictions.push_back(int(std::max_element(row, row + m.classes) - row));
    }
  }
  return predictions;
}

// Model A trained 30 steps on `data`, saved to `weights`: weights that tell
// the synthetic classes apart.
void train_weights(const TempDir& dir, const std::string& data, const std::string& weights) {
  Result train = netc_cli(dir, {"train", model_a(), "--data", data, "--iterations", "30", "--lr", "0.05",
                                "--eval-every", "0", "--save", weights});
  INFO(train.err);
  REQUIRE(train.code == 0);
}

// examples/classify as another project builds it against netc compile's
// output `out` (CMake finds it through CMAKE_PREFIX_PATH); the program's path.
std::string build_classify(const TempDir& dir, const std::string& out) {
  const std::string build = dir / "build-classify";
  Result configure = run(dir, {NETC_CMAKE, "-S", std::string(NETC_SOURCE_DIR) + "/examples/classify", "-B", build,
                               "-G", NETC_CMAKE_GENERATOR, "-DCMAKE_CXX_COMPILER=" NETC_CXX_COMPILER,
                               "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Werror", "-DCMAKE_PREFIX_PATH=" + out});
  INFO(configure.out << configure.err);
  REQUIRE(configure.code == 0);
  Result make = run(dir, {NETC_CMAKE, "--build", build});
  INFO(make.out << make.err);
  REQUIRE(make.code == 0);
  return build + "/classify";
}

std::string only_entry(const std::string& folder) {
  std::vector<fs::path> entries(fs::directory_iterator(folder), fs::directory_iterator{});
  REQUIRE(entries.size() == 1);
  return entries[0].string();
}

// Whether `folder` holds a staging folder that netc compile left behind.
bool has_staging(const std::string& folder) {
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().filename().string().find(".staging.") != std::string::npos) return true;
  return false;
}

TEST_CASE("compile: the example built against netc compile's output classifies exactly as netc does") {
  TempDir dir;
  // A cache of this test's own, so that the one compiled model in it is the one netc eval ran.
  const std::string cache = dir / "cache";
  REQUIRE(setenv("NETC_CACHE_DIR", cache.c_str(), 1) == 0);
  const std::string data = write_dataset(dir), weights = dir / "model_a.safetensors", out = dir / "model_a-aot";

  train_weights(dir, data, weights);
  Result eval = netc_cli(dir, {"eval", model_a(), "--data", data, "--weights", weights, "--json"});
  INFO(eval.err);
  REQUIRE(eval.code == 0);
  const nlohmann::json expected = nlohmann::json::parse(eval.out);

  Result compile = netc_cli(dir, {"compile", model_a(), "-o", out});
  INFO(compile.err);
  REQUIRE(compile.code == 0);
  std::string why;
  CHECK(netc::compiled_model_is_valid(out, &why));
  const netc::Manifest manifest = netc::Manifest::read(out);
  CHECK(manifest.graph == "model_a");
  CHECK(manifest.batch == 100);
  CHECK(manifest.library == "lib/libnetc_model_a.a");
  for (const char* file : {"include/netc_model_a.hpp", "include/netc_model.hpp", "include/model_abi.h",
                           "include/safetensors.hpp",
                           "include/HalideBuffer.h", "include/HalideRuntime.h",
                           "lib/cmake/netc_model_a/netc_model_aConfig.cmake",
                           "lib/pkgconfig/netc_model_a.pc"})
    CHECK(fs::is_regular_file(out + "/" + file));

  const std::string classify = build_classify(dir, out);

  Result ldd = run(dir, {"ldd", classify});
  INFO(ldd.out);
  REQUIRE(ldd.code == 0);
  CHECK_THAT(ldd.out, !Catch::Contains("Halide", Catch::CaseSensitive::No));
  CHECK_THAT(ldd.out, !Catch::Contains("yaml", Catch::CaseSensitive::No));

  Result ran = run(dir, {classify, weights, data + "/t10k-images-idx3-ubyte", data + "/t10k-labels-idx1-ubyte", "--json"});
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  const nlohmann::json got = nlohmann::json::parse(ran.out);
  CHECK(got["images"] == expected["images"]);
  CHECK(got["accuracy"].get<double>() == expected["test_accuracy"].get<double>());
  CHECK(got["loss"].get<double>() == expected["test_loss"].get<double>());

  const std::vector<int> predictions = got["predictions"].get<std::vector<int>>();
  CHECK(predictions == runtime_predictions(only_entry(cache + "/models"), weights, data));
  // The weights tell the images apart: the comparison above means something.
  CHECK(std::set<int>(predictions.begin(), predictions.end()).size() >= 5);

  // The train step, through netc_model.hpp alone in a program built with
  // pkg-config: 5 steps with momentum (wrapping around the 300 training
  // images) save the very bytes that netc train saves.
  {
    const std::string program = dir / "compiled_train_steps";
    const std::string build_command =
        "PKG_CONFIG_PATH=" + shell_quote(out + "/lib/pkgconfig") + " && export PKG_CONFIG_PATH && " +
        shell_quote(NETC_CXX_COMPILER) + " -std=c++17 -O2 -Wall -Wextra -Werror " +
        "-DNETC_GRAPH_HEADER='\"netc_model_a.hpp\"' -DNETC_GRAPH_FUNCTION=netc_model_a " +
        shell_quote(std::string(NETC_SOURCE_DIR) + "/tests/cli/compiled_train_steps.cpp") + " -o " +
        shell_quote(program) + " $(pkg-config --cflags --libs netc_model_a)";
    Result built = run(dir, {"sh", "-c", build_command});
    INFO(built.err);
    REQUIRE(built.code == 0);
    Result stepped = run(dir, {program, weights, data + "/train-images-idx3-ubyte", data + "/train-labels-idx1-ubyte",
                               "5", "0.05", "0.9", "2", dir / "stepped.safetensors"});
    INFO(stepped.err);
    REQUIRE(stepped.code == 0);
    Result trained = netc_cli(dir, {"train", model_a(), "--data", data, "--init", weights, "--no-shuffle",
                                    "--iterations", "5", "--lr", "0.05", "--momentum", "0.9", "--threads", "2",
                                    "--eval-every", "0", "--save", dir / "trained.safetensors"});
    INFO(trained.err);
    REQUIRE(trained.code == 0);
    CHECK(netc::test::read_bytes(dir / "stepped.safetensors") == netc::test::read_bytes(dir / "trained.safetensors"));
  }

  // Bad weights files exit 2 with a message.
  {
    netc::test::write_bytes(dir / "garbage.safetensors", "not a safetensors file at all");
    std::string truncated = netc::test::read_bytes(weights);
    truncated.resize(truncated.size() - 4);
    netc::test::write_bytes(dir / "truncated.safetensors", truncated);
    for (const std::string& bad : {dir / "garbage.safetensors", dir / "truncated.safetensors", dir / "missing"}) {
      Result r = run(dir, {classify, bad, data + "/t10k-images-idx3-ubyte"});
      INFO(bad << ": " << r.err);
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Catch::StartsWith("classify: error: " + bad + ": "));
      CHECK(r.out.empty());
    }
  }
  // A PGM image is classified as the same image in an IDX file.
  {
    const netc::IdxImages images = netc::read_idx_images(data + "/t10k-images-idx3-ubyte");
    const std::string pgm = dir / "image3.pgm";
    netc::test::write_bytes(pgm, "P5\n# test image 3\n28 28\n255\n" +
                                     std::string(images.pixels.begin() + 3 * 784, images.pixels.begin() + 4 * 784));
    Result r = run(dir, {classify, weights, pgm, pgm});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string line = pgm + ": " + std::to_string(predictions[3]) + "\n";
    CHECK(r.out == line + line);
  }
}

TEST_CASE("compile: -o replaces an earlier output whole and refuses any other folder") {
  TempDir dir;
  const std::string graph = std::string(NETC_SOURCE_DIR) + "/graphs/feedforward.yaml", out = dir / "aot";
  fs::create_directories(out + "/precious");
  Result refused = netc_cli(dir, {"compile", graph, "-o", out});
  CHECK(refused.code == 2);
  CHECK_THAT(refused.err, Catch::StartsWith("netc: error: -o " + out + ": exists"));
  CHECK(fs::is_directory(out + "/precious"));
  fs::remove(out + "/precious");

  for (const char* batch : {"7", "3"}) {
    Result r = netc_cli(dir, {"compile", graph, "-o", out, "--batch-size", batch});
    INFO(r.err);
    REQUIRE(r.code == 0);
    std::string why;
    CHECK(netc::compiled_model_is_valid(out, &why));
    CHECK(netc::Manifest::read(out).batch == std::stoi(batch));
    // A damaged earlier output is still replaced.
    netc::test::write_bytes(out + "/lib/libnetc_feedforward.a", "damaged");
  }
  CHECK(!has_staging(dir.path()));
}

// Where libcuda.so.1 loads, this runs on the GPU; elsewhere it must fail with
// Halide's message and exit 1, the CUDA runtime being linked in but no driver.
TEST_CASE("compile: --target cuda builds a library whose PTX ptxas accepts, and the example links against it") {
  TempDir dir;
  REQUIRE(setenv("NETC_CACHE_DIR", (dir / "cache").c_str(), 1) == 0);
  const std::string data = write_dataset(dir), weights = dir / "model_a.safetensors", out = dir / "model_a-cuda";
  train_weights(dir, data, weights);

  Result compile = netc_cli(dir, {"compile", model_a(), "--target", "cuda", "-o", out});
  INFO(compile.err);
  REQUIRE(compile.code == 0);
  const netc::Manifest manifest = netc::Manifest::read(out);
  CHECK(manifest.target == "cuda");
  CHECK_THAT(manifest.halide_target, Catch::Contains("-cuda-cuda_capability_80"));
  CHECK_THAT(netc::test::read_bytes(out + "/include/netc_model_a.hpp"),
             Catch::Contains("_argv, \"cuda\", netc::UpdateRule::Sgd}"));

  const std::vector<std::string> modules = netc::test::ptx_modules(out + "/" + manifest.library);
  REQUIRE(modules.size() == 2);  // train step, inference
  for (const std::string& ptx : modules)
    for (const char* arch : {"sm_90", "sm_80"}) {
      netc::test::PtxasResult r = netc::test::run_ptxas(ptx, arch, dir.path());
      INFO(arch << ": " << r.output);
      CHECK(r.status == 0);
    }

  const std::string classify = build_classify(dir, out);
  Result ldd = run(dir, {"ldd", classify});
  CHECK_THAT(ldd.out, !Catch::Contains("Halide", Catch::CaseSensitive::No));
  CHECK_THAT(ldd.out, !Catch::Contains("cuda", Catch::CaseSensitive::No));  // the driver is loaded at run time

  Result ran = run(dir, {classify, weights, data + "/t10k-images-idx3-ubyte",
                         data + "/t10k-labels-idx1-ubyte", "--json"});
  INFO(ran.out << ran.err);
  if (ran.code == 0) {
    Result eval = netc_cli(dir, {"eval", model_a(), "--weights", weights, "--data", data, "--json"});
    REQUIRE(eval.code == 0);
    const nlohmann::json expected = nlohmann::json::parse(eval.out), got = nlohmann::json::parse(ran.out);
    CHECK(got["accuracy"].get<double>() == Approx(expected["test_accuracy"].get<double>()).margin(1.0));
    CHECK(got["loss"].get<double>() == Approx(expected["test_loss"].get<double>()).epsilon(1e-4));
  } else {
    CHECK(ran.code == 1);
    CHECK_THAT(ran.err, Catch::Contains("cuda", Catch::CaseSensitive::No));
    CHECK_THAT(ran.err, Catch::Contains("classify: error: model_a: the inference failed"));
  }
}

}  // namespace
